"""Synthetic data with a known ground truth, and DataLoader-like iteration over tensors.

The names below are imported on first use: importing ``thesis_ml.data.bounds`` (as reports do)
then does not pay for torch.
"""

import importlib

_EXPORTS = {
    "Dataset": "thesis_ml.data.dataset",
    "TensorLoader": "thesis_ml.data.loaders",
    "generate_dataset": "thesis_ml.data.synthetic",
    "load_dataset": "thesis_ml.data.synthetic",
    "make_dataloaders": "thesis_ml.data.synthetic",
    "save_dataset": "thesis_ml.data.synthetic",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'thesis_ml.data' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
