"""A search in the sweep's report: the trial columns of summary.csv, the search's part of
summary.json (best trial and configuration, trials per state) and its optimisation history
against the known optimum (Optuna's own figure, with the yardstick drawn in).

Rows of runs that are no trial (the grid's) get empty trial columns.
"""

from __future__ import annotations

import collections
from collections.abc import Mapping
from pathlib import Path

from thesis_ml.reports.runs import RunSet

TRIAL_COLUMNS = ("trial_number", "trial_round", "trial_rung", "trial_state")
HISTORY_FIGURE = "search_history"


def with_trial_columns(rows: list[dict], search_dir: Path | str) -> list[dict]:
    """``rows`` (summary rows) with the trial columns first, from the search's trial table."""
    from thesis_ml.search.table import trial_rows

    trial_of = {trial["name"]: trial for trial in trial_rows(search_dir)}
    annotated = []
    for row in rows:
        run_dir = Path(row["run_dir"])  # a trial's is runs/<trial>/rung-K
        trial = (
            trial_of.get(run_dir.parent.name) if run_dir.name.startswith("rung-") else None
        ) or {}
        values = [trial.get(key) for key in ("number", "round", "rung", "state")]
        annotated.append({**dict(zip(TRIAL_COLUMNS, values, strict=True)), **row})
    return annotated


def search_summary(search_dir: Path | str, runset: RunSet) -> dict:
    """The search in summary.json: trials per state, the best trial with its configuration and
    value, and the known optimum (or bound) of the trials' task on validation."""
    from thesis_ml.search.table import best_row, trial_rows

    rows = trial_rows(search_dir)
    states = dict(collections.Counter(row["state"] for row in rows))
    return {
        "directory": str(search_dir),
        "n_proposed": len(rows),
        "states": states,
        "best": best_row(search_dir, rows),
        "reference": known_reference(runset),
    }


def known_reference(runset: RunSet) -> dict | None:
    """The yardstick the trials are judged by, with its validation value (the objective's
    split): the first run that states one."""
    for run in runset.runs:
        reference = run.reference
        if reference.get("val_loss") is not None:
            return {"kind": run.reference_kind, "val_loss": reference["val_loss"]}
    return None


def history_figure(search_dir: Path | str, reference: Mapping | None, fig_format: str, dpi: int):
    """Optuna's optimisation history of the study (each complete trial's value and the best so
    far), with the pruned trials' values and the known reference drawn in; None before any
    trial is told."""
    import warnings

    import optuna

    from thesis_ml.reports.figures.common import to_bytes
    from thesis_ml.search.journal import load_study
    from thesis_ml.search.table import trial_rows

    study = load_study(search_dir)
    if study is None or not study.trials:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        axes = optuna.visualization.matplotlib.plot_optimization_history(study)
    pruned = [row for row in trial_rows(search_dir) if row["state"] == "pruned"]
    if pruned:
        axes.scatter(
            [row["number"] for row in pruned],
            [row["value"] for row in pruned],
            marker="x",
            color="grey",
            label="pruned (value at its last rung)",
        )
    if reference is not None:
        axes.axhline(
            reference["val_loss"],
            color="black",
            linestyle="--",
            label=f"{reference['kind']} (validation)",
        )
    axes.legend()
    axes.set_ylabel("objective (validation)")
    return to_bytes(axes.figure, fig_format, dpi)
