"""Reproducible synthetic datasets whose best achievable validation loss is known.

Supervised tasks draw ``x ~ N(0, I)`` and a fixed random teacher ``f`` (one tanh hidden layer,
scaled to unit variance) from ``data.seed``:

- ``regression``: ``y = f(x) + noise * eps``. The best predictor is ``f`` itself; its loss is
  the noise variance.
- ``binary``: ``y ~ Bernoulli(sigmoid(f(x) / noise))``. The Bayes classifier thresholds
  ``f(x)`` at 0; its accuracy is ``E[max(p, 1 - p)]``.

``meta["optimum"]`` holds these limits, evaluated on this very validation and test set (so that
a run's gap to them is free of the split's sampling noise) and in expectation (over test sets).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
import torch.nn.functional as F

from thesis_ml.data.dataset import Dataset, split_dataset
from thesis_ml.data.tasks import output_dim
from thesis_ml.utils.registry import check_known


def _teacher(x: torch.Tensor, hidden: int, generator: torch.Generator) -> torch.Tensor:
    n_features = x.shape[1]
    weight = torch.randn(n_features, hidden, generator=generator) / math.sqrt(n_features)
    bias = 0.5 * torch.randn(hidden, generator=generator)
    readout = torch.randn(hidden, generator=generator)
    signal = torch.tanh(x @ weight + bias) @ readout
    return (signal - signal.mean()) / signal.std()


def generate(data_cfg: Mapping) -> Dataset:
    """Draw the dataset (``data.kind=synthetic``); the same config gives the same tensors."""
    task = check_known(TASKS, "data.task", data_cfg["task"])
    generator = torch.Generator().manual_seed(int(data_cfg["seed"]))
    n, d = int(data_cfg["n_samples"]), int(data_cfg["n_features"])
    noise = float(data_cfg["noise"])
    x = torch.randn(n, d, generator=generator)
    signal = _teacher(x, int(data_cfg["teacher_hidden"]), generator)
    if task == "regression":
        y = signal + noise * torch.randn(n, generator=generator)
    else:
        prob = torch.sigmoid(signal / noise)
        y = torch.bernoulli(prob, generator=generator)
    meta = {"task": task, "input_dim": d, "output_dim": output_dim(data_cfg)}
    dataset = split_dataset(data_cfg, x, y.unsqueeze(1), meta)
    teacher = split_dataset(data_cfg, signal, signal, {})
    dataset.meta["optimum"] = _optimum(task, noise, dataset, teacher)
    return dataset


def _optimum(task: str, noise: float, dataset: Dataset, teacher: Dataset) -> dict:
    """The teacher's own loss (and accuracy) on the validation and test splits."""
    optimum = {"role": "optimum", "kind": "noise_floor" if task == "regression" else "bayes"}
    if task == "regression":
        optimum["expected_loss"] = noise**2
    for split in ("val", "test"):
        signal, y = teacher.inputs(split), dataset.targets(split).squeeze(1)
        if task == "regression":
            optimum[f"{split}_loss"] = float(F.mse_loss(signal, y))
            continue
        prob = torch.sigmoid(signal / noise)
        optimum[f"{split}_loss"] = float(F.binary_cross_entropy(prob, y))
        optimum[f"{split}_accuracy"] = float(((signal > 0).float() == y).float().mean())
        if split == "test":
            optimum["expected_loss"] = float(_binary_entropy(prob).mean())
            optimum["expected_accuracy"] = float(torch.maximum(prob, 1 - prob).mean())
    return optimum


def _binary_entropy(p: torch.Tensor) -> torch.Tensor:
    p = p.clamp(1e-12, 1 - 1e-12)
    return -(p * p.log() + (1 - p) * (1 - p).log())


# The tasks this generator draws.
TASKS = ("regression", "binary")
