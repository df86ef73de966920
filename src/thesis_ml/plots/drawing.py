"""Drawing helpers the figure families share: panels, curves, scales and reference lines.

Families receive matplotlib objects from ``plots.render`` and never import pyplot, so that
importing a family costs nothing when no figure is drawn.
"""

from __future__ import annotations

from collections.abc import Sequence

from thesis_ml.facts import RunFacts
from thesis_ml.facts.run import yardstick_label

# A span of values wider than this ratio is drawn on a log axis (it crosses a decade).
LOG_SCALE_RATIO = 10.0
# A yardstick further than this ratio from the values drawn is named but not drawn.
OFF_AXIS_RATIO = 10.0
SPLIT_STYLE = {"train": {"color": "tab:blue"}, "val": {"color": "tab:orange"}}
SPLIT_LABEL = {"train": "train", "val": "validation"}
REFERENCE_STYLE = {"linestyle": "--", "linewidth": 1.2}
YARDSTICK_COLOR = {
    "optimum": "black",
    "lower_bound": "tab:purple",
    "linear_reference": "tab:gray",
    "quantizer_reference": "tab:brown",
}


# Fixed margins in inches, wide enough for tick labels, axis labels, panel titles and the
# figure's suptitle. A layout engine (tight or constrained) would measure every text first: that
# doubled the cost of a figure (0.1 to 0.2 s each), which training waits for at its end.
MARGIN_IN = {"left": 1.0, "right": 0.2, "bottom": 0.55, "top": 0.7}
GAP_IN = {"columns": 1.05, "rows": 0.95}
PANEL_IN = (3.6, 2.5)  # width, height of one panel
TITLE_PT, MIN_TITLE_PT = 10.0, 5.0  # the figure's title, shrunk to fit down to the minimum
TITLE_ROOM = 0.92  # of the figure's width: drawn glyphs come out a little wider than measured


def panels(fig, count: int) -> list:
    """``count`` axes side by side (two rows when more than three), sharing the epoch axis."""
    rows, columns = _grid(count)
    width, height = fig.get_size_inches()
    axes = fig.subplots(
        rows,
        columns,
        squeeze=False,
        gridspec_kw={
            "left": MARGIN_IN["left"] / width,
            "right": 1 - MARGIN_IN["right"] / width,
            "bottom": MARGIN_IN["bottom"] / height,
            "top": 1 - MARGIN_IN["top"] / height,
            "wspace": GAP_IN["columns"] / PANEL_IN[0],
            "hspace": GAP_IN["rows"] / PANEL_IN[1],
        },
    )
    axes = axes.ravel().tolist()
    for extra in axes[count:]:
        extra.remove()
    return axes[:count]


def figure_size(count: int) -> tuple[float, float]:
    rows, columns = _grid(count)
    width = columns * PANEL_IN[0] + (columns - 1) * GAP_IN["columns"]
    height = rows * PANEL_IN[1] + (rows - 1) * GAP_IN["rows"]
    return (
        MARGIN_IN["left"] + MARGIN_IN["right"] + width,
        MARGIN_IN["bottom"] + MARGIN_IN["top"] + height,
    )


def suptitle(fig, text: str) -> None:
    """The figure's title, in a smaller font where a long run name would reach past its edges
    (a single-panel figure is under 5 inches wide)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    width_pt = TextToPath().get_text_width_height_descent(
        text, FontProperties(size=TITLE_PT), ismath=False
    )[0]
    room_pt = TITLE_ROOM * 72 * (fig.get_size_inches()[0] - MARGIN_IN["right"])
    fig.suptitle(text, fontsize=max(MIN_TITLE_PT, min(TITLE_PT, TITLE_PT * room_pt / width_pt)))


def _grid(count: int) -> tuple[int, int]:
    return (1, count) if count <= 3 else (2, (count + 1) // 2)


def plot_splits(
    ax, facts: RunFacts, column: str, splits: Sequence[str] = ("train", "val"), scale=1.0
) -> list[float]:
    """One curve per split of ``column`` against epoch; returns every value drawn."""
    drawn: list[float] = []
    for split in splits:
        epochs, values = facts.series(split, column)
        if not values:
            continue
        values = [scale * value for value in values]
        ax.plot(
            epochs, values, marker=_marker(epochs), label=SPLIT_LABEL[split], **SPLIT_STYLE[split]
        )
        drawn.extend(values)
    return drawn


def reference_line(ax, value: float | None, label: str, color: str = "black") -> list[float]:
    """A horizontal dashed line at a known value; nothing when the value is unknown."""
    if value is None:
        return []
    ax.axhline(value, color=color, label=label, **REFERENCE_STYLE)
    return [value]


def yardstick_lines(ax, facts: RunFacts, data: Sequence[float]) -> list[float]:
    """A line at each of the run's yardsticks on validation, named for what it is (an optimum,
    a bound or a reference); returns the values drawn. One more than a decade beyond the
    ``data`` drawn is named in the legend with its value but not drawn: it would stretch the
    axis over decades where nothing is."""
    finite = [v for v in data if v is not None and 0 < v < float("inf")]
    low, high = (min(finite), max(finite)) if finite else (0.0, float("inf"))
    drawn: list[float] = []
    for name, yardstick in facts.yardsticks.items():
        value = yardstick.get("val_loss")
        if not value:  # a zero (PCA keeping every component) has no place on a log axis
            continue
        label = f"{yardstick_label(name, yardstick)}, val"
        color = YARDSTICK_COLOR.get(name, "black")
        if low / OFF_AXIS_RATIO <= value <= high * OFF_AXIS_RATIO:
            drawn += reference_line(ax, float(value), label, color)
        else:
            where = "below" if value < low else "above"
            ax.plot([], [], color=color, label=f"{label}: {value:.2g}, far {where} the axis")
    return drawn


def finish(
    ax,
    title: str,
    ylabel: str,
    values: Sequence[float],
    xlabel: str = "epoch",
    counts: bool = False,
) -> None:
    """Title, labels, legend, integer ticks on the x-axis (epochs, ranks, indices: every x of
    a run's figures counts something) and a log y-axis where values span decades. ``counts``:
    the y values are counts too, from zero (a run without dead codes is a line at 0, not at the
    middle of an axis from -0.04 to 0.04)."""
    from matplotlib.ticker import MaxNLocator

    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if spans_decades(values):
        ax.set_yscale("log")
    elif counts:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(0, max(1.0, ax.get_ylim()[1]))
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small")
    ax.grid(True, alpha=0.3)


def spans_decades(values: Sequence[float]) -> bool:
    finite = [v for v in values if v is not None and v == v and abs(v) != float("inf")]
    if not finite or min(finite) <= 0:
        return False
    return max(finite) / min(finite) >= LOG_SCALE_RATIO


def _marker(epochs: Sequence[int]) -> str | None:
    """Dots on short runs, where single epochs matter; plain lines on long ones."""
    return "o" if len(epochs) <= 30 else None
