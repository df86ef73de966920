"""How many distinct codes each tokenizer kind can emit per sample, from its config alone.

No torch here: the pipeline reads it while it builds the DAG, to schedule one quantizer
reference per dataset and level count (rules/data.smk). A discrete tokenizer of L levels codes
a sample in log2(L) bits; a continuous one (None) has no levels. A new tokenizer adds its line
(README "Extending"; tests/test_vq.py checks that every kind of TOKENIZERS has one and that
it agrees with the tokenizer's bits).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from thesis_ml.utils.registry import select

# FSQ's recommended level sets per bit budget (Mentzer et al. 2023, arXiv 2309.15505, table 1).
FSQ_LEVELS = {
    8: [8, 6, 5],
    10: [8, 5, 5, 5],
    12: [7, 5, 5, 5, 5],
    14: [8, 8, 8, 6, 5],
    16: [8, 8, 8, 5, 5, 5],
}


def fsq_levels(cfg: Mapping) -> list[int]:
    """The levels of an FSQ config: given, or the recommended set of its bit budget."""
    return list(cfg["levels"]) if cfg.get("levels") else FSQ_LEVELS[int(cfg["bits"])]


CODE_LEVELS: dict[str, Callable[[Mapping, int], int | None]] = {
    "none": lambda cfg, latent_dim: None,
    "vq": lambda cfg, latent_dim: int(cfg["codebook_size"]) ** int(cfg["n_tokens"]),
    "fsq": lambda cfg, latent_dim: math.prod(fsq_levels(cfg)),
    "rvq": lambda cfg, latent_dim: int(cfg["codebook_size"]) ** int(cfg["n_quantizers"]),
    "lfq": lambda cfg, latent_dim: 2 ** int(cfg["bits"]),
}


def code_levels(tokenizer_cfg: Mapping, latent_dim: int) -> int | None:
    """Distinct codes per sample of ``phase1.tokenizer`` on a latent of ``latent_dim``."""
    kind = tokenizer_cfg["kind"]
    return select(CODE_LEVELS, "phase1.tokenizer.kind", kind)(tokenizer_cfg, latent_dim)
