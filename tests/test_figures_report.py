"""The report's figures, inspected as matplotlib objects: tick labels that never overlap, every
text inside the figure, K beside the perplexities, seed bars that markers do not hide."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PathCollection

from tests.report_helpers import (
    overlapping_tick_labels,
    texts_outside,
    vq_config,
    write_fake_sweep,
)
from thesis_ml.reports import load_runs
from thesis_ml.reports.build import report_data
from thesis_ml.reports.figures import FIGURES, pareto, perplexity, throughput
from thesis_ml.reports.runs import read_runs, resolve_sources
from thesis_ml.reports.synthetic import write_fake_run


def data_of(sweep: Path):
    return report_data(read_runs(resolve_sources(sweep)), load_runs(sweep))


def vq_sweep(root: Path, n_configs: int, seeds=(0,)) -> Path:
    """VQ configurations with two differing keys each (long tick labels)."""
    for i in range(n_configs):
        for seed in seeds:
            config = vq_config(seed, codebook_size=16 * (i + 1))
            config["phase1"]["encoder"]["latent_dim"] = 2 + i % 3
            write_fake_run(root / f"config{i}" / f"seed{seed}", config)
    return root


@pytest.mark.parametrize("n_configs", [1, 5, 12, 50])
def test_perplexity_tick_labels_never_overlap_and_stay_in_the_figure(tmp_path, n_configs):
    fig = perplexity.draw(data_of(vq_sweep(tmp_path / "sweep", n_configs)))
    (ax,) = fig.axes
    assert overlapping_tick_labels(ax) == []
    assert texts_outside(fig) == []
    assert ax.get_position().height > 0.3  # upright labels leave the boxes room


def test_perplexity_draws_the_codebook_size_over_each_box(tmp_path):
    fig = perplexity.draw(data_of(vq_sweep(tmp_path / "sweep", 3, seeds=(0, 1))))
    (ax,) = fig.axes
    (k_lines,) = [c for c in ax.collections if c.get_label() == perplexity.K_LABEL]
    heights = sorted(segment[0][1] for segment in k_lines.get_segments())
    assert heights == [16, 32, 48]
    assert ax.get_ylim()[1] > 48
    legend_labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert perplexity.K_LABEL in legend_labels


def test_seed_bars_are_drawn_over_hollow_markers(tmp_path):
    data = data_of(write_fake_sweep(tmp_path / "sweep"))
    for module in (pareto, throughput):
        (ax,) = module.draw(data).axes
        bars = [c for c in ax.collections if isinstance(c, LineCollection)]
        markers = [c for c in ax.collections if isinstance(c, PathCollection)]
        marked_lines = [line for line in ax.get_lines() if line.get_marker() not in ("None", "")]
        assert bars and markers
        assert min(c.get_zorder() for c in bars) > max(
            artist.get_zorder() for artist in [*markers, *marked_lines]
        )
        assert all(
            c.get_facecolor().size == 0 or c.get_facecolor()[:, 3].max() == 0 for c in markers
        )


@pytest.mark.parametrize("name", list(FIGURES))
def test_every_report_figure_keeps_its_title_legend_and_notes_inside(tmp_path, name):
    data = data_of(write_fake_sweep(tmp_path / "sweep"))
    fig = importlib.import_module(f"thesis_ml.reports.figures.{FIGURES[name]}").draw(data)
    FigureCanvasAgg(fig)
    assert texts_outside(fig) == []
