"""Synthetic sweeps and readers shared by the report tests (no training needed)."""

from __future__ import annotations

import itertools
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


def texts_outside(fig) -> list[str]:
    """What of ``fig`` reaches beyond its edges, drawn as saving draws it: each axes with its
    title, labels and tick labels, the suptitle, legends and notes."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    width, height = fig.bbox.width + 1, fig.bbox.height + 1  # a pixel of rounding
    parts = [(f"axes {ax.get_title()!r}", ax.get_tightbbox(renderer)) for ax in fig.axes]
    parts += [("legend", legend.get_window_extent(renderer)) for legend in fig.legends]
    texts = [*fig.texts, *([fig._suptitle] if fig._suptitle else [])]
    parts += [(t.get_text(), t.get_window_extent(renderer)) for t in texts if t.get_text()]
    return [
        name for name, box in parts if min(box.x0, box.y0) < -1 or box.x1 > width or box.y1 > height
    ]


def overlapping_tick_labels(ax, axis: str = "x") -> list[tuple[str, str]]:
    """Neighbouring tick labels of ``axis`` whose drawn boxes overlap."""
    ax.figure.canvas.draw()
    renderer = ax.figure.canvas.get_renderer()
    labels = [t for t in getattr(ax, f"get_{axis}ticklabels")() if t.get_text()]
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in labels]
    boxes.sort(key=lambda item: item[1].x0)
    return [(a, b) for (a, box_a), (b, box_b) in itertools.pairwise(boxes) if box_a.overlaps(box_b)]
