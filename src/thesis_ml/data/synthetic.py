"""Reproducible synthetic datasets whose best achievable validation loss is known.

Supervised tasks draw ``x ~ N(0, I)`` and a fixed random teacher ``f`` (one tanh hidden layer,
scaled to unit variance) from ``data.seed``:

- ``regression``: ``y = f(x) + noise * eps``. The best predictor is ``f`` itself; its loss is
  the noise variance.
- ``binary``: ``y ~ Bernoulli(sigmoid(f(x) / noise))``. The Bayes classifier thresholds
  ``f(x)`` at 0; its accuracy is ``E[max(p, 1 - p)]``.

``meta["optimum"]`` holds these limits, evaluated on this very validation set (so that a run's
gap to them is free of the validation set's sampling noise) and in expectation.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path

import torch
import torch.nn.functional as F

from thesis_ml.data import reconstruction
from thesis_ml.data.dataset import Dataset, split_point
from thesis_ml.data.loaders import TensorLoader
from thesis_ml.utils.io import atomic_write


def _teacher(x: torch.Tensor, hidden: int, generator: torch.Generator) -> torch.Tensor:
    n_features = x.shape[1]
    weight = torch.randn(n_features, hidden, generator=generator) / math.sqrt(n_features)
    bias = 0.5 * torch.randn(hidden, generator=generator)
    readout = torch.randn(hidden, generator=generator)
    signal = torch.tanh(x @ weight + bias) @ readout
    return (signal - signal.mean()) / signal.std()


def _supervised(data_cfg: Mapping) -> Dataset:
    generator = torch.Generator().manual_seed(int(data_cfg["seed"]))
    n, d = int(data_cfg["n_samples"]), int(data_cfg["n_features"])
    noise = float(data_cfg["noise"])
    n_train = split_point(n, float(data_cfg["train_frac"]))
    x = torch.randn(n, d, generator=generator)
    signal = _teacher(x, int(data_cfg["teacher_hidden"]), generator)
    val = slice(n_train, None)
    if data_cfg["task"] == "regression":
        y = signal + noise * torch.randn(n, generator=generator)
        optimum = {
            "kind": "noise_floor",
            "val_loss": float(F.mse_loss(signal[val], y[val])),
            "expected_val_loss": noise**2,
        }
    else:
        prob = torch.sigmoid(signal / noise)
        y = torch.bernoulli(prob, generator=generator)
        bayes_prediction = (signal[val] > 0).float()
        optimum = {
            "kind": "bayes",
            "val_loss": float(F.binary_cross_entropy(prob[val], y[val])),
            "expected_val_loss": float(_binary_entropy(prob[val]).mean()),
            "val_accuracy": float((bayes_prediction == y[val]).float().mean()),
            "expected_val_accuracy": float(torch.maximum(prob[val], 1 - prob[val]).mean()),
        }
    y = y.unsqueeze(1)
    meta = {
        "task": data_cfg["task"],
        "input_dim": d,
        "output_dim": 1,
        "n_train": n_train,
        "n_val": n - n_train,
        "optimum": optimum,
    }
    return Dataset(x[:n_train], y[:n_train], x[n_train:], y[n_train:], meta)


def _binary_entropy(p: torch.Tensor) -> torch.Tensor:
    p = p.clamp(1e-12, 1 - 1e-12)
    return -(p * p.log() + (1 - p) * (1 - p).log())


# One generator per data.task; a new task is one function and one entry here.
GENERATORS: dict[str, Callable[[Mapping], Dataset]] = {
    "regression": _supervised,
    "binary": _supervised,
    "reconstruction": reconstruction.generate,
}


def generate_dataset(data_cfg: Mapping) -> Dataset:
    """Draw the dataset that ``cfg.data`` describes; the same config gives the same tensors."""
    task = data_cfg["task"]
    if task not in GENERATORS:
        raise ValueError(f"data.task={task!r} is not one of {sorted(GENERATORS)}")
    return GENERATORS[task](data_cfg)


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


def make_dataloaders(
    cfg: Mapping,
    generator: torch.Generator | None = None,
    dataset: Dataset | None = None,
) -> tuple[TensorLoader, TensorLoader, dict]:
    """Train and validation loaders for ``cfg.data`` plus the dataset's metadata.

    ``dataset`` skips generation (the pipeline passes the file it generated once).
    """
    dataset = dataset if dataset is not None else generate_dataset(cfg["data"])
    trainer = cfg["trainer"]
    train_loader = TensorLoader(
        dataset.x_train,
        dataset.y_train,
        batch_size=int(trainer["batch_size"]),
        shuffle=True,
        generator=generator,
    )
    val_loader = TensorLoader(
        dataset.x_val, dataset.y_val, batch_size=int(trainer["eval_batch_size"])
    )
    return train_loader, val_loader, dataset.meta
