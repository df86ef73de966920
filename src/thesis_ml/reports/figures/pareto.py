"""Reconstruction error against bits per sample, with the limits no run can cross.

Points: configurations (mean over seeds, min-max bars), marker by tokenizer; the Pareto front
(no other configuration has fewer or as many bits and lower error) is joined by a step line.
Limits: the Gaussian D(R) curve from the data's covariance eigenvalues (reverse water-filling)
and, for continuous latents, the PCA bound at the run's latent size.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from thesis_ml.data.bounds import distortion_rate
from thesis_ml.reports.figures.common import (
    ReportData,
    draw_group_points,
    finish,
    group_stats,
    mark_unfinished,
    new_figure,
    placeholder,
    positive,
)

MARKERS = {"vq": "s", "none": "o"}


def draw(data: ReportData):
    fig, ax = new_figure("Reconstruction error against compression")
    summary = data.summary[data.summary["bits_per_sample"].notna()]
    if summary.empty:
        placeholder(ax, "no run records its compression (bits_per_sample):\nno autoencoder runs")
        return fig
    stats = group_stats(summary, ["best_val_loss", "bits_per_sample"])
    tokenizers = summary.groupby("group", sort=False)["tokenizer"].first()
    markers = {g: MARKERS.get(tokenizers[g], "^") for g in stats.index}
    legend, caption = draw_group_points(ax, stats, "bits_per_sample", "best_val_loss", markers)
    drawn = stats.dropna(subset=["best_val_loss_mean", "bits_per_sample_mean"])
    front = pareto_front(drawn["bits_per_sample_mean"], drawn["best_val_loss_mean"])
    if len(front):
        ax.step(*front.T, where="post", color="black", linewidth=1, label="Pareto front")
        ax.plot(*front.T, "o", markersize=13, markerfacecolor="none", markeredgecolor="black")
    notes = _draw_limits(ax, summary, data.eigenvalues)
    notes += mark_unfinished(ax, summary, "bits_per_sample", "best_val_loss")
    ax.set(xlabel="bits per sample of the code", ylabel="best validation MSE (per element)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    _zoom_to_runs(ax, summary)
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


def _draw_limits(ax, summary, eigenvalues: dict) -> list[str]:
    bits = summary["bits_per_sample"].astype(float)
    grid = np.geomspace(max(bits.min() / 2, 0.5), bits.max() * 2, 200)
    spectra = {tuple(eigenvalues[r]) for r in summary["run_id"] if r in eigenvalues}
    for i, spectrum in enumerate(sorted(spectra)):
        label = "D(R): Gaussian distortion-rate limit" + (f" (data {i + 1})" if i else "")
        curve = distortion_rate(spectrum, grid)
        ax.plot(grid, curve, color="black", linestyle="--", label=label)
        ax.fill_between(grid, curve, curve.min() / 10, color="grey", alpha=0.12, linewidth=0)
    bounds = summary.dropna(subset=["pca_bound"]).groupby("bits_per_sample")["pca_bound"].min()
    if len(bounds):
        ax.plot(
            bounds.index,
            bounds.to_numpy(),
            "_",
            color="black",
            markersize=22,
            markeredgewidth=2,
            label="PCA bound at the latent size",
        )
    if not spectra:
        return ["no eigenvalues recorded in the runs' optimum: D(R) curve not drawn"]
    return ["shaded: below D(R), unreachable by any code of that rate"]


def _zoom_to_runs(ax, summary) -> None:
    """Keep the runs and PCA bounds in view; D(R) falls steeply and may leave the axes below."""
    values = positive(pd.concat([summary["best_val_loss"], summary["pca_bound"]]))
    values = values[~np.isnan(values)]
    if values.size:
        ax.set_ylim(values.min() / 4, max(ax.get_ylim()[1], values.max() * 2))
