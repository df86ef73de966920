"""The in-memory dataset every generator returns, the train/validation/test split they share,
and the dataset file the pipeline's data step writes once for every run that uses it.

The split is a function of the data config alone (``data.train_frac``, ``data.val_frac``, the
rest is test): every run of a sweep, whatever its ``trainer.seed``, sees the same three parts.
Training uses the train split, the best epoch is chosen on validation, and the selected weights
are measured once on test: the headline numbers never come from data they were selected on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch

from thesis_ml.config import ConfigError
from thesis_ml.data.splits import SPLITS, split_problem, split_sizes
from thesis_ml.utils.io import atomic_write


@dataclass
class Dataset:
    """Train, validation and test tensors plus metadata (``input_dim``, ``task``, ...)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    meta: dict

    def inputs(self, split: str) -> torch.Tensor:
        return getattr(self, f"x_{split}")

    def targets(self, split: str) -> torch.Tensor:
        return getattr(self, f"y_{split}")

    def input_splits(self) -> dict:
        """The inputs of every split as NumPy arrays (what scikit-learn references fit on)."""
        return {split: self.inputs(split).numpy() for split in SPLITS}


def split_dataset(
    data_cfg: Mapping,
    x: torch.Tensor,
    y: torch.Tensor,
    meta: Mapping,
    order: torch.Tensor | None = None,
) -> Dataset:
    """Cut the rows into train, validation and test: in ``order`` (a permutation of the rows,
    e.g. a stratified shuffle), else as they come (independent, identically drawn rows).

    ``meta`` gains the split sizes and ``data.seed``, which seeds what is fitted on the data
    (the k-means of the quantizer reference).
    """
    problem = split_problem({**data_cfg, "n_samples": len(x)})
    if problem:
        raise ConfigError(problem)
    n_train, n_val, n_test = split_sizes({**data_cfg, "n_samples": len(x)})
    order = torch.arange(len(x)) if order is None else order
    bounds = (0, n_train, n_train + n_val, n_train + n_val + n_test)
    parts = [order[bounds[i] : bounds[i + 1]] for i in range(3)]
    sized = {**meta, "n_train": n_train, "n_val": n_val, "n_test": n_test}
    sized["seed"] = int(data_cfg["seed"])
    tensors = [t[part] for part in parts for t in (x, y)]
    return Dataset(*tensors, meta=sized)


def save_dataset(dataset: Dataset, path: Path | str) -> None:
    with atomic_write(path, "wb") as handle:
        torch.save({name: getattr(dataset, name) for name in _FIELDS}, handle)


def load_dataset(path: Path | str) -> Dataset:
    """Read a dataset written by :func:`save_dataset` (tensors and plain data only)."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        return Dataset(**payload)
    except Exception as error:
        raise ValueError(f"{path}: not a thesis_ml dataset file ({error})") from None


_FIELDS = [f"{axis}_{split}" for split in SPLITS for axis in ("x", "y")] + ["meta"]
