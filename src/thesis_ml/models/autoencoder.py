"""Phase 1 autoencoders: encoder -> tokenizer -> decoder, each chosen by its config group.

``build_autoencoder(cfg.phase1, n_features)`` assembles the parts; ``load_autoencoder(run_dir)``
rebuilds a trained one from the run's ``cfg.yaml`` and ``model.pt`` alone (the tokenizer's
codebook and its EMA and usage statistics are part of the state dict).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import torch
from torch import nn

from thesis_ml.models.mlp import mlp_layers
from thesis_ml.tokenizers import Quantized, Tokenizer, build_tokenizer


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
        ENCODERS[encoder_cfg["kind"]](encoder_cfg, n_features),
        build_tokenizer(phase1["tokenizer"], latent_dim),
        DECODERS[decoder_cfg["kind"]](decoder_cfg, latent_dim, n_features),
    )


def load_autoencoder(run_dir: Path | str, device: str | torch.device = "cpu") -> Autoencoder:
    """Rebuild a trained autoencoder from ``run_dir/cfg.yaml`` and ``run_dir/model.pt``."""
    from thesis_ml.config import load_run_config
    from thesis_ml.train.runtime import CONFIG_FILE, MODEL_FILE

    run_dir = Path(run_dir)
    cfg = load_run_config(run_dir / CONFIG_FILE)
    model = build_autoencoder(cfg.phase1, int(cfg.data.n_features))
    state = torch.load(run_dir / MODEL_FILE, map_location=device, weights_only=True)
    model.load_state_dict(state)
    return model.to(device).eval()
