"""What an export copies of each run, read from its facts: the one view both targets write.

A run that ended has the status of its ``on_train_end`` record; a run without one failed, was
killed or is still training (its facts cannot tell which) and is exported with what it has as
``interrupted``. Rows past the last finished epoch are left out, as every reader of the facts
does (``thesis_ml.facts.run``). Every time comes from the facts, none from the clock, so an
export of the same facts is the same export.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from thesis_ml.export import ExportError
from thesis_ml.facts import (
    EVENTS_FILE,
    FINISHED_STATUSES,
    SCALARS_FILE,
    RunFacts,
    facts_dir,
    is_number,
    read_events,
    read_scalars,
    run_facts,
)
from thesis_ml.reports.runs import common_parent
from thesis_ml.reports.settings import default_summary_settings
from thesis_ml.reports.summary import label_keys
from thesis_ml.run_directory import CONFIG_FILE, find_run_dirs, is_run_dir, read_config
from thesis_ml.utils.dotted import differing_keys, flatten

INTERRUPTED = "interrupted"
RUNS_SUBDIR = "runs"  # a sweep's runs are results/<sweep>/runs/<run> (rules/common.smk)
DEFAULT_FIGURES_SUBDIR = "figures"
HEADLINE_SECTIONS = ("best", "final")  # on_train_end: the selected weights, the last ones
# A figure file named "{family}-{moment}-{epoch}" is that family's picture at that epoch.
EPOCH_SUFFIX = re.compile(r"(?P<name>.+)-(?P<epoch>\d+)")


@dataclass(frozen=True)
class Scalar:
    tag: str  # "<split>/<column>" per epoch, "<best|final>/<metric>" for the headline
    step: int  # the epoch
    time: float  # Unix time the facts give for it
    value: float


@dataclass(frozen=True)
class Sweep:
    directory: Path  # results/<sweep>: where the exports go by default
    name: str


@dataclass
class ExportRun:
    name: str  # the run directory's name: the TensorBoard run and the MLflow run name
    facts: RunFacts  # up to the last finished epoch, cfg.yaml as its config
    figures: list[Path]

    @property
    def run_dir(self) -> Path:
        return self.facts.run_dir

    @property
    def status(self) -> str:
        return str(self.facts.end["status"]) if self.facts.end else INTERRUPTED

    @property
    def finished(self) -> bool:
        """Whether the run ran as asked (completed or stopped early): its numbers are results."""
        return self.status in FINISHED_STATUSES

    @property
    def reason(self) -> str | None:
        if self.facts.end:
            return self.facts.end.get("reason")
        epoch = self.facts.epoch
        return f"no on_train_end record: failed, killed or still training after epoch {epoch}"

    @property
    def start_time(self) -> float:
        return float(self.facts.start["time"])

    @property
    def end_time(self) -> float:
        """The run's end, or its last record when it has none."""
        return float((self.facts.end or self.facts.events[-1])["time"])

    def flat_config(self) -> dict:
        """cfg.yaml as dotted keys (``trainer.lr``); lists become tuples."""
        return flatten(self.facts.config)

    def scalars(self) -> list[Scalar]:
        """Every cell of scalars.csv but epoch and split, at the time its epoch ended."""
        ends = {
            e["epoch"]: float(e["time"]) for e in self.facts.events if e["event"] == "on_epoch_end"
        }
        start = self.start_time  # for a row whose epoch's record is missing (a damaged file)
        return [
            Scalar(f"{row['split']}/{column}", row["epoch"], ends.get(row["epoch"], start), value)
            for row in self.facts.rows
            for column, value in row.items()
            if column not in ("epoch", "split") and value is not None
        ]

    def headline(self) -> list[Scalar]:
        """The val and test numbers of the selected and the final weights (on_train_end)."""
        end = self.facts.end or {}
        numbers = []
        for section in HEADLINE_SECTIONS:
            weights = end.get(section) or {}
            epoch = int(weights.get("epoch") or self.facts.epoch)
            numbers += [
                Scalar(f"{section}/{key}", epoch, self.end_time, float(value))
                for key, value in weights.items()
                if key.startswith(("val_", "test_")) and is_number(value)
            ]
        return numbers

    def digest(self) -> str:
        """SHA-256 of every file the export reads: a record of the same digest is current."""
        digest = hashlib.sha256()
        files = [
            self.run_dir / CONFIG_FILE,
            facts_dir(self.run_dir) / EVENTS_FILE,
            facts_dir(self.run_dir) / SCALARS_FILE,
            *self.figures,
        ]
        for path in files:
            digest.update(f"{path.relative_to(self.run_dir).as_posix()}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        return digest.hexdigest()


def figure_step(path: Path, last_epoch: int) -> tuple[str, int]:
    """(name, epoch) of a figure file: ``losses-epoch_end-3.png`` is ``losses-epoch_end`` at
    epoch 3; a name without an epoch is the run's last epoch's."""
    match = EPOCH_SUFFIX.fullmatch(path.stem)
    return (match["name"], int(match["epoch"])) if match else (path.stem, last_epoch)


def run_dirs_of(sources: Sequence[Path | str]) -> list[Path]:
    """The run directories of sweep or run directories, each once; two runs of one name (from
    two sweeps) cannot both be exported, since both targets name a run after its directory."""
    by_name: dict[str, Path] = {}
    for source in map(Path, sources):
        if not source.is_dir():
            raise ExportError(
                f"{source}: no such directory (expected a sweep directory results/<sweep> or "
                "a run directory)"
            )
        for run_dir in [source] if is_run_dir(source) else find_run_dirs(source):
            other = by_name.setdefault(run_dir.name, run_dir)
            if other.resolve() != run_dir.resolve():
                raise ExportError(
                    f"two runs named {run_dir.name}: {other} and {run_dir}; export them separately"
                )
    return list(by_name.values())


def read_export_run(run_dir: Path) -> ExportRun:
    """A run's facts and config; a FactsError or ConfigError names the file that is bad."""
    events = read_events(run_dir)
    if not any(e["event"] == "on_train_start" for e in events):
        raise ExportError(
            f"{facts_dir(run_dir) / EVENTS_FILE}: no on_train_start record: the run has not started"
        )
    config = read_config(run_dir, validated=False)
    facts = run_facts(run_dir, events, read_scalars(run_dir), config)
    logging = config.get("logging") or {}
    figures_dir = run_dir / (logging.get("figures_subdir") or DEFAULT_FIGURES_SUBDIR)
    return ExportRun(run_dir.name, facts, sorted(figures_dir.glob("*.png")))


def sweep_of(sources: Sequence[Path | str], run_dirs: Sequence[Path]) -> Sweep:
    """The sweep the runs belong to: the one directory given, else the runs' common parent
    (results/<sweep> rather than results/<sweep>/runs)."""
    if len(sources) == 1 and not is_run_dir(sources[0]):
        directory = Path(sources[0])
    else:
        directory = common_parent(run_dirs)
        if directory.name == RUNS_SUBDIR:
            directory = directory.parent
    return Sweep(directory, directory.resolve().name)


def swept_keys(runs: Sequence[ExportRun]) -> list[str]:
    """The config keys whose values differ between the runs, as a report names its groups: a
    key that only some runs set counts if it takes two values among them (a VQ-only key that
    every VQ run shares is no difference), and keys a report never shows are left out
    (``summary.ignore_keys`` of the report config: logging, run_dir)."""
    configs = [run.flat_config() for run in runs]
    ignored = default_summary_settings()["ignore_keys"]
    return label_keys(configs, differing_keys(configs, ignored))
