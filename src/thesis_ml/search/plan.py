"""A workflow config's search as the workflow runs it: where the study lives, its rounds, the
rungs each round's trials climb, and the run (overrides and directory) of a trial at a rung.

A trial at rung K trains in ``<search_dir>/runs/<trial>/rung-K`` to the rung's epochs of the
``trainer.epochs`` schedule (``trainer.stop_after_epochs``; the last rung is the schedule's
end, and without a pruner it is the only one). Rung K+1 starts from rung K's checkpoint in a
directory of its own, so every rung is an ordinary, complete run directory of the pipeline.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from thesis_ml.search import SearchError
from thesis_ml.search.halving import rung_epochs
from thesis_ml.search.rounds import Trial, read_promoted, read_round, read_rounds
from thesis_ml.search.run_config import STOP_KEY, check_run_config
from thesis_ml.search.section import SearchConfig, parse_search
from thesis_ml.utils.io import json_digest


@dataclass(frozen=True)
class SearchPlan:
    search: SearchConfig
    directory: Path  # results/<sweep>/search/<digest>
    overrides: tuple[str, ...]  # the sweep's overrides, which every trial gets first
    # epochs of each rung, the last being trainer.epochs; (None,) where the plan did not compose
    # the run config and there is no pruner (its one rung trains the whole schedule)
    rungs: tuple[int | None, ...]

    @property
    def n_rounds(self) -> int:
        return math.ceil(self.search.n_trials / self.search.batch)

    def trial(self, trial_name: str) -> Trial:
        """The proposed trial of that name, from whichever round file proposed it."""
        for trial in self.proposed_trials():
            if trial.name == trial_name:
                return trial
        raise SearchError(f"{trial_name}: not a proposed trial of {self.directory}")

    def proposed_trials(self) -> list[Trial]:
        return [trial for trials in read_rounds(self.directory) for trial in trials]

    def trial_dir(self, trial_name: str, rung: int) -> Path:
        return self.directory / "runs" / trial_name / f"rung-{rung}"

    def trial_overrides(self, trial: Trial, rung: int) -> tuple[str, ...]:
        stop = () if rung == len(self.rungs) - 1 else (f"{STOP_KEY}={self.rungs[rung]}",)
        return (*self.overrides, *trial.overrides, *stop)

    def rung_trials(self, round_index: int, rung: int) -> list[str] | None:
        """The round's trials that train at ``rung``: all of them at rung 0, then those
        promoted from the rung below; None while that is not decided yet."""
        if rung == 0:
            trials = read_round(self.directory, round_index)
            return None if trials is None else [trial.name for trial in trials]
        return read_promoted(self.directory, round_index, rung - 1)

    def final_rungs(self, round_index: int, decided: Callable[[int, int], list[str]]) -> dict:
        """Each trial of the round -> the rung it ends at: the first one it is not promoted
        from. ``decided(round, rung)`` returns a rung's trials (the workflow's checkpoints)."""
        final = {}
        for rung in range(len(self.rungs)):
            going_on = decided(round_index, rung + 1) if rung + 1 < len(self.rungs) else []
            for name in decided(round_index, rung):
                if name not in going_on:
                    final[name] = rung
        return final


def plan_search(
    workflow: Mapping, results_root: Path | str, check_keys: bool = False
) -> SearchPlan:
    """The plan of ``workflow``'s search section. The run config is composed (about a second)
    with ``check_keys`` (each searched key must be an override key) or where a pruner needs
    trainer.epochs for its rungs, unless ``workflow`` states the rungs (``rungs``: what the
    workflow passes its search jobs, having checked the keys once at parse time)."""
    search = parse_search(workflow["search"])
    # trainer.seed is the sweep's seeds' to set (sweep.py refuses it in overrides): a trial
    # trains with the first of them
    seed = (workflow.get("seeds") or [0])[0]
    overrides = (*(workflow.get("overrides") or ()), f"trainer.seed={seed}")
    rungs: tuple[int | None, ...] = (None,)
    if "rungs" in workflow:
        rungs = tuple(workflow["rungs"])
    elif check_keys or search.pruner.kind != "none":
        epochs = int(check_run_config(search, overrides)["trainer"]["epochs"])
        pruner = search.pruner
        if pruner.kind == "successive_halving":
            rungs = tuple(rung_epochs(epochs, pruner.min_epochs, pruner.reduction_factor))
        else:
            rungs = (epochs,)
    directory = Path(results_root) / workflow["sweep"] / "search" / study_id(search, overrides)
    return SearchPlan(search, directory, overrides, rungs)


def study_id(search: SearchConfig, overrides: Sequence[str]) -> str:
    """Names the study: the search section less n_trials (raising it continues the study) and
    the sweep's overrides (which change every trial's run)."""
    return json_digest([search.digest, list(overrides)])[:12]
