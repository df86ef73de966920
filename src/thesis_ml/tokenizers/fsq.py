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

from thesis_ml.tokenizers.base import Quantized, Tokenizer, in_full_precision, projections
from thesis_ml.tokenizers.codes import fsq_levels

BOUND_EPS = 1e-3


class FiniteScalarQuantizer(Tokenizer):
    def __init__(self, latent_dim: int, levels: list[int]) -> None:
        super().__init__()
        self.levels = list(levels)
        self.codebook_size = math.prod(self.levels)
        dims = len(self.levels)
        self.project_in, self.project_out = projections(latent_dim, dims)
        # Constants of the bound and the code, per number (computed once: a training step's
        # dozen small ops on 3-element tensors cost as much as the tanh on the batch).
        counts = torch.tensor(self.levels, dtype=torch.float32)
        half = (counts - 1) * (1 + BOUND_EPS) / 2
        offset = torch.where(counts % 2 == 0, 0.5, 0.0)
        half_width = torch.div(counts, 2, rounding_mode="floor")
        basis = torch.cumprod(torch.tensor([1.0, *self.levels[:-1]]), dim=0)
        constants = {
            "_half": half,  # the bound's half range
            "_offset": offset,
            "_shift": torch.atanh(offset / half),
            "_half_width": half_width,
            "_basis": basis,  # mixed radix of the code (exact in float32 up to 2**24 codes)
            "zero": torch.zeros(()),
        }
        for name, value in constants.items():
            self.register_buffer(name, value, persistent=False)

    @classmethod
    def from_config(cls, cfg: Mapping, latent_dim: int) -> FiniteScalarQuantizer:
        return cls(latent_dim, fsq_levels(cfg))

    @property
    def bits_per_sample(self) -> float:
        return math.log2(self.codebook_size)

    def forward(self, latent: torch.Tensor) -> Quantized:
        return in_full_precision(self._quantize, latent)  # rounding near a boundary must hold

    def _quantize(self, latent: torch.Tensor) -> Quantized:
        bounded = self._bound(self.project_in(latent))
        detached = bounded.detach()
        level = detached.round()  # an integer in [-half_width, half_width] per number
        rounded = bounded + (level - detached)  # straight-through
        # Integers in float32, summed exactly (elementwise, not a matmul that TF32 may round).
        codes = ((level + self._half_width) * self._basis).sum(dim=1).long()
        return Quantized(self.project_out(rounded / self._half_width), self.zero, codes[:, None])

    def _bound(self, z: torch.Tensor) -> torch.Tensor:
        """Each number squashed into its level count's range (of width levels - 1)."""
        return torch.tanh(z + self._shift) * self._half - self._offset
