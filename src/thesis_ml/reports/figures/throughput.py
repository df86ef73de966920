"""Training throughput (samples/s) against the headline test loss (the weights selected on
validation, measured on test): one point per configuration (mean over seeds, min-max bars),
diverged or failed runs as red crosses."""

from __future__ import annotations

from thesis_ml.reports.figures.common import (
    ReportData,
    draw_group_points,
    finish,
    finished,
    group_stats,
    mark_unfinished,
    new_figure,
)


def missing(data: ReportData) -> str | None:
    stats = group_stats(data.summary, ["best_test_loss", "samples_per_s"])
    drawable = stats[["best_test_loss_mean", "samples_per_s_mean"]].notna().all(axis=1)
    if not drawable.any() and finished(data.summary).all():  # unfinished runs are still marked
        return "no finished run records best_test_loss and samples_per_s"
    return None


def draw(data: ReportData):
    fig, ax = new_figure("Throughput against test loss")
    summary = data.summary
    stats = group_stats(summary, ["best_test_loss", "samples_per_s"])
    legend, caption = draw_group_points(ax, stats, "best_test_loss", "samples_per_s")
    notes = mark_unfinished(ax, summary, "best_test_loss", "samples_per_s")
    ax.set(
        xlabel="test loss of the selected weights (best validation epoch)",
        ylabel="training throughput (samples/s)",
    )
    ax.set_xscale("log")
    if (stats["n"] > 1).any():
        notes.insert(0, "points: mean over seeds; bars: min-max over seeds")
    finish(fig, ax, notes, caption, legend)
    return fig
