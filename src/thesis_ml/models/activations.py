"""The hidden activations a model config may name: the one list the schemas and builders share.

Torch-free on purpose: the config schemas read the names without importing torch.
"""

from __future__ import annotations

# config name -> torch.nn class name
ACTIVATIONS = {"relu": "ReLU", "gelu": "GELU", "tanh": "Tanh", "silu": "SiLU"}


def activation_layer(name: str):
    """A new ``torch.nn`` module of the activation ``name``."""
    from torch import nn

    if name not in ACTIVATIONS:
        raise ValueError(f"activation {name!r} is not one of {sorted(ACTIVATIONS)}")
    return getattr(nn, ACTIVATIONS[name])()
