"""The interface every tokenizer implements, and code-usage statistics of discrete ones.

An autoencoder is ``decoder(tokenizer(encoder(x)).latent)``. A tokenizer turns the encoder's
continuous latent into what the decoder sees, and reports:

- ``aux_loss``: its own training objective (codebook and commitment losses), added to the
  reconstruction error; zero for a continuous latent.
- ``codes``: for a discrete tokenizer, the index of the code each of the ``n_tokens`` tokens
  of a sample got, shape ``(batch, n_tokens)``; None for a continuous latent. The training
  loop counts them over a whole split to get :func:`code_usage_metrics`.

A new tokenizer is one module with a :class:`Tokenizer` subclass, its entry in
``thesis_ml.tokenizers.registry.TOKENIZERS``, its level count in ``tokenizers/codes.py``, one
config file in ``configs/phase1/tokenizer/`` and its keys in ``schemas/phase1.yaml``.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import NamedTuple

import torch
from torch import nn


class Quantized(NamedTuple):
    latent: torch.Tensor  # what the decoder receives, shape (batch, latent_dim)
    aux_loss: torch.Tensor  # scalar tokenizer loss (0 for a continuous latent)
    codes: torch.Tensor | None  # (batch, n_tokens) code indices, None for a continuous latent


class Tokenizer(nn.Module, ABC):
    """Maps a batch of latents ``(batch, latent_dim)`` to a :class:`Quantized`."""

    # Number of distinct codes of a discrete tokenizer; None for a continuous one.
    codebook_size: int | None = None

    @classmethod
    @abstractmethod
    def from_config(cls, cfg: Mapping, latent_dim: int) -> Tokenizer:
        """Build from the ``phase1.tokenizer`` section for an encoder of ``latent_dim`` outputs."""

    @abstractmethod
    def forward(self, latent: torch.Tensor) -> Quantized: ...

    @property
    @abstractmethod
    def bits_per_sample(self) -> float:
        """Bits of the code of one sample (a continuous latent counts 32 per float32)."""


def in_full_precision(
    quantize: Callable[[torch.Tensor], Quantized], latent: torch.Tensor
) -> Quantized:
    """``quantize`` on ``latent`` in float32, also under bf16 autocast: codes are decided by
    comparisons (nearest code, rounding, sign) that bf16 would flip near their boundaries.
    Autocast is only left where it is on: entering the context costs a training step time."""
    if not torch.is_autocast_enabled(latent.device.type):
        return quantize(latent.float())
    with torch.autocast(latent.device.type, enabled=False):
        return quantize(latent.float())


def projections(latent_dim: int, dims: int) -> tuple[nn.Module, nn.Module]:
    """Learned linear maps from the latent to the ``dims`` numbers a tokenizer quantizes and
    back (FSQ, LFQ); none where the sizes agree."""
    if dims == latent_dim:
        return nn.Identity(), nn.Identity()
    return nn.Linear(latent_dim, dims), nn.Linear(dims, latent_dim)


def code_usage_metrics(counts: torch.Tensor, n_samples: int | None = None) -> dict:
    """Perplexity, fraction of codes used and unused codes, from counts over a whole split; with
    ``n_samples``, also the *effective bits* per sample: the entropy of code usage (in bits) per
    token times the tokens per sample, what the code carries beside its nominal bits.

    Counting over the whole split rather than averaging per batch matters: a batch of B tokens
    can show at most B codes, so per-batch figures understate usage whenever B is near K.
    """
    counts = counts.double()
    total = counts.sum().clamp(min=1)
    probabilities = counts / total
    entropy = -(probabilities * probabilities.clamp(min=1e-30).log()).sum()
    used = int((counts > 0).sum())
    metrics = {
        "perplexity": float(entropy.exp()),
        "code_usage": used / len(counts),
        "dead_codes": len(counts) - used,
    }
    if n_samples:
        metrics["effective_bits"] = float(entropy / math.log(2) * total / n_samples)
    return metrics
