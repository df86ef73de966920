"""The real pipeline submitted to a real SLURM (scripts/local_slurm.sh) through profiles/slurm."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.slurm_helpers import require_slurm, run_slurm_snakemake
from tests.workflow_helpers import CONFIGFILE, TINY_SWEEP, copy_workflow, snakemake, write_sweep
from thesis_ml.pipeline.sweep import expand_sweep

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

# Summary columns that depend only on the computation, not on when or where it ran.
DETERMINISTIC = (
    "status",
    "epochs",
    "best_test_loss",
    "best_val_loss",
    "final_test_loss",
    "final_val_loss",
    "n_params",
)


def _summary(workdir: Path) -> dict[str, dict[str, str]]:
    with (workdir / "results" / "tiny" / "report" / "summary.csv").open() as handle:
        return {row["run_id"]: row for row in csv.DictReader(handle)}


def test_sweep_on_slurm_matches_the_local_sweep(tmp_path):
    require_slurm()
    on_slurm = copy_workflow(tmp_path / "slurm")
    write_sweep(on_slurm, TINY_SWEEP)
    result = run_slurm_snakemake(on_slurm, *CONFIGFILE, "--retries", "0", timeout=900)
    assert result.returncode == 0, result.log[-5000:]

    runs = expand_sweep({"conditional": [], "runs": [], **TINY_SWEEP})
    train_jobs = result.jobs_of("train")
    assert len(train_jobs) == len(runs), "every train job must go through sbatch"
    assert all(job.state == "COMPLETED" for job in train_jobs), train_jobs
    assert not result.jobs_of("render_run") and not result.jobs_of("build_report"), (
        "render and report rules are localrules"
    )

    local = copy_workflow(tmp_path / "local")
    write_sweep(local, TINY_SWEEP)
    snakemake(local, "--cores", "2", *CONFIGFILE)
    slurm_rows, local_rows = _summary(on_slurm), _summary(local)
    assert slurm_rows.keys() == local_rows.keys() == {run.name for run in runs}
    for name, row in slurm_rows.items():
        for column in DETERMINISTIC:
            assert row[column] == local_rows[name][column], (name, column)


def test_packed_sweep_on_slurm_submits_one_job_per_pack(tmp_path):
    """pack: 2 over the tiny sweep's 4 runs: 2 sbatch submissions (the packs), no train job
    of its own per run, and the runs' results those of the local unpacked sweep."""
    require_slurm()
    packed = {**TINY_SWEEP, "pack": 2}
    on_slurm = copy_workflow(tmp_path / "slurm")
    write_sweep(on_slurm, packed)
    result = run_slurm_snakemake(on_slurm, *CONFIGFILE, "--retries", "0", timeout=900)
    assert result.returncode == 0, result.log[-5000:]
    pack_jobs = result.jobs_of("train_pack")
    assert len(result.jobs) == len(pack_jobs) == 2, result.jobs
    assert all(job.state == "COMPLETED" for job in pack_jobs), pack_jobs

    local = copy_workflow(tmp_path / "local")
    write_sweep(local, TINY_SWEEP)
    snakemake(local, "--cores", "2", *CONFIGFILE)
    slurm_rows, local_rows = _summary(on_slurm), _summary(local)
    assert slurm_rows.keys() == local_rows.keys()
    for name, row in slurm_rows.items():
        for column in DETERMINISTIC:
            assert row[column] == local_rows[name][column], (name, column)
