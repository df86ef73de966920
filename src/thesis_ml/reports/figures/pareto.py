"""Test reconstruction error against bits per sample, beside what it is compared against.

Points: configurations (mean over seeds of the headline ``best_test_loss``, min-max bars),
marker by tokenizer; the Pareto front (no other configuration has fewer or as many bits and
lower error) is joined by a step line. The yardsticks are drawn apart by what they are:

- the *lower bound* D(R), the Gaussian distortion-rate function of the data's population
  covariance (reverse water-filling): a limit, no code of R bits does better in expectation;
- the *linear reference*, PCA at each configuration's latent size, at that configuration's
  bits: an achievable baseline, which a nonlinear or discrete code may beat;
- the *quantizer reference*, k-means with L centroids at log2(L) bits: an achievable
  L-level quantizer, a baseline too.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from thesis_ml.reports.figures.common import (
    QUANTIZER_REFERENCE_LABEL,
    QUANTIZER_REFERENCE_MARKER,
    ReportData,
    draw_group_points,
    draw_lower_bound,
    draw_references,
    finish,
    group_stats,
    mark_unfinished,
    new_figure,
    positive,
    shade_below_lower_bound,
)

MARKERS = {"vq": "s", "none": "o"}
LINEAR_REFERENCE_LABEL = "linear reference (PCA at the latent size)"


def missing(data: ReportData) -> str | None:
    if data.summary["bits_per_sample"].isna().all():
        return "no run records its compression (bits_per_sample): no autoencoder runs"
    return None


def draw(data: ReportData):
    fig, ax = new_figure("Test reconstruction error against compression")
    summary = data.summary[data.summary["bits_per_sample"].notna()]
    stats = group_stats(summary, ["best_test_loss", "bits_per_sample"])
    tokenizers = summary.groupby("group", sort=False)["tokenizer"].first()
    markers = {g: MARKERS.get(tokenizers[g], "^") for g in stats.index}
    legend, caption = draw_group_points(ax, stats, "bits_per_sample", "best_test_loss", markers)
    drawn = stats.dropna(subset=["best_test_loss_mean", "bits_per_sample_mean"])
    front = pareto_front(drawn["bits_per_sample_mean"], drawn["best_test_loss_mean"])
    if len(front):
        ax.step(*front.T, where="post", color="black", linewidth=1, label="Pareto front")
        ax.plot(*front.T, "o", markersize=13, markerfacecolor="none", markeredgecolor="black")
    bits = summary["bits_per_sample"].astype(float)
    grid = np.geomspace(max(bits.min() / 2, 0.5), bits.max() * 2, 200)
    notes = draw_lower_bound(ax, summary, data.eigenvalues, grid)
    references = _draw_linear_references(ax, summary)
    if references:  # PCA may sit below D(R): its components are floats, not a code of x bits
        notes.append("linear reference: PCA with latent-size float components, at the code's bits")
    references += _draw_quantizer_references(ax, summary, data.yardsticks)
    notes += mark_unfinished(ax, summary, "bits_per_sample", "best_test_loss")
    ax.set(
        xlabel="bits per sample of the code",
        ylabel="test MSE per element (selected weights)",
    )
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    _zoom_to_runs(ax, pd.concat([summary["best_test_loss"], *references]))
    shade_below_lower_bound(ax)
    if (stats["n"] > 1).any():
        notes.insert(0, "points: mean over seeds; bars: min-max over seeds")
    finish(fig, ax, notes, caption, legend)
    return fig


def pareto_front(bits, errors) -> np.ndarray:
    """The (bits, error) points not dominated by another, sorted by bits: an (n, 2) array."""
    points = np.column_stack([np.asarray(bits, float), np.asarray(errors, float)])
    points = points[np.lexsort((points[:, 1], points[:, 0]))]
    front, best = [], np.inf
    for x, y in points:
        if y < best:
            front.append((x, y))
            best = y
    return np.array(front).reshape(-1, 2)


def _draw_linear_references(ax, summary) -> list[pd.Series]:
    """One marker per configuration: PCA of its latent size, at its bits per sample."""
    points = summary.dropna(subset=["linear_reference"])
    points = points.groupby("group", sort=False)[["bits_per_sample", "linear_reference"]].mean()
    if points.empty:
        return []
    draw_references(
        ax,
        points["bits_per_sample"],
        points["linear_reference"],
        LINEAR_REFERENCE_LABEL,
        {"marker": "D", "color": "tab:gray"},
    )
    return [points["linear_reference"]]


def _draw_quantizer_references(ax, summary, yardsticks: dict) -> list[pd.Series]:
    """One marker per level count L (and dataset) at log2(L) bits, each annotated with its L."""
    found = {
        (quantizer["levels"], quantizer["test_loss"])
        for run_id in summary["run_id"]
        if (quantizer := yardsticks.get(run_id, {}).get("quantizer_reference"))
    }
    if not found:
        return []
    levels, losses = zip(*sorted(found), strict=True)
    bits = [math.log2(level) for level in levels]
    draw_references(ax, bits, losses, QUANTIZER_REFERENCE_LABEL)
    for x, y, level in zip(bits, losses, levels, strict=True):
        ax.annotate(
            f"L={level}",
            (x, y),
            textcoords="offset points",
            xytext=(6, -10),
            fontsize="x-small",
            color=QUANTIZER_REFERENCE_MARKER["color"],
        )
    return [pd.Series(losses)]


def _zoom_to_runs(ax, values: pd.Series) -> None:
    """Keep the runs and references in view; D(R) falls steeply and may leave the axes below."""
    values = positive(values)
    values = values[~np.isnan(values)]
    if values.size:
        ax.set_ylim(values.min() / 4, max(ax.get_ylim()[1], values.max() * 2))
