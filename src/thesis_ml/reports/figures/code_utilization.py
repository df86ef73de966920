"""How much of its codebook each tokenizer uses, against the codebook size K (log2 axis).

Two panels, each a line per tokenizer (reports/tokenizer_runs.py) through its codebook sizes:
the fraction of the K codes used on test, and the test perplexity / K (1 when every code is
used equally often; the perplexity is 2 to the effective bits). Both are measured with the
weights selected on validation; points are the mean over seeds with min-max bars, and a size
where a tokenizer has several configurations shows the one of lowest validation loss
(reports/ranking.py). K is the number of codes whose usage is counted: VQ's codebook, the
product of FSQ's levels, one stage's codebook of an RVQ (its stages share the count).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from thesis_ml.reports.figures.common import (
    BAR_ZORDER,
    ReportData,
    finish,
    group_colors,
    mark_unfinished,
    natural_key,
)
from thesis_ml.reports.figures.rate_distortion import MARKERS, series_label
from thesis_ml.reports.ranking import cell_table
from thesis_ml.reports.tokenizer_runs import comparison_missing

SIZE_CELL = ("dataset", "tokenizer", "codebook_size")
PANELS = {  # measure -> y label
    "code_usage": "codes used on test (fraction of K)",
    "perplexity_per_code": "test perplexity / K",
}


def missing(data: ReportData) -> str | None:
    runs = data.autoencoders
    why = comparison_missing(runs)
    if why is None and runs.loc[runs["discrete"], "code_usage"].isna().all():
        return "no run with a discrete code records its code usage on test (best.test_code_usage)"
    return why


def draw(data: ReportData):
    runs = data.autoencoders
    discrete = runs[runs["discrete"]]
    cells = cell_table(discrete, SIZE_CELL)
    fig, axes = plt.subplots(1, len(PANELS), figsize=(12, 5), layout="constrained")
    fig.suptitle("Codebook utilization against codebook size")
    labels = sorted(set(cells["tokenizer"]), key=natural_key)
    colors = group_colors(labels)
    notes = []
    for ax, (measure, ylabel) in zip(axes, PANELS.items(), strict=True):
        for i, label in enumerate(labels):
            drawn = cells[cells["tokenizer"] == label].dropna(subset=[f"{measure}_mean"])
            if drawn.empty:  # no finished run measured it: its runs are marked as unfinished
                continue
            drawn = drawn.sort_values("codebook_size")
            style = {"color": colors[label], "marker": MARKERS[i % len(MARKERS)]}
            # Named in the first panel only: the figure's one legend lists each tokenizer once.
            name = series_label(label, drawn["n_seeds"]) if ax is axes[0] else "_nolegend_"
            ax.plot(drawn["codebook_size"], drawn[f"{measure}_mean"], label=name, **style)
            bars = [drawn[f"{measure}_{stat}"] for stat in ("min", "max")]
            ax.vlines(drawn["codebook_size"], *bars, colors=[colors[label]], zorder=BAR_ZORDER)
        ax.grid(True, which="major", alpha=0.3)
        ax.set(xlabel="codebook size K", ylabel=ylabel, ylim=(0, 1.05), xscale="log")
        # Powers of two only: K of FSQ (240) sits beside 256, where a label of its own would
        # overlap.
        ax.xaxis.set_major_locator(LogLocator(base=2))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        notes += mark_unfinished(ax, discrete, "codebook_size", measure)
    if (cells["n_seeds"] > 1).any():
        notes.insert(0, "points: mean over seeds; bars: min-max over seeds")
    if (cells["n_configurations"] > 1).any():
        notes.append("several configurations at a size: the one of lowest validation loss")
    finish(fig, axes[0], list(dict.fromkeys(notes)))  # each unfinished run once, not per panel
    return fig
