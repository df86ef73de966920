"""Facts: the single record of what a run did, from which every figure and report is drawn.

A run directory holds ``facts/events.jsonl`` (one JSON object per lifecycle event) and
``facts/scalars.csv`` (one row per epoch and split). Both are appended to and flushed as the run
goes, so a run killed at any moment leaves files that parse up to its last finished epoch; the
readers below drop a torn last line (no newline) and reject anything else that is malformed,
naming the file and line. The schema is documented in ``docs/facts.md``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

FACTS_SUBDIR = "facts"
EVENTS_FILE = "events.jsonl"
SCALARS_FILE = "scalars.csv"

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
STRING_COLUMNS = frozenset({"split"})
INT_COLUMNS = frozenset({"epoch", "dead_codes"})

Listener = Callable[[str, dict], None]


class FactsError(ValueError):
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


class FactsWriter:
    """Appends lifecycle events and per-epoch scalars of one run, flushed as they go.

    ``listeners`` (such as the plot orchestrator) are called with every event after it is on
    disk, so that whatever they draw reads the same facts a later re-render reads.
    """

    def __init__(
        self, run_dir: Path | str, listeners: Iterable[Listener] = (), append: bool = False
    ) -> None:
        """``append``: continue the files of a resumed run (see ``train.checkpoint``)."""
        self.dir = facts_dir(run_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.listeners = list(listeners)
        mode = "a" if append else "w"
        self._events = (self.dir / EVENTS_FILE).open(mode, encoding="utf-8")
        self._scalars = (self.dir / SCALARS_FILE).open(mode, encoding="utf-8", newline="")
        if not append:
            self._scalars.write(",".join(SCALAR_COLUMNS) + "\n")
            self._sync(self._scalars)

    def emit(self, event: str, **payload: Any) -> None:
        """Record one lifecycle event, then tell the listeners."""
        if event not in EVENTS:
            raise ValueError(f"unknown lifecycle event {event!r}; known: {', '.join(EVENTS)}")
        record = json_safe({"event": event, "time": time.time(), **payload})
        self._events.write(json.dumps(record, sort_keys=False) + "\n")
        self._sync(self._events)
        for listener in self.listeners:
            listener(event, record)

    def scalars(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Append rows (one per split) of an epoch; unknown columns are an error."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        for row in rows:
            unknown = set(row) - set(SCALAR_COLUMNS)
            if unknown:
                raise ValueError(f"unknown scalar columns {sorted(unknown)}")
            writer.writerow([_format_scalar(row.get(column)) for column in SCALAR_COLUMNS])
        self._scalars.write(buffer.getvalue())
        self._sync(self._scalars)

    def close(self) -> None:
        self._events.close()
        self._scalars.close()

    @staticmethod
    def _sync(handle) -> None:
        handle.flush()
        os.fsync(handle.fileno())


def _format_scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value).lower()
    return str(value)


def _complete_lines(path: Path) -> list[str]:
    """The file's lines, without a torn last line (one that was cut before its newline)."""
    try:
        raw = path.read_bytes()
    except IsADirectoryError:
        raise FactsError(f"{path}: is a directory, expected a file") from None
    except FileNotFoundError:
        raise FactsError(f"{path}: missing") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise FactsError(f"{path}:{line}: not UTF-8 text ({error.reason})") from None
    lines = text.split("\n")
    return lines[:-1]  # the part after the last newline is empty or torn


def read_events(run_dir: Path | str) -> list[dict]:
    """Every complete event record of a run, in order."""
    path = facts_dir(run_dir) / EVENTS_FILE
    events = []
    for number, line in enumerate(_complete_lines(path), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise FactsError(f"{path}:{number}: not a JSON object ({error.msg})") from None
        if not isinstance(record, dict) or "event" not in record:
            raise FactsError(f"{path}:{number}: expected an object with an 'event' key")
        events.append(record)
    return events


def read_scalars(run_dir: Path | str, required: Iterable[str] = ()) -> list[dict]:
    """Every complete row of ``scalars.csv``, numbers parsed (empty cells become None)."""
    path = facts_dir(run_dir) / SCALARS_FILE
    lines = _complete_lines(path)
    if not lines:
        raise FactsError(f"{path}: empty, expected a header line")
    header = next(csv.reader([lines[0]]))
    missing = [column for column in ("epoch", "split", *required) if column not in header]
    if missing:
        raise FactsError(f"{path}:1: header lacks column(s) {', '.join(missing)}")
    rows = []
    for number, values in enumerate(csv.reader(lines[1:]), start=2):
        if len(values) != len(header):
            expected = f"{len(header)} ({','.join(header)})"
            raise FactsError(f"{path}:{number}: {len(values)} fields, expected {expected}")
        try:
            rows.append(
                {
                    column: _parse_scalar(column, value)
                    for column, value in zip(header, values, strict=True)
                }
            )
        except ValueError as error:
            raise FactsError(f"{path}:{number}: {error}") from None
    return rows


def _parse_scalar(column: str, value: str) -> Any:
    if column in STRING_COLUMNS:
        return value
    if value == "":
        return None
    try:
        return int(value) if column in INT_COLUMNS else float(value)
    except ValueError:
        raise ValueError(f"column {column!r}: {value!r} is not a number") from None


def final_event(events: list[dict]) -> dict | None:
    """The run's ``on_train_end`` record, or None while it has not ended."""
    return next((e for e in reversed(events) if e["event"] == "on_train_end"), None)
