"""The datasets ``data.kind`` selects.

A new dataset is a module with ``generate(data_cfg) -> Dataset``, one line in :data:`DATASETS`,
its config ``configs/data/<kind>.yaml`` and its schema branch in ``schemas/data.yaml`` (README
"Extending").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from thesis_ml.data import bundled, reconstruction, synthetic, user_file
from thesis_ml.data.dataset import Dataset
from thesis_ml.data.references import linear_references, supervised_linear_reference
from thesis_ml.utils.registry import select

DATASETS: dict[str, Callable[[Mapping], Dataset]] = {
    "synthetic": synthetic.generate,
    "reconstruction": reconstruction.generate,
    **dict.fromkeys(bundled.BUNDLED, bundled.generate),
    "file": user_file.generate,
}


def generate_dataset(data_cfg: Mapping) -> Dataset:
    """Draw the dataset that ``cfg.data`` describes; the same config gives the same tensors.

    The references a run on it is compared against are computed once, with the dataset:
    reconstruction data carries the linear reference of every latent size, supervised data
    without a known optimum its linear model's scores (data.references).
    """
    dataset = select(DATASETS, "data.kind", data_cfg["kind"])(data_cfg)
    task = dataset.meta["task"]
    if task == "reconstruction":
        dataset.meta["linear_references"] = linear_references(dataset.input_splits())
    elif "optimum" not in dataset.meta:
        dataset.meta["linear_reference"] = supervised_linear_reference(dataset)
    return dataset
