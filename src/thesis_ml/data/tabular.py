"""Real tables of numbers (bundled datasets, the user's files): split and scaled as the data
config says.

- The split is a function of ``data.seed`` alone: a shuffle that keeps each class's share in
  every split for classification tasks (scikit-learn's stratified ``train_test_split``), a
  plain shuffle otherwise.
- ``data.scaling: standardize`` centres and scales every feature (and a regression target) by
  the mean and standard deviation of the *training* split only (scikit-learn's
  ``StandardScaler``), so nothing of the evaluation splits leaks into training; ``none`` keeps
  the values as they are.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from thesis_ml.config import ConfigError
from thesis_ml.data.dataset import Dataset, split_dataset
from thesis_ml.data.splits import split_sizes
from thesis_ml.data.tasks import CLASSIFICATION


def prepare(data_cfg: Mapping, x: np.ndarray, y: np.ndarray | None, meta: Mapping) -> Dataset:
    """The dataset of features ``x`` and targets ``y`` (None for reconstruction)."""
    task = data_cfg["task"]
    x = np.asarray(x, dtype=np.float64)
    order = split_order(data_cfg, y if task in CLASSIFICATION else None, len(x))
    n_train = split_sizes({**data_cfg, "n_samples": len(x)})[0]
    train = order[:n_train]
    if data_cfg["scaling"] == "standardize":
        x = _standardized(x, train)
    inputs = torch.tensor(x, dtype=torch.float32)
    meta = {**meta, "task": task, "input_dim": x.shape[1]}
    if task == "reconstruction":
        targets = inputs
        meta["output_dim"] = x.shape[1]
    elif task == "multiclass":
        targets = torch.tensor(y, dtype=torch.long)
        meta["output_dim"] = meta["n_classes"] = int(data_cfg["n_classes"])
    else:
        values = np.asarray(y, dtype=np.float64).reshape(-1, 1)
        if task == "regression" and data_cfg["scaling"] == "standardize":
            values = _standardized(values, train)
        targets = torch.tensor(values, dtype=torch.float32)
        meta["output_dim"] = 1
    if data_cfg.get("image_shape"):
        meta["image_shape"] = list(data_cfg["image_shape"])
    return split_dataset(data_cfg, inputs, targets, meta, order=torch.from_numpy(order))


def split_order(data_cfg: Mapping, labels: np.ndarray | None, n: int) -> np.ndarray:
    """A permutation of the rows: train first, then validation, then test."""
    from sklearn.model_selection import train_test_split

    n_train, n_val, n_test = split_sizes({**data_cfg, "n_samples": n})
    seed = int(data_cfg["seed"])
    rows = np.arange(n)
    if labels is not None:
        _check_stratifiable(labels, data_cfg)
    try:
        train, rest = train_test_split(rows, train_size=n_train, stratify=labels, random_state=seed)
        val, test = train_test_split(
            rest,
            train_size=n_val,
            stratify=None if labels is None else labels[rest],
            random_state=seed,
        )
    except ValueError as error:  # a split too small to hold every class
        raise ConfigError(f"data.train_frac/data.val_frac: {error}") from None
    return np.concatenate([train, val, test])


def _check_stratifiable(labels: np.ndarray, data_cfg: Mapping) -> None:
    values, counts = np.unique(labels, return_counts=True)
    fewest = int(counts.min())
    if fewest < 3:
        rare = values[counts.argmin()]
        raise ConfigError(
            f"data.task={data_cfg['task']}: class {rare!r} has {fewest} sample(s); a stratified "
            "train/validation/test split needs at least 3 of each class"
        )


def _standardized(values: np.ndarray, train: np.ndarray) -> np.ndarray:
    from sklearn.preprocessing import StandardScaler

    return StandardScaler().fit(values[train]).transform(values)
