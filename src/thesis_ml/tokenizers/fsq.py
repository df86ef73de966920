"""Finite scalar quantization (FSQ, Mentzer et al. 2023, arXiv 2309.15505).

The latent is projected to ``len(levels)`` numbers (a learned linear map, none when the sizes
agree); number i is bounded by a shifted tanh to ``levels[i]`` values and rounded, with a
straight-through gradient, then projected back. No codebook and no auxiliary loss: the code is
the tuple of rounded values, one index in ``prod(levels)`` (mixed radix). The bound follows
vector-quantize-pytorch's ``FSQ`` exactly (same codes for the same inputs and projections:
tests/test_fsq.py), with its ``eps`` that keeps an even level count's outer values reachable.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import nn

from thesis_ml.tokenizers.base import Quantized, Tokenizer
from thesis_ml.tokenizers.codes import fsq_levels

BOUND_EPS = 1e-3


class FiniteScalarQuantizer(Tokenizer):
    def __init__(self, latent_dim: int, levels: list[int]) -> None:
        super().__init__()
        self.levels = list(levels)
        self.codebook_size = math.prod(self.levels)
        dims = len(self.levels)
        self.project_in = nn.Linear(latent_dim, dims) if dims != latent_dim else nn.Identity()
        self.project_out = nn.Linear(dims, latent_dim) if dims != latent_dim else nn.Identity()
        counts = torch.tensor(self.levels, dtype=torch.float32)
        self.register_buffer("_levels", counts, persistent=False)
        basis = torch.cumprod(torch.tensor([1, *self.levels[:-1]]), dim=0)
        self.register_buffer("_basis", basis, persistent=False)
        self.register_buffer("zero", torch.zeros(()), persistent=False)

    @classmethod
    def from_config(cls, cfg: Mapping, latent_dim: int) -> FiniteScalarQuantizer:
        return cls(latent_dim, fsq_levels(cfg))

    @property
    def bits_per_sample(self) -> float:
        return math.log2(self.codebook_size)

    def forward(self, latent: torch.Tensor) -> Quantized:
        # Full precision even under bf16 autocast: rounding near a level boundary must not flip.
        with torch.autocast(latent.device.type, enabled=False):
            bounded = self._bound(self.project_in(latent.float()))
            rounded = bounded + (bounded.round() - bounded).detach()  # straight-through
            half_width = torch.div(self._levels, 2, rounding_mode="floor")
            codes = ((rounded.detach() + half_width) * self._basis).sum(dim=1).round().long()
            return Quantized(self.project_out(rounded / half_width), self.zero, codes[:, None])

    def _bound(self, z: torch.Tensor) -> torch.Tensor:
        """Each number squashed into its level count's range (of width levels - 1)."""
        half = (self._levels - 1) * (1 + BOUND_EPS) / 2
        offset = torch.where(self._levels % 2 == 0, 0.5, 0.0)
        shift = torch.atanh(offset / half)
        return torch.tanh(z + shift) * half - offset
