"""The in-memory dataset every generator returns, the train/validation split they share, and
the dataset file the pipeline's data step writes once for every run that uses it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from thesis_ml.utils.io import atomic_write


@dataclass
class Dataset:
    """Train and validation tensors plus metadata (``input_dim``, ``task``, ``optimum``, ...)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    meta: dict


def split_point(n_samples: int, train_frac: float) -> int:
    """Number of training samples; the rest are validation samples."""
    n_train = round(n_samples * train_frac)
    if not 0 < n_train < n_samples:
        raise ValueError(
            f"data.train_frac={train_frac} leaves no train or no validation samples "
            f"out of data.n_samples={n_samples}"
        )
    return n_train


def save_dataset(dataset: Dataset, path: Path | str) -> None:
    with atomic_write(path, "wb") as handle:
        torch.save(
            {
                "x_train": dataset.x_train,
                "y_train": dataset.y_train,
                "x_val": dataset.x_val,
                "y_val": dataset.y_val,
                "meta": dataset.meta,
            },
            handle,
        )


def load_dataset(path: Path | str) -> Dataset:
    """Read a dataset written by :func:`save_dataset` (tensors and plain data only)."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        return Dataset(**payload)
    except Exception as error:
        raise ValueError(f"{path}: not a thesis_ml dataset file ({error})") from None
