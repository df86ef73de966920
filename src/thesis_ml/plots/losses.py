"""Family ``losses``: train and validation loss per epoch against the run's yardsticks, and
the gap to the one the run is judged by (its ``reference_kind``)."""

from __future__ import annotations

from thesis_ml.facts import RunFacts
from thesis_ml.plots.drawing import finish, plot_splits, reference_line, yardstick_lines

TITLE = "Loss"


def missing(facts: RunFacts, options) -> str | None:
    if not facts.has("loss"):
        return "no loss values in facts/scalars.csv"
    return None


def panel_count(facts: RunFacts, options, full: bool) -> int:
    return 2 if full and _reference_loss(facts) else 1


def draw(axes: list, facts: RunFacts, options, full: bool) -> None:
    unit = _loss_unit(facts)
    ax = axes[0]
    values = plot_splits(ax, facts, "loss")
    if _task_loss_differs(facts):  # autoencoders: the objective adds the tokenizer's aux loss
        epochs, task = facts.series("val", "val_loss")
        ax.plot(epochs, task, color="tab:red", label="validation task loss")
        values += task
    values += yardstick_lines(ax, facts, values)
    if full:
        _mark_best(ax, facts)
    finish(ax, f"{TITLE} per epoch", f"loss ({unit})", values)
    if len(axes) > 1:
        _draw_gap(axes[1], facts)


def _draw_gap(ax, facts: RunFacts) -> None:
    """Relative excess of the validation loss over the reference yardstick: how far the run is
    from it (below zero: it beats a reference)."""
    reference = _reference_loss(facts)
    name = facts.reference_kind.replace("_", " ")
    epochs, losses = facts.series("val", "val_loss")
    gaps = [100 * (loss / reference - 1) for loss in losses]
    ax.plot(epochs, gaps, color="tab:orange", label="validation")
    positive = [g for g in gaps if g > 0]
    finish(ax, f"Gap to {name}", f"validation loss above the {name} (%)", positive)
    if len(positive) < len(gaps):  # a log axis cannot show a loss at or below the reference
        ax.set_yscale("linear")
        reference_line(ax, 0.0, name)


def _mark_best(ax, facts: RunFacts) -> None:
    epochs, losses = facts.series("val", "val_loss")
    if losses:
        best = min(range(len(losses)), key=losses.__getitem__)
        ax.plot(
            [epochs[best]],
            [losses[best]],
            marker="*",
            markersize=12,
            color="tab:green",
            linestyle="none",
            label=f"best validation (epoch {epochs[best]})",
        )


def _reference_loss(facts: RunFacts) -> float | None:
    value = facts.reference.get("val_loss")
    return float(value) if value else None


def _task_loss_differs(facts: RunFacts) -> bool:
    return any(
        row["split"] == "val" and row.get("val_loss") is not None and row["val_loss"] != row["loss"]
        for row in facts.rows
    )


def _loss_unit(facts: RunFacts) -> str:
    task = facts.start.get("task")
    if task == "binary":
        return "binary cross-entropy, nats"
    if task == "regression":
        return "MSE, target units squared"
    return "objective"
