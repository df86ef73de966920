"""How far a sweep has got, read from its runs' facts: finished (completed or stopped early),
running, diverged, failed."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from thesis_ml.facts import FINISHED_STATUSES, FactsError, final_event, read_events

# A run with facts but no on_train_end is still running, or was killed (Snakemake reruns it).
RUNNING = "running or interrupted"


def run_state(run_dir: Path) -> str:
    try:
        end = final_event(read_events(run_dir))
    except FactsError:
        return "unreadable facts"
    return RUNNING if end is None else str(end.get("status", "unknown"))


def sweep_status(sweep_dir: Path | str) -> dict[str, list[str]]:
    """Run names by state, for every run directory that has facts."""
    runs_dir = Path(sweep_dir) / "runs"
    states: dict[str, list[str]] = {}
    for facts in sorted(runs_dir.glob("*/facts")):
        states.setdefault(run_state(facts.parent), []).append(facts.parent.name)
    return states


def format_status(states: dict[str, list[str]]) -> str:
    counts = Counter({state: len(names) for state, names in states.items()})
    lines = [", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "no runs yet"]
    for state, names in sorted(states.items()):
        if state not in FINISHED_STATUSES:  # the runs that need a look are listed by name
            lines += [f"{state}:"] + [f"  {name}" for name in names]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> None:
    """``python -m thesis_ml.pipeline status SWEEP_DIR``: print the counts and the runs that did
    not finish."""
    print(format_status(sweep_status(args.sweep_dir)))
