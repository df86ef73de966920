"""Final VQ perplexity per codebook configuration: a box (quartiles, median, min-max whiskers)
over the seeds of each configuration, every run as a dot (diverged or failed runs as red
crosses), the configuration's codebook size K as a dashed line over its box (the perplexity of
a codebook whose codes are all used equally), seed counts under the boxes. Boxes are drawn as
three collections, whatever their number."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from thesis_ml.reports.figures.common import (
    UNFINISHED_STYLE,
    ReportData,
    finish,
    finished,
    natural_key,
    new_figure,
    shorten,
)

MAX_TICK_LABELS = 40  # beyond this, configurations are numbered rather than named
K_LABEL = "codebook size K (every code used equally)"
# Tick label metrics, in ems of the font: a generous mean character width (digits and "=" are
# wider than letters) and the height of one line.
CHAR_EM, LINE_EM = 0.65, 1.3
FONT_PT, SMALL_FONT_PT = 8.5, 6.0
LABEL_GAP_IN = 0.2  # between two labels
BESIDE_AXES_IN = 3.6  # figure width beside the axes: y label and ticks, the legend outside
MIN_WIDTH_IN, MAX_WIDTH_IN = 7.5, 20.0
HEIGHT_IN = 5.0  # of the figure, less its tick labels when they stand upright


def missing(data: ReportData) -> str | None:
    if data.summary["final_perplexity"].isna().all():
        return "no VQ run (no run records a perplexity)"
    return None


@dataclass
class TickLayout:
    labels: list[str]
    width_in: float  # of the figure
    height_in: float
    rotation: int
    fontsize: float  # points
    step: int  # every step-th configuration is labelled


def tick_layout(parts: list[list[str]]) -> TickLayout:
    """Tick labels that never overlap: one key=value per line under its box, the figure widened
    to fit them (up to MAX_WIDTH_IN); beyond, one line each turned upright, and every step-th
    one only where even those would touch."""
    fontsize = FONT_PT if len(parts) <= 20 else SMALL_FONT_PT
    longest = max(len(line) for lines in parts for line in lines)
    slot_in = longest * CHAR_EM * fontsize / 72 + LABEL_GAP_IN
    width = len(parts) * slot_in + BESIDE_AXES_IN
    if width <= MAX_WIDTH_IN:
        labels = ["\n".join(lines) for lines in parts]
        return TickLayout(labels, max(MIN_WIDTH_IN, width), HEIGHT_IN, 0, fontsize, 1)
    labels = [", ".join(lines) for lines in parts]
    upright_slot_in = LINE_EM * fontsize / 72 + LABEL_GAP_IN / 2
    step = math.ceil(len(parts) * upright_slot_in / (MAX_WIDTH_IN - BESIDE_AXES_IN))
    height = HEIGHT_IN + max(map(len, labels)) * CHAR_EM * fontsize / 72  # room for the labels
    return TickLayout(labels, MAX_WIDTH_IN, height, 90, fontsize, step)


def _draw_codebook_sizes(ax, groups: list[str], position: dict, sizes: dict) -> None:
    """K over each box: the perplexity of a codebook whose codes are all used equally."""
    known = [(position[g], sizes[g]) for g in groups if sizes.get(g)]
    if known:
        x, k = np.array(known, dtype=float).T
        ax.hlines(k, x - 0.4, x + 0.4, color="tab:red", linestyle="--", label=K_LABEL, zorder=1)


def draw(data: ReportData):
    vq = data.summary[data.summary["final_perplexity"].notna()]
    groups = sorted(set(vq["group"]), key=natural_key)
    counts = vq.groupby("group").size()
    short, caption = shorten(groups)
    names = short if len(groups) <= MAX_TICK_LABELS else [str(i + 1) for i in range(len(groups))]
    parts = [[*name.split(", "), f"n={counts[g]}"] for name, g in zip(names, groups, strict=True)]
    ticks = tick_layout(parts)
    title = "Final VQ perplexity per codebook configuration"
    fig, ax = new_figure(title, figsize=(ticks.width_in, ticks.height_in))
    position = {group: i for i, group in enumerate(groups, start=1)}
    done = finished(vq).to_numpy()
    quartiles = (
        vq[done].groupby("group")["final_perplexity"].quantile([0, 0.25, 0.5, 0.75, 1]).unstack()
    )
    x = quartiles.index.map(position).to_numpy(float)
    q = quartiles.to_numpy()
    ax.vlines(x, q[:, 0], q[:, 4], color="black", linewidth=1)
    ax.bar(
        x,
        q[:, 3] - q[:, 1],
        bottom=q[:, 1],
        width=0.5,
        facecolor="white",
        edgecolor="black",
        zorder=2,
    )
    ax.hlines(q[:, 2], x - 0.25, x + 0.25, color="tab:orange", linewidth=2, zorder=3)
    jitter = np.random.default_rng(0).uniform(-0.12, 0.12, len(vq))
    dots = vq["group"].map(position).to_numpy(float) + jitter
    perplexity = vq["final_perplexity"].to_numpy(float)
    ax.plot(
        dots[done],
        perplexity[done],
        ".",
        color="tab:blue",
        alpha=0.6,
        zorder=4,
        label="finished run",
    )
    if (~done).any():
        ax.plot(
            dots[~done],
            perplexity[~done],
            label="diverged/failed run",
            zorder=5,
            **UNFINISHED_STYLE,
        )
    _draw_codebook_sizes(ax, groups, position, data.codebook_sizes)
    ax.set_xticks(list(position.values())[:: ticks.step], ticks.labels[:: ticks.step])
    ax.tick_params(axis="x", labelrotation=ticks.rotation, labelsize=ticks.fontsize)
    ax.set(ylabel="final validation perplexity (codes)", xlim=(0.4, len(groups) + 0.6))
    finish(fig, ax, ["boxes: quartiles and median over seeds; whiskers: min-max"], caption)
    return fig
