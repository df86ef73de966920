"""What the report figures share: their input, seed-group statistics, marks and styling.

Every figure draws a configuration (a seed group) as the mean over its finished runs (completed
or stopped early) with the min-max range over seeds, says how many seeds it has, and marks each
diverged or failed run with a red cross instead of leaving it out.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass, field

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from thesis_ml.data.bounds import distortion_rate  # noqa: E402
from thesis_ml.facts import FINISHED_STATUSES  # noqa: E402

MAX_LEGEND_GROUPS = 12  # more configurations than this are drawn but not all named
_DIGITS = re.compile(r"(\d+)")
BAR_ZORDER = 4  # min-max bars over seeds: above every marker of the figures
UNFINISHED_STYLE = {"marker": "x", "color": "tab:red", "markersize": 8, "linestyle": "none"}
LOWER_BOUND_LABEL = "lower bound D(R) (Gaussian distortion-rate)"
# References (achievable baselines) are hollow markers, never lines: a line reads as a limit.
REFERENCE_STYLE = {"linestyle": "none", "markerfacecolor": "none", "markeredgewidth": 1.5}
QUANTIZER_REFERENCE_LABEL = "quantizer reference (k-means, L levels)"
QUANTIZER_REFERENCE_MARKER = {"marker": "v", "color": "tab:brown"}


@dataclass
class ReportData:
    summary: pd.DataFrame  # one row per run (see thesis_ml.reports.summary)
    scalars: pd.DataFrame  # val rows of every run, long form, with a run_id column
    eigenvalues: dict[str, list[float]]  # run_id -> population covariance eigenvalues, if known
    yardsticks: dict[str, dict]  # run_id -> the run's yardsticks (docs/facts.md)
    autoencoders: pd.DataFrame  # one row per autoencoder run (thesis_ml.reports.tokenizer_runs)
    codebook_sizes: dict[str, int] = field(default_factory=dict)  # group -> K of its VQ runs


def new_figure(title: str, figsize=(11, 5)):
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    return fig, ax


def to_bytes(fig, fig_format: str, dpi: int) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fig_format, dpi=dpi)
    plt.close(fig)
    return buffer.getvalue()


def finished(frame: pd.DataFrame) -> pd.Series:
    """Runs that ran as asked (completed or stopped early): the ones a result is drawn from."""
    return frame["status"].isin(FINISHED_STATUSES)


def group_stats(summary: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Per group: mean, min and max of ``columns`` over its finished runs, and run counts."""
    counts = summary.assign(done=finished(summary)).groupby("group", sort=False)
    counts = counts.agg(n=("run_id", "size"), n_done=("done", "sum"))
    counts = counts.loc[sorted(counts.index, key=natural_key)]
    if not columns:
        return counts
    done = summary[finished(summary)]
    stats = done.groupby("group", sort=False)[columns].agg(["mean", "min", "max"])
    stats.columns = [f"{column}_{stat}" for column, stat in stats.columns]
    return counts.join(stats, how="left")


def natural_key(label: str) -> list:
    """Sort ``size=16`` before ``size=256``: digit runs compare as numbers."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in _DIGITS.split(label)]


def group_label(group: str, n: int, n_done: int) -> str:
    n, unfinished = int(n), int(n - n_done)
    seeds = f"n={n}" + (f", {unfinished} not finished" if unfinished else "")
    return f"{group} ({seeds})"


def shorten(labels: list[str]) -> tuple[list[str], str]:
    """Drop the ``key=value`` parts every label shares; return them separately as a caption."""
    parts = [label.split(", ") for label in labels]
    common = [p for p in parts[0] if all(p in other for other in parts[1:])] if parts else []
    short = [", ".join(p for p in label if p not in common) or "all runs" for label in parts]
    return short, ", ".join(common)


def group_colors(groups: list[str]) -> dict[str, tuple]:
    cmap = plt.get_cmap("tab10" if len(groups) <= 10 else "viridis")
    if len(groups) <= 10:
        return {group: cmap(i) for i, group in enumerate(groups)}
    return {group: cmap(i / (len(groups) - 1)) for i, group in enumerate(groups)}


def mark_unfinished(ax, summary: pd.DataFrame, x: str, y: str) -> list[str]:
    """Red crosses at the runs that did not finish; returns notes for those without a point."""
    rows = summary[~finished(summary)]
    drawable = rows[_finite(rows[x]) & _finite(rows[y])]
    if len(drawable):
        statuses = "/".join(sorted(set(rows["status"].astype(str))))
        ax.plot(drawable[x], drawable[y], label=f"{statuses} run", **UNFINISHED_STYLE)
    return [
        f"{row.run_id} ({row.status}) has no finite {x} or {y}"
        for row in rows[~rows.index.isin(drawable.index)].itertuples()
    ]


def _finite(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values, errors="coerce").map(lambda v: v is not None and math.isfinite(v))


def finish(fig, ax, notes: list[str], caption: str = "", groups: list[tuple] = ()) -> None:
    """Legend, caption and notes. ``groups`` are (label, style) of the configurations, of which
    the first MAX_LEGEND_GROUPS are named; limits and marks (labelled artists) always are."""
    from matplotlib.lines import Line2D

    hidden = max(0, len(groups) - MAX_LEGEND_GROUPS)
    if hidden:
        notes = [f"{hidden} more configurations drawn but not named in the legend", *notes]
    entries = [(Line2D([], [], **style), label) for label, style in groups[:MAX_LEGEND_GROUPS]]
    entries += list(zip(*ax.get_legend_handles_labels(), strict=True))
    if entries:
        handles, labels = zip(*entries, strict=True)
        fig.legend(handles, labels, fontsize="small", loc="outside right upper")
    lines = ([f"common to all runs: {caption}"] if caption else []) + notes[:6]
    if len(notes) > 6:
        lines.append(f"... and {len(notes) - 6} more")
    if lines:
        fig.text(0.01, 0.005, "\n".join(lines), fontsize="x-small", va="bottom", ha="left")
        fig.get_layout_engine().set(rect=(0, 0.035 * len(lines), 1, 1 - 0.035 * len(lines)))


def positive(values) -> np.ndarray:
    """Values usable on a log axis: finite and positive (NaN elsewhere)."""
    array = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    return np.where(np.isfinite(array) & (array > 0), array, np.nan)


def draw_group_points(ax, stats: pd.DataFrame, x: str, y: str, markers=None):
    """Each configuration's mean (x, y) with min-max bars, in few calls whatever their number.

    ``markers`` maps a group to its marker (default "o"). Returns the legend entries and the
    caption (the key=value parts every group shares).
    """
    drawn = stats.dropna(subset=[f"{x}_mean", f"{y}_mean"])
    groups = list(stats.index)
    short, caption = shorten(groups)
    short = dict(zip(groups, short, strict=True))
    colors = group_colors(groups)
    markers = markers or {}
    point_colors = [colors[g] for g in drawn.index]
    # Hollow markers under the bars: a spread over seeds smaller than a marker stays visible.
    bars = {"colors": point_colors, "zorder": BAR_ZORDER}
    ax.hlines(drawn[f"{y}_mean"], drawn[f"{x}_min"], drawn[f"{x}_max"], **bars)
    ax.vlines(drawn[f"{x}_mean"], drawn[f"{y}_min"], drawn[f"{y}_max"], **bars)
    group_markers = drawn.index.map(lambda g: markers.get(g, "o"))
    for marker in sorted(set(group_markers)):
        chosen = drawn[group_markers == marker]
        ax.scatter(
            chosen[f"{x}_mean"],
            chosen[f"{y}_mean"],
            marker=marker,
            s=40,
            zorder=BAR_ZORDER - 1,
            facecolors="none",
            edgecolors=[colors[g] for g in chosen.index],
            linewidths=1.5,
        )
    legend = [
        (
            group_label(short[g], row["n"], row["n_done"]),
            {
                "color": colors[g],
                "marker": markers.get(g, "o"),
                "markerfacecolor": "none",
                "linestyle": "none",
            },
        )
        for g, row in drawn.iterrows()
    ]
    return legend, caption


def draw_references(ax, x, y, label: str, marker: dict = QUANTIZER_REFERENCE_MARKER) -> None:
    """Reference values (achievable baselines, not limits) as hollow markers at ``x``."""
    ax.plot(x, y, label=label, **marker, **REFERENCE_STYLE)


def draw_lower_bound(ax, runs: pd.DataFrame, eigenvalues: dict, grid) -> list[str]:
    """The D(R) curve over ``grid`` (bits per sample) of each population spectrum among
    ``runs`` (reverse water-filling, thesis_ml.data.bounds), numbered where the runs span
    several datasets; returns the figure's note. Call :func:`shade_below_lower_bound` once
    the axis limits are final."""
    spectra = sorted({tuple(eigenvalues[r]) for r in runs["run_id"] if r in eigenvalues})
    if not spectra or not len(grid):
        return ["no population eigenvalues recorded (data not Gaussian): no D(R) curve"]
    for i, spectrum in enumerate(spectra):
        label = LOWER_BOUND_LABEL + (f" (data {i + 1})" if i else "")
        ax.plot(grid, distortion_rate(spectrum, grid), color="black", linestyle="--", label=label)
    return ["shaded: below D(R), unreachable by any code of that rate"]


def shade_below_lower_bound(ax) -> None:
    """Shade under each D(R) curve down to the axis, keeping the limits the shading would
    otherwise stretch."""
    bottom, top = ax.get_ylim()
    for line in ax.get_lines():
        if line.get_label().startswith(LOWER_BOUND_LABEL):
            ax.fill_between(*line.get_data(), bottom, color="grey", alpha=0.12, linewidth=0)
    ax.set_ylim(bottom, top)
