"""Family ``metrics``: accuracy (binary tasks, against the Bayes classifier's) and the learning
rate per epoch."""

from __future__ import annotations

from thesis_ml.facts import RunFacts
from thesis_ml.facts.run import yardstick_label
from thesis_ml.plots.drawing import finish, plot_splits, reference_line

# Columns this family draws, in panel order; a run shows the ones it has values for.
COLUMNS = ("accuracy", "lr")


def missing(facts: RunFacts, options) -> str | None:
    if not _present(facts):
        return f"none of {', '.join(COLUMNS)} in facts/scalars.csv"
    return None


def panel_count(facts: RunFacts, options, full: bool) -> int:
    return len(_present(facts)) if full else 1


def draw(axes: list, facts: RunFacts, options, full: bool) -> None:
    for ax, column in zip(axes, _present(facts), strict=False):
        DRAW[column](ax, facts)


def _draw_accuracy(ax, facts: RunFacts) -> None:
    values = plot_splits(ax, facts, "accuracy", scale=100)
    optimum = facts.yardsticks.get("optimum", {})
    bayes = optimum.get("val_accuracy")
    label = f"{yardstick_label('optimum', optimum)}, val"
    values += reference_line(ax, 100 * bayes if bayes else None, label)
    finish(ax, "Accuracy per epoch", "accuracy (%)", values)


def _draw_lr(ax, facts: RunFacts) -> None:
    epochs, rates = facts.series("train", "lr")
    ax.plot(epochs, rates, color="tab:purple", label="learning rate")
    finish(ax, "Learning rate per epoch", "learning rate (per step)", rates)


DRAW = {"accuracy": _draw_accuracy, "lr": _draw_lr}


def _present(facts: RunFacts) -> list[str]:
    return [column for column in COLUMNS if facts.has(column)]
