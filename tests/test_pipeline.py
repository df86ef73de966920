"""The Snakemake pipeline, run for real in temporary copies of the workflow."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import torch

from tests.workflow_helpers import (
    CONFIGFILE,
    STALENESS_SWEEP,
    TINY_SWEEP,
    Edited,
    add_wide_model,
    copy_workflow,
    planned_jobs,
    snakemake,
    start_snakemake,
    sweep_status,
    wide_dropout_changed,
    write_sweep,
)
from thesis_ml.pipeline.sweep import expand_sweep

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def completed(tmp_path_factory) -> Path:
    """A workflow copy whose staleness sweep has run to its report."""
    workdir = copy_workflow(tmp_path_factory.mktemp("workflow"))
    add_wide_model(workdir)
    write_sweep(workdir, STALENESS_SWEEP)
    snakemake(workdir, "--cores", "2", *CONFIGFILE)
    return workdir


def _runs(sweep: dict) -> list:
    return expand_sweep({"conditional": [], "runs": [], **sweep})


def test_sweep_runs_to_report_with_one_train_job_per_combination(completed):
    report = completed / "results" / "tiny" / "report"
    rows = list(csv.DictReader((report / "summary.csv").open()))
    assert len(rows) == len(_runs(STALENESS_SWEEP)) == 8
    for run in _runs(STALENESS_SWEEP):
        run_dir = completed / "results" / "tiny" / "runs" / run.name
        assert (run_dir / "model.pt").is_file()
        assert (run_dir / "figures").is_dir() and any((run_dir / "figures").iterdir())
        assert (completed / "results" / "tiny" / "logs" / "train" / f"{run.name}.log").is_file()
        assert (
            completed / "results" / "tiny" / "benchmarks" / "train" / f"{run.name}.tsv"
        ).is_file()
    assert len(list((completed / "results" / "data").glob("*.pt"))) == 1  # one shared dataset


def test_complete_sweep_reruns_nothing(completed):
    assert planned_jobs(completed, *CONFIGFILE) == {}


def test_changing_one_grid_value_reruns_only_its_runs(completed):
    changed = {
        **STALENESS_SWEEP,
        "grid": {**STALENESS_SWEEP["grid"], "model.activation": ["relu", "gelu"]},
    }
    write_sweep(completed, changed, "changed.yaml")
    jobs = planned_jobs(completed, "--configfile", "workflow_configs/changed.yaml")
    assert jobs == {"train": 4, "render_run": 4, "build_report": 1, "all": 1}


def test_changing_a_package_default_reruns_only_runs_whose_config_changed(completed):
    with wide_dropout_changed(completed):
        assert planned_jobs(completed, *CONFIGFILE) == {
            "train": 4,
            "render_run": 4,
            "build_report": 1,
            "all": 1,
        }
    assert planned_jobs(completed, *CONFIGFILE) == {}


# Per edited file: jobs per rule that become stale. source_checksums is the one job per step
# that turns an edit into a changed input of that step (rules/sources.smk).
@pytest.mark.parametrize(
    ("edited", "expected"),
    [
        # The report step imports nothing of plots/ (the hand-written source list said it did).
        ("plots/__init__.py", {"source_checksums": 1, "render_run": 8, "build_report": 1}),
        ("reports/__init__.py", {"source_checksums": 1, "build_report": 1}),
        ("models/mlp.py", {"source_checksums": 1, "train": 8, "render_run": 8, "build_report": 1}),
        ("train/fit.py", {"source_checksums": 1, "train": 8, "render_run": 8, "build_report": 1}),
        (
            "data/synthetic.py",
            {
                "source_checksums": 2,
                "generate_data": 1,
                "train": 8,
                "render_run": 8,
                "build_report": 1,
            },
        ),
    ],
)
def test_editing_library_code_reruns_exactly_the_dependent_steps(completed, edited, expected):
    with Edited(completed / "src" / "thesis_ml" / edited):
        assert planned_jobs(completed, *CONFIGFILE) == {**expected, "all": 1}


def _state(run_dir: Path) -> dict:
    return torch.load(run_dir / "model.pt", weights_only=True)


def test_sweep_killed_mid_train_is_rerun_and_matches_a_clean_run(tmp_path, completed):
    """SIGKILL Snakemake and its jobs (a lost node): after --unlock, --rerun-incomplete redoes
    the half-written run. (tests/test_faults.py kills the train job alone.)"""
    workdir = copy_workflow(tmp_path / "killed")
    add_wide_model(workdir)
    write_sweep(workdir, STALENESS_SWEEP)
    process = start_snakemake(workdir, "--cores", "1", *CONFIGFILE, output=subprocess.DEVNULL)
    scalars = list((workdir / "results" / "tiny" / "runs").glob("*/facts/scalars.csv"))
    deadline = time.time() + 120
    while not scalars and time.time() < deadline:  # a train job is writing its facts
        time.sleep(0.05)
        scalars = list((workdir / "results" / "tiny" / "runs").glob("*/facts/scalars.csv"))
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert scalars, "no train job started within 2 minutes"

    killed = scalars[0].parent.parent.name
    target = f"results/tiny/runs/{killed}/model.pt"
    assert planned_jobs(workdir, target, "--rerun-incomplete", *CONFIGFILE)["train"] == 1, (
        "the killed run's outputs were taken as complete"
    )
    snakemake(workdir, "--unlock", *CONFIGFILE)
    snakemake(workdir, "--cores", "2", "--rerun-incomplete", *CONFIGFILE)
    for run in _runs(STALENESS_SWEEP):
        mine = _state(workdir / "results" / "tiny" / "runs" / run.name)
        clean = _state(completed / "results" / "tiny" / "runs" / run.name)
        assert mine.keys() == clean.keys()
        assert all(torch.equal(mine[k], clean[k]) for k in mine), run.name


@pytest.mark.parametrize(
    ("broken", "named"),
    [
        ({**TINY_SWEEP, "gird": {"model.activation": ["relu"]}}, "gird"),
        ({**TINY_SWEEP, "seeds": "zero"}, "seeds"),
        ({**TINY_SWEEP, "grid": {}}, "grid"),
        ({**TINY_SWEEP, "grid": {"model.activation": []}}, "model.activation"),
        ({**TINY_SWEEP, "grid": {"trainer.epoch": [1, 2]}}, "trainer.epoch"),
        ({**TINY_SWEEP, "grid": {"model.activation": ["relu", "foo"]}}, "model.activation"),
        ({**TINY_SWEEP, "grid": {**TINY_SWEEP["grid"], "trainer.seed": [0, 1]}}, "seeds:"),
        (
            {
                **TINY_SWEEP,
                "conditional": [{"when": {"model.activaton": "relu"}, "grid": {"trainer.lr": [1]}}],
            },
            "conditional.0.when.model.activaton",
        ),
        (
            {
                **TINY_SWEEP,
                "overrides": [
                    *(o for o in TINY_SWEEP["overrides"] if not o.startswith("data.")),
                    "data=file",
                    "data.target=t",
                ],
                "grid": {"data.path": ["missing.csv"]},
            },
            "data.path=missing.csv: no such file",
        ),
        # found by the report job, these failed it after Snakemake removed the last report
        (
            {**TINY_SWEEP, "report": {"overrides": ["outputs.which_figures=[paretto]"]}},
            'report.overrides: invalid report config:\n  outputs.which_figures.0: got "paretto"',
        ),
        (
            {**TINY_SWEEP, "report": {"overrides": ["outputs.out_dir=elsewhere"]}},
            "report.overrides: outputs.out_dir: the pipeline sets it",
        ),
    ],
)
def test_broken_workflow_config_fails_before_any_job_naming_the_key(tmp_path, broken, named):
    workdir = copy_workflow(tmp_path / "broken")
    write_sweep(workdir, broken)
    result = snakemake(workdir, "--cores", "1", *CONFIGFILE, check=False)
    assert result.returncode == 2
    # One message naming the user's sweep file and the key; no frames of the workflow's files.
    message = [line for line in result.stderr.splitlines() if not line.startswith("Using ")]
    assert message[0].startswith(f"error: {CONFIGFILE[1]}: "), result.stderr
    assert named in result.stderr
    assert ".smk" not in result.stderr and "File " not in result.stderr
    assert not (workdir / "results").exists()


def test_a_key_given_twice_in_the_sweep_file_is_refused_naming_its_line(tmp_path):
    # YAML keeps the last of two equal keys silently: half of this grid would not run
    workdir = copy_workflow(tmp_path / "twice")
    path = write_sweep(workdir, TINY_SWEEP)
    text = path.read_text(encoding="utf-8")
    path.write_text(f"{text}grid:\n  model.activation: [gelu]\n", encoding="utf-8")
    line = text.count("\n") + 1
    first = 1 + text.splitlines().index("grid:")
    result = snakemake(workdir, "--cores", "1", *CONFIGFILE, check=False)
    assert result.returncode == 2
    message = [line for line in result.stderr.splitlines() if not line.startswith("Using ")]
    assert message == [
        f"error: {CONFIGFILE[1]}:{line}:1: key 'grid' given twice (first on line {first})"
    ], result.stderr
    assert not (workdir / "results").exists()


def test_single_run_target_builds_only_that_run(tmp_path):
    workdir = copy_workflow(tmp_path / "single")
    write_sweep(workdir, TINY_SWEEP)
    run = _runs(TINY_SWEEP)[0]
    target = f"results/tiny/runs/{run.name}/model.pt"
    assert planned_jobs(workdir, target, *CONFIGFILE) == {
        "source_checksums": 2,
        "generate_data": 1,
        "train": 1,
    }


def _report_results(report_zip: Path) -> tuple[dict, dict]:
    """(results by path, paths by category) as the HTML report's page holds them."""
    html = zipfile.ZipFile(report_zip).read("report/report.html").decode()

    def variable(name: str) -> dict:
        line = next(ln for ln in html.splitlines() if ln.strip().startswith(f"var {name} = {{"))
        return json.loads(line.split("=", 1)[1].strip().rstrip(";"))

    categories = {
        category: [path for paths in subcategories.values() for path in paths]
        for category, subcategories in variable("categories").items()
    }
    return variable("results"), categories


def test_snakemake_html_report_holds_run_and_sweep_figures(completed):
    snakemake(completed, "--report", "report.zip", *CONFIGFILE)
    results, categories = _report_results(completed / "report.zip")
    assert any(path.endswith("report/summary.csv") for path in categories["Sweep"])
    figures = sorted(
        str(path.relative_to(completed))
        for path in (completed / "results" / "tiny" / "runs").glob("*/figures/*.png")
    )
    assert len(figures) == 2 * len(_runs(STALENESS_SWEEP))
    assert sorted(categories["Runs"]) == figures
    # The report's table shows one cell per distinct label set: equal labels hide figures.
    labels = [json.dumps(results[path]["labels"], sort_keys=True) for path in figures]
    assert len(set(labels)) == len(figures), "figures of the report share their labels"
    for path in figures:
        run = Path(path).parent.parent.name
        swept = dict(next(r for r in _runs(STALENESS_SWEEP) if r.name == run).swept)
        assert results[path]["labels"] == {
            **{key: str(value) for key, value in swept.items()},
            "figure": Path(path).stem,
        }


def test_status_command_counts_the_sweeps_runs(completed):
    result = sweep_status(completed, "results/tiny")
    assert result.stdout.splitlines()[0] == "8 planned: 8 completed"


def test_a_report_command_never_replaces_the_pipelines_report(completed):
    report = completed / "results" / "tiny" / "report"
    before = {path: path.read_bytes() for path in report.rglob("*") if path.is_file()}
    result = subprocess.run(
        [sys.executable, "-m", "thesis_ml.reports", "inputs.sweep_dir=results/tiny"],
        cwd=completed,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "outputs.out_dir" in result.stderr and "Traceback" not in result.stderr
    after = {path: path.read_bytes() for path in report.rglob("*") if path.is_file()}
    assert after == before
    assert json.loads((report / "summary.json").read_text())["written_by"] == "pipeline"
