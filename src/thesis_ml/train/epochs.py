"""What one epoch writes: its row of ``scalars.csv``, its events, its printed line, its line of
the history, and the best epoch and weights so far (:class:`thesis_ml.train.course.Course`
calls these for each epoch of a run)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import torch

from thesis_ml.facts import SCALAR_COLUMNS
from thesis_ml.train.outcome import improves, named_metrics
from thesis_ml.train.runtime import Run

Metrics = dict[str, object]
# A few validation inputs and their reconstructions, for figures (facts/recon_examples.json).
Examples = Callable[[], tuple[object, object]]


@dataclass
class Progress:
    """What a checkpoint must restore besides the model and the loop's parts."""

    history: dict[str, list] = field(default_factory=dict)
    best: dict = field(default_factory=dict)
    best_state: dict = field(default_factory=dict)  # the selected weights, on the CPU
    improved_at: int = 0  # last epoch that beat the best by more than min_delta (early stopping)
    improved_loss: float | None = None
    train_time_s: float = 0.0
    reference_loss: float | None = None  # the untrained model's loss, for divergence
    wall_time_s: float = 0.0


@dataclass
class Epoch:
    """One finished epoch: its number, the metrics of both passes and its timing."""

    number: int
    train: Metrics
    val: Metrics
    timing: dict


def log_epoch(
    run, number, train_metrics, train_s, evaluate, n_train, lr, progress: Progress
) -> Epoch:
    """Epoch ``number``'s validation pass after its training pass (``train_s`` seconds), both
    timed, written to the facts and printed."""
    train_done = time.perf_counter()
    measured = evaluate("val")
    val_s = time.perf_counter() - train_done
    progress.train_time_s += train_s
    val_metrics = {k: v for k, v in measured.items() if k != "task_loss"}
    val_metrics["val_loss"] = measured.get("task_loss", measured["loss"])
    # A loop with a schedule reports the rate it used as train metric "lr".
    timing = {
        "epoch_time_s": train_s + val_s,
        "wall_time_s": run.elapsed_s,
        "lr": train_metrics.get("lr", lr),
    }
    train_row = {
        **_scalar_part(train_metrics),
        "phase_time_s": train_s,
        "samples_per_s": n_train / max(train_s, 1e-12),
    }
    val_row = {**_scalar_part(val_metrics), "phase_time_s": val_s}
    run.facts.scalars(
        [
            {"epoch": number, "split": "train", **train_row, **timing},
            {"epoch": number, "split": "val", **val_row, **timing},
        ]
    )
    run.printer.epoch(
        number,
        {"train_loss": train_metrics["loss"], **_prefixed("val", _scalar_part(val_metrics))},
        samples_per_s=train_row["samples_per_s"],
        epoch_time_s=timing["epoch_time_s"],
    )
    return Epoch(number, train_metrics, val_metrics, timing)


def record_epoch(run: Run, model: torch.nn.Module, epoch: Epoch, progress: Progress) -> None:
    """The epoch's events, its line of the history, and the best epoch and weights so far."""
    run.facts.emit("on_validation_end", epoch=epoch.number, metrics=epoch.val)
    run.facts.emit(
        "on_epoch_end", epoch=epoch.number, train=epoch.train, val=epoch.val, **epoch.timing
    )
    val = named_metrics("val", epoch.val)
    record = {"epoch": epoch.number, **_prefixed("train", epoch.train), **val}
    for name, value in record.items():
        progress.history.setdefault(name, []).append(value)
    if improves(val["val_loss"], progress.best.get("val_loss")) or not progress.best:
        progress.best = {"epoch": epoch.number, **val}
        progress.best_state = _cpu_copy(model.state_dict())


def _cpu_copy(state: Mapping[str, torch.Tensor]) -> dict:
    return {name: tensor.detach().cpu().clone() for name, tensor in state.items()}


def _scalar_part(metrics: Mapping) -> dict:
    return {k: v for k, v in metrics.items() if k in SCALAR_COLUMNS}


def _prefixed(prefix: str, metrics: Mapping) -> dict:
    return {
        (name if name.startswith(f"{prefix}_") else f"{prefix}_{name}"): value
        for name, value in metrics.items()
        if isinstance(value, int | float)
    }
