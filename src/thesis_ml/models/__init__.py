"""Model builders: each takes its config section and the data's metadata."""

from thesis_ml.models.mlp import ACTIVATIONS, build_mlp, count_parameters

__all__ = ["ACTIVATIONS", "build_mlp", "count_parameters"]
