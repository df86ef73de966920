"""Lookup-free quantization (LFQ, MAGVIT-v2, Yu et al. 2023, arXiv 2310.05737).

The latent is projected to ``bits`` numbers (a learned linear map, none when the sizes agree);
each is replaced by its sign, -1 or +1 (0 counts as negative), with a straight-through gradient,
then projected back. The code is the integer whose bits are those signs, the first number the
most significant bit: ``2**bits`` codes and no codebook to search or learn, so a code cannot fall
out of use the way a VQ entry does by drifting away from the encoder's outputs.

What spreads the samples over the codes instead is the paper's entropy penalty. With ``p`` a
sample's softmax over ``-inv_temperature * ||z - c||^2`` for every code ``c``, the loss
``entropy_weight * (mean H(p) - diversity_gamma * H(mean p))`` asks each sample to be sure of
its code and the batch to use all of them; ``commitment_weight * ||z - sg(sign z)||^2`` keeps
the projected latent z near its signs. Codes, output and loss follow vector-quantize-pytorch's
``LFQ`` (codebook_scale 1) exactly for the same inputs and projections (tests/test_lfq.py).

As in the peer, the entropy term is counted in training only: a statistic of the batch, it
would tie the validation loss to the batch size. Its softmax over all ``2**bits`` codes is what
caps ``bits`` (schema: 16, a 2**16-column matrix per batch).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F

from thesis_ml.tokenizers.base import Quantized, Tokenizer, in_full_precision, projections

# The peer's floor on the probabilities inside the entropy's log; the same floor keeps the
# losses equal, and its gradient finite where a code's probability underflows.
ENTROPY_LOG_FLOOR = 1e-5


def _entropy(probabilities: torch.Tensor) -> torch.Tensor:
    return -(probabilities * probabilities.clamp(min=ENTROPY_LOG_FLOOR).log()).sum(dim=-1)


class LookupFreeQuantizer(Tokenizer):
    def __init__(
        self,
        latent_dim: int,
        *,
        bits: int,
        entropy_weight: float,
        diversity_gamma: float,
        inv_temperature: float,
        commitment_weight: float,
    ) -> None:
        """Options as in ``configs/phase1/tokenizer/lfq.yaml``, which states their defaults."""
        super().__init__()
        self.bits = bits
        self.codebook_size = 2**bits
        self.entropy_weight = entropy_weight
        self.diversity_gamma = diversity_gamma
        self.inv_temperature = inv_temperature
        self.commitment_weight = commitment_weight
        self.project_in, self.project_out = projections(latent_dim, bits)
        bit_values = 2 ** torch.arange(bits - 1, -1, -1)
        self.register_buffer("_bit_values", bit_values, persistent=False)
        # Row k: the signs of code k. Only the entropy term needs every code.
        code_bits = torch.arange(self.codebook_size)[:, None] & bit_values
        self.register_buffer("_all_codes", (code_bits != 0).float() * 2 - 1, persistent=False)

    @classmethod
    def from_config(cls, cfg: Mapping, latent_dim: int) -> LookupFreeQuantizer:
        return cls(
            latent_dim,
            bits=int(cfg["bits"]),
            entropy_weight=float(cfg["entropy_weight"]),
            diversity_gamma=float(cfg["diversity_gamma"]),
            inv_temperature=float(cfg["inv_temperature"]),
            commitment_weight=float(cfg["commitment_weight"]),
        )

    @property
    def bits_per_sample(self) -> float:
        return float(self.bits)

    def forward(self, latent: torch.Tensor) -> Quantized:
        # A sign near 0 must not flip, and the softmax at inverse temperature 100 would
        # saturate in bf16.
        return in_full_precision(self._quantize, latent)

    def _quantize(self, latent: torch.Tensor) -> Quantized:
        projected = self.project_in(latent)
        positive = projected > 0
        signs = torch.where(positive, 1.0, -1.0)
        straight_through = projected + (signs - projected).detach()
        codes = (positive.long() * self._bit_values).sum(dim=1)
        aux_loss = self.commitment_weight * F.mse_loss(projected, signs)
        if self.training:
            aux_loss = aux_loss + self.entropy_weight * self._entropy_penalty(projected)
        return Quantized(self.project_out(straight_through), aux_loss, codes[:, None])

    def _entropy_penalty(self, projected: torch.Tensor) -> torch.Tensor:
        """Mean entropy of each sample's code distribution less ``diversity_gamma`` times the
        entropy of the batch's mean distribution."""
        # -||z - c||^2 is 2 z.c up to terms constant over the codes, which the softmax ignores.
        logits = (projected @ self._all_codes.T) * (2 * self.inv_temperature)
        probabilities = logits.softmax(dim=1)
        per_sample = _entropy(probabilities).mean()
        return per_sample - self.diversity_gamma * _entropy(probabilities.mean(dim=0))
