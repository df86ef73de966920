"""Search rounds with real Optuna: reproducible from scratch, unchanged by a kill at any step,
continued by a larger n_trials; the successive-halving schedule; the command line."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import yaml

from thesis_ml.facts import FactsWriter
from thesis_ml.search import SearchError
from thesis_ml.search.__main__ import main
from thesis_ml.search.halving import promoted, rung_epochs
from thesis_ml.search.journal import JOURNAL_FILE, told_trials
from thesis_ml.search.plan import study_id
from thesis_ml.search.rounds import TrialResult, round_path
from thesis_ml.search.section import parse_search
from thesis_ml.search.study import propose_round, tell_round
from thesis_ml.search.table import search_status, trial_table, write_trial_table

SPACE = {
    "trainer.lr": {"type": "float", "low": 1.0e-4, "high": 1.0e-1, "log": True},
    "model.hidden_sizes": {"type": "categorical", "choices": [[32], [64], [64, 64]]},
    "model.dropout": {"type": "float", "low": 0.0, "high": 0.5},
}
NUMERIC_SPACE = {key: SPACE[key] for key in ("trainer.lr", "model.dropout")}  # for CMA-ES
GRID_SPACE = {
    "trainer.lr": {"type": "categorical", "choices": [1e-3, 1e-2, 1e-1]},
    "model.hidden_sizes": {"type": "categorical", "choices": [[32], [64, 64]]},
    "model.dropout": {"type": "float", "low": 0.0, "high": 0.5, "step": 0.25},
}


def search_config(sampler: str = "tpe", n_trials: int = 24, batch: int = 8, **changes):
    space = {"grid": GRID_SPACE, "cmaes": NUMERIC_SPACE}.get(sampler, SPACE)
    section = {"sampler": sampler, "n_trials": n_trials, "batch": batch, "space": space}
    return parse_search({**section, **changes})


def objective(params: dict) -> float:
    """A known optimum: lr = 10**-2.5, no dropout, the smallest network."""
    lr_term = (math.log10(params["trainer.lr"]) + 2.5) ** 2
    return lr_term + params["model.dropout"] + 0.1 * len(params.get("model.hidden_sizes", [32]))


def run_search(search, directory: Path) -> bytes:
    """Propose, evaluate and tell rounds until the search is done (resuming whatever step it
    stands at); the trial table's bytes."""
    while (step := search_status(search, directory).next_step) is not None:
        trials = propose_round(search, directory, step[1])
        tell_round(search, directory, step[1], {t.name: objective(t.params) for t in trials})
    return write_trial_table(directory).read_bytes()


@pytest.mark.parametrize("sampler", ["tpe", "random", "grid", "cmaes"])
def test_two_searches_from_scratch_give_byte_identical_tables(tmp_path, sampler):
    search = search_config(sampler, n_trials=18 if sampler == "grid" else 24)
    first = run_search(search, tmp_path / "a")
    assert run_search(search, tmp_path / "b") == first
    table = trial_table(tmp_path / "a")
    assert list(table["number"]) == list(range(search.n_trials))
    assert list(table["name"])[:2] == ["trial-0000", "trial-0001"]
    assert set(table["state"]) == {"complete"}
    assert list(table["round"]) == [n // 8 for n in range(search.n_trials)]
    if sampler == "grid":  # every grid point exactly once
        points = {
            (r["trainer.lr"], str(r["model.hidden_sizes"]), r["model.dropout"])
            for _, r in table.iterrows()
        }
        assert len(points) == 18


@pytest.mark.parametrize("sampler", ["tpe", "random"])
def test_a_point_is_not_proposed_twice_while_the_space_has_new_ones(tmp_path, sampler):
    """Training is deterministic, so a repeated point is a trial that learns nothing: of 18
    grid points, 12 trials are 12 points; past 18 the search goes on with repeats."""

    def points(table) -> list:
        keys = ("trainer.lr", "model.hidden_sizes", "model.dropout")
        return [tuple(str(row[key]) for key in keys) for _, row in table.iterrows()]

    run_search(search_config(sampler, n_trials=12, batch=4, space=GRID_SPACE), tmp_path / "a")
    assert len(set(points(trial_table(tmp_path / "a")))) == 12
    run_search(search_config(sampler, n_trials=20, batch=4, space=GRID_SPACE), tmp_path / "b")
    table = trial_table(tmp_path / "b")
    assert list(table["number"]) == list(range(20)) and len(set(points(table))) < 20


def test_a_search_in_other_processes_gives_the_same_table(tmp_path):
    """Each round's step runs in a process of its own in the workflow: nothing may depend on
    the process (string hashing is seeded per process)."""
    script = (
        "import sys; from pathlib import Path; import optuna\n"
        "optuna.logging.set_verbosity(optuna.logging.WARNING)\n"
        "from tests.test_search_study import run_search, search_config\n"
        "run_search(search_config('tpe'), Path(sys.argv[1]))\n"
    )
    tables = []
    for hash_seed in ("1", "2"):
        directory = tmp_path / hash_seed
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        root = Path(__file__).resolve().parents[1]
        command = [sys.executable, "-c", script, str(directory)]
        subprocess.run(command, cwd=root, env=env, check=True, timeout=300)
        tables.append((directory / "trials.csv").read_bytes())
    assert tables[0] == tables[1] == run_search(search_config("tpe"), tmp_path / "here")


def test_a_round_reproposed_after_a_kill_before_its_file_is_the_same(tmp_path):
    search = search_config()
    trials = propose_round(search, tmp_path, 0)
    tell_round(search, tmp_path, 0, {t.name: objective(t.params) for t in trials})
    propose_round(search, tmp_path, 1)
    written = round_path(tmp_path, 1).read_bytes()
    round_path(tmp_path, 1).unlink()  # as if killed before the file was renamed into place
    propose_round(search, tmp_path, 1)
    assert round_path(tmp_path, 1).read_bytes() == written


def test_a_kill_after_propose_or_mid_tell_ends_with_the_undisturbed_table(tmp_path, monkeypatch):
    search = search_config()
    undisturbed = run_search(search, tmp_path / "undisturbed")

    killed_after_propose = tmp_path / "after-propose"
    trials = propose_round(search, killed_after_propose, 0)
    tell_round(search, killed_after_propose, 0, {t.name: objective(t.params) for t in trials})
    propose_round(search, killed_after_propose, 1)  # ... and killed here
    assert search_status(search, killed_after_propose).next_step == ("train and tell", 1)
    assert run_search(search, killed_after_propose) == undisturbed

    killed_mid_tell = tmp_path / "mid-tell"
    journal = optuna.storages.JournalStorage
    real_create, records = journal.create_new_trial, []

    def record_then_die(storage, study_id, template_trial=None):
        if len(records) == 11:  # killed before the journal gets round 1's 4th trial
            raise KeyboardInterrupt
        records.append(real_create(storage, study_id, template_trial))
        return records[-1]

    monkeypatch.setattr(journal, "create_new_trial", record_then_die)
    with pytest.raises(KeyboardInterrupt):
        run_search(search, killed_mid_tell)
    monkeypatch.undo()
    assert len(told_trials(killed_mid_tell)) == 11
    assert search_status(search, killed_mid_tell).next_step == ("train and tell", 1)
    assert run_search(search, killed_mid_tell) == undisturbed


def test_a_journal_line_torn_by_a_kill_is_dropped_before_the_next_tell(tmp_path):
    search = search_config()
    undisturbed = run_search(search, tmp_path / "undisturbed")
    torn = tmp_path / "torn"
    trials = propose_round(search, torn, 0)
    tell_round(search, torn, 0, {t.name: objective(t.params) for t in trials})
    with open(torn / JOURNAL_FILE, "ab") as journal:
        journal.write(b'{"op_code":4,"worker_id":"x","study_id":0,"datetime_st')
    assert run_search(search, torn) == undisturbed
    assert (torn / JOURNAL_FILE).read_bytes().endswith(b"\n")


def search_dir(sweep_dir: Path, search, overrides=()) -> Path:
    return sweep_dir / "search" / study_id(search, overrides)


def test_a_larger_n_trials_continues_the_study(tmp_path):
    small, large = search_config(n_trials=8, batch=4), search_config(n_trials=16, batch=4)
    assert search_dir(tmp_path, small) == search_dir(tmp_path, large)
    directory = search_dir(tmp_path, small)
    first = run_search(small, directory).decode().splitlines()
    continued = run_search(large, directory).decode().splitlines()
    assert continued[: len(first)] == first and len(continued) == 17
    assert run_search(large, tmp_path / "from-scratch").decode().splitlines() == continued


def test_another_space_sampler_seed_or_base_config_is_another_study(tmp_path):
    base = search_dir(tmp_path, search_config())
    others = [
        search_dir(tmp_path, config)
        for config in (
            search_config(
                space={**SPACE, "model.dropout": {"type": "float", "low": 0, "high": 0.4}}
            ),
            search_config("random"),
            search_config(seed=1),
        )
    ]
    others.append(search_dir(tmp_path, search_config(), ["trainer.epochs=5"]))
    assert len({base, *others}) == 5
    assert base.parent == tmp_path / "search"


def test_rounds_go_in_order_and_results_must_match_the_round(tmp_path):
    search = search_config(n_trials=10)
    with pytest.raises(SearchError, match="round 0 was never proposed"):
        propose_round(search, tmp_path, 1)
    with pytest.raises(SearchError, match="round 0: not proposed"):
        tell_round(search, tmp_path, 0, {})
    trials = propose_round(search, tmp_path, 0)
    with pytest.raises(SearchError, match="round 0 is not told yet"):
        propose_round(search, tmp_path, 1)
    values = {t.name: objective(t.params) for t in trials}
    with pytest.raises(SearchError, match="round 0: no result for trial-0007"):
        tell_round(search, tmp_path, 0, {k: v for k, v in values.items() if k != "trial-0007"})
    with pytest.raises(SearchError, match="trial-0099 is not one of its trials"):
        tell_round(search, tmp_path, 0, {**values, "trial-0099": 1.0})
    with pytest.raises(SearchError, match="trial-0002: a complete trial needs a finite value"):
        tell_round(search, tmp_path, 0, {**values, "trial-0002": TrialResult(math.nan)})
    assert told_trials(tmp_path) == {}  # a refused tell records nothing
    assert len(tell_round(search, tmp_path, 0, values)) == 8
    assert tell_round(search, tmp_path, 0, values) == []  # a rerun records nothing again
    assert [t.number for t in propose_round(search, tmp_path, 1)] == [8, 9]  # the last, short
    tell_round(search, tmp_path, 1, {"trial-0008": 1.0, "trial-0009": 2.0})
    with pytest.raises(SearchError, match="search.n_trials: all 10 trials are proposed"):
        propose_round(search, tmp_path, 2)


def test_pruned_and_failed_trials_are_told_with_their_rung_and_step(tmp_path):
    search = search_config(n_trials=16, pruner={"kind": "successive_halving", "min_epochs": 5})
    trials = propose_round(search, tmp_path, 0)
    results = {t.name: TrialResult(objective(t.params), "complete", 2, 45) for t in trials}
    results[trials[1].name] = TrialResult(3.0, "pruned", rung=0, epochs=5)
    results[trials[2].name] = None  # a failed (diverged) run
    tell_round(search, tmp_path, 0, results)
    table = trial_table(tmp_path)
    assert list(table["state"][:3]) == ["complete", "pruned", "fail"]
    assert list(table["rung"][:3]) == [2, 0, 0]
    assert math.isnan(table["value"][2]) and table["value"][1] == 3.0
    assert told_trials(tmp_path)[trials[1].name].intermediate_values == {5: 3.0}
    assert len(propose_round(search, tmp_path, 1)) == 8  # the sampler takes them in its stride
    state = search_status(search, tmp_path)
    assert state.states == {"complete": 6, "pruned": 1, "fail": 1, "proposed": 8}
    assert state.next_step == ("train and tell", 1) and (
        state.rounds_proposed,
        state.rounds_told,
    ) == (2, 1)
    complete = {
        n: v for n, v in results.items() if isinstance(v, TrialResult) and v.state == "complete"
    }
    assert state.best["name"] == min(complete, key=lambda name: complete[name].value)


def test_the_round_overhead_after_32_trials(tmp_path):
    search = search_config(n_trials=40)
    for round_index in range(4):
        trials = propose_round(search, tmp_path, round_index)
        tell_round(search, tmp_path, round_index, {t.name: objective(t.params) for t in trials})
    start = time.perf_counter()
    trials = propose_round(search, tmp_path, 4)
    proposed = time.perf_counter()
    tell_round(search, tmp_path, 4, {t.name: objective(t.params) for t in trials})
    told = time.perf_counter()
    print(
        f"\nround of 8 after 32 trials (tpe): propose {proposed - start:.3f} s, "
        f"tell {told - proposed:.3f} s"
    )


@pytest.mark.parametrize(
    ("max_epochs", "min_epochs", "factor", "rungs"),
    [
        (40, 5, 3, [5, 15, 40]),
        (45, 5, 3, [5, 15, 45]),
        (15, 5, 3, [5, 15]),
        (4, 5, 2, [4]),
        (100, 1, 2, [1, 2, 4, 8, 16, 32, 64, 100]),
        (10, 10, 3, [10]),
    ],
)
def test_rung_epochs_end_at_the_full_schedule(max_epochs, min_epochs, factor, rungs):
    assert rung_epochs(max_epochs, min_epochs, factor) == rungs


def test_promotion_keeps_the_best_fraction_ties_to_the_lower_number():
    values = {0: 0.5, 1: 0.1, 2: 0.3, 3: 0.1, 4: 0.9, 5: 0.2, 6: 0.7, 7: 0.4, 8: 0.6}
    assert promoted(values, 3) == [1, 3, 5]
    assert promoted(values, 3, "maximize") == [4, 6, 8]
    assert promoted({4: 1.0, 2: 1.0, 7: 1.0}, 3) == [2]  # a tie: the lower trial number
    assert promoted({0: 2.0, 1: 1.0}, 3) == [1]  # at least one goes on
    assert promoted({0: None, 1: math.nan, 2: 5.0, 3: None}, 2) == [2]  # no value, no promotion
    assert promoted({0: None}, 2) == []
    assert promoted({}, 3) == []


def write_sweep(path: Path, **search_changes) -> Path:
    search = {"sampler": "random", "n_trials": 6, "batch": 3, "space": SPACE, **search_changes}
    sweep = {"sweep": "demo", "overrides": ["trainer.epochs=20"], "grid": {}, "search": search}
    path.write_text(yaml.safe_dump(sweep), encoding="utf-8")
    return path


def finish_run(run_dir: Path, status: str, epochs: int, val_loss: float | None) -> None:
    writer = FactsWriter(run_dir)
    writer.emit("on_train_end", status=status, epochs=epochs, best={"val_loss": val_loss})
    writer.close()


def test_the_commands_propose_promote_tell_and_report_status(tmp_path, capsys):
    sweep_file = write_sweep(
        tmp_path / "sweep.yaml", pruner={"kind": "successive_halving", "min_epochs": 5}
    )
    results = ["--results", str(tmp_path / "results")]
    assert main(["propose", str(sweep_file), "0", *results]) == 0
    out = capsys.readouterr().out
    assert "round 0: 3 trials in" in out and "trial-0002: model.dropout=" in out
    directory = next((tmp_path / "results/demo/search").iterdir())
    runs = directory / "runs"
    assert main(["promote", str(sweep_file), "0", "0", *results]) == 2
    assert "no such run directory" in capsys.readouterr().err
    # rungs of 5, 15 and 20 epochs: trial 0 and 1 pause at rung 0, trial 2 diverges there
    finish_run(runs / "trial-0000/rung-0", "paused", 5, 0.4)
    finish_run(runs / "trial-0001/rung-0", "paused", 5, 0.5)
    finish_run(runs / "trial-0002/rung-0", "diverged", 3, None)
    assert main(["tell", str(sweep_file), "0", *results]) == 2
    assert "rung 0 is not decided yet (run promote first)" in capsys.readouterr().err
    assert main(["promote", str(sweep_file), "0", "0", *results]) == 0
    assert "round 0 rung 0: 1 of 3 go on" in capsys.readouterr().out
    finish_run(runs / "trial-0000/rung-1", "paused", 15, 0.3)
    assert main(["promote", str(sweep_file), "0", "1", *results]) == 0
    assert main(["promote", str(sweep_file), "0", "2", *results]) == 2
    assert "RUNG: 2 is not a rung below the last of (5, 15, 20)" in capsys.readouterr().err
    finish_run(runs / "trial-0000/rung-2", "completed", 20, 0.25)
    assert main(["tell", str(sweep_file), "0", *results]) == 0
    assert "told 3 of its 3 trials" in capsys.readouterr().out
    table = trial_table(directory)
    assert list(table["state"]) == ["complete", "pruned", "fail"]
    assert list(table["rung"]) == [2, 0, 0]
    assert list(table["value"])[:2] == [0.25, 0.5]
    assert (directory / "trials.csv").is_file() and (directory / "told-000.json").is_file()
    assert main(["tell", str(sweep_file), "0", *results]) == 0
    assert "told 0 of its 3 trials" in capsys.readouterr().out
    assert main(["status", str(sweep_file), *results]) == 0
    out = capsys.readouterr().out
    assert "rounds: 1 told of 1 proposed" in out and "best: trial-0000 value 0.25" in out
    assert "next: propose round 1" in out


def test_a_bad_search_section_exits_2_with_one_line_naming_the_file(tmp_path):
    bad = {**SPACE, "trainer.lr": {"type": "float", "low": 0.1, "high": 0.01}}
    sweep_file = write_sweep(tmp_path / "bad.yaml", space=bad)
    result = subprocess.run(
        [sys.executable, "-m", "thesis_ml.search", "propose", str(sweep_file), "0"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr == (
        f"error: {sweep_file}: search.space.trainer.lr.low: 0.1 is not below high=0.01\n"
    )
    assert not (tmp_path / "results").exists()
