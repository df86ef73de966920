"""Residual vector quantization: ``n_quantizers`` stages, each a VQ (with every option of
``phase1/tokenizer=vq``: EMA, k-means init, dead-code restart, rotation trick, cosine search,
codebook_dim projection, SimVQ) of what the stages before it left.

Stage i quantizes ``latent - (e_1 + ... + e_{i-1})`` (earlier codes detached, as in
vector-quantize-pytorch's ``ResidualVQ``); the decoder sees the sum of the stages' codes, and
each stage's gradient estimator (straight-through or rotation) passes the gradient to the
encoder. The code of a sample is one index per stage: ``n_quantizers * log2 K`` bits. Code
usage is counted over the indices of all stages together.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import nn

from thesis_ml.tokenizers.base import Quantized, Tokenizer
from thesis_ml.tokenizers.vq import VectorQuantizer


class ResidualVectorQuantizer(Tokenizer):
    def __init__(self, stages: list[VectorQuantizer]) -> None:
        super().__init__()
        self.stages = nn.ModuleList(stages)
        self.codebook_size = stages[0].codebook_size

    @classmethod
    def from_config(cls, cfg: Mapping, latent_dim: int) -> ResidualVectorQuantizer:
        stage_cfg = {**cfg, "n_tokens": 1}
        n_quantizers = int(cfg["n_quantizers"])
        return cls(
            [VectorQuantizer.from_config(stage_cfg, latent_dim) for _ in range(n_quantizers)]
        )

    @property
    def bits_per_sample(self) -> float:
        return len(self.stages) * math.log2(self.codebook_size)

    def forward(self, latent: torch.Tensor) -> Quantized:
        first, *later = self.stages
        quantized = first(latent)
        output, aux_loss, codes = quantized.latent, quantized.aux_loss, [quantized.codes]
        residual = latent - output.detach()
        for stage in later:
            quantized = stage(residual)
            output = output + quantized.latent
            residual = residual - quantized.latent.detach()
            aux_loss = aux_loss + quantized.aux_loss
            codes.append(quantized.codes)
        return Quantized(output, aux_loss, torch.cat(codes, dim=1))
