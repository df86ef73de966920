"""The trial table of a search, and where the search stands.

One row per proposed trial, in trial-number order: its number, name, round, rung, state
(Optuna's, lower case, or ``proposed`` until it is told), objective value and one column per
searched key. It holds no clock times, so two searches from scratch write the same bytes.
"""

from __future__ import annotations

import collections
import csv
import io
from dataclasses import dataclass
from pathlib import Path

from optuna.trial import TrialState

from thesis_ml.search.journal import load_study, told_trials
from thesis_ml.search.rounds import read_rounds
from thesis_ml.search.section import SearchConfig
from thesis_ml.utils.io import atomic_write_text

COLUMNS = ("number", "name", "round", "rung", "state", "value")
TABLE_FILE = "trials.csv"
PROPOSED = "proposed"


def trial_rows(search_dir: Path | str) -> list[dict]:
    """The trial table as one dict per trial, in trial-number order."""
    told = told_trials(search_dir)
    rows = []
    for trials in read_rounds(search_dir):
        for trial in trials:
            record = told.get(trial.name)
            row = {"number": trial.number, "name": trial.name, "round": trial.round}
            row["rung"] = record.user_attrs["rung"] if record else None
            row["state"] = record.state.name.lower() if record else PROPOSED
            row["value"] = record.value if record else None
            rows.append({**row, **trial.params})
    return rows


def trial_table(search_dir: Path | str):
    """The trial table as a DataFrame (integer columns nullable: a proposed trial has no rung)."""
    import pandas as pd

    rows = trial_rows(search_dir)
    frame = pd.DataFrame.from_records(rows, columns=_columns(rows))
    return frame.astype({"number": "Int64", "round": "Int64", "rung": "Int64", "value": float})


def _columns(rows: list[dict]) -> list[str]:
    params = dict.fromkeys(key for row in rows for key in row if key not in COLUMNS)
    return [*COLUMNS, *params]


def write_trial_table(search_dir: Path | str, path: Path | str | None = None) -> Path:
    """Write the trial table as CSV (``<search_dir>/trials.csv`` by default); return its path.
    Written with the csv module, not pandas: importing pandas would double a tell's time."""
    path = Path(path) if path is not None else Path(search_dir) / TABLE_FILE
    rows = trial_rows(search_dir)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=_columns(rows), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, text.getvalue())
    return path


@dataclass(frozen=True)
class SearchStatus:
    """Rounds proposed and told, trials per state, the best complete trial, and the next step:
    ``("propose", r)``, ``("train and tell", r)`` or None when all ``n_trials`` are told."""

    n_trials: int
    rounds_proposed: int
    rounds_told: int
    states: dict[str, int]
    best: dict | None  # the best complete trial's row of the table
    next_step: tuple[str, int] | None


def search_status(search: SearchConfig, search_dir: Path | str) -> SearchStatus:
    rows = trial_rows(search_dir)
    rounds_proposed, rounds_told = round_progress(rows)
    told = sum(row["state"] != PROPOSED for row in rows)
    if rounds_told < rounds_proposed:
        next_step = ("train and tell", rounds_told)
    elif told < search.n_trials:
        next_step = ("propose", rounds_proposed)
    else:
        next_step = None
    return SearchStatus(
        n_trials=search.n_trials,
        rounds_proposed=rounds_proposed,
        rounds_told=rounds_told,
        states=dict(collections.Counter(row["state"] for row in rows)),
        best=best_row(search_dir, rows),
        next_step=next_step,
    )


def round_progress(rows: list[dict]) -> tuple[int, int]:
    """(rounds proposed, rounds told: every trial of theirs recorded in the study)."""
    rounds: dict[int, bool] = {}
    for row in rows:
        rounds[row["round"]] = rounds.get(row["round"], True) and row["state"] != PROPOSED
    return len(rounds), sum(rounds.values())


def best_row(search_dir: Path | str, rows: list[dict]) -> dict | None:
    """The trial table's row of the study's best complete trial, None before there is one."""
    study = load_study(search_dir)
    if study is None or not any(t.state == TrialState.COMPLETE for t in study.trials):
        return None
    name = study.best_trial.user_attrs["name"]
    return next((row for row in rows if row["name"] == name), None)
