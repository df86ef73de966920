"""The continuous tokenizer: the decoder sees the encoder's latent as it is."""

from __future__ import annotations

from collections.abc import Mapping

import torch

from thesis_ml.data.bounds import FLOAT_BITS
from thesis_ml.tokenizers.base import Quantized, Tokenizer


class ContinuousTokenizer(Tokenizer):
    def __init__(self, latent_dim: int) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.register_buffer("zero", torch.zeros(()), persistent=False)

    @classmethod
    def from_config(cls, cfg: Mapping, latent_dim: int) -> ContinuousTokenizer:
        return cls(latent_dim)

    @property
    def bits_per_sample(self) -> float:
        return float(self.latent_dim * FLOAT_BITS)

    def forward(self, latent: torch.Tensor) -> Quantized:
        return Quantized(latent, self.zero, None)
