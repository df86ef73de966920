"""The two steps of a search round: propose its trials, then tell Optuna their results.

A search lives in ``<sweep_dir>/search/<digest>/`` (``plan.study_id``): the digest names the
search section less ``n_trials`` and the sweep's overrides, so another space, sampler, seed or
base config starts another study, and a larger ``n_trials`` continues this one. There:

- ``round-NNN.json``: the trials proposed in round NNN (:mod:`thesis_ml.search.rounds`);
- ``study.journal``: Optuna's journal file storage, holding finished trials only.

**Determinism.** Round r's proposals are a function of the search section, r and the trials
told in rounds 0..r-1, nothing else: ``propose`` copies those trials from the journal into an
in-memory study, gives it a sampler seeded from (seed, r) (``samplers``) and asks it for the
round's trials there. Trial numbers follow from the history (round r's first trial is number
``sum of earlier rounds' sizes``), and ``tell`` records results in trial-number order, so the
journal's numbers are the proposals' numbers.

**Kill safety.** No step leaves a half-done state that a rerun could mistake for a done one:

- ``propose`` writes nothing to the journal: the asked trials, RUNNING in Optuna's eyes, live in
  the in-memory study and die with the process. Its one output, the round file, appears whole
  (atomic rename) or not at all; a rerun without it proposes the same trials again, and a rerun
  with it returns it unchanged.
- ``tell`` adds each trial already finished (``study.add_trial``), one journal record each,
  appended and fsynced by Optuna, with the trial's name in its user attributes; a rerun skips
  the names present. A kill inside an append leaves a last line without its newline, which no
  reader counted; it is cut off before the next append (``journal``). A kill while Optuna
  holds the journal's lock leaves ``study.journal.lock``; Optuna takes it over when 30 s old.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import optuna

from thesis_ml.search import SearchError
from thesis_ml.search.journal import told_trials, writable_study
from thesis_ml.search.rounds import (
    Trial,
    TrialResult,
    as_result,
    read_round,
    round_path,
    trial_name,
    write_round,
)
from thesis_ml.search.samplers import make_sampler
from thesis_ml.search.section import SearchConfig


def propose_round(search: SearchConfig, search_dir: Path | str, round_index: int) -> list[Trial]:
    """Round ``round_index``'s trials: ``batch`` of them, fewer in the round that reaches
    ``n_trials``. Every earlier round must be told; a round proposed before is returned as it
    was proposed."""
    search_dir = Path(search_dir)
    proposed = read_round(search_dir, round_index)
    if proposed is not None:
        return proposed
    earlier = _earlier_rounds(search_dir, round_index)
    so_far = sum(len(trials) for trials in earlier)
    size = min(search.batch, search.n_trials - so_far)
    if size <= 0:
        raise SearchError(
            f"search.n_trials: all {search.n_trials} trials are proposed in rounds "
            f"0-{round_index - 1}; there is no round {round_index} (raise n_trials to go on)"
        )
    history = _told_history(search, search_dir, earlier)
    scratch = optuna.create_study(
        direction=search.objective.direction, sampler=make_sampler(search, round_index)
    )
    scratch.add_trials(history)
    seen = [_optuna_params(search, trial) for trials in earlier for trial in trials]
    trials = []
    for number in range(so_far, so_far + size):
        trials.append(_ask(search, scratch, round_index, number, seen))
        seen.append(_optuna_params(search, trials[-1]))
    write_round(search_dir, round_index, trials)
    return trials


# A point proposed before is asked again up to this many times: training is deterministic, so
# a repeated point would spend a trial to learn nothing. After that the repeat is taken (a
# small discrete space can run out of new points).
REASKS = 32


def _ask(
    search: SearchConfig, scratch: optuna.Study, round_index: int, number: int, seen: list[dict]
) -> Trial:
    """Trial ``number`` (the journal's numbering, which the scratch study's asks of repeated
    points do not follow): a point not in ``seen`` where the sampler finds one."""
    for _ in range(REASKS):
        asked = scratch.ask(search.distributions)
        if search.sampler == "grid" or asked.params not in seen:
            break
        # left running: TPE's constant liar counts it as bad, so each repeat of the point makes
        # the next ask less likely to choose it (a failed one it would ignore, and choose again)
    params = {p.key: p.from_optuna(asked.params[p.key]) for p in search.space}
    return Trial(
        number=number,
        name=trial_name(number),
        round=round_index,
        params=params,
        overrides=tuple(p.override(params[p.key]) for p in search.space),
        # the sampler's notes on the trial (the grid point, CMA-ES's generation and state),
        # which its later rounds read back from the told trial
        system_attrs=dict(scratch.trials[asked.number].system_attrs),
    )


def _earlier_rounds(search_dir: Path, round_index: int) -> list[list[Trial]]:
    earlier = []
    for index in range(round_index):
        trials = read_round(search_dir, index)
        if trials is None:
            missing = round_path(search_dir, index)
            raise SearchError(
                f"round {round_index}: round {index} was never proposed ({missing} is missing); "
                "rounds go in order"
            )
        earlier.append(trials)
    return earlier


def _told_history(
    search: SearchConfig, search_dir: Path, earlier: list[list[Trial]]
) -> list[optuna.trial.FrozenTrial]:
    """The journal's trials of the earlier rounds, in number order, each round told whole."""
    if not earlier:
        return []
    told = told_trials(search_dir)
    history = []
    for trials in earlier:
        for trial in trials:
            if trial.name not in told:
                raise SearchError(
                    f"round {trial.round} is not told yet ({trial.name} has no result); tell "
                    "it before proposing the next round"
                )
            history.append(_checked(search, told[trial.name], trial))
    return history


def tell_round(
    search: SearchConfig,
    search_dir: Path | str,
    round_index: int,
    results: Mapping[str, TrialResult | float | None],
) -> list[Trial]:
    """Record the round's results in trial-number order and return the trials recorded now
    (none on a rerun after a complete tell). ``results`` maps each trial's name to its result,
    or to a bare value (complete) or None (failed)."""
    search_dir = Path(search_dir)
    trials = read_round(search_dir, round_index)
    if trials is None:
        missing = round_path(search_dir, round_index)
        raise SearchError(f"round {round_index}: not proposed ({missing} is missing)")
    names = {trial.name for trial in trials}
    strays = sorted(set(results) - names)
    if strays:
        raise SearchError(f"round {round_index}: {strays[0]} is not one of its trials")
    study = writable_study(search, search_dir)
    told = {trial.user_attrs["name"]: trial for trial in study.get_trials(deepcopy=False)}
    pending = [trial for trial in trials if trial.name not in told]
    for trial in pending:
        if trial.name not in results:
            raise SearchError(f"round {round_index}: no result for {trial.name}")
        as_result(results[trial.name]).check(trial.name)
    for trial in trials:
        if trial.name in told:
            recorded = _checked(search, told[trial.name], trial)
            if trial.name in results:
                _check_unchanged(recorded, trial, as_result(results[trial.name]), search_dir)
    for trial in pending:
        count = len(study.get_trials(deepcopy=False))
        if count != trial.number:
            raise SearchError(
                f"{trial.name}: the study holds {count} trials, so it cannot record trial "
                f"number {trial.number} next; tell the rounds in order"
            )
        study.add_trial(_finished(search, trial, as_result(results[trial.name])))
    return pending


def _finished(search: SearchConfig, trial: Trial, result: TrialResult) -> optuna.trial.FrozenTrial:
    steps = {} if result.epochs is None or result.value is None else {result.epochs: result.value}
    return optuna.trial.create_trial(
        state=optuna.trial.TrialState[result.state.upper()],
        value=result.value,
        params=_optuna_params(search, trial),
        distributions=search.distributions,
        user_attrs={"name": trial.name, "round": trial.round, "rung": result.rung},
        system_attrs=trial.system_attrs,
        intermediate_values=steps,
    )


def _checked(
    search: SearchConfig, told: optuna.trial.FrozenTrial, trial: Trial
) -> optuna.trial.FrozenTrial:
    """The study's record of ``trial``, which must be the trial the round file proposes."""
    if told.number != trial.number:
        raise SearchError(
            f"{trial.name}: the study holds it as trial number {told.number}, its round file as "
            f"{trial.number}; the journal belongs to another search"
        )
    if told.params != _optuna_params(search, trial):
        raise SearchError(
            f"{trial.name}: the study recorded it with {told.params}, its round file proposes "
            f"{trial.params}; the round was proposed again differently (the search code "
            "changed?): remove the search's directory to run the search again"
        )
    return told


def _check_unchanged(
    told: optuna.trial.FrozenTrial, trial: Trial, result: TrialResult, search_dir: Path
) -> None:
    """A told trial's run must still give what the study recorded: a retrained trial (the
    training code changed) would pair new results with proposals made from the old ones."""
    state = optuna.trial.TrialState[result.state.upper()]
    if (told.state, told.value) != (state, result.value):
        raise SearchError(
            f"{trial.name}: its run now gives {result.state} {result.value}, but the study "
            f"recorded {told.state.name.lower()} {told.value}; the trial was retrained since it "
            f"was told (training code changed?): remove {search_dir} to run the search again"
        )


def _optuna_params(search: SearchConfig, trial: Trial) -> dict:
    return {p.key: p.to_optuna(trial.params[p.key]) for p in search.space}
