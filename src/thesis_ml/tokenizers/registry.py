"""The tokenizers ``phase1.tokenizer.kind`` selects.

A new tokenizer is a module with a :class:`~thesis_ml.tokenizers.base.Tokenizer` subclass, one
line in :data:`TOKENIZERS`, its level count in ``tokenizers/codes.py``, one config file in
``configs/phase1/tokenizer/`` and its schema branch in ``schemas/phase1.yaml`` (README
"Extending").
"""

from __future__ import annotations

from collections.abc import Mapping

from thesis_ml.tokenizers.base import Tokenizer
from thesis_ml.tokenizers.fsq import FiniteScalarQuantizer
from thesis_ml.tokenizers.lfq import LookupFreeQuantizer
from thesis_ml.tokenizers.none import ContinuousTokenizer
from thesis_ml.tokenizers.rvq import ResidualVectorQuantizer
from thesis_ml.tokenizers.vq import VectorQuantizer
from thesis_ml.utils.registry import select

TOKENIZERS: dict[str, type[Tokenizer]] = {
    "none": ContinuousTokenizer,
    "vq": VectorQuantizer,
    "fsq": FiniteScalarQuantizer,
    "rvq": ResidualVectorQuantizer,
    "lfq": LookupFreeQuantizer,
}


def build_tokenizer(cfg: Mapping, latent_dim: int) -> Tokenizer:
    return select(TOKENIZERS, "phase1.tokenizer.kind", cfg["kind"]).from_config(cfg, latent_dim)
