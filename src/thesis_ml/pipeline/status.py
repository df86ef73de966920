"""How far a sweep has got: its planned runs by state (finished, i.e. completed or stopped early;
running; diverged; paused; failed; not started), read from the runs' facts, and where each of
its adaptive searches stands (rounds told, trials per state).

Which runs a sweep plans is known only to the workflow, which expands the sweep file (and any
``--config``) at parse time; so every ``snakemake`` command that parses the workflow writes the
run names to ``results/<sweep>/planned_runs.txt`` (:func:`write_plan`), and the status command
reads them from there. Runs killed before they wrote any facts (Ctrl-C, a lost node) are then
counted as not started instead of going unmentioned.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from thesis_ml.errors import UserError
from thesis_ml.facts import FINISHED_STATUSES, FactsError, final_event, read_events
from thesis_ml.utils.io import read_user_text

PLAN_FILE = "planned_runs.txt"
# A run with facts but no on_train_end is still running, or was killed (Snakemake reruns it).
RUNNING = "running or interrupted"
NOT_STARTED = "not started"
NOT_PLANNED = "not in the plan"  # left over from an earlier version of the sweep


def write_plan(sweep_dir: Path | str, run_names: Iterable[str]) -> None:
    """Record the sweep's planned runs, one name a line (the file is left alone if unchanged)."""
    from thesis_ml.utils.io import atomic_write_text

    path = Path(sweep_dir) / PLAN_FILE
    text = "".join(f"{name}\n" for name in run_names)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        atomic_write_text(path, text, durable=False)


def run_state(run_dir: Path) -> str:
    try:
        end = final_event(read_events(run_dir))
    except FactsError:
        return "unreadable facts"
    return RUNNING if end is None else str(end.get("status", "unknown"))


def sweep_status(sweep_dir: Path | str) -> tuple[dict[str, list[str]], bool]:
    """(run names by state, whether the planned runs are known): every planned run, and every
    run directory with facts."""
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise UserError(f"{sweep_dir}: no such sweep directory (expected results/<sweep>)")
    plan_file = sweep_dir / PLAN_FILE
    planned = read_user_text(plan_file).split() if plan_file.exists() else None
    with_facts = {facts.parent.name for facts in (sweep_dir / "runs").glob("*/facts")}
    states: dict[str, list[str]] = {}
    for name in sorted(with_facts | set(planned or ())):
        if name not in with_facts:
            state = NOT_STARTED
        elif planned is not None and name not in planned:
            state = NOT_PLANNED
        else:
            state = run_state(sweep_dir / "runs" / name)
        states.setdefault(state, []).append(name)
    return states, planned is not None


def format_status(states: dict[str, list[str]], plan_known: bool = True) -> str:
    counts = Counter({state: len(names) for state, names in states.items()})
    planned = sum(n for state, n in counts.items() if state != NOT_PLANNED)
    head = f"{planned} planned" if plan_known else f"planned runs unknown (no {PLAN_FILE})"
    counted = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    lines = [f"{head}: {counted}" if counted else head]
    for state, names in sorted(states.items()):
        if state not in FINISHED_STATUSES:  # the runs that need a look are listed by name
            lines += [f"{state}:"] + [f"  {name}" for name in names]
    return "\n".join(lines)


def search_lines(sweep_dir: Path | str) -> list[str]:
    """Each search of the sweep (results/<sweep>/search/<digest>): its rounds proposed and told,
    and its trials per state (proposed until told)."""
    from thesis_ml.search.table import round_progress, trial_rows

    lines = []
    for directory in sorted(Path(sweep_dir).glob("search/*/")):
        rows = trial_rows(directory)
        if not rows:
            continue
        proposed, told = round_progress(rows)
        states = Counter(row["state"] for row in rows)
        counts = ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
        lines.append(
            f"search {directory.name}: {told} of {proposed} proposed rounds told; trials: {counts}"
        )
    return lines


def run(args: argparse.Namespace) -> None:
    """``python -m thesis_ml.pipeline status SWEEP_DIR``: print the counts and the runs that did
    not finish, then where each adaptive search stands."""
    print(format_status(*sweep_status(args.sweep_dir)))
    for line in search_lines(args.sweep_dir):
        print(line)
