"""A trial's result from its run's facts: the objective value of its on_train_end record.

A run that ended as asked (completed, or stopped early by its own early stopping) is a
complete trial; one paused at its rung and not promoted (successive halving) is pruned, with
the value it reached; a
diverged run is a failed trial, which Optuna's samplers leave out of their models.
"""

from __future__ import annotations

from pathlib import Path

from thesis_ml.facts import final_event, read_events
from thesis_ml.search import SearchError
from thesis_ml.search.rounds import TrialResult
from thesis_ml.search.section import Objective

STATE_OF_STATUS = {
    "completed": "complete",
    "stopped_early": "complete",
    "diverged": "fail",
    "paused": "pruned",  # stopped at its rung (trainer.stop_after_epochs) and not promoted
}


def trial_result(run_dir: Path | str, objective: Objective, rung: int = 0) -> TrialResult:
    """The result of the finished run in ``run_dir``, the trial's run at successive-halving
    rung ``rung`` (the rung it trained at, whatever epoch it stopped at)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise SearchError(f"{run_dir}: no such run directory; train the trial before tell")
    end = final_event(read_events(run_dir))
    if end is None:
        raise SearchError(
            f"{run_dir}: the run has not finished (its facts have no on_train_end record)"
        )
    state = STATE_OF_STATUS.get(end.get("status"))
    if state is None:
        raise SearchError(f"{run_dir}: unknown run status {end.get('status')!r} in its facts")
    epochs = end.get("epochs")
    if state == "fail":
        return TrialResult(None, state, rung, epochs)
    which, key = objective.source
    value = (end.get(which) or {}).get(key)
    if value is None:
        raise SearchError(
            f"{run_dir}: search.objective.metric {objective.metric}: the run's on_train_end "
            f"record has no {which}.{key}"
        )
    return TrialResult(float(value), state, rung, epochs)
