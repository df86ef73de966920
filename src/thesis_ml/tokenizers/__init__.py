"""Tokenizers: what an autoencoder's decoder sees of the encoder's latent (``phase1.tokenizer``)."""

from __future__ import annotations

from collections.abc import Mapping

from thesis_ml.tokenizers.base import Quantized, Tokenizer, code_usage_metrics
from thesis_ml.tokenizers.none import ContinuousTokenizer
from thesis_ml.tokenizers.vq import VectorQuantizer
from thesis_ml.utils.registry import select

# One entry per `phase1.tokenizer.kind`: a Tokenizer class with from_config(cfg, latent_dim)
# (README "Extending": its module, config file, schema branch and this line).
TOKENIZERS: dict[str, type[Tokenizer]] = {
    "none": ContinuousTokenizer,
    "vq": VectorQuantizer,
}


def build_tokenizer(cfg: Mapping, latent_dim: int) -> Tokenizer:
    return select(TOKENIZERS, "phase1.tokenizer.kind", cfg["kind"]).from_config(cfg, latent_dim)


__all__ = [
    "TOKENIZERS",
    "ContinuousTokenizer",
    "Quantized",
    "Tokenizer",
    "VectorQuantizer",
    "build_tokenizer",
    "code_usage_metrics",
]
