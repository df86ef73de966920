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


def build_run_model(cfg: Mapping, shape: Mapping | None = None) -> nn.Module:
    """The untrained model of a run config: its autoencoder when it has phase1, else cfg.model.

    ``shape`` holds ``input_dim`` and ``output_dim`` as the run recorded them (its facts'
    ``data``): the config alone does not say them for data read from a file.
    """
    if shape is None:
        shape = {"input_dim": cfg["data"]["n_features"], "output_dim": output_dim(cfg["data"])}
    n_features = int(shape["input_dim"])
    if cfg.get("phase1"):
        return build_autoencoder(cfg["phase1"], n_features)
    return build_model(cfg["model"], n_features, int(shape["output_dim"]))
