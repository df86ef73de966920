"""A search's round files and the two records of a trial: what was proposed, and its result.

``<search_dir>/round-NNN.json`` holds the trials proposed in round NNN, written whole or not
at all; it is the one record of a proposal, so a trial's parameters are read from it, and a
round proposed once is never proposed again. With successive halving,
``round-NNN.rung-K.json`` names the round's trials promoted from rung K to rung K+1, and
``told-NNN.json`` says that round NNN is told (the workflow's marker of a finished tell).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from thesis_ml.search import SearchError
from thesis_ml.utils.io import atomic_write_text

STATES = ("complete", "pruned", "fail")  # Optuna's TrialState names of a finished trial
_ROUND_FILE = re.compile(r"^round-(\d{3,})\.json$")


@dataclass(frozen=True)
class Trial:
    """One proposed trial: the run it becomes is named ``name`` and gets ``overrides``."""

    number: int
    name: str
    round: int
    params: dict  # override key -> value, as the run gets it
    overrides: tuple[str, ...]
    system_attrs: dict = field(default_factory=dict)  # the sampler's notes, told back with it


@dataclass(frozen=True)
class TrialResult:
    """What a trial's run gave: its objective value (None when it failed), its Optuna state,
    the successive-halving rung it ended at and the epochs it trained (Optuna's step)."""

    value: float | None
    state: str = "complete"
    rung: int = 0
    epochs: int | None = None

    def check(self, name: str) -> None:
        if self.state not in STATES:
            raise SearchError(f"{name}: state {self.state!r} is not one of {', '.join(STATES)}")
        finite = self.value is not None and math.isfinite(self.value)
        if self.state == "fail" and self.value is not None:
            raise SearchError(f"{name}: a failed trial has no value, got {self.value}")
        if self.state != "fail" and not finite:
            raise SearchError(
                f"{name}: a {self.state} trial needs a finite value, got {self.value}"
            )


def as_result(result: TrialResult | float | None) -> TrialResult:
    """A bare value is a completed trial's; None a failed trial."""
    if isinstance(result, TrialResult):
        return result
    return TrialResult(None, "fail") if result is None else TrialResult(float(result))


def trial_name(number: int) -> str:
    return f"trial-{number:04d}"


def round_path(search_dir: Path | str, round_index: int) -> Path:
    return Path(search_dir) / f"round-{round_index:03d}.json"


def write_round(search_dir: Path | str, round_index: int, trials: list[Trial]) -> None:
    record = {"round": round_index, "trials": [asdict(trial) for trial in trials]}
    text = json.dumps(record, indent=1, allow_nan=False) + "\n"
    atomic_write_text(round_path(search_dir, round_index), text)


def read_round(search_dir: Path | str, round_index: int) -> list[Trial] | None:
    """The round's trials in trial-number order, None when it was not proposed."""
    path = round_path(search_dir, round_index)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        return [
            Trial(**{**entry, "overrides": tuple(entry["overrides"])}) for entry in record["trials"]
        ]
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError) as error:
        raise SearchError(f"{path}: not a round file of this version ({error})") from None


def read_rounds(search_dir: Path | str) -> list[list[Trial]]:
    """Every proposed round, from round 0 on; a gap in the numbering is refused."""
    indices = sorted(
        int(match.group(1))
        for path in Path(search_dir).glob("round-*.json")
        if (match := _ROUND_FILE.match(path.name))
    )
    if indices != list(range(len(indices))):
        missing = min(set(range(len(indices) + 1)) - set(indices))
        raise SearchError(f"{round_path(search_dir, missing)}: missing, but later rounds exist")
    return [read_round(search_dir, index) for index in indices]


def rung_path(search_dir: Path | str, round_index: int, rung: int) -> Path:
    return Path(search_dir) / f"round-{round_index:03d}.rung-{rung}.json"


def write_promoted(search_dir: Path | str, round_index: int, rung: int, names: list[str]) -> None:
    record = {"round": round_index, "rung": rung, "promoted": names}
    atomic_write_text(rung_path(search_dir, round_index, rung), json.dumps(record, indent=1) + "\n")


def read_promoted(search_dir: Path | str, round_index: int, rung: int) -> list[str] | None:
    """The names promoted from rung ``rung`` of the round, None before that rung is decided."""
    path = rung_path(search_dir, round_index, rung)
    try:
        return list(json.loads(path.read_text(encoding="utf-8"))["promoted"])
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError) as error:
        raise SearchError(f"{path}: not a rung file of this version ({error})") from None


def told_path(search_dir: Path | str, round_index: int) -> Path:
    return Path(search_dir) / f"told-{round_index:03d}.json"
