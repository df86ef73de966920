"""The supervised models ``model.kind`` selects, and the model of any run config.

A new model is a builder ``(model_cfg, input_dim, output_dim) -> nn.Module`` in a module of its
own, one line in :data:`MODELS`, its config ``configs/model/<kind>.yaml`` and its schema branch
in ``schemas/model.yaml`` (README "Extending").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from torch import nn

from thesis_ml.data.tasks import output_dim
from thesis_ml.models.autoencoder import build_autoencoder
from thesis_ml.models.mlp import build_mlp
from thesis_ml.utils.registry import select

MODELS: dict[str, Callable[[Mapping, int, int], nn.Module]] = {
    "mlp": build_mlp,
}


def build_model(model_cfg: Mapping, input_dim: int, output_dim: int) -> nn.Module:
    """The supervised model ``cfg.model`` describes, for the task's input and output sizes."""
    return select(MODELS, "model.kind", model_cfg["kind"])(model_cfg, input_dim, output_dim)


def build_run_model(cfg: Mapping) -> nn.Module:
    """The untrained model of a run config: its autoencoder when it has phase1, else cfg.model."""
    n_features = int(cfg["data"]["n_features"])
    if cfg.get("phase1"):
        return build_autoencoder(cfg["phase1"], n_features)
    return build_model(cfg["model"], n_features, output_dim(cfg["data"]))
