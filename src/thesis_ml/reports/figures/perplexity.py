"""Final VQ perplexity per codebook configuration: a box (quartiles, median, min-max whiskers)
over the seeds of each configuration, every run as a dot (diverged or failed runs as red
crosses), seed counts under the boxes. Boxes are drawn as three collections, whatever their
number."""

from __future__ import annotations

import numpy as np

from thesis_ml.reports.figures.common import (
    UNFINISHED_STYLE,
    ReportData,
    finish,
    finished,
    natural_key,
    new_figure,
    placeholder,
    shorten,
)

MAX_TICK_LABELS = 40  # beyond this, configurations are numbered rather than named


def draw(data: ReportData):
    vq = data.summary[data.summary["final_perplexity"].notna()]
    groups = sorted(set(vq["group"]), key=natural_key)
    width = min(20, max(7.5, 1.1 * len(groups) + 3))
    fig, ax = new_figure("Final VQ perplexity per codebook configuration", figsize=(width, 5))
    if vq.empty:
        placeholder(ax, "no VQ runs (no run records a perplexity)")
        return fig
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
    counts = vq.groupby("group").size()
    short, caption = shorten(groups)
    names = short if len(groups) <= MAX_TICK_LABELS else [str(i) for i in position.values()]
    ax.set_xticks(
        list(position.values()),
        [f"{name}\nn={counts[g]}" for name, g in zip(names, groups, strict=True)],
        rotation=0 if len(groups) <= 6 else 45,
        ha="center" if len(groups) <= 6 else "right",
        fontsize="small" if len(groups) <= 20 else "xx-small",
    )
    ax.set(ylabel="final validation perplexity (codes)", xlim=(0.4, len(groups) + 0.6))
    finish(fig, ax, ["boxes: quartiles and median over seeds; whiskers: min-max"], caption)
    return fig
