"""Writing a run's facts as it goes: appended and flushed, so a killed run leaves files that
parse up to its last finished epoch."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from thesis_ml.facts.layout import (
    EVENTS,
    EVENTS_FILE,
    RECON_EXAMPLES_FILE,
    SCALAR_COLUMNS,
    SCALARS_FILE,
    Listener,
    facts_dir,
    json_safe,
)
from thesis_ml.utils.io import atomic_write_text, make_dirs

MAX_STORED_EXAMPLES = 8


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
        make_dirs(self.dir)
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

    def recon_examples(self, epoch: int, inputs, reconstructions) -> None:
        """Store a few inputs and their reconstructions (tensors, arrays or nested lists of
        shape (n, features)): a later re-render has no model to compute them."""
        examples = {
            "epoch": epoch,
            "inputs": _as_lists(inputs)[:MAX_STORED_EXAMPLES],
            "reconstructions": _as_lists(reconstructions)[:MAX_STORED_EXAMPLES],
        }
        atomic_write_text(self.dir / RECON_EXAMPLES_FILE, json.dumps(examples))

    def close(self) -> None:
        self._events.close()
        self._scalars.close()

    @staticmethod
    def _sync(handle) -> None:
        handle.flush()
        os.fsync(handle.fileno())


def _as_lists(values) -> list:
    """Plain lists of a tensor, array or nested sequence (without importing torch or numpy)."""
    if hasattr(values, "detach"):
        values = values.detach().cpu()
    return values.tolist() if hasattr(values, "tolist") else [list(v) for v in values]


def _format_scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):  # numpy's float64 too, whose repr is "np.float64(...)"
        return repr(float(value)) if math.isfinite(value) else str(float(value)).lower()
    return str(value)
