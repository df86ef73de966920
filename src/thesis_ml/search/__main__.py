"""The steps of an adaptive search as commands (what the workflow's search rules run):

    python -m thesis_ml.search propose SWEEP_FILE ROUND       ask Optuna for round ROUND's trials
    python -m thesis_ml.search promote SWEEP_FILE ROUND RUNG  who goes on from a rung (pruner)
    python -m thesis_ml.search tell SWEEP_FILE ROUND          tell Optuna their results
    python -m thesis_ml.search status SWEEP_FILE              rounds, trials per state, best trial

SWEEP_FILE is a workflow config with a ``search:`` section (or ``--workflow-json`` gives it as
JSON). The search's files go to ``RESULTS/<sweep>/search/<digest>/`` (thesis_ml.search.plan):
round-NNN.json, round-NNN.rung-K.json, told-NNN.json, study.journal and trials.csv (rewritten
by every tell); each trial trains in ``runs/<trial>/rung-K`` there. Bad input ends in one
``error:`` line naming the sweep file, exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping

import optuna

from thesis_ml.errors import CommandParser, exit_status
from thesis_ml.search import SearchError
from thesis_ml.search.halving import promoted
from thesis_ml.search.plan import SearchPlan, plan_search
from thesis_ml.search.results import trial_result
from thesis_ml.search.rounds import read_round, told_path, write_promoted
from thesis_ml.search.study import propose_round, tell_round
from thesis_ml.search.table import search_status, write_trial_table
from thesis_ml.utils.io import atomic_write_text
from thesis_ml.utils.yaml_file import load_yaml_file


def load_plan(args: argparse.Namespace, check_keys: bool) -> SearchPlan:
    """The search of the sweep file (or of ``--workflow-json``). The run config is composed
    (about a second) with ``check_keys`` (propose: the searched keys fail before any job) or
    where a pruner needs trainer.epochs."""
    where = "--workflow-json" if args.workflow_json else args.sweep_file
    workflow = _read_workflow(args)
    if not isinstance(workflow, Mapping) or "search" not in workflow:
        raise SearchError(f"{where}: no search: section")
    if not isinstance(workflow.get("sweep"), str):
        raise SearchError(f"{where}: sweep: the sweep's name is required")
    for key, kind, name in (("overrides", str, "override strings"), ("seeds", int, "seeds")):
        values = workflow.get(key, [])
        if not isinstance(values, list) or not all(isinstance(v, kind) for v in values):
            raise SearchError(f"{where}: {key}: expected a list of {name}, got {values!r}")
    try:
        return plan_search(workflow, args.results, check_keys)
    except SearchError as error:
        raise SearchError(f"{where}: {error}") from None


def _read_workflow(args: argparse.Namespace) -> object:
    if args.workflow_json:
        try:
            return json.loads(args.workflow_json)
        except ValueError as error:
            raise SearchError(f"--workflow-json: not JSON ({error})") from None
    if not args.sweep_file:
        raise SearchError("SWEEP_FILE: give the sweep file (or --workflow-json)")
    return load_yaml_file(args.sweep_file, SearchError)


def propose(args: argparse.Namespace) -> None:
    _check_round(args.round)
    plan = load_plan(args, check_keys=True)
    trials = propose_round(plan.search, plan.directory, args.round)
    print(f"round {args.round}: {len(trials)} trials in {plan.directory}")
    for trial in trials:
        print(f"  {trial.name}: {' '.join(trial.overrides)}")


def promote(args: argparse.Namespace) -> None:
    """Decide which of the round's trials at rung RUNG go on to the next rung."""
    _check_round(args.round)
    plan = load_plan(args, check_keys=False)
    if not 0 <= args.rung < len(plan.rungs) - 1:
        raise SearchError(f"RUNG: {args.rung} is not a rung below the last of {plan.rungs}")
    names = plan.rung_trials(args.round, args.rung)
    if names is None:
        raise SearchError(f"round {args.round} rung {args.rung}: its trials are not decided yet")
    values = {}
    for name in names:
        result = trial_result(plan.trial_dir(name, args.rung), plan.search.objective, args.rung)
        # only a paused run can go on: one that ended (early stopping, divergence) is done
        values[name] = result.value if result.state == "pruned" else None
    numbers = {int(name.removeprefix("trial-")): name for name in names}
    by_number = {number: values[name] for number, name in numbers.items()}
    going_on = promoted(
        by_number, plan.search.pruner.reduction_factor, plan.search.objective.direction
    )
    write_promoted(plan.directory, args.round, args.rung, [numbers[n] for n in going_on])
    print(f"round {args.round} rung {args.rung}: {len(going_on)} of {len(names)} go on")


def tell(args: argparse.Namespace) -> None:
    _check_round(args.round)
    plan = load_plan(args, check_keys=False)
    search = plan.search
    trials = read_round(plan.directory, args.round)
    if trials is None:
        raise SearchError(f"round {args.round}: not proposed yet in {plan.directory}")
    final = plan.final_rungs(args.round, _decided(plan))
    # every trial's, the told ones too: tell checks those against what the study recorded
    results = {
        trial.name: trial_result(
            plan.trial_dir(trial.name, final[trial.name]), search.objective, final[trial.name]
        )
        for trial in trials
    }
    recorded = tell_round(search, plan.directory, args.round, results)
    table = write_trial_table(plan.directory)
    marker = {"round": args.round, "told": [trial.name for trial in trials]}
    atomic_write_text(told_path(plan.directory, args.round), json.dumps(marker) + "\n")
    print(f"round {args.round}: told {len(recorded)} of its {len(trials)} trials; table {table}")
    for trial in recorded:
        result = results[trial.name]
        print(f"  {trial.name}: {result.state} {search.objective.metric}={result.value}")


def _decided(plan: SearchPlan):
    def decided(round_index: int, rung: int) -> list[str]:
        names = plan.rung_trials(round_index, rung)
        if names is None:
            raise SearchError(
                f"round {round_index}: rung {rung - 1} is not decided yet (run promote first)"
            )
        return names

    return decided


def _check_round(round_index: int) -> None:
    if round_index < 0:
        raise SearchError(f"ROUND: {round_index} is not a round (they count from 0)")


def status(args: argparse.Namespace) -> None:
    plan = load_plan(args, check_keys=False)
    state = search_status(plan.search, plan.directory)
    print(f"search {plan.directory}")
    print(f"  rounds: {state.rounds_told} told of {state.rounds_proposed} proposed")
    counts = ", ".join(f"{name} {count}" for name, count in sorted(state.states.items()))
    print(f"  trials: {counts or 'none'} (n_trials {state.n_trials})")
    if state.best:
        params = " ".join(f"{p.key}={state.best[p.key]}" for p in plan.search.space)
        print(f"  best: {state.best['name']} value {state.best['value']} ({params})")
    step = f"{state.next_step[0]} round {state.next_step[1]}" if state.next_step else "none"
    print(f"  next: {step}")


COMMANDS = {"propose": propose, "promote": promote, "tell": tell, "status": status}


def _parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="python -m thesis_ml.search",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("propose", "ask Optuna for a round's trials (idempotent)"),
        ("promote", "successive halving: decide who goes on from a rung of a round"),
        ("tell", "record a round's results from its trials' facts (idempotent)"),
        ("status", "rounds done, trials per state, the best trial"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("sweep_file", nargs="?", help="workflow config with a search: section")
        command.add_argument("--workflow-json", help="the workflow config as JSON instead")
        if name != "status":
            command.add_argument("round", type=int, help="round index, from 0")
        if name == "promote":
            command.add_argument("rung", type=int, help="rung index, from 0")
        command.add_argument("--results", default="results", help="results root (results)")
    return parser


def main(argv: list[str] | None = None) -> int:
    # Optuna logs each study it opens; the commands say what they did themselves.
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return exit_status(lambda: _run(_parser().parse_args(argv)))


def _run(args: argparse.Namespace) -> None:
    COMMANDS[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
