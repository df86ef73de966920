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
from thesis_ml.errors import UserError


def prepare(
    data_cfg: Mapping,
    x: np.ndarray,
    y: np.ndarray | None,
    meta: Mapping,
    columns: list[str] | None = None,
) -> Dataset:
    """The dataset of features ``x`` and targets ``y`` (None for reconstruction); ``columns``
    names the features in messages."""
    task = data_cfg["task"]
    x = np.asarray(x, dtype=np.float64)
    labels = y if task in CLASSIFICATION else None
    order = split_order(data_cfg, labels, len(x), meta.get("class_names"))
    n_train = split_sizes({**data_cfg, "n_samples": len(x)})[0]
    train = order[:n_train]
    columns = columns or [f"column {j}" for j in range(x.shape[1])]
    if data_cfg["scaling"] == "standardize":
        x = _standardized(x, train, columns)
    inputs = _float32(x, columns, data_cfg["scaling"])
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
            values = _standardized(values, train, ["the target"])
        targets = _float32(values, ["the target"], data_cfg["scaling"])
        meta["output_dim"] = 1
    if data_cfg.get("image_shape"):
        meta["image_shape"] = list(data_cfg["image_shape"])
    return split_dataset(data_cfg, inputs, targets, meta, order=torch.from_numpy(order))


def split_order(
    data_cfg: Mapping, labels: np.ndarray | None, n: int, class_names: list[str] | None = None
) -> np.ndarray:
    """A permutation of the rows: train first, then validation, then test. ``class_names``
    (by label index) name the classes in messages as the data file wrote them."""
    from sklearn.model_selection import train_test_split

    n_train, n_val, n_test = split_sizes({**data_cfg, "n_samples": n})
    seed = int(data_cfg["seed"])
    rows = np.arange(n)
    if labels is not None:
        _check_stratifiable(labels, data_cfg, class_names)
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


def _check_stratifiable(
    labels: np.ndarray, data_cfg: Mapping, class_names: list[str] | None
) -> None:
    values, counts = np.unique(labels, return_counts=True)
    fewest = int(counts.min())
    if fewest < 3:
        rare = values[counts.argmin()].item()  # the number, not numpy's repr of it
        rare = class_names[rare] if class_names else rare
        raise ConfigError(
            f"data.task={data_cfg['task']}: class {rare} has {fewest} sample(s); a stratified "
            "train/validation/test split needs at least 3 of each class"
        )


def _standardized(values: np.ndarray, train: np.ndarray, columns: list[str]) -> np.ndarray:
    from sklearn.preprocessing import StandardScaler

    with np.errstate(over="ignore", invalid="ignore"):
        scaler = StandardScaler().fit(values[train])
    # scikit-learn scales a column of infinite variance by 1, leaving it unscaled
    bad = np.flatnonzero(~(np.isfinite(scaler.mean_) & np.isfinite(scaler.var_)))
    if bad.size:
        raise UserError(
            f"{columns[bad[0]]}: its variance overflows float64, so it cannot be standardized; "
            "rescale that column"
        )
    return scaler.transform(values)


def _float32(values: np.ndarray, columns: list[str], scaling: str) -> torch.Tensor:
    """The values as the models train on them; float32's range (3.4e38) must hold them."""
    with np.errstate(over="ignore"):
        cast = values.astype(np.float32)
    bad = np.flatnonzero(~np.isfinite(cast).all(axis=0))
    if bad.size:
        remedy = "" if scaling == "standardize" else " or set data.scaling=standardize"
        raise UserError(
            f"{columns[bad[0]]}: values beyond float32's range (3.4e38), in which the models "
            f"train (data.scaling={scaling}); rescale that column{remedy}"
        )
    return torch.from_numpy(cast)
