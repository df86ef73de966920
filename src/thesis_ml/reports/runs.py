"""Finding run directories and reading their facts, with every problem named.

A run directory holds ``cfg.yaml`` or ``facts/``. A run is complete for a report when it has a
readable ``cfg.yaml``, a ``facts/scalars.csv`` with at least :data:`REQUIRED_COLUMNS` (and, for
a finished run, one val row per epoch it trained), and a ``facts/events.jsonl`` with an
``on_train_end`` record. Problems are collected over all runs first, so one report attempt
lists every one of them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from thesis_ml.config import ConfigError
from thesis_ml.facts import (
    EVENTS_FILE,
    FACTS_SUBDIR,
    FINISHED_STATUSES,
    SCALARS_FILE,
    FactsError,
    RunFacts,
    final_event,
    read_events,
    read_scalars,
    run_facts,
)
from thesis_ml.run_directory import CONFIG_FILE, find_run_dirs, is_run_dir, read_config

REQUIRED_COLUMNS = ("val_loss", "epoch_time_s")  # beyond epoch and split, which every reader needs


@dataclass
class SkippedRun:
    run_dir: Path
    problems: list[str]

    def to_dict(self) -> dict:
        return {"run_dir": str(self.run_dir), "problems": self.problems}


@dataclass
class RunSet:
    """The complete runs of a report and the incomplete ones it skipped."""

    runs: list[RunFacts]
    skipped: list[SkippedRun] = field(default_factory=list)


class IncompleteRunsError(FactsError):
    """Some runs cannot be reported; the message lists every problem of every such run."""

    def __init__(self, skipped: Sequence[SkippedRun]) -> None:
        self.skipped = list(skipped)
        lines = [f"{len(self.skipped)} run(s) cannot be reported "]
        lines[0] += "(inputs.allow_incomplete=true skips them):"
        for run in self.skipped:
            lines.append(f"  {run.run_dir}:")
            lines.extend(f"    - {problem}" for problem in run.problems)
        super().__init__("\n".join(lines))


def resolve_sources(sources: Path | str | Iterable[Path | str]) -> list[Path]:
    """A sweep directory (or single run) as one path, or a list of run directories."""
    if isinstance(sources, str | os.PathLike):
        path = Path(sources)
        return [path] if is_run_dir(path) else find_run_dirs(path)
    paths = [Path(p) for p in sources]
    if not paths:
        raise FactsError("no run directories given")
    return paths


def read_runs(run_dirs: Sequence[Path], allow_incomplete: bool = False) -> RunSet:
    """Read every run; fail listing all problems, or skip the incomplete ones if allowed."""
    run_ids = _run_ids(run_dirs)
    runs, skipped = [], []
    for run_dir in run_dirs:
        problems: list[str] = []
        run = _read_run(run_dir, run_ids[run_dir], problems)
        if problems:
            skipped.append(SkippedRun(run_dir, problems))
        else:
            runs.append(run)
    if skipped and not allow_incomplete:
        raise IncompleteRunsError(skipped)
    if not runs:
        raise FactsError(
            "no complete run to report; skipped:\n" + str(IncompleteRunsError(skipped))
        )
    return RunSet(runs, skipped)


def _read_run(run_dir: Path, run_id: str, problems: list[str]) -> RunFacts | None:
    if not run_dir.is_dir():
        problems.append("not a directory")
        return None
    if not is_run_dir(run_dir):
        problems.append(f"not a run directory (holds neither {CONFIG_FILE} nor {FACTS_SUBDIR}/)")
        return None
    config = _guard(lambda: read_config(run_dir, validated=False), problems)
    events = _guard(lambda: read_events(run_dir), problems)
    scalars = _guard(lambda: read_scalars(run_dir, REQUIRED_COLUMNS), problems)
    end = None
    if events is not None:
        end = final_event(events)
        if end is None:
            last = events[-1] if events else None
            where = f"last event: {last['event']}" if last else "no events"
            if last and "epoch" in last:
                where += f", epoch {last['epoch']}"
            problems.append(
                f"{_rel(run_dir, EVENTS_FILE)}: no on_train_end record, still training or "
                f"killed ({where})"
            )
    if end is not None and scalars is not None:
        _check_epochs(run_dir, end, scalars, problems)
    if problems:
        return None
    facts = run_facts(run_dir, events, scalars, config)
    facts.run_id = run_id
    return facts


def _guard(read, problems: list[str]):
    try:
        return read()
    except (FactsError, ConfigError) as error:
        problems.append(str(error))
        return None


def _check_epochs(run_dir: Path, end: dict, scalars: list[dict], problems: list[str]) -> None:
    """A finished run has one val row per epoch it trained (``epochs``, fewer than asked for
    when it stopped early); fewer rows mean scalars.csv was cut short."""
    status = end.get("status")
    if status not in FINISHED_STATUSES:
        return  # a diverged run's last epochs may have no finite rows
    recorded = {row["epoch"] for row in scalars if row["split"] == "val"}
    expected = set(range(1, int(end.get("epochs") or 0) + 1))
    missing = sorted(expected - recorded)
    if missing:
        problems.append(
            f"{_rel(run_dir, SCALARS_FILE)}: truncated: val rows for {len(recorded)} of "
            f"{len(expected)} epochs (first missing: epoch {missing[0]}) though "
            f"on_train_end says status={status}, epochs={len(expected)}"
        )


def _rel(run_dir: Path, name: str) -> Path:
    return run_dir / FACTS_SUBDIR / name


def _run_ids(run_dirs: Sequence[Path]) -> dict[Path, str]:
    """Short unique names: the path below the runs' common parent."""
    resolved = {path: path.resolve() for path in run_dirs}
    parent = common_parent(resolved.values())
    return {path: resolved[path].relative_to(parent).as_posix() for path in run_dirs}


def common_parent(run_dirs: Iterable[Path]) -> Path:
    """The deepest directory holding all ``run_dirs`` (the parent of a single run)."""
    parents = [str(Path(path).resolve().parent) for path in run_dirs]
    return Path(os.path.commonpath(parents))
