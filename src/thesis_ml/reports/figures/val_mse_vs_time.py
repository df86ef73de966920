"""Validation loss per epoch against wall-clock time: one line per configuration (mean over
seeds, with the min-max band), diverged or failed runs drawn on their own, dashed, ending in a
red cross; the runs' yardsticks on validation as horizontal lines, each named for what it is.

The curves are validation numbers (scalars.csv has no test rows): they show how training went,
the test numbers of the other figures are the results. Lines and bands are drawn as one
collection each, so a thousand runs cost what ten do.
"""

from __future__ import annotations

import numpy as np
from matplotlib.collections import LineCollection, PolyCollection

from thesis_ml.facts.run import yardstick_label
from thesis_ml.reports.figures.common import (
    UNFINISHED_STYLE,
    ReportData,
    finish,
    finished,
    group_colors,
    group_label,
    group_stats,
    new_figure,
    positive,
    shorten,
)

MAX_YARDSTICK_LINES = 8
YARDSTICK_STYLE = {  # by role: limits black, baselines grey, unless one configuration's own
    "optimum": {"color": "black", "linestyle": ":"},
    "bound": {"color": "black", "linestyle": "--"},
    "reference": {"color": "tab:gray", "linestyle": "-."},
}


def missing(data: ReportData) -> str | None:
    if np.isnan(positive(data.scalars["val_loss"])).all():
        return "no run has a finite, positive validation loss"
    return None


def draw(data: ReportData):
    fig, ax = new_figure("Validation loss per epoch against wall-clock time")
    summary = data.summary
    curves = data.scalars.merge(summary[["run_id", "group", "status"]], on="run_id")
    curves = curves.assign(val_loss=positive(curves["val_loss"]))
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
    group_of = dict(zip(summary["run_id"], summary["group"], strict=True))
    notes = _draw_yardsticks(ax, data.yardsticks, group_of, colors)
    ax.autoscale_view()
    ax.set(
        xlabel="wall-clock time since training start (s)",
        ylabel="validation loss per epoch (MSE per element, or BCE)",
    )
    ax.set_yscale("log")
    if (stats["n"] > 1).any():
        notes.insert(0, "lines: mean over seeds; bands: min-max over seeds")
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


def _draw_yardsticks(ax, yardsticks: dict, group_of: dict, colors: dict) -> list[str]:
    """A line at each distinct yardstick value on validation, in the colour of its
    configuration where only one has it; none when there are so many (one per configuration of
    a large sweep) that they would hide the curves."""
    owners: dict[tuple, set] = {}
    for run_id, run_yardsticks in yardsticks.items():
        for name, yardstick in run_yardsticks.items():
            if yardstick.get("val_loss") and run_id in group_of:
                line = (name, yardstick_label(name, yardstick), yardstick["val_loss"])
                owners.setdefault((*line, yardstick.get("role")), set()).add(group_of[run_id])
    if len(owners) > MAX_YARDSTICK_LINES:
        return [f"{len(owners)} distinct yardstick values not drawn (see summary.csv)"]
    for (_, label, value, role), line_groups in sorted(owners.items(), key=lambda o: o[0][:3]):
        style = dict(YARDSTICK_STYLE.get(role, {}))
        if len(line_groups) == 1:
            style["color"] = colors[next(iter(line_groups))]
        ax.axhline(value, label=label, **style)
    return []
