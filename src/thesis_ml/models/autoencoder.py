"""Phase 1 autoencoders: encoder -> tokenizer -> decoder, each chosen by its config group.

``build_autoencoder(cfg.phase1, n_features)`` assembles the parts; a new encoder or decoder is a
builder in a module of its own, one line in :data:`ENCODERS` or :data:`DECODERS`, its config in
``configs/phase1/{encoder,decoder}/`` and its schema branch in ``schemas/phase1.yaml``.
``thesis_ml.run_directory.load_model`` rebuilds a trained one from its run directory.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import nn

from thesis_ml.models.mlp import mlp_layers
from thesis_ml.tokenizers.base import Quantized, Tokenizer
from thesis_ml.tokenizers.registry import build_tokenizer
from thesis_ml.utils.registry import select


def _mlp_encoder(cfg: Mapping, n_features: int) -> nn.Module:
    return mlp_layers(
        n_features, list(cfg["hidden_sizes"]), int(cfg["latent_dim"]), cfg["activation"]
    )


def _mlp_decoder(cfg: Mapping, latent_dim: int, n_features: int) -> nn.Module:
    return mlp_layers(latent_dim, list(cfg["hidden_sizes"]), n_features, cfg["activation"])


# One builder per `kind` of phase1.encoder / phase1.decoder.
ENCODERS: dict[str, Callable[[Mapping, int], nn.Module]] = {"mlp": _mlp_encoder}
DECODERS: dict[str, Callable[[Mapping, int, int], nn.Module]] = {"mlp": _mlp_decoder}


class Autoencoder(nn.Module):
    def __init__(self, encoder: nn.Module, tokenizer: Tokenizer, decoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.tokenizer = tokenizer
        self.decoder = decoder

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, Quantized]:
        """The reconstruction of ``x`` and what the tokenizer made of its latent."""
        quantized = self.tokenizer(self.encoder(x))
        return self.decoder(quantized.latent), quantized


def build_autoencoder(phase1: Mapping, n_features: int) -> Autoencoder:
    """The autoencoder that ``cfg.phase1`` describes, for inputs of ``n_features``."""
    latent_dim = int(phase1["encoder"]["latent_dim"])
    encoder_cfg, decoder_cfg = phase1["encoder"], phase1["decoder"]
    return Autoencoder(
        select(ENCODERS, "phase1.encoder.kind", encoder_cfg["kind"])(encoder_cfg, n_features),
        build_tokenizer(phase1["tokenizer"], latent_dim),
        select(DECODERS, "phase1.decoder.kind", decoder_cfg["kind"])(
            decoder_cfg, latent_dim, n_features
        ),
    )
