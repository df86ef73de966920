"""The epoch driver every training loop shares.

A loop supplies two callables: ``train_epoch()`` runs one pass over the training data and
``evaluate()`` one over the validation data. Each returns a dict of metrics: keys that are
columns of ``facts.SCALAR_COLUMNS`` go to ``scalars.csv``, the others only to the events.
:func:`fit` is the epoch loop; timing and recording an epoch, the best epoch, divergence,
checkpoints and the result are the small helpers below it.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field

import torch
from omegaconf import OmegaConf

from thesis_ml.facts import SCALAR_COLUMNS
from thesis_ml.models.mlp import count_parameters
from thesis_ml.train.checkpoint import remove_checkpoint, restore_state, save_checkpoint
from thesis_ml.train.runtime import Run

Metrics = dict[str, object]
# A few validation inputs and their reconstructions, for figures (facts/recon_examples.json).
Examples = Callable[[], tuple[object, object]]


@dataclass
class Progress:
    """What a checkpoint must restore besides the model and the loop's parts."""

    history: dict[str, list] = field(default_factory=dict)
    best: dict = field(default_factory=dict)
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


def fit(
    run: Run,
    model: torch.nn.Module,
    train_epoch: Callable[[], Metrics],
    evaluate: Callable[[], Metrics],
    *,
    n_train: int,
    optimum: Mapping,
    lr: float,
    start_payload: Mapping | None = None,
    resumables: Mapping[str, object] | None = None,
    examples: Examples | None = None,
) -> dict:
    """Train for ``cfg.trainer.epochs`` epochs and return the run's result.

    ``resumables`` are the loop's parts with a state a checkpoint must hold (optimizer,
    scheduler, shuffle generator; None entries are skipped). A run stops early with status
    ``diverged`` when its training loss is not finite or grows beyond
    ``trainer.divergence_factor`` times the untrained model's loss (one validation pass
    before the first epoch: a rate that explodes does so within the first epoch already).
    ``examples`` are stored in the facts after the last epoch's validation.
    """
    epochs = int(run.cfg.trainer.epochs)
    resumables = {name: part for name, part in (resumables or {}).items() if part}
    blow_up = OmegaConf.select(run.cfg, "trainer.divergence_factor", default=None)
    every = int(OmegaConf.select(run.cfg, "trainer.checkpoint_every", default=0) or 0)
    first, progress = start_or_resume(
        run, model, evaluate, resumables, blow_up, optimum, start_payload
    )
    reason = None
    for number in range(first, epochs + 1):
        epoch = run_epoch(run, number, train_epoch, evaluate, n_train, lr, progress)
        if number == epochs and examples is not None:
            run.facts.recon_examples(number, *examples())
        record_epoch(run, epoch, progress)
        reason = divergence(epoch.train["loss"], progress.reference_loss, blow_up)
        if reason:
            print(f"warning: run diverged at epoch {number}: {reason}", file=sys.stderr)
            break
        if checkpoint_due(run, every, number, epochs):
            progress.wall_time_s = run.elapsed_s
            save_checkpoint(
                run.dir,
                digest=run.config_digest,
                epoch=number,
                model=model,
                resumables=resumables,
                progress=asdict(progress),
            )
    run.save_model(model)
    result = run_result(run, model, epoch, progress, reason, optimum, n_train)
    run.facts.emit("on_train_end", **{k: v for k, v in result.items() if k != "history"})
    remove_checkpoint(run.dir)  # the run has ended: its outputs are final
    return result


def start_or_resume(run, model, evaluate, resumables, blow_up, optimum, start_payload):
    """The first epoch to run and the progress so far: restored from the run's checkpoint, or
    a fresh start announced in the facts."""
    if run.resume:
        restore_state(run.resume, model, resumables)
        progress = Progress(**run.resume["progress"])
        run.started = time.perf_counter() - progress.wall_time_s
        print(f"resuming {run.dir} after epoch {run.resume['epoch']}", file=sys.stderr)
        return run.resume["epoch"] + 1, progress
    progress = Progress()
    if blow_up is not None:
        progress.reference_loss = evaluate()["loss"]
    run.facts.emit(
        "on_train_start",
        epochs=int(run.cfg.trainer.epochs),
        n_params=count_parameters(model),
        optimum=dict(optimum),
        **dict(start_payload or {}),
    )
    return 1, progress


def run_epoch(run, number, train_epoch, evaluate, n_train, lr, progress: Progress) -> Epoch:
    """One training and one validation pass, timed, written to the facts and printed."""
    epoch_start = time.perf_counter()
    train_metrics = train_epoch()
    train_done = time.perf_counter()
    val_metrics = evaluate()
    epoch_end = time.perf_counter()
    progress.train_time_s += train_done - epoch_start
    val_metrics.setdefault("val_loss", val_metrics["loss"])
    # A loop with a schedule reports the rate it used as train metric "lr".
    timing = {
        "epoch_time_s": epoch_end - epoch_start,
        "wall_time_s": run.elapsed_s,
        "lr": train_metrics.get("lr", lr),
    }
    train_row = {
        **_scalar_part(train_metrics),
        "phase_time_s": train_done - epoch_start,
        "samples_per_s": n_train / max(train_done - epoch_start, 1e-12),
    }
    val_row = {**_scalar_part(val_metrics), "phase_time_s": epoch_end - train_done}
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


def record_epoch(run: Run, epoch: Epoch, progress: Progress) -> None:
    """The epoch's events, its line of the history and the best epoch so far."""
    run.facts.emit("on_validation_end", epoch=epoch.number, metrics=epoch.val)
    run.facts.emit(
        "on_epoch_end", epoch=epoch.number, train=epoch.train, val=epoch.val, **epoch.timing
    )
    record = {
        "epoch": epoch.number,
        **_prefixed("train", epoch.train),
        **_prefixed("val", epoch.val),
    }
    for name, value in record.items():
        progress.history.setdefault(name, []).append(value)
    if not progress.best or _lower(epoch.val["val_loss"], progress.best["val_loss"]):
        progress.best = {"epoch": epoch.number, **_prefixed("val", epoch.val)}


def checkpoint_due(run: Run, every: int, epoch: int, epochs: int) -> bool:
    """Every ``every`` (``trainer.checkpoint_every``) epochs of a kept run, not after the last."""
    return run.keep and bool(every) and epoch % every == 0 and epoch < epochs


def run_result(run, model, epoch: Epoch, progress, reason, optimum, n_train: int) -> dict:
    """The result dict a loop returns (and, without its history, the on_train_end record)."""
    final = {
        "epoch": epoch.number,
        **_prefixed("val", epoch.val),
        "train_loss": epoch.train["loss"],
    }
    best = progress.best
    return {
        "status": "diverged" if reason else "completed",
        **({"reason": reason} if reason else {}),
        "run_dir": str(run.dir) if run.keep else None,
        "epochs": epoch.number,
        "final": final,
        "best": best,
        "optimum": dict(optimum),
        "gap": {"final": gap_to_optimum(final, optimum), "best": gap_to_optimum(best, optimum)},
        "n_params": count_parameters(model),
        "wall_time_s": run.elapsed_s,
        "samples_per_s": n_train * epoch.number / max(progress.train_time_s, 1e-12),
        "history": progress.history,
    }


def divergence(loss: float, reference: float | None, factor: float | None) -> str | None:
    """Why a training loss means the run has diverged, or None while it has not."""
    if not math.isfinite(loss):
        return f"training loss is {loss}"
    if factor is not None and reference is not None and loss > factor * abs(reference):
        return (
            f"training loss {loss:.4g} > trainer.divergence_factor={factor:g} x the untrained "
            f"model's {reference:.4g}"
        )
    return None


def gap_to_optimum(metrics: Mapping, optimum: Mapping) -> dict:
    """Relative excess loss over the known optimum, and accuracy points below it."""
    gap = {}
    if "val_loss" in metrics and optimum.get("val_loss"):
        gap["val_loss_rel"] = metrics["val_loss"] / optimum["val_loss"] - 1
    if "val_accuracy" in metrics and "val_accuracy" in optimum:
        gap["val_accuracy_points"] = 100 * (optimum["val_accuracy"] - metrics["val_accuracy"])
    return gap


def _scalar_part(metrics: Mapping) -> dict:
    return {k: v for k, v in metrics.items() if k in SCALAR_COLUMNS}


def _prefixed(prefix: str, metrics: Mapping) -> dict:
    return {
        (name if name.startswith(f"{prefix}_") else f"{prefix}_{name}"): value
        for name, value in metrics.items()
        if isinstance(value, int | float)
    }


def _lower(value: float, reference: float) -> bool:
    return math.isfinite(value) and not value >= reference
