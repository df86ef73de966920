"""The layout of a run's ``facts/`` folder: its file names, the lifecycle events and the scalar
columns (documented in ``docs/facts.md``), and the error every facts reader raises."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from thesis_ml.errors import UserError

FACTS_SUBDIR = "facts"
EVENTS_FILE = "events.jsonl"
SCALARS_FILE = "scalars.csv"
# Input-vs-reconstruction examples of a few validation samples, written by the training loop
# (it has the model) so that a re-render without the model can still draw them.
RECON_EXAMPLES_FILE = "recon_examples.json"

# Lifecycle events, in the order a run emits them (on_epoch_end and on_validation_end repeat).
EVENTS = ("on_train_start", "on_validation_end", "on_epoch_end", "on_train_end")

SCALAR_COLUMNS = (
    "epoch",  # 1-based epoch number
    "split",  # train | val
    "loss",  # the split's mean objective (task loss plus any aux loss)
    "val_loss",  # validation task loss (MSE or BCE); set on val rows only
    "accuracy",  # binary tasks: fraction correct
    "recon_mse",  # autoencoders: mean squared reconstruction error per element
    "aux_loss",  # tokenizer losses (VQ codebook + commitment)
    "perplexity",  # VQ: exp(entropy) of code usage over the whole split
    "code_usage",  # VQ: fraction of codes used at least once over the whole split
    "dead_codes",  # VQ: codes not used once over the whole split
    "phase_time_s",  # seconds spent in this split's pass
    "epoch_time_s",  # seconds for the whole epoch (train and validation)
    "samples_per_s",  # this split's samples per second of phase_time_s
    "wall_time_s",  # seconds since on_train_start, at the end of this epoch
    "lr",  # learning rate used in this epoch
)
# What on_validation_end "metrics" (and so on_train_end "best" and "final", as val_<name> and
# test_<name>) may hold; a loop that measures more names them here, so that a search objective
# naming a metric no run measures is refused before any trial trains.
VALIDATION_METRICS = (
    "loss", "accuracy", "recon_mse", "aux_loss", "perplexity", "code_usage", "dead_codes",
    "effective_bits",
)  # fmt: skip
STRING_COLUMNS = frozenset({"split"})
INT_COLUMNS = frozenset({"epoch", "dead_codes"})

# How a run can end (on_train_end "status"); the first two ran as asked and are results.
FINISHED_STATUSES = ("completed", "stopped_early")
# paused: stopped by trainer.stop_after_epochs, with its checkpoint kept to continue from
PAUSED = "paused"
END_STATUSES = (*FINISHED_STATUSES, "diverged", PAUSED)
# What a run is compared against (on_train_start "yardsticks"), in the order reports show them.
YARDSTICKS = ("optimum", "lower_bound", "linear_reference", "quantizer_reference")

# The type of each documented event field (docs/facts.md), checked on reading so that a record
# edited by hand is a FactsError naming its line, not a TypeError in whichever reader uses it.
# null stands for "not measured" everywhere; ``weights`` is an object of an int ``epoch`` and
# numbers (``best`` and ``final``); ``objects`` is an object of objects (yardsticks by name).
EVENT_FIELD_TYPES = {
    "on_train_start": {
        "epochs": "int", "n_params": "int", "yardsticks": "objects", "reference_kind": "string",
        "omitted_yardsticks": "object", "provenance": "object", "task": "string",
        "device": "string", "data": "object", "tokenizer": "string", "compression": "object",
        "stacked_with": "list",
    },
    "on_validation_end": {"epoch": "int", "metrics": "object"},
    "on_epoch_end": {
        "epoch": "int", "train": "object", "val": "object", "epoch_time_s": "number",
        "wall_time_s": "number", "lr": "number",
    },
    "on_train_end": {
        "status": "string", "reason": "string", "run_dir": "string", "epochs": "int",
        "final": "weights", "best": "weights", "weights": "object", "yardsticks": "objects",
        "reference_kind": "string", "omitted_yardsticks": "object", "gap": "object",
        "n_params": "int", "wall_time_s": "number", "samples_per_s": "number",
    },
}  # fmt: skip

Listener = Callable[[str, dict], None]


class FactsError(UserError):
    """A facts file that cannot be read; the message names the file and line."""


def facts_dir(run_dir: Path | str) -> Path:
    return Path(run_dir) / FACTS_SUBDIR


def json_safe(value: Any) -> Any:
    """Plain JSON: non-finite floats become null (the status field says why)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value
