"""Per-run figures name each yardstick for what it is (an optimum, a bound or a reference) and
measure the gap to the one the run is judged by."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_plots import K, write_ae_facts
from thesis_ml.facts import FactsWriter, load_run_facts
from thesis_ml.plots.drawing import figure_size, panels
from thesis_ml.plots.families import FAMILIES


def drawn_axes(family: str, run_dir: Path, options=None) -> list:
    """The axes of ``family``'s train_end figure of the run, drawn in memory."""
    from matplotlib.figure import Figure

    facts = load_run_facts(run_dir)
    module = FAMILIES[family]
    count = module.panel_count(facts, options, True)
    axes = panels(Figure(figsize=figure_size(count)), count)
    module.draw(axes, facts, options, True)
    return axes


def horizontal_lines(ax) -> dict[str, float]:
    return {
        line.get_label(): line.get_ydata()[0]
        for line in ax.get_lines()
        if len(set(line.get_ydata())) == 1 and len(line.get_ydata()) == 2
    }


AE_YARDSTICK_LINES = {
    "linear reference (PCA, latent 4), val": 0.2,
    "lower bound (Gaussian D(R), 4 bits), val": 0.04,
    f"quantizer reference (k-means, {K} levels), val": 0.1,
}


def test_losses_draw_every_yardstick_named_for_what_it_is_and_the_gap_to_the_reference(
    tmp_path,
):
    write_ae_facts(tmp_path)
    loss, gap = drawn_axes("losses", tmp_path)
    assert horizontal_lines(loss) == AE_YARDSTICK_LINES
    assert not any("optimum" in label for label in loss.get_legend_handles_labels()[1])
    assert gap.get_title() == "Gap to quantizer reference"
    _, val_losses = load_run_facts(tmp_path).series("val", "val_loss")
    drawn_gap = gap.get_lines()[0].get_ydata()
    assert list(drawn_gap) == pytest.approx([100 * (v / 0.1 - 1) for v in val_losses])


def test_recon_draws_the_yardsticks_of_the_code(tmp_path):
    write_ae_facts(tmp_path)
    (curves,) = drawn_axes("recon", tmp_path, {"mode": "curves"})
    assert horizontal_lines(curves) == AE_YARDSTICK_LINES


def test_accuracy_panel_draws_the_bayes_classifiers_accuracy(tmp_path):
    writer = FactsWriter(tmp_path)
    optimum = {"role": "optimum", "kind": "bayes", "val_loss": 0.3, "val_accuracy": 0.9}
    comparison = {"yardsticks": {"optimum": optimum}, "reference_kind": "optimum"}
    writer.emit("on_train_start", epochs=1, task="binary", omitted_yardsticks={}, **comparison)
    common = {"epoch": 1, "loss": 0.5, "lr": 1e-3}
    writer.scalars(
        [
            {**common, "split": "train", "accuracy": 0.7},
            {**common, "split": "val", "val_loss": 0.5, "accuracy": 0.8},
        ]
    )
    writer.emit("on_epoch_end", epoch=1)
    writer.close()
    accuracy, _ = drawn_axes("metrics", tmp_path)
    assert horizontal_lines(accuracy) == {"optimum (Bayes classifier), val": pytest.approx(90)}
