"""The adaptive search in the real workflow: rounds of trials through Snakemake's checkpoints,
successive halving rung by rung, reproducible from scratch and after a kill, to its report."""

from __future__ import annotations

import csv
import json
import os
import signal
import time
from pathlib import Path

import pytest

from tests.run_helpers import assert_same_results
from tests.slurm_helpers import require_slurm, run_slurm_snakemake
from tests.workflow_helpers import (
    CONFIGFILE,
    copy_workflow,
    planned_jobs,
    snakemake,
    start_snakemake,
    sweep_status,
    write_sweep,
)
from thesis_ml.config import compose
from thesis_ml.facts import final_event, read_events
from thesis_ml.search.plan import plan_search
from thesis_ml.search.table import TABLE_FILE
from thesis_ml.train import run_loop

pytestmark = pytest.mark.slow

OVERRIDES = [
    "trainer.epochs=3",
    "data.n_samples=300",
    "model.hidden_sizes=[8]",
    "logging=plots_minimal",
]
SPACE = {
    "trainer.lr": {"type": "float", "low": 1.0e-3, "high": 0.1, "log": True},
    "model.dropout": {"type": "float", "low": 0.0, "high": 0.3},
}
# Rungs of 1 and 3 epochs; two rounds of two trials, one of which goes on from rung 0.
PRUNED = {
    "sweep": "searched",
    "overrides": OVERRIDES,
    "search": {
        "sampler": "random",
        "n_trials": 4,
        "batch": 2,
        "space": SPACE,
        "pruner": {"kind": "successive_halving", "min_epochs": 1, "reduction_factor": 3},
    },
}


def _search(workdir: Path, sweep: dict = PRUNED, *args: str) -> Path:
    copy_workflow(workdir)
    write_sweep(workdir, sweep)
    snakemake(workdir, "--cores", "2", *CONFIGFILE, *args)
    return _plan(workdir, sweep).directory


def _plan(workdir: Path, sweep: dict):
    return plan_search(sweep, workdir / "results", check_keys=True)


def _report(workdir: Path, sweep: dict) -> tuple[list[dict], dict]:
    report = workdir / "results" / sweep["sweep"] / "report"
    with (report / "summary.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return rows, json.loads((report / "summary.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def undisturbed(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("undisturbed")
    _search(workdir)
    return workdir


def test_a_pruned_search_runs_to_its_report(undisturbed):
    directory = _plan(undisturbed, PRUNED).directory
    with (directory / TABLE_FILE).open(encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    assert [row["name"] for row in table] == [f"trial-000{n}" for n in range(4)]
    assert [row["round"] for row in table] == ["0", "0", "1", "1"]
    # per round: one of the two goes on from rung 0 and ends complete at rung 1
    for round_rows in (table[:2], table[2:]):
        assert sorted((row["state"], row["rung"]) for row in round_rows) == [
            ("complete", "1"),
            ("pruned", "0"),
        ]
    # the promoted one had the better value at rung 0
    plan = _plan(undisturbed, PRUNED)
    for round_rows in (table[:2], table[2:]):
        at_rung_0 = {
            row["state"]: final_event(read_events(plan.trial_dir(row["name"], 0)))["best"]
            for row in round_rows
        }
        assert at_rung_0["complete"]["val_loss"] <= at_rung_0["pruned"]["val_loss"]
    rows, summary = _report(undisturbed, PRUNED)
    by_trial = {row["trial_number"]: row for row in rows}
    assert set(by_trial) == {"0", "1", "2", "3"}
    for row in table:
        reported = by_trial[row["number"]]
        assert (reported["trial_state"], reported["trial_rung"]) == (row["state"], row["rung"])
        assert reported["status"] == ("completed" if row["state"] == "complete" else "paused")
        assert float(reported["best_val_loss"]) == float(row["value"])
    search = summary["search"]
    assert search["states"] == {"complete": 2, "pruned": 2}
    best = min((row for row in table if row["state"] == "complete"), key=lambda r: r["value"])
    assert search["best"]["name"] == best["name"]
    assert search["reference"]["kind"] == "optimum" and search["reference"]["val_loss"] > 0
    assert "figures/search_history.png" in summary["figures"]
    assert planned_jobs(undisturbed, *CONFIGFILE) == {}
    status = sweep_status(undisturbed, "results/searched").stdout
    assert (
        f"search {directory.name}: 2 of 2 proposed rounds told; trials: 2 complete, 2 pruned"
        in (status)
    )


def test_a_promoted_trial_equals_the_same_config_trained_straight(undisturbed, tmp_path):
    plan = _plan(undisturbed, PRUNED)
    table = (plan.directory / TABLE_FILE).read_text(encoding="utf-8")
    complete = next(row for row in csv.DictReader(table.splitlines()) if row["rung"] == "1")
    trial = plan.trial(complete["name"])
    straight = tmp_path / "straight"
    run_loop(compose([*plan.overrides, *trial.overrides, f"run_dir={straight}"]))
    assert_same_results(plan.trial_dir(trial.name, 1), straight)


def test_a_second_search_from_scratch_killed_mid_round_and_rerun_writes_the_same_table(
    undisturbed, tmp_path
):
    """From scratch in another directory, SIGKILLed (Snakemake and its jobs) while round 1
    trains, then rerun: the trial table is the undisturbed search's, byte for byte."""
    copy_workflow(tmp_path)
    write_sweep(tmp_path, PRUNED)
    directory = _plan(tmp_path, PRUNED).directory
    process = start_snakemake(tmp_path, "--cores", "2", *CONFIGFILE)
    # round 1's first rung is training: round 0 is told, round 1 proposed
    target = directory / "runs" / "trial-0002" / "rung-0" / "cfg.yaml"
    deadline = time.time() + 300
    while time.time() < deadline and process.poll() is None and not target.exists():
        time.sleep(0.05)
    assert process.poll() is None, "the search ended before the kill"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not (directory / "told-001.json").exists()
    snakemake(tmp_path, "--unlock", *CONFIGFILE)  # a killed Snakemake leaves its lock
    snakemake(tmp_path, "--cores", "2", "--rerun-incomplete", *CONFIGFILE)
    first = _plan(undisturbed, PRUNED).directory / TABLE_FILE
    assert (directory / TABLE_FILE).read_bytes() == first.read_bytes()


def test_a_tpe_search_without_a_pruner_trains_every_trial_in_full(tmp_path):
    sweep = {
        "sweep": "tpe",
        "overrides": OVERRIDES,
        "search": {"sampler": "tpe", "n_trials": 2, "batch": 2, "space": SPACE},
    }
    directory = _search(tmp_path, sweep)
    with (directory / TABLE_FILE).open(encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    assert [(row["state"], row["rung"]) for row in table] == [("complete", "0")] * 2
    rows, summary = _report(tmp_path, sweep)
    assert sorted(row["trial_number"] for row in rows) == ["0", "1"]
    assert all(row["status"] == "completed" and row["epochs"] == "3" for row in rows)
    assert summary["search"]["states"] == {"complete": 2}


@pytest.mark.slurm
def test_a_search_through_the_slurm_profile_gives_the_local_table(undisturbed, tmp_path):
    require_slurm()
    copy_workflow(tmp_path)
    write_sweep(tmp_path, PRUNED)
    result = run_slurm_snakemake(tmp_path, *CONFIGFILE, "--retries", "0", timeout=900)
    assert result.returncode == 0, result.log[-5000:]
    trained = result.jobs_of("train_trial")
    # per round: two trials at rung 0, one at rung 1
    assert len(trained) == 6 and all(job.state == "COMPLETED" for job in trained), trained
    assert not result.jobs_of("search_propose") and not result.jobs_of("search_tell")
    table = _plan(tmp_path, PRUNED).directory / TABLE_FILE
    assert table.read_bytes() == (_plan(undisturbed, PRUNED).directory / TABLE_FILE).read_bytes()
