"""Test MSE against the bits of the code: one line per tokenizer, above the limit no code beats.

- Each tokenizer (its label: kind and options off their defaults, reports/tokenizer_runs.py) is
  a line through its bit budgets: at the code's nominal bits, the mean over seeds of the
  headline test MSE (the weights selected on validation), min-max over seeds as bars. A budget
  where the tokenizer has several configurations shows the one of lowest validation loss
  (reports/ranking.py), as the ranking does.
- Hollow markers of the same colour, joined to their point by a dotted line, sit at the code's
  effective bits (the entropy of its code usage on test). Always drawn: a codebook that leaves
  codes unused spends fewer bits than it is given, and the distance between the two markers
  tells that apart from a weak decoder.
- The D(R) lower bound, a smooth curve over the bits drawn, from the dataset's population
  eigenvalues (reverse water-filling, thesis_ml.data.bounds); below it is shaded.
- The k-means quantizer reference at each code's bits: an achievable baseline, not a limit.
- Continuous runs have no rate (32 bits per float is no code): a dashed horizontal line per
  latent size, the configuration of lowest validation loss, as a reference only.

One dataset only: a report whose discrete runs span several leaves the figure out, saying so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from thesis_ml.reports.figures.common import (
    BAR_ZORDER,
    QUANTIZER_REFERENCE_LABEL,
    ReportData,
    draw_lower_bound,
    draw_references,
    finish,
    group_colors,
    mark_unfinished,
    natural_key,
    new_figure,
    shade_below_lower_bound,
)
from thesis_ml.reports.ranking import BUDGET_CELL, cell_table
from thesis_ml.reports.tokenizer_runs import comparison_missing

EFFECTIVE_LABEL = "at effective bits (entropy of code usage)"
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
CONTINUOUS_GREYS = ("0.45", "0.65", "0.3", "0.8")
MARGIN_BITS = 0.5  # of the D(R) curve beyond the outermost marker


def missing(data: ReportData) -> str | None:
    return comparison_missing(data.autoencoders)


def series_label(tokenizer: str, n_seeds: pd.Series) -> str:
    """``vq (n=2)``, or ``vq (n=1-2)`` where its points have different seed counts."""
    least, most = int(n_seeds.min()), int(n_seeds.max())
    return f"{tokenizer} (n={least if least == most else f'{least}-{most}'})"


def continuous_label(latent_dim: float) -> str:
    return f"continuous reference: latent {latent_dim:g} floats (no rate)"


def draw(data: ReportData):
    runs = data.autoencoders
    discrete = runs[runs["discrete"]]
    cells = cell_table(discrete, BUDGET_CELL)
    fig, ax = new_figure("Test reconstruction error against the bits of the code")
    ax.set_yscale("log")  # before the shading below D(R), which reads the limits it must keep
    labels = sorted(set(cells["tokenizer"]), key=natural_key)
    colors = group_colors(labels)
    for i, label in enumerate(labels):
        _draw_tokenizer(
            ax, cells[cells["tokenizer"] == label], label, colors[label], MARKERS[i % len(MARKERS)]
        )
    if cells["effective_bits_mean"].notna().any():
        ax.plot([], [], "o", color="grey", markerfacecolor="none", label=EFFECTIVE_LABEL)
    bits = pd.concat([cells["bits_per_sample"], cells["effective_bits_mean"]]).dropna()
    grid = []
    if len(bits):
        grid = np.linspace(max(0.0, bits.min() - MARGIN_BITS), bits.max() + MARGIN_BITS, 200)
    notes = draw_lower_bound(ax, discrete, data.eigenvalues, grid)
    references = cells.dropna(subset=["quantizer_reference"])
    references = references.drop_duplicates(["bits_per_sample", "quantizer_reference"])
    if len(references):
        draw_references(
            ax,
            references["bits_per_sample"],
            references["quantizer_reference"],
            QUANTIZER_REFERENCE_LABEL,
        )
    notes += _draw_continuous(ax, runs, set(discrete["dataset"]))
    notes += mark_unfinished(ax, discrete, "bits_per_sample", "test_mse")
    shade_below_lower_bound(ax)
    if (cells["n_seeds"] > 1).any():
        notes.insert(0, "points: mean over seeds; bars: min-max over seeds")
    if (cells["n_configurations"] > 1).any():
        notes.append("several configurations at a budget: the one of lowest validation loss")
    ax.set(
        xlabel="bits per sample of the code (nominal; hollow: effective)",
        ylabel="test MSE per element (selected weights)",
    )
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    finish(fig, ax, notes)
    return fig


def _draw_tokenizer(ax, cells: pd.DataFrame, label: str, color, marker: str) -> None:
    cells = cells.dropna(subset=["test_mse_mean"]).sort_values("bits_per_sample")
    if cells.empty:  # no finished run: its runs are marked as unfinished
        return
    x, y = cells["bits_per_sample"], cells["test_mse_mean"]
    ax.plot(x, y, marker=marker, color=color, label=series_label(label, cells["n_seeds"]))
    ax.vlines(x, cells["test_mse_min"], cells["test_mse_max"], colors=[color], zorder=BAR_ZORDER)
    effective = cells.dropna(subset=["effective_bits_mean"])
    if len(effective):
        x_effective, y = effective["effective_bits_mean"], effective["test_mse_mean"]
        ax.hlines(y, x_effective, effective["bits_per_sample"], colors=[color], linestyles=":")
        ax.plot(x_effective, y, marker, color=color, markerfacecolor="none")


def _draw_continuous(ax, runs: pd.DataFrame, datasets: set) -> list[str]:
    """A dashed line per latent size of the continuous runs on the discrete runs' dataset."""
    continuous = runs[~runs["discrete"]]
    elsewhere = continuous[~continuous["dataset"].isin(datasets)]
    cells = cell_table(continuous[continuous["dataset"].isin(datasets)], ("latent_dim",))
    for i, cell in enumerate(cells.dropna(subset=["test_mse_mean"]).itertuples()):
        ax.axhline(
            cell.test_mse_mean,
            color=CONTINUOUS_GREYS[i % len(CONTINUOUS_GREYS)],
            linestyle="--",
            label=continuous_label(cell.latent_dim),
        )
    return [f"{len(elsewhere)} continuous run(s) on other data left out"] if len(elsewhere) else []
