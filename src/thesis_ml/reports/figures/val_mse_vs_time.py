"""Validation MSE against wall-clock time: one line per configuration (mean over seeds, with
the min-max band), diverged or failed runs drawn on their own, dashed, ending in a red cross.

Lines and bands are drawn as one collection each, so a thousand runs cost what ten do.
"""

from __future__ import annotations

import numpy as np
from matplotlib.collections import LineCollection, PolyCollection

from thesis_ml.reports.figures.common import (
    UNFINISHED_STYLE,
    ReportData,
    finish,
    finished,
    group_colors,
    group_label,
    group_stats,
    new_figure,
    placeholder,
    positive,
    shorten,
)


def draw(data: ReportData):
    fig, ax = new_figure("Validation MSE against wall-clock time")
    summary = data.summary
    curves = data.scalars.merge(summary[["run_id", "group", "status"]], on="run_id")
    curves = curves.assign(val_loss=positive(curves["val_loss"]))
    if curves["val_loss"].notna().sum() == 0:
        placeholder(ax, "no run has a finite, positive validation loss")
        return fig
    stats = group_stats(summary, [])
    groups = list(stats.index)
    short, caption = shorten(groups)
    colors = group_colors(groups)
    per_epoch = (
        curves[finished(curves)]
        .dropna(subset=["val_loss"])
        .groupby(["group", "epoch"], sort=True)
        .agg(
            t=("wall_time_s", "mean"),
            mean=("val_loss", "mean"),
            lo=("val_loss", "min"),
            hi=("val_loss", "max"),
        )
    )
    lines, bands, line_colors, band_colors = [], [], [], []
    for group, curve in per_epoch.groupby(level="group", sort=False):
        t = curve["t"].to_numpy()
        lines.append(np.column_stack([t, curve["mean"]]))
        line_colors.append(colors[group])
        if stats.at[group, "n_done"] > 1:
            upper = np.column_stack([t, curve["hi"]])
            lower = np.column_stack([t, curve["lo"]])[::-1]
            bands.append(np.vstack([upper, lower]))
            band_colors.append(colors[group])
    ax.add_collection(PolyCollection(bands, facecolors=band_colors, alpha=0.2, linewidths=0))
    ax.add_collection(LineCollection(lines, colors=line_colors, linewidths=1.6))
    _draw_unfinished(ax, curves[~finished(curves)], colors)
    _draw_optimum(ax, summary)
    ax.autoscale_view()
    ax.set(xlabel="wall-clock time since training start (s)", ylabel="validation MSE")
    ax.set_yscale("log")
    notes = ["lines: mean over seeds; bands: min-max over seeds"] if (stats["n"] > 1).any() else []
    legend = [
        (group_label(name, stats.at[g, "n"], stats.at[g, "n_done"]), {"color": colors[g]})
        for g, name in zip(groups, short, strict=True)
    ]
    finish(fig, ax, notes, caption, legend)
    return fig


def _draw_unfinished(ax, curves, colors) -> None:
    curves = curves.dropna(subset=["val_loss"]).sort_values(["run_id", "epoch"])
    if curves.empty:
        return
    runs = list(curves.groupby("run_id", sort=False))
    segments = [np.column_stack([c["wall_time_s"], c["val_loss"]]) for _, c in runs]
    run_colors = [colors[c["group"].iloc[0]] for _, c in runs]
    ax.add_collection(LineCollection(segments, colors=run_colors, linestyles="--"))
    ends = np.array([segment[-1] for segment in segments])
    statuses = "/".join(sorted(set(curves["status"].astype(str))))
    ax.plot(ends[:, 0], ends[:, 1], label=f"{statuses} run (last finite value)", **UNFINISHED_STYLE)


def _draw_optimum(ax, summary) -> None:
    optima = positive(summary["optimum_val_loss"])
    optima = optima[~np.isnan(optima)]
    if optima.size and np.allclose(optima, optima[0], rtol=1e-6):
        kinds = summary["optimum_kind"].dropna()
        kind = f" ({kinds.iloc[0]})" if len(kinds) else ""
        ax.axhline(optima[0], color="grey", linestyle=":", label=f"known optimum{kind}")
