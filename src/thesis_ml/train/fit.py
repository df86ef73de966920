"""The epoch driver every training loop shares.

A loop supplies two callables: ``train_epoch()`` runs one pass over the training data and
``evaluate()`` one over the validation data. Each returns a dict of metrics: keys that are
columns of ``facts.SCALAR_COLUMNS`` go to ``scalars.csv``, the others only to the events. This
driver times the phases, writes the facts, prints one line per epoch, tracks the best epoch,
saves the model and builds the result.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Mapping

import torch
from omegaconf import OmegaConf

from thesis_ml.facts import SCALAR_COLUMNS
from thesis_ml.models.mlp import count_parameters
from thesis_ml.train.checkpoint import remove_checkpoint, restore_state, save_checkpoint
from thesis_ml.train.runtime import Run

Metrics = dict[str, object]


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
) -> dict:
    """Train for ``cfg.trainer.epochs`` epochs and return the run's result.

    ``resumables`` are the loop's parts with a state a checkpoint must hold (optimizer,
    scheduler, shuffle generator; None entries are skipped). A run stops early with status
    ``diverged`` when its training loss is not finite or grows beyond
    ``trainer.divergence_factor`` times the untrained model's loss (one validation pass
    before the first epoch: a rate that explodes does so within the first epoch already).
    """
    epochs = int(run.cfg.trainer.epochs)
    n_params = count_parameters(model)
    resumables = dict(resumables or {})
    checkpoint_every = int(OmegaConf.select(run.cfg, "trainer.checkpoint_every", default=0) or 0)
    blow_up = OmegaConf.select(run.cfg, "trainer.divergence_factor", default=None)
    progress = {"history": {}, "best": {}, "train_time_s": 0.0, "reference_loss": None}
    if run.resume:
        restore_state(run.resume, model, resumables)
        progress = run.resume["progress"]
        run.started = time.perf_counter() - progress["wall_time_s"]
        print(f"resuming {run.dir} after epoch {run.resume['epoch']}", file=sys.stderr)
    else:
        if blow_up is not None:
            progress["reference_loss"] = evaluate()["loss"]
        run.facts.emit(
            "on_train_start",
            epochs=epochs,
            n_params=n_params,
            optimum=dict(optimum),
            **dict(start_payload or {}),
        )
    history: dict[str, list] = progress["history"]
    best: dict = progress["best"]
    train_time_s = progress["train_time_s"]
    reference_loss = progress["reference_loss"]
    reason = None
    for epoch in range(run.resume["epoch"] + 1 if run.resume else 1, epochs + 1):
        epoch_start = time.perf_counter()
        train_metrics = train_epoch()
        train_done = time.perf_counter()
        val_metrics = evaluate()
        epoch_end = time.perf_counter()
        train_time_s += train_done - epoch_start
        epoch_time_s = epoch_end - epoch_start
        val_metrics.setdefault("val_loss", val_metrics["loss"])

        # A loop with a schedule reports the rate it used as train metric "lr".
        epoch_lr = train_metrics.get("lr", lr)
        timing = {"epoch_time_s": epoch_time_s, "wall_time_s": run.elapsed_s, "lr": epoch_lr}
        train_row = {
            **_scalar_part(train_metrics),
            "phase_time_s": train_done - epoch_start,
            "samples_per_s": n_train / max(train_done - epoch_start, 1e-12),
        }
        val_row = {**_scalar_part(val_metrics), "phase_time_s": epoch_end - train_done}
        run.facts.scalars(
            [
                {"epoch": epoch, "split": "train", **train_row, **timing},
                {"epoch": epoch, "split": "val", **val_row, **timing},
            ]
        )
        run.facts.emit("on_validation_end", epoch=epoch, metrics=val_metrics)
        run.facts.emit("on_epoch_end", epoch=epoch, train=train_metrics, val=val_metrics, **timing)

        record = {
            "epoch": epoch,
            **_prefixed("train", train_metrics),
            **_prefixed("val", val_metrics),
        }
        for name, value in record.items():
            history.setdefault(name, []).append(value)
        if not best or _lower(val_metrics["val_loss"], best["val_loss"]):
            best = {"epoch": epoch, **_prefixed("val", val_metrics)}
        run.printer.epoch(
            epoch,
            {"train_loss": train_metrics["loss"], **_prefixed("val", _scalar_part(val_metrics))},
            samples_per_s=train_row["samples_per_s"],
            epoch_time_s=epoch_time_s,
        )
        reason = divergence(train_metrics["loss"], reference_loss, blow_up)
        if reason:
            print(f"warning: run diverged at epoch {epoch}: {reason}", file=sys.stderr)
            break
        if run.keep and checkpoint_every and epoch % checkpoint_every == 0 and epoch < epochs:
            save_checkpoint(
                run.dir,
                digest=run.config_digest,
                epoch=epoch,
                model=model,
                resumables=resumables,
                progress={
                    "history": history,
                    "best": best,
                    "train_time_s": train_time_s,
                    "reference_loss": reference_loss,
                    "wall_time_s": run.elapsed_s,
                },
            )

    run.save_model(model)
    final = {"epoch": epoch, **_prefixed("val", val_metrics), "train_loss": train_metrics["loss"]}
    result = {
        "status": "diverged" if reason else "completed",
        **({"reason": reason} if reason else {}),
        "run_dir": str(run.dir) if run.keep else None,
        "epochs": epoch,
        "final": final,
        "best": best,
        "optimum": dict(optimum),
        "gap": {"final": gap_to_optimum(final, optimum), "best": gap_to_optimum(best, optimum)},
        "n_params": n_params,
        "wall_time_s": run.elapsed_s,
        "samples_per_s": n_train * epoch / max(train_time_s, 1e-12),
        "history": history,
    }
    run.facts.emit("on_train_end", **{k: v for k, v in result.items() if k != "history"})
    remove_checkpoint(run.dir)  # the run has ended: its outputs are final
    return result


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
