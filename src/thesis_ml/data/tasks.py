"""What each ``data.task`` asks of a model: the size of its output."""

from __future__ import annotations

from collections.abc import Mapping


def output_dim(data_cfg: Mapping) -> int:
    """Outputs per sample: the features for reconstruction, one for regression and binary."""
    if data_cfg["task"] == "reconstruction":
        return int(data_cfg["n_features"])
    return 1
