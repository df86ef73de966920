"""The in-memory dataset every generator returns, and the train/validation split they share."""

from __future__ import annotations

from dataclasses import dataclass

import torch


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
