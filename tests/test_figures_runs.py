"""A run's figures, inspected as matplotlib objects: titles inside the figure, count axes from
zero with integer ticks, and no yardstick stretching an axis over decades where nothing is."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from tests import test_plots
from tests.report_helpers import texts_outside
from tests.test_plots import ae_examples, write_ae_facts
from thesis_ml.config import compose, to_plain_dict
from thesis_ml.facts import FactsWriter, load_run_facts
from thesis_ml.plots.families import FAMILIES
from thesis_ml.plots.render import draw_figure
from thesis_ml.train.ae_loop import train as train_ae

PIPELINE_RUN_NAME = "tokenizer-vq__latent_dim-2__codebook_size-16__seed-0"  # results/*/runs/
OPTIONS = {"losses": True, "metrics": True, "recon": {"mode": "visuals"}, "codebook": True}
OPTIONS["latency"] = {"mode": "full"}


def figure(name: str, run_dir: Path, full: bool = True):
    fig = draw_figure(name, load_run_facts(run_dir), OPTIONS[name], full)
    FigureCanvasAgg(fig)
    return fig


def axes_titled(fig, title: str):
    (ax,) = [ax for ax in fig.axes if ax.get_title().startswith(title)]
    return ax


def visible_ticks(ax, axis: str) -> list[float]:
    low, high = sorted(getattr(ax, f"get_{axis}lim")())
    return [t for t in getattr(ax, f"get_{axis}ticks")() if low <= t <= high]


@pytest.fixture
def vq_run(tmp_path) -> Path:
    run_dir = tmp_path / PIPELINE_RUN_NAME
    write_ae_facts(run_dir, examples=ae_examples)
    return run_dir


@pytest.mark.parametrize("full", [False, True], ids=["epoch_end", "train_end"])
@pytest.mark.parametrize("name", list(FAMILIES))
def test_every_figure_keeps_its_titles_legends_and_labels_inside(vq_run, name, full):
    fig = figure(name, vq_run, full)
    assert texts_outside(fig) == []
    assert fig.get_suptitle() == f"run {PIPELINE_RUN_NAME}, epoch {test_plots.AE_EPOCHS}"


def test_integer_axes_get_integer_ticks(vq_run):
    for name in FAMILIES:
        for ax in figure(name, vq_run).axes:
            if ax.axison:
                ticks = visible_ticks(ax, "x")
                assert ticks == [round(t) for t in ticks], (ax.get_title(), ticks)
    histogram = axes_titled(figure("codebook", vq_run), "Code usage")
    assert histogram.get_xlabel() == "code rank (most used first)"
    sample = axes_titled(figure("recon", vq_run), "Validation sample 0")
    assert sample.get_xlabel() == "feature index"


def test_dead_codes_axis_starts_at_zero_with_integer_ticks(tmp_path):
    writer = FactsWriter(tmp_path)
    writer.emit("on_train_start", epochs=3, tokenizer="vq")
    for epoch in (1, 2, 3):
        metrics = {"loss": 1.0 / epoch, "perplexity": 15.0, "code_usage": 1.0, "dead_codes": 0}
        writer.scalars([{"epoch": epoch, "split": split, **metrics} for split in ("train", "val")])
        writer.emit("on_validation_end", epoch=epoch, metrics={**metrics, "code_counts": [9] * 16})
        writer.emit("on_epoch_end", epoch=epoch)
    writer.close()
    dead = axes_titled(figure("codebook", tmp_path), "Dead codes")
    assert dead.get_ylim()[0] == 0 and dead.get_ylim()[1] >= 1
    ticks = visible_ticks(dead, "y")
    assert ticks[0] == 0 and ticks == [round(t) for t in ticks]


def test_a_yardstick_far_below_the_data_is_named_but_not_drawn(tmp_path, monkeypatch):
    yardsticks = dict(test_plots.AE_COMPARISON["yardsticks"])
    comparison = {**test_plots.AE_COMPARISON, "yardsticks": yardsticks}
    comparison["yardsticks"]["lower_bound"] = {
        **comparison["yardsticks"]["lower_bound"],
        "val_loss": 4e-6,
    }
    monkeypatch.setattr(test_plots, "AE_COMPARISON", comparison)
    write_ae_facts(tmp_path)
    for name, title in (("recon", "Reconstruction error"), ("losses", "Loss per epoch")):
        ax = axes_titled(figure(name, tmp_path), title)
        low, high = ax.get_ylim()
        assert math.log10(high / low) < 3, (name, low, high)  # not six decades
        assert 4e-6 not in {line.get_ydata()[0] for line in ax.get_lines() if len(line.get_ydata())}
        labels = ax.get_legend_handles_labels()[1]
        assert "lower bound (Gaussian D(R), 4 bits), val: 4e-06, far below the axis" in labels
        assert "quantizer reference (k-means, 16 levels), val" in labels  # near: drawn


def test_a_continuous_autoencoders_figures_span_only_their_data(tmp_path):
    """A real continuous run (its yardsticks are those of docs/facts.md, no lower bound)."""
    overrides = ["phase1/trainer=ae", "phase1/tokenizer=none", f"run_dir={tmp_path}"]
    overrides += ["data.n_samples=1024", "trainer.epochs=2", "logging.quiet=true"]
    cfg = compose([*overrides, "logging.make_plots=false"])
    train_ae(cfg)
    assert to_plain_dict(cfg)["phase1"]["tokenizer"]["kind"] == "none"
    facts = load_run_facts(tmp_path)
    assert "lower_bound" not in facts.yardsticks
    splits, columns = ("train", "val"), ("loss", "recon_mse")
    lowest = min(min(facts.series(s, c)[1]) for s in splits for c in columns)
    for name, title in (("recon", "Reconstruction error"), ("losses", "Loss per epoch")):
        ax = axes_titled(figure(name, tmp_path), title)
        assert ax.get_yscale() == "linear" or ax.get_ylim()[0] > lowest / 10, name
