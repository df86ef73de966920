"""A small configurable multilayer perceptron (``model.kind=mlp``; also the MLP encoder/decoder)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from torch import nn

from thesis_ml.models.activations import activation_layer


def mlp_layers(
    input_dim: int,
    hidden_sizes: Sequence[int],
    output_dim: int,
    activation: str = "relu",
    dropout: float = 0.0,
) -> nn.Sequential:
    """Linear -> activation (-> dropout) per hidden size, then a linear output layer."""
    layers: list[nn.Module] = []
    width = input_dim
    for hidden in hidden_sizes:
        layers += [nn.Linear(width, hidden), activation_layer(activation)]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = hidden
    layers.append(nn.Linear(width, output_dim))
    return nn.Sequential(*layers)


def build_mlp(model_cfg: Mapping, input_dim: int, output_dim: int) -> nn.Sequential:
    """The MLP that ``cfg.model`` describes; output size comes from the task."""
    return mlp_layers(
        input_dim,
        list(model_cfg["hidden_sizes"]),
        output_dim,
        activation=model_cfg["activation"],
        dropout=float(model_cfg["dropout"]),
    )


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
