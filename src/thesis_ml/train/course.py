"""A run's course through its epochs, which every training loop shares.

A loop supplies two callables: ``train_epoch()`` runs one pass over the training data and
``evaluate(split)`` one over the ``"val"`` or ``"test"`` data. Each returns a dict of metrics:
``loss`` (the objective), optionally ``task_loss`` (what the yardsticks compare with, when the
objective adds more), and others; keys that are columns of ``facts.SCALAR_COLUMNS`` go to
``scalars.csv``, the rest only to the events. :func:`thesis_ml.train.fit.fit` drives one
course: the best epoch is chosen on validation, and when the run ends its final and its
selected weights are measured on the test split, the headline numbers
(:mod:`thesis_ml.train.outcome`).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict

import torch
from omegaconf import OmegaConf

from thesis_ml.models.mlp import count_parameters
from thesis_ml.provenance import provenance
from thesis_ml.run_directory import WEIGHT_FILES
from thesis_ml.train.checkpoint import remove_checkpoint, restore_state, save_checkpoint
from thesis_ml.train.epochs import Epoch, Examples, Metrics, Progress, log_epoch, record_epoch
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


class Course:
    """One run's way through its epochs, driven from outside one epoch at a time: :func:`fit`
    drives one course, :mod:`thesis_ml.train.stacked_seeds` several in step.

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

    def __init__(
        self,
        run: Run,
        model: torch.nn.Module,
        evaluate: Callable[[str], Metrics],
        *,
        n_train: int,
        comparison: Mapping,
        lr: float,
        start_payload: Mapping | None = None,
        resumables: Mapping[str, object] | None = None,
        examples: Examples | None = None,
    ):
        cfg = run.cfg
        self.run, self.model, self.evaluate, self.examples = run, model, evaluate, examples
        self.n_train, self.comparison, self.lr = n_train, comparison, lr
        self.planned = int(cfg.trainer.epochs)
        self.resumables = {name: part for name, part in (resumables or {}).items() if part}
        self.blow_up = OmegaConf.select(cfg, "trainer.divergence_factor", default=None)
        self.every = int(OmegaConf.select(cfg, "trainer.checkpoint_every", default=0) or 0)
        self.patience = OmegaConf.select(cfg, "trainer.early_stopping.patience", default=None)
        self.min_delta = float(
            OmegaConf.select(cfg, "trainer.early_stopping.min_delta", default=0.0)
        )
        self.last_epoch = stop_epoch(cfg)
        self.first, self.progress = start_or_resume(
            run,
            model,
            evaluate,
            self.resumables,
            self.blow_up,
            {**comparison, **dict(start_payload or {})},
        )
        self.epoch: Epoch | None = None
        self.diverged = self.stalled = None
        self.pausing = False

    def epochs(self) -> range:
        """The epochs left to train (from the checkpoint's next, when resumed)."""
        return range(self.first, self.last_epoch + 1)

    def measure(self, number: int, train_metrics: Metrics, train_s: float) -> Epoch:
        """Epoch ``number``, trained in ``train_s`` seconds to ``train_metrics``: validated,
        written to the facts and printed."""
        self.epoch = log_epoch(
            self.run,
            number,
            train_metrics,
            train_s,
            self.evaluate,
            self.n_train,
            self.lr,
            self.progress,
        )
        return self.epoch

    def close(self, epoch: Epoch) -> bool:
        """Judge the measured epoch (diverged, stalled, paused, last), record it, checkpoint
        when due; True when the run ends with it."""
        run, progress, number = self.run, self.progress, epoch.number
        self.diverged = divergence(
            epoch.train["loss"], progress.reference_loss, self.blow_up, epoch.val["val_loss"]
        )
        if improves(epoch.val["val_loss"], progress.improved_loss, self.min_delta):
            progress.improved_at, progress.improved_loss = number, epoch.val["val_loss"]
        self.stalled = stall(number, progress.improved_at, self.patience, self.min_delta)
        last = number == self.last_epoch or bool(self.diverged) or bool(self.stalled)
        self.pausing = last and number < self.planned and not (self.diverged or self.stalled)
        if last and not (self.diverged or self.pausing) and self.examples is not None:
            run.facts.recon_examples(number, *self.examples())
        record_epoch(run, self.model, epoch, progress)
        if self.diverged:
            print(f"warning: run diverged at epoch {number}: {self.diverged}", file=sys.stderr)
        if self.pausing:
            # The checkpoint holds the facts as an uninterrupted run has them at this epoch,
            # so the examples (which only a last epoch records) come after it.
            _checkpoint(run, self.model, self.resumables, progress, number)
            if self.examples is not None:
                run.facts.recon_examples(number, *self.examples())
        elif not last and checkpoint_due(run, self.every, number):
            _checkpoint(run, self.model, self.resumables, progress, number)
        return last

    def result(self) -> dict:
        """The ended run's result: its weights saved and measured on test (the model is left
        holding the selected ones), its end announced, its checkpoint removed unless paused."""
        run, epoch = self.run, self.epoch
        result = finish(
            run, self.model, self.evaluate, epoch, self.progress, self.comparison, self.n_train
        )
        ending = (
            paused(epoch.number, self.planned)
            if self.pausing
            else status_of(self.diverged, self.stalled)
        )
        result = {**ending, **result}
        run.facts.emit("on_train_end", **{k: v for k, v in result.items() if k != "history"})
        if not self.pausing:
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
