"""Reading a run's facts files: a torn last line (no newline) is dropped, anything else that is
malformed is a :class:`FactsError` naming the file and line."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from thesis_ml.facts.layout import (
    EVENT_FIELD_TYPES,
    EVENTS_FILE,
    INT_COLUMNS,
    RECON_EXAMPLES_FILE,
    SCALARS_FILE,
    STRING_COLUMNS,
    FactsError,
    facts_dir,
)
from thesis_ml.utils.io import read_user_text

FLOAT32_MAX = 3.4028234663852886e38


def _complete_lines(path: Path) -> list[str]:
    """The file's lines, without a torn last line (one that was cut before its newline)."""
    lines = read_user_text(path, FactsError).split("\n")
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
        if problem := _field_problem(record):
            raise FactsError(f"{path}:{number}: {record['event']}: {problem}")
        events.append(record)
    return events


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_weights(value: Any) -> bool:
    return isinstance(value, dict) and all(
        item is None or (_is_int(item) if key == "epoch" else is_number(item))
        for key, item in value.items()
    )


FIELD_CHECKS = {
    "int": (_is_int, "an integer"),
    "number": (is_number, "a number"),
    "string": (lambda value: isinstance(value, str), "a string"),
    "list": (lambda value: isinstance(value, list), "a list"),
    "object": (lambda value: isinstance(value, dict), "an object"),
    "objects": (
        lambda value: isinstance(value, dict) and all(isinstance(v, dict) for v in value.values()),
        "an object of objects",
    ),
    "weights": (_is_weights, "an object of an integer epoch and numbers"),
}


def _field_problem(record: dict) -> str | None:
    """What is wrongly typed in a record, by docs/facts.md; None when nothing is. Unknown
    events and keys are left alone (the loops may add them)."""
    fields = {"time": "number", **EVENT_FIELD_TYPES.get(record["event"], {})}
    for key, kind in fields.items():
        value = record.get(key)
        check, expected = FIELD_CHECKS[kind]
        if value is not None and not check(value):
            return f"{key!r} is {json.dumps(value)[:60]}, expected {expected}"
    return None


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
        number = int(value) if column in INT_COLUMNS else float(value)
    except ValueError:
        raise ValueError(f"column {column!r}: {value!r} is not a number") from None
    if math.isfinite(number) and abs(number) > FLOAT32_MAX:
        # the runs measure in float32, which has no such number; plotting it would overflow
        raise ValueError(f"column {column!r}: {value} is beyond float32's range (3.4e38)")
    return number


def final_event(events: list[dict]) -> dict | None:
    """The run's ``on_train_end`` record, or None while it has not ended."""
    return next((e for e in reversed(events) if e["event"] == "on_train_end"), None)


def read_recon_examples(run_dir: Path | str) -> dict | None:
    """The stored input-vs-reconstruction examples, or None when the run stored none."""
    path = facts_dir(run_dir) / RECON_EXAMPLES_FILE
    if not path.is_file():
        return None
    try:
        examples = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise FactsError(f"{path}: not a JSON object ({error})") from None
    if not isinstance(examples, dict) or not {"epoch", "inputs", "reconstructions"} <= set(
        examples
    ):
        raise FactsError(f"{path}: expected keys epoch, inputs, reconstructions")
    return examples
