"""A sweep file's search: section, checked when the workflow parses it, before any job: each
bad section ends the workflow with one message naming the sweep file and the key, exit 2."""

from __future__ import annotations

import copy

import pytest

from tests.workflow_helpers import (
    CONFIGFILE,
    REPO,
    TEST_SWEEP_FILE,
    copy_workflow,
    planned_jobs,
    snakemake,
    write_sweep,
)
from thesis_ml.pipeline.sweep import expand_sweep
from thesis_ml.pipeline.workflow_config import sweep_errors_exit, validate_sweep_config
from thesis_ml.search.plan import plan_search

SWEEP_SCHEMA = REPO / "workflow_configs" / "schemas" / "sweep.schema.yaml"
SEARCH = {
    "sweep": "searched",
    "overrides": ["trainer.epochs=4", "data.n_samples=300"],
    "search": {
        "sampler": "tpe",
        "n_trials": 4,
        "batch": 2,
        "space": {
            "trainer.lr": {"type": "float", "low": 1.0e-3, "high": 0.1, "log": True},
            "model.hidden_sizes": {"type": "categorical", "choices": [[8], [16, 16]]},
        },
        "pruner": {"kind": "successive_halving", "min_epochs": 1},
    },
}
LR = ("search", "space", "trainer.lr")
# change (path of keys -> value, None deletes) and what the message must name
BAD = {
    "unknown key": ({("search", "samplr"): "tpe"}, "search: Additional properties"),
    "empty space": ({("search", "space"): {}}, "search.space"),
    "low >= high": ({(*LR, "low"): 0.1}, "search.space.trainer.lr.low: 0.1 is not below"),
    "log, low <= 0": ({(*LR, "low"): 0.0}, "search.space.trainer.lr"),
    "unknown sampler": ({("search", "sampler"): "bayes"}, "search.sampler"),
    "unknown pruner": ({("search", "pruner"): {"kind": "median"}}, "search.pruner.kind"),
    "batch < 1": ({("search", "batch"): 0}, "search.batch"),
    "not an override key": (
        {("search", "space", "model.width"): {"type": "int", "low": 1, "high": 4}},
        "search.space.model.width",
    ),
    "a range edge the run config refuses": (
        {("search", "space", "model.dropout"): {"type": "float", "low": 0.0, "high": 1.5}},
        "search.space.model.dropout: the run config refuses its value 1.5",
    ),
    "the rungs' key in the space": (
        {("search", "space", "trainer.stop_after_epochs"): {"type": "int", "low": 1, "high": 3}},
        "search.space.trainer.stop_after_epochs: the search's rungs set it",
    ),
    "a rung at the last epoch": (
        {("search", "pruner", "min_epochs"): 4},
        "search.pruner.min_epochs: 4 is not below trainer.epochs=4",
    ),
    "no grid and no search": ({("search",): None}, "grid: required"),
}


def _changed(changes: dict) -> dict:
    sweep = copy.deepcopy(SEARCH)
    for path, value in changes.items():
        target = sweep
        for key in path[:-1]:
            target = target[key]
        if value is None:
            del target[path[-1]]
        else:
            target[path[-1]] = value
    return sweep


def _parse_as_the_workflow_does(sweep: dict, sweep_file: str) -> None:
    """What rules/common.smk does with the sweep before any job."""
    with sweep_errors_exit([sweep_file], False):
        validate_sweep_config(sweep, SWEEP_SCHEMA)
        expand_sweep(sweep)
        if "search" in sweep:
            plan_search(sweep, "results", check_keys=True)


@pytest.mark.parametrize("case", BAD, ids=BAD)
def test_a_bad_search_section_fails_naming_the_file_and_the_key(case, capsys):
    changes, named = BAD[case]
    with pytest.raises(SystemExit) as exit_info:
        _parse_as_the_workflow_does(_changed(changes), "workflow_configs/mine.yaml")
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: workflow_configs/mine.yaml: ") and named in err, err
    assert "Traceback" not in err


def test_a_good_search_section_passes_and_runs_no_grid_runs():
    sweep = copy.deepcopy(SEARCH)
    _parse_as_the_workflow_does(sweep, "workflow_configs/mine.yaml")
    assert expand_sweep(sweep) == []


@pytest.mark.slow
def test_the_workflow_refuses_a_bad_search_before_any_job_and_plans_a_good_one(tmp_path):
    workdir = copy_workflow(tmp_path)
    write_sweep(workdir, _changed({(*LR, "low"): 0.1}))
    result = snakemake(workdir, "-n", *CONFIGFILE, check=False)
    assert result.returncode == 2
    message = f"error: workflow_configs/{TEST_SWEEP_FILE}: search.space.trainer.lr.low"
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (workdir / "results").exists()
    write_sweep(workdir, SEARCH)
    # every round's proposal is planned (each waits for the tell before it); the trials are
    # not, until their round's checkpoint has proposed them
    jobs = planned_jobs(workdir, *CONFIGFILE)
    assert jobs["search_propose"] == 2 and "train_trial" not in jobs
