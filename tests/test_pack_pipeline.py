"""Packed sweeps (pack: N) through the real Snakemake workflow: the same run directories as
unpacked runs, reruns bounded by the packs of the runs an edit touches, and a killed pack job
finished without retraining its finished members; and stacked seeds (stack_seeds: true), a
pack per configuration, matching unpacked runs to float tolerance."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.run_helpers import assert_close_run, assert_same_run
from tests.workflow_helpers import (
    STALENESS_SWEEP,
    Edited,
    add_wide_model,
    copy_workflow,
    planned_jobs,
    snakemake,
    start_snakemake,
    wide_dropout_changed,
    write_sweep,
)
from thesis_ml.facts import read_scalars
from thesis_ml.pipeline.packs import plan_packs
from thesis_ml.pipeline.sweep import expand_sweep

pytestmark = pytest.mark.slow

# 8 runs (2 activations x 2 models x 2 seeds) in 4 packs of 2: per seed, [relu-mlp, relu-wide]
# and [tanh-mlp, tanh-wide].
PACKED = {**STALENESS_SWEEP, "pack": 2}
UNPACKED = {**STALENESS_SWEEP, "sweep": "unpacked"}
PACKED_FILE = ("--configfile", "workflow_configs/packed.yaml")
# The same 8 runs with each configuration's 2 seeds trained as one stacked model: 4 packs.
STACKED = {**STALENESS_SWEEP, "sweep": "stacked", "stack_seeds": True}
STACKED_FILE = ("--configfile", "workflow_configs/stacked.yaml")


def _runs(sweep: dict) -> list:
    return expand_sweep({"conditional": [], "runs": [], **sweep})


def _run_dir(workdir: Path, name: str, sweep: str = "tiny") -> Path:
    return workdir / "results" / sweep / "runs" / name


@pytest.fixture(scope="module")
def packed(tmp_path_factory) -> Path:
    """A workflow copy in which the sweep ran packed (results/tiny), stacked (results/stacked)
    and unpacked (results/unpacked), each to its report."""
    workdir = copy_workflow(tmp_path_factory.mktemp("packed"))
    add_wide_model(workdir)
    write_sweep(workdir, PACKED, "packed.yaml")
    write_sweep(workdir, STACKED, "stacked.yaml")
    write_sweep(workdir, UNPACKED, "unpacked.yaml")
    snakemake(workdir, "--cores", "2", *PACKED_FILE)
    snakemake(workdir, "--cores", "2", *STACKED_FILE)
    snakemake(workdir, "--cores", "2", "--configfile", "workflow_configs/unpacked.yaml")
    return workdir


def _files(run_dir: Path) -> list[str]:
    """The run directory's files; less the marker Snakemake leaves in a directory() output
    (the figures of an unpacked run)."""
    paths = (p for p in run_dir.rglob("*") if p.name != ".snakemake_timestamp")
    return sorted(str(path.relative_to(run_dir)) for path in paths)


def test_packed_sweep_equals_the_unpacked_sweep_run_directory_by_run_directory(packed):
    for run in _runs(PACKED):
        mine, reference = _run_dir(packed, run.name), _run_dir(packed, run.name, "unpacked")
        assert _files(mine) == _files(reference), run.name
        assert_same_run(mine, reference)
        assert (packed / "results" / "tiny" / "logs" / "train" / f"{run.name}.log").is_file()
    assert len(list((packed / "results" / "tiny" / "logs" / "train").glob("pack-*.log"))) == 4
    assert (packed / "results" / "tiny" / "report" / "summary.csv").read_text().count("\n") == 9


def test_complete_packed_sweep_reruns_nothing(packed):
    assert planned_jobs(packed, *PACKED_FILE) == {}


def _planned_with(workdir: Path, sweep: dict) -> dict[str, int]:
    write_sweep(workdir, sweep, "changed.yaml")
    return planned_jobs(workdir, "--configfile", "workflow_configs/changed.yaml")


def _packs_holding(sweep: dict, touched: set[str]) -> int:
    return sum(bool(touched & set(p.runs)) for p in plan_packs(_runs(sweep), sweep["pack"]))


def test_changing_one_grid_value_reruns_the_two_packs_of_its_four_runs(packed):
    changed = {**PACKED, "grid": {**PACKED["grid"], "model.activation": ["relu", "gelu"]}}
    touched = {run.name for run in _runs(changed)} - {run.name for run in _runs(PACKED)}
    assert len(touched) == 4 and _packs_holding(changed, touched) == 2  # the bound
    assert _planned_with(packed, changed) == {
        "train_pack": 2,
        "render_pack": 2,
        "build_report": 1,
        "all": 1,
    }


def test_adding_a_seed_reruns_no_pack_of_the_other_seeds(packed):
    changed = {**PACKED, "seeds": [0, 1, 2]}
    # the bound: the new seed's 4 runs, in 2 packs of their own
    assert _planned_with(packed, changed) == {
        "train_pack": 2,
        "render_pack": 2,
        "build_report": 1,
        "all": 1,
    }


# Per edited file: the jobs that become stale. Plotting code never retrains; training code
# retrains every pack (every run is touched).
@pytest.mark.parametrize(
    ("edited", "expected"),
    [
        ("plots/__init__.py", {"source_checksums": 1, "render_pack": 4, "build_report": 1}),
        ("reports/__init__.py", {"source_checksums": 1, "build_report": 1}),
        (
            "train/fit.py",
            {"source_checksums": 1, "train_pack": 4, "render_pack": 4, "build_report": 1},
        ),
    ],
)
def test_editing_library_code_reruns_the_packs_of_the_dependent_steps(packed, edited, expected):
    with Edited(packed / "src" / "thesis_ml" / edited):
        assert planned_jobs(packed, *PACKED_FILE) == {**expected, "all": 1}


def _pack_log_lines(workdir: Path, word: str) -> list[str]:
    logs = (workdir / "results" / "tiny" / "logs" / "train").glob("pack-*.log")
    return [line for log in logs for line in log.read_text().splitlines() if f": {word}" in line]


def test_a_package_default_retrains_exactly_the_runs_whose_config_changed(packed):
    """The wide model's default touches the 4 wide runs, one in each pack: the 4 packs rerun
    (the bound), and each keeps its mlp member as it was."""
    mlp_runs = [run.name for run in _runs(PACKED) if dict(run.swept)["model"] == "mlp"]
    before = {name: _run_dir(packed, name).joinpath("model.pt").stat() for name in mlp_runs}
    with wide_dropout_changed(packed):
        assert planned_jobs(packed, *PACKED_FILE) == {
            "train_pack": 4,
            "render_pack": 4,
            "build_report": 1,
            "all": 1,
        }
        snakemake(packed, "--cores", "2", *PACKED_FILE)
    assert len(_pack_log_lines(packed, "training")) == 4
    kept = [line.split("] ")[1].split(":")[0] for line in _pack_log_lines(packed, "current")]
    assert sorted(kept) == sorted(mlp_runs)
    for name, stat in before.items():
        after = _run_dir(packed, name).joinpath("model.pt").stat()
        assert (after.st_ino, after.st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns), name
    snakemake(packed, "--cores", "2", *PACKED_FILE)  # the fixture's sweep again
    for run in _runs(PACKED):
        assert_same_run(_run_dir(packed, run.name), _run_dir(packed, run.name, "unpacked"))


# One pack of 4 runs long enough to be caught in its second run.
EPOCHS = 150
KILLED = {
    **STALENESS_SWEEP,
    "overrides": [
        *(o for o in STALENESS_SWEEP["overrides"] if not o.startswith(("trainer.", "data."))),
        f"trainer.epochs={EPOCHS}",
        "trainer.checkpoint_every=2",
        "data.n_samples=2048",
    ],
    "seeds": [0],
    "pack": 4,
}


def test_a_stacked_sweep_trains_one_job_per_configuration_matching_the_unpacked_runs(packed):
    logs = packed / "results" / "stacked" / "logs" / "train"
    assert len(list(logs.glob("pack-*.log"))) == 4
    for run in _runs(STACKED):
        mine, reference = (
            _run_dir(packed, run.name, "stacked"),
            _run_dir(packed, run.name, "unpacked"),
        )
        assert _files(mine) == _files(reference), run.name
        assert_close_run(mine, reference)
        assert "trained as one stacked model" in (logs / f"{run.name}.log").read_text()
    assert (packed / "results" / "stacked" / "report" / "summary.csv").read_text().count("\n") == 9


def test_a_seed_added_to_a_stacked_sweep_trains_only_the_new_seed(packed):
    """Every configuration's pack gains a member, so its job reruns (the bound), and trains the
    new seed alone: the stacked runs of the old seeds are kept as they are."""
    weights = {
        run.name: _run_dir(packed, run.name, "stacked") / "model.pt" for run in _runs(STACKED)
    }
    before = {name: path.stat().st_mtime_ns for name, path in weights.items()}
    write_sweep(packed, {**STACKED, "seeds": [0, 1, 2]}, "stacked.yaml")
    assert planned_jobs(packed, *STACKED_FILE)["train_pack"] == 4
    snakemake(packed, "--cores", "2", *STACKED_FILE)
    assert {name: path.stat().st_mtime_ns for name, path in weights.items()} == before
    pack_logs = (packed / "results" / "stacked" / "logs" / "train").glob("pack-*.log")
    trained = [line for log in pack_logs for line in log.read_text().splitlines()]
    assert sum(": current" in line for line in trained) == 8
    assert sum(line.startswith("training 1 seeds as one stack") for line in trained) == 4


@pytest.mark.parametrize(
    ("sweep", "culprit"),
    [
        ({**STACKED, "pack": 2}, "pack: 2 and stack_seeds: true"),
        (
            {**STACKED, "overrides": [*STACKED["overrides"], "model.dropout=0.1"]},
            "stack_seeds: run activation-relu__model-mlp__seed-0: model.dropout: 0.1;",
        ),
    ],
)
def test_a_sweep_that_cannot_stack_its_seeds_stops_before_any_job(tmp_path, sweep, culprit):
    workdir = copy_workflow(tmp_path)
    add_wide_model(workdir)
    write_sweep(workdir, sweep, "bad.yaml")
    result = snakemake(workdir, "-n", "--configfile", "workflow_configs/bad.yaml", check=False)
    assert result.returncode == 2, result.stderr[-2000:]
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert culprit in line


def _epochs_written(run_dir: Path) -> int:
    if not (run_dir / "facts" / "scalars.csv").is_file():
        return 0
    return len({row["epoch"] for row in read_scalars(run_dir)})


def test_killed_pack_job_keeps_its_finished_runs_and_resumes_the_interrupted_one(tmp_path):
    workdir = copy_workflow(tmp_path / "killed")
    add_wide_model(workdir)
    write_sweep(workdir, KILLED, "packed.yaml")
    (pack,) = plan_packs(_runs(KILLED), 4)
    first, second = (_run_dir(workdir, name) for name in pack.runs[:2])
    process = start_snakemake(workdir, "--cores", "1", *PACKED_FILE, output=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not (second / "checkpoint.pt").is_file() and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert (second / "checkpoint.pt").is_file(), "the pack's second run did not start in 5 min"
    assert _epochs_written(second) < EPOCHS
    finished = {
        path: (first / path).read_bytes() for path in _files(first) if (first / path).is_file()
    }
    model_stat = (first / "model.pt").stat()

    assert planned_jobs(workdir, "--rerun-incomplete", *PACKED_FILE)["train_pack"] == 1
    snakemake(workdir, "--unlock", *PACKED_FILE)
    snakemake(workdir, "--cores", "2", "--rerun-incomplete", *PACKED_FILE)

    assert (first / "model.pt").stat().st_mtime_ns == model_stat.st_mtime_ns
    for path, content in finished.items():
        assert (first / path).read_bytes() == content, path
    second_log = workdir / "results" / "tiny" / "logs" / "train" / f"{second.name}.log"
    assert "resuming" in second_log.read_text()
    for name in pack.runs:
        assert _epochs_written(_run_dir(workdir, name)) == EPOCHS, name
        assert not (_run_dir(workdir, name) / "checkpoint.pt").exists()
    assert planned_jobs(workdir, *PACKED_FILE) == {}
