"""Sizes of the train, validation and test splits (no torch: config validation uses them)."""

from __future__ import annotations

from collections.abc import Mapping

SPLITS = ("train", "val", "test")


def split_sizes(data_cfg: Mapping) -> tuple[int, int, int]:
    """Samples in the train, validation and test splits of ``data.n_samples`` (may be < 1)."""
    n = int(data_cfg["n_samples"])
    n_train = round(n * float(data_cfg["train_frac"]))
    n_val = round(n * float(data_cfg["val_frac"]))
    return n_train, n_val, n - n_train - n_val


def split_problem(data_cfg: Mapping) -> str | None:
    """Why the data config's fractions leave a split empty, or None when all three have rows."""
    if not all(key in data_cfg for key in ("n_samples", "train_frac", "val_frac")):
        return None  # the schema names the missing key
    sizes = split_sizes(data_cfg)
    if min(sizes) >= 1:
        return None
    return (
        f"data.train_frac={data_cfg['train_frac']:g} and data.val_frac={data_cfg['val_frac']:g} "
        f"of data.n_samples={data_cfg['n_samples']} leave {sizes[0]} train, {sizes[1]} "
        f"validation and {sizes[2]} test samples; each split needs at least one "
        "(train_frac + val_frac < 1)"
    )
