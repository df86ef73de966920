"""How a run ended and how it compares: early stopping, divergence, gaps, the result dict.

A run is compared against its yardsticks (docs/facts.md: an optimum, a bound or a reference,
each with its value on the validation and the test split); the gap to each is measured on both
splits, and the run is judged by the one its ``reference_kind`` names.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

EVAL_SPLITS = ("val", "test")


def divergence(
    loss: float, reference: float | None, factor: float | None, val_loss: float = 0.0
) -> str | None:
    """Why an epoch's training and validation losses mean the run has diverged, or None while
    it has not."""
    if not math.isfinite(loss):
        return f"training loss is {loss}"
    if not math.isfinite(val_loss):  # weights that overflow on data they were not trained on
        return f"validation loss is {val_loss} (training loss {loss:.4g})"
    if factor is not None and reference is not None and loss > factor * abs(reference):
        return (
            f"training loss {loss:.4g} > trainer.divergence_factor={factor:g} x the untrained "
            f"model's {reference:.4g}"
        )
    return None


def stall(epoch: int, improved_at: int, patience: int | None, min_delta: float) -> str | None:
    """Why early stopping ends the run after ``epoch``, or None to go on.

    ``improved_at`` is the last epoch whose validation loss fell more than ``min_delta`` below
    the best before it (the first epoch always counts); the run stops after the epoch that
    makes ``patience`` epochs without such an improvement.
    """
    if not patience or epoch - improved_at < patience:
        return None
    return (
        f"no validation loss improvement > trainer.early_stopping.min_delta={min_delta:g} "
        f"for trainer.early_stopping.patience={patience} epochs (last: epoch {improved_at})"
    )


def improves(value: float, reference: float | None, min_delta: float = 0.0) -> bool:
    """A finite ``value`` below ``reference - min_delta`` (any finite value beats None)."""
    if not math.isfinite(value):
        return False
    return reference is None or value < reference - min_delta


def named_metrics(split: str, metrics: Mapping) -> dict:
    """One pass's numeric metrics named for its split: ``{split}_loss`` is the task loss the
    yardsticks compare with (the loop's ``task_loss``, else its ``loss``); the objective
    ``loss`` is left out where a task loss is given (it adds the tokenizer's aux loss)."""
    named = {
        f"{split}_{name}": value
        for name, value in metrics.items()
        if name not in ("loss", "task_loss", f"{split}_loss")
        and isinstance(value, int | float)
        and not isinstance(value, bool)
    }
    named[f"{split}_loss"] = metrics.get("task_loss", metrics.get(f"{split}_loss", metrics["loss"]))
    return named


def gaps(measured: Mapping, yardsticks: Mapping[str, Mapping]) -> dict:
    """Per yardstick: relative excess loss and accuracy points below it, on each split."""
    result = {}
    for name, yardstick in yardsticks.items():
        gap = {}
        for split in EVAL_SPLITS:
            loss, target = measured.get(f"{split}_loss"), yardstick.get(f"{split}_loss")
            if loss is not None and target:
                gap[f"{split}_loss_rel"] = loss / target - 1
            accuracy = measured.get(f"{split}_accuracy")
            if accuracy is not None and f"{split}_accuracy" in yardstick:
                gap[f"{split}_accuracy_points"] = 100 * (yardstick[f"{split}_accuracy"] - accuracy)
        result[name] = gap
    return result


def status_of(divergence_reason: str | None, stall_reason: str | None) -> dict:
    """The ``status`` (and ``reason``) of a run that ended after its last epoch."""
    if divergence_reason:
        return {"status": "diverged", "reason": divergence_reason}
    if stall_reason:
        return {"status": "stopped_early", "reason": stall_reason}
    return {"status": "completed"}


def paused(epoch: int, epochs: int) -> dict:
    """The ``status`` (and ``reason``) of a run stopped by ``trainer.stop_after_epochs``."""
    return {
        "status": "paused",
        "reason": f"trainer.stop_after_epochs: stopped after epoch {epoch} of trainer.epochs="
        f"{epochs}; its checkpoint is kept, and a rerun with a later stop continues it",
    }
