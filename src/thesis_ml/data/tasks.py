"""What each ``data.task`` asks of a model: the size of its output, and how it is scored."""

from __future__ import annotations

from collections.abc import Mapping

# Tasks whose targets are class labels: their splits are stratified, their runs report accuracy.
CLASSIFICATION = ("binary", "multiclass")


def output_dim(data_cfg: Mapping) -> int:
    """Outputs per sample: the features for reconstruction, one logit per class for multiclass,
    one for regression and binary."""
    if data_cfg["task"] == "reconstruction":
        return int(data_cfg["n_features"])
    if data_cfg["task"] == "multiclass":
        return int(data_cfg["n_classes"])
    return 1
