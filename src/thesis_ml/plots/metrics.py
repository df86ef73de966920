"""Family ``metrics``: accuracy (classification tasks, against the Bayes classifier's where the
data has one), for a multi-class run the confusion matrix of the last finished epoch on the
validation split, and the learning rate per epoch."""

from __future__ import annotations

from thesis_ml.facts import RunFacts
from thesis_ml.facts.run import yardstick_label
from thesis_ml.plots.drawing import PANEL_IN, finish, plot_splits, reference_line

# Columns this family draws, in panel order; a run shows the ones it has values for.
COLUMNS = ("accuracy", "lr")
CONFUSION = "confusion_matrix"  # a key of on_validation_end metrics, not a scalars.csv column
# Cell counts darker than this fraction of their true class are written in white, to stay legible.
DARK_CELL = 0.5
CHAR_PT = 6.0  # width of a tick label character at the default 10 pt


def missing(facts: RunFacts, options) -> str | None:
    if not _present(facts):
        return f"none of {', '.join(COLUMNS)} in facts/scalars.csv"
    return None


def panel_count(facts: RunFacts, options, full: bool) -> int:
    return len(_present(facts)) if full else 1


def draw(axes: list, facts: RunFacts, options, full: bool) -> None:
    for ax, panel in zip(axes, _present(facts), strict=False):
        DRAW[panel](ax, facts)


def _draw_accuracy(ax, facts: RunFacts) -> None:
    values = plot_splits(ax, facts, "accuracy", scale=100)
    optimum = facts.yardsticks.get("optimum", {})
    bayes = optimum.get("val_accuracy")
    label = f"{yardstick_label('optimum', optimum)}, val"
    values += reference_line(ax, 100 * bayes if bayes else None, label)
    finish(ax, "Accuracy per epoch", "accuracy (%)", values)


def _draw_confusion(ax, facts: RunFacts) -> None:
    """Counts in the cells; colour is the fraction of each true class, so that a rare class's
    mistakes show as clearly as a common one's."""
    import numpy as np

    counts = np.asarray(facts.last_validation()[CONFUSION], dtype=float)
    totals = counts.sum(axis=1, keepdims=True)
    # A class absent from the validation split has an empty row: drawn as 0, not as NaN.
    fractions = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    image = ax.imshow(fractions, cmap="Blues", vmin=0.0, vmax=1.0)
    ax.figure.colorbar(image, ax=ax, label="fraction of true class")
    classes = len(counts)
    names = facts.start.get("data", {}).get("class_names") or [str(i) for i in range(classes)]
    ticks = range(classes)
    # The matrix is a panel high; names wider than a column would run into each other (rotated,
    # past the figure's fixed bottom margin): then columns show indices, rows index and name.
    fit = max(len(name) for name in names) * CHAR_PT <= PANEL_IN[1] * 72 / classes
    ax.set_xticks(ticks, names if fit else [str(i) for i in ticks])
    ax.set_yticks(ticks, names if fit else [f"{i}: {name}" for i, name in enumerate(names)])
    # Ten classes leave cells of about a fifth of an inch: room for three digits at 5 pt.
    size = min(8.0, 50.0 / classes)
    for (row, column), count in np.ndenumerate(counts):
        dark = fractions[row, column] > DARK_CELL
        ax.text(
            column,
            row,
            f"{count:.0f}",
            ha="center",
            va="center",
            fontsize=size,
            color="white" if dark else "black",
        )
    ax.set_title(f"Confusion matrix, validation, epoch {facts.validations[-1]['epoch']}")
    ax.set_xlabel("predicted class" if fit else "predicted class (index)")
    ax.set_ylabel("true class")


def _draw_lr(ax, facts: RunFacts) -> None:
    epochs, rates = facts.series("train", "lr")
    ax.plot(epochs, rates, color="tab:purple", label="learning rate")
    finish(ax, "Learning rate per epoch", "learning rate (per step)", rates)


DRAW = {"accuracy": _draw_accuracy, CONFUSION: _draw_confusion, "lr": _draw_lr}


def _present(facts: RunFacts) -> list[str]:
    """The panels the run has values for, in order; the confusion matrix beside the accuracy."""
    panels = [column for column in COLUMNS if facts.has(column)]
    if CONFUSION in facts.last_validation():
        panels.insert(1 if "accuracy" in panels else 0, CONFUSION)
    return panels
