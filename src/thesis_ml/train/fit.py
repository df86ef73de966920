"""The epoch driver every training loop shares.

A loop supplies two callables: ``train_epoch()`` runs one pass over the training data and
``evaluate()`` one over the validation data. Each returns a dict of metrics: keys that are
columns of ``facts.SCALAR_COLUMNS`` go to ``scalars.csv``, the others only to the events. This
driver times the phases, writes the facts, prints one line per epoch, tracks the best epoch,
saves the model and builds the result.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping

import torch

from thesis_ml.facts import SCALAR_COLUMNS
from thesis_ml.models.mlp import count_parameters
from thesis_ml.train.runtime import Run, format_metrics

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
) -> dict:
    """Train for ``cfg.trainer.epochs`` epochs and return the run's result."""
    epochs = int(run.cfg.trainer.epochs)
    n_params = count_parameters(model)
    run.facts.emit(
        "on_train_start",
        epochs=epochs,
        n_params=n_params,
        optimum=dict(optimum),
        **dict(start_payload or {}),
    )
    history: dict[str, list] = {}
    best: dict = {}
    train_time_s = 0.0
    for epoch in range(1, epochs + 1):
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
        run.progress(
            f"epoch {epoch}/{epochs} "
            + format_metrics(
                {
                    "train_loss": train_metrics["loss"],
                    **_prefixed("val", _scalar_part(val_metrics)),
                    "samples/s": round(train_row["samples_per_s"]),
                    "time_s": epoch_time_s,
                }
            )
        )

    run.save_model(model)
    final = {"epoch": epochs, **_prefixed("val", val_metrics), "train_loss": train_metrics["loss"]}
    result = {
        "status": "completed",
        "run_dir": str(run.dir) if run.keep else None,
        "epochs": epochs,
        "final": final,
        "best": best,
        "optimum": dict(optimum),
        "gap": {"final": gap_to_optimum(final, optimum), "best": gap_to_optimum(best, optimum)},
        "n_params": n_params,
        "wall_time_s": run.elapsed_s,
        "samples_per_s": n_train * epochs / max(train_time_s, 1e-12),
        "history": history,
    }
    run.facts.emit("on_train_end", **{k: v for k, v in result.items() if k != "history"})
    return result


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
