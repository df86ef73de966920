"""The epoch driver every training loop shares.

A loop supplies two callables: ``train_epoch()`` runs one pass over the training data and
``evaluate(split)`` one over the ``"val"`` or ``"test"`` data. Each returns a dict of metrics:
``loss`` (the objective), optionally ``task_loss`` (what the yardsticks compare with, when the
objective adds more), and others; keys that are columns of ``facts.SCALAR_COLUMNS`` go to
``scalars.csv``, the rest only to the events. :func:`fit` is the epoch loop: the best epoch is
chosen on validation, and when the run ends its final and its selected weights are measured on
the test split, the headline numbers (:mod:`thesis_ml.train.outcome`).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field

import torch
from omegaconf import OmegaConf

from thesis_ml.facts import SCALAR_COLUMNS
from thesis_ml.models.mlp import count_parameters
from thesis_ml.provenance import provenance
from thesis_ml.run_directory import WEIGHT_FILES
from thesis_ml.train.checkpoint import remove_checkpoint, restore_state, save_checkpoint
from thesis_ml.train.outcome import (
    divergence,
    gaps,
    improves,
    named_metrics,
    paused,
    stall,
    status_of,
)
from thesis_ml.train.runtime import Run, stop_epoch

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


def fit(
    run: Run,
    model: torch.nn.Module,
    train_epoch: Callable[[], Metrics],
    evaluate: Callable[[str], Metrics],
    *,
    n_train: int,
    comparison: Mapping,
    lr: float,
    start_payload: Mapping | None = None,
    resumables: Mapping[str, object] | None = None,
    examples: Examples | None = None,
) -> dict:
    """Train for up to ``cfg.trainer.epochs`` epochs and return the run's result.

    ``comparison`` holds the run's ``yardsticks``, ``reference_kind`` and
    ``omitted_yardsticks`` (docs/facts.md). ``resumables`` are the loop's parts with a state a
    checkpoint must hold (optimizer, scheduler, shuffle generator; None entries are skipped).
    A run stops with status ``diverged`` when its training loss is not finite or grows beyond
    ``trainer.divergence_factor`` times the untrained model's loss (one validation pass before
    the first epoch: a rate that explodes does so within the first epoch already), and with
    ``stopped_early`` when ``trainer.early_stopping`` says so. With
    ``trainer.stop_after_epochs`` below ``trainer.epochs`` it ends with status ``paused`` after
    that epoch of the schedule, keeping its checkpoint: a rerun with a later stop (or none)
    continues it, bit-identically to a run trained straight through (a search's rungs).
    ``examples`` are stored in the facts after the last epoch's validation.
    """
    cfg = run.cfg
    epochs = int(cfg.trainer.epochs)
    resumables = {name: part for name, part in (resumables or {}).items() if part}
    blow_up = OmegaConf.select(cfg, "trainer.divergence_factor", default=None)
    every = int(OmegaConf.select(cfg, "trainer.checkpoint_every", default=0) or 0)
    patience = OmegaConf.select(cfg, "trainer.early_stopping.patience", default=None)
    min_delta = float(OmegaConf.select(cfg, "trainer.early_stopping.min_delta", default=0.0))
    last_epoch = stop_epoch(cfg)
    first, progress = start_or_resume(
        run, model, evaluate, resumables, blow_up, {**comparison, **dict(start_payload or {})}
    )
    diverged = stalled = None
    pausing = False
    for number in range(first, last_epoch + 1):
        epoch = run_epoch(run, number, train_epoch, evaluate, n_train, lr, progress)
        diverged = divergence(epoch.train["loss"], progress.reference_loss, blow_up)
        if improves(epoch.val["val_loss"], progress.improved_loss, min_delta):
            progress.improved_at, progress.improved_loss = number, epoch.val["val_loss"]
        stalled = stall(number, progress.improved_at, patience, min_delta)
        last = number == last_epoch or diverged or stalled
        pausing = last and number < epochs and not (diverged or stalled)
        if last and not (diverged or pausing) and examples is not None:
            run.facts.recon_examples(number, *examples())
        record_epoch(run, model, epoch, progress)
        if diverged:
            print(f"warning: run diverged at epoch {number}: {diverged}", file=sys.stderr)
        if pausing:
            # The checkpoint holds the facts as an uninterrupted run has them at this epoch,
            # so the examples (which only a last epoch records) come after it.
            _checkpoint(run, model, resumables, progress, number)
            if examples is not None:
                run.facts.recon_examples(number, *examples())
        if last:
            break
        if checkpoint_due(run, every, number):
            _checkpoint(run, model, resumables, progress, number)
    result = finish(run, model, evaluate, epoch, progress, comparison, n_train)
    ending = paused(epoch.number, epochs) if pausing else status_of(diverged, stalled)
    result = {**ending, **result}
    run.facts.emit("on_train_end", **{k: v for k, v in result.items() if k != "history"})
    if not pausing:
        remove_checkpoint(run.dir)  # the run has ended: its outputs are final
    return result


def _checkpoint(run: Run, model, resumables, progress: Progress, epoch: int) -> None:
    if not run.keep:
        return
    progress.wall_time_s = run.elapsed_s
    save_checkpoint(
        run.dir,
        digest=run.config_digest,
        epoch=epoch,
        model=model,
        resumables=resumables,
        progress=asdict(progress),
    )


def start_or_resume(run, model, evaluate, resumables, blow_up, start_payload):
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
        progress.reference_loss = evaluate("val")["loss"]
    device = str(next(model.parameters()).device)
    run.facts.emit(
        "on_train_start",
        epochs=int(run.cfg.trainer.epochs),
        n_params=count_parameters(model),
        provenance=provenance(device, torch.get_num_threads()),
        **dict(start_payload),
    )
    return 1, progress


def run_epoch(run, number, train_epoch, evaluate, n_train, lr, progress: Progress) -> Epoch:
    """One training and one validation pass, timed, written to the facts and printed."""
    epoch_start = time.perf_counter()
    train_metrics = train_epoch()
    train_done = time.perf_counter()
    measured = evaluate("val")
    epoch_end = time.perf_counter()
    progress.train_time_s += train_done - epoch_start
    val_metrics = {k: v for k, v in measured.items() if k != "task_loss"}
    val_metrics["val_loss"] = measured.get("task_loss", measured["loss"])
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


def checkpoint_due(run: Run, every: int, epoch: int) -> bool:
    """Every ``every`` (``trainer.checkpoint_every``) epochs of a kept run (never after the
    last: the caller ends the run instead)."""
    return run.keep and bool(every) and epoch % every == 0


def finish(run, model, evaluate, epoch: Epoch, progress, comparison, n_train: int) -> dict:
    """Save the final and the selected weights, measure both on test, and return the result
    (without its status). The model is left holding the selected weights."""
    run.save_model(model, "final")
    final = {
        "epoch": epoch.number,
        **named_metrics("val", epoch.val),
        **named_metrics("test", evaluate("test")),
        "train_loss": epoch.train["loss"],
    }
    if progress.best_state:
        model.load_state_dict(progress.best_state)
    run.save_model(model, "selected")
    best = {**progress.best, **named_metrics("test", evaluate("test"))}
    yardsticks = comparison["yardsticks"]
    return {
        "run_dir": str(run.dir) if run.keep else None,
        "epochs": epoch.number,
        "final": final,
        "best": best,
        "weights": dict(WEIGHT_FILES),
        **comparison,
        "gap": {"final": gaps(final, yardsticks), "best": gaps(best, yardsticks)},
        "n_params": count_parameters(model),
        "wall_time_s": run.elapsed_s,
        "samples_per_s": n_train * epoch.number / max(progress.train_time_s, 1e-12),
        "history": progress.history,
    }


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
