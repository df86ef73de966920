"""Synthetic sweeps and readers shared by the report tests (no training needed)."""

from __future__ import annotations

import json
from pathlib import Path

from thesis_ml.reports.synthetic import fake_config, write_fake_run


def vq_config(seed: int = 0, codebook_size: int = 16) -> dict:
    config = fake_config(seed, "vq", latent_dim=4)
    config["phase1"]["tokenizer"]["codebook_size"] = codebook_size
    return config


def write_fake_sweep(root: Path) -> Path:
    """VQ runs (two codebook sizes, two seeds each, one diverged) and a continuous AE."""
    for seed in (0, 1):
        for size in (16, 64):
            status = "diverged" if (size, seed) == (64, 1) else "completed"
            write_fake_run(root / f"vq{size}" / f"seed{seed}", vq_config(seed, size), status=status)
        write_fake_run(root / "ae" / f"seed{seed}", fake_config(seed, "none", latent_dim=2))
    return root


def run_events(run_dir: Path) -> list[dict]:
    lines = (run_dir / "facts" / "events.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]
