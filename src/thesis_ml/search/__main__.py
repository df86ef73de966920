"""The steps of an adaptive search as commands (what the workflow's round rules run):

    python -m thesis_ml.search propose SWEEP_FILE ROUND   ask Optuna for round ROUND's trials
    python -m thesis_ml.search tell SWEEP_FILE ROUND      tell it their results, from their facts
    python -m thesis_ml.search status SWEEP_FILE          rounds, trials per state, best trial

SWEEP_FILE is a workflow config with a ``search:`` section. The search's files go to
``RESULTS/<sweep>/search/<digest>/``: round-NNN.json, study.journal and trials.csv (rewritten
by every tell); tell reads each trial's run from ``<that dir>/runs/<trial>`` unless --runs-dir
says otherwise. Bad input ends in one ``error:`` line naming the sweep file, exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import optuna
import yaml

from thesis_ml.errors import exit_status
from thesis_ml.search import SearchError
from thesis_ml.search.halving import rung_epochs
from thesis_ml.search.journal import told_trials
from thesis_ml.search.results import runs_dir, trial_result
from thesis_ml.search.rounds import read_round
from thesis_ml.search.run_config import check_run_config
from thesis_ml.search.section import SearchConfig, parse_search
from thesis_ml.search.study import propose_round, search_dir, tell_round
from thesis_ml.search.table import search_status, write_trial_table


@dataclass(frozen=True)
class Sweep:
    """A sweep file's search and where it lives."""

    search: SearchConfig
    directory: Path  # results/<sweep>/search/<digest>
    max_epochs: int | None  # trainer.epochs of its runs (the last rung), where composed


def load_sweep(sweep_file: Path | str, results_root: Path | str, check_keys: bool) -> Sweep:
    """The sweep file's search. The run config is composed (about a second) with ``check_keys``
    (propose: the searched keys fail before any job) or where a pruner needs trainer.epochs."""
    try:
        workflow = yaml.safe_load(Path(sweep_file).read_text(encoding="utf-8"))
    except OSError as error:
        raise SearchError(f"{sweep_file}: cannot read it ({error.strerror})") from None
    except yaml.YAMLError as error:
        raise SearchError(f"{sweep_file}: not YAML ({error})") from None
    if not isinstance(workflow, Mapping) or "search" not in workflow:
        raise SearchError(f"{sweep_file}: no search: section")
    if not isinstance(workflow.get("sweep"), str):
        raise SearchError(f"{sweep_file}: sweep: the sweep's name is required")
    max_epochs = None
    try:
        search = parse_search(workflow["search"])
        if check_keys or search.pruner.kind != "none":
            config = check_run_config(search, workflow.get("overrides") or ())
            max_epochs = int(config["trainer"]["epochs"])
    except SearchError as error:
        raise SearchError(f"{sweep_file}: {error}") from None
    directory = search_dir(Path(results_root) / workflow["sweep"], search)
    return Sweep(search, directory, max_epochs)


def propose(args: argparse.Namespace) -> None:
    _check_round(args.round)
    sweep = load_sweep(args.sweep_file, args.results, check_keys=True)
    trials = propose_round(sweep.search, sweep.directory, args.round)
    print(f"round {args.round}: {len(trials)} trials in {sweep.directory}")
    for trial in trials:
        print(f"  {trial.name}: {' '.join(trial.overrides)}")


def tell(args: argparse.Namespace) -> None:
    _check_round(args.round)
    sweep = load_sweep(args.sweep_file, args.results, check_keys=False)
    search = sweep.search
    trials = read_round(sweep.directory, args.round)
    if trials is None:
        raise SearchError(f"round {args.round}: not proposed yet in {sweep.directory}")
    pruner = search.pruner
    rungs = None
    if pruner.kind == "successive_halving":
        rungs = rung_epochs(sweep.max_epochs, pruner.min_epochs, pruner.reduction_factor)
    runs = Path(args.runs_dir) if args.runs_dir else runs_dir(sweep.directory)
    told = told_trials(sweep.directory)
    results = {
        trial.name: trial_result(runs / trial.name, search.objective, rungs)
        for trial in trials
        if trial.name not in told
    }
    recorded = tell_round(search, sweep.directory, args.round, results)
    table = write_trial_table(sweep.directory)
    print(f"round {args.round}: told {len(recorded)} of its {len(trials)} trials; table {table}")
    for trial in recorded:
        result = results[trial.name]
        print(f"  {trial.name}: {result.state} {search.objective.metric}={result.value}")


def _check_round(round_index: int) -> None:
    if round_index < 0:
        raise SearchError(f"ROUND: {round_index} is not a round (they count from 0)")


def status(args: argparse.Namespace) -> None:
    sweep = load_sweep(args.sweep_file, args.results, check_keys=False)
    state = search_status(sweep.search, sweep.directory)
    print(f"search {sweep.directory}")
    print(f"  rounds: {state.rounds_told} told of {state.rounds_proposed} proposed")
    counts = ", ".join(f"{name} {count}" for name, count in sorted(state.states.items()))
    print(f"  trials: {counts or 'none'} (n_trials {state.n_trials})")
    if state.best:
        params = " ".join(f"{p.key}={state.best[p.key]}" for p in sweep.search.space)
        print(f"  best: {state.best['name']} value {state.best['value']} ({params})")
    step = f"{state.next_step[0]} round {state.next_step[1]}" if state.next_step else "none"
    print(f"  next: {step}")


COMMANDS = {"propose": propose, "tell": tell, "status": status}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m thesis_ml.search",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("propose", "ask Optuna for a round's trials (idempotent)"),
        ("tell", "record a round's results from its trials' facts (idempotent)"),
        ("status", "rounds done, trials per state, the best trial"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("sweep_file", help="workflow config with a search: section")
        if name != "status":
            command.add_argument("round", type=int, help="round index, from 0")
        command.add_argument("--results", default="results", help="results root (results)")
        if name == "tell":
            command.add_argument("--runs-dir", help="trial run dirs (<search dir>/runs)")
    return parser


def main(argv: list[str] | None = None) -> int:
    # Optuna logs each study it opens; the commands say what they did themselves.
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return exit_status(lambda: _run(_parser().parse_args(argv)))


def _run(args: argparse.Namespace) -> None:
    COMMANDS[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
