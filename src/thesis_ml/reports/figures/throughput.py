"""Training throughput (samples/s) against best validation MSE: one point per configuration
(mean over seeds, min-max bars), diverged or failed runs as red crosses."""

from __future__ import annotations

from thesis_ml.reports.figures.common import (
    ReportData,
    draw_group_points,
    finish,
    group_stats,
    mark_unfinished,
    new_figure,
    placeholder,
)


def draw(data: ReportData):
    fig, ax = new_figure("Throughput against best validation MSE")
    summary = data.summary
    stats = group_stats(summary, ["best_val_loss", "samples_per_s"])
    if stats[["best_val_loss_mean", "samples_per_s_mean"]].isna().all(axis=None) and not len(
        summary[summary["status"] != "completed"]
    ):
        placeholder(ax, "no completed run records best_val_loss and samples_per_s")
        return fig
    legend, caption = draw_group_points(ax, stats, "best_val_loss", "samples_per_s")
    notes = mark_unfinished(ax, summary, "best_val_loss", "samples_per_s")
    ax.set(xlabel="best validation MSE", ylabel="training throughput (samples/s)")
    ax.set_xscale("log")
    if (stats["n"] > 1).any():
        notes.insert(0, "points: mean over seeds; bars: min-max over seeds")
    finish(fig, ax, notes, caption, legend)
    return fig
