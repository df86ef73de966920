"""Faults of the real pipeline: killed train jobs, a failing run, a second Snakemake, hostile
values. Each test runs Snakemake for real in a temporary copy of the workflow."""

from __future__ import annotations

import csv
import os
import random
import signal
import time
from pathlib import Path

import pytest
import yaml

from tests.run_helpers import assert_same_results
from tests.workflow_helpers import (
    CONFIGFILE,
    copy_workflow,
    planned_jobs,
    snakemake,
    start_snakemake,
    write_sweep,
)
from thesis_ml.facts import final_event, read_events
from thesis_ml.pipeline.sweep import expand_sweep

pytestmark = pytest.mark.slow

EPOCHS = 150
# Two runs of a few seconds each, checkpointed every epoch; a failed job is not retried, so
# that the kill is seen by `--rerun-incomplete`, not by Snakemake's own retry.
KILL_SWEEP = {
    "sweep": "faults",
    "overrides": [
        f"trainer.epochs={EPOCHS}",
        "data.n_samples=8192",
        "model.hidden_sizes=[32]",
        "trainer.checkpoint_every=1",
        "logging=plots_minimal",
    ],
    "grid": {"model.activation": ["relu", "tanh"]},
    "resources": {"retries": 0},
}
HOSTILE = "a b 'q' \"qq\"; $(touch PWNED) `touch PWNED2`\nsecond line ../../../escape"
# A completed run, a diverging one, one whose loop raises, and one with a hostile string value.
MIXED_SWEEP = {
    "sweep": "mixed",
    "overrides": ["trainer.epochs=3", "data.n_samples=512", "model.hidden_sizes=[8]"],
    "grid": {"trainer.lr": [0.003, 1000000.0]},
    "runs": [{"model.activation": "tanh"}, {"logging.output_root": HOSTILE}],
    "resources": {"retries": 0},
}
# Imported by every Python process of a test that puts its directory on PYTHONPATH: the train
# job of the run named by THESIS_ML_FAULT_RUN then raises inside its training loop.
FAULT_INJECTION = """
import os, sys
_run = os.environ.get("THESIS_ML_FAULT_RUN")
if _run and "train" in sys.argv and any(a.endswith("/" + _run) for a in sys.argv):
    import thesis_ml.train.train_test as _loop

    def _broken(*args, **kwargs):
        raise RuntimeError("injected fault in the training loop")

    _loop.train_one_epoch = _broken
"""


def _runs(sweep: dict) -> list:
    return expand_sweep({"conditional": [], "runs": [], **sweep})


def _run_dir(workdir: Path, sweep: dict, name: str) -> Path:
    return workdir / "results" / sweep["sweep"] / "runs" / name


def _model_targets(sweep: dict) -> list[str]:
    return [f"results/{sweep['sweep']}/runs/{run.name}/model.pt" for run in _runs(sweep)]


def _train_process(workdir: Path) -> int | None:
    """Pid of the running ``python -m thesis_ml.pipeline train`` child in ``workdir``."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if b"thesis_ml.pipeline" in argv and b"train" in argv and cwd == str(workdir):
            return int(entry.name)
    return None


@pytest.fixture(scope="module")
def undisturbed(tmp_path_factory) -> Path:
    workdir = copy_workflow(tmp_path_factory.mktemp("undisturbed"))
    write_sweep(workdir, KILL_SWEEP)
    snakemake(workdir, "--cores", "2", *_model_targets(KILL_SWEEP), *CONFIGFILE)
    return workdir


@pytest.mark.parametrize("seed", [0, 1])
def test_sigkilled_train_job_resumes_under_rerun_incomplete(tmp_path, undisturbed, seed):
    """SIGKILL the python train job (not Snakemake) at a random epoch; the rerun resumes it
    from its checkpoint and every run ends bit-identical to the undisturbed sweep."""
    workdir = copy_workflow(tmp_path / "killed")
    write_sweep(workdir, KILL_SWEEP)
    rng = random.Random(seed)
    victim = rng.choice(_runs(KILL_SWEEP)).name
    target_epoch = rng.randint(2, EPOCHS - 5)
    process = start_snakemake(workdir, "--cores", "1", *_model_targets(KILL_SWEEP), *CONFIGFILE)
    scalars = _run_dir(workdir, KILL_SWEEP, victim) / "facts" / "scalars.csv"
    deadline, killed = time.time() + 120, False
    while time.time() < deadline and process.poll() is None and not killed:
        if scalars.exists() and scalars.read_text().count("\n") >= 1 + 2 * target_epoch:
            pid = _train_process(workdir)  # the victim's job: the only one running
            if pid is not None:
                time.sleep(rng.uniform(0, 0.01))
                os.kill(pid, signal.SIGKILL)
                killed = True
        time.sleep(0.002)
    output = process.communicate(timeout=120)[0]
    assert killed, f"no train job of {victim} to kill\n{output[-3000:]}"
    assert process.returncode != 0, output[-3000:]
    snakemake(
        workdir, "--cores", "2", "--rerun-incomplete", *_model_targets(KILL_SWEEP), *CONFIGFILE
    )
    log = workdir / "results" / "faults" / "logs" / "train" / f"{victim}.log"
    assert "resuming" in log.read_text()
    for run in _runs(KILL_SWEEP):
        assert_same_results(
            _run_dir(workdir, KILL_SWEEP, run.name), _run_dir(undisturbed, KILL_SWEEP, run.name)
        )
        assert not (_run_dir(workdir, KILL_SWEEP, run.name) / "checkpoint.pt").exists()


def test_second_snakemake_on_the_same_workdir_is_refused_by_the_lock(tmp_path, undisturbed):
    workdir = copy_workflow(tmp_path / "locked")
    write_sweep(workdir, KILL_SWEEP)
    first = start_snakemake(workdir, "--cores", "1", *_model_targets(KILL_SWEEP), *CONFIGFILE)
    deadline = time.time() + 120
    while _train_process(workdir) is None and time.time() < deadline and first.poll() is None:
        time.sleep(0.05)
    assert first.poll() is None, "the first snakemake ended before its train job was seen"
    # Held still while the second starts (seconds under load), so that the first cannot finish
    # and release its lock meanwhile; its train job goes on and is reaped once it resumes.
    os.kill(first.pid, signal.SIGSTOP)
    try:
        # --rerun-incomplete: the first run's job in flight looks incomplete, and without the
        # flag the second would stop at that check before it reaches the lock.
        second = snakemake(workdir, "--cores", "1", "--rerun-incomplete", *CONFIGFILE, check=False)
    finally:
        os.kill(first.pid, signal.SIGCONT)
    first_output = first.communicate(timeout=300)[0]
    assert second.returncode != 0
    assert "LockException" in second.stdout + second.stderr
    assert first.returncode == 0, first_output[-3000:]
    assert planned_jobs(workdir, *_model_targets(KILL_SWEEP), *CONFIGFILE) == {}
    for run in _runs(KILL_SWEEP):
        assert_same_results(
            _run_dir(workdir, KILL_SWEEP, run.name), _run_dir(undisturbed, KILL_SWEEP, run.name)
        )


def test_diverged_failed_and_hostile_runs_under_keep_going(tmp_path, monkeypatch):
    """One sweep: a diverging run is a result, a run whose loop raises fails alone (traceback
    in its log) while the rest go on, and a hostile string value arrives intact, runs no shell
    code and moves no output out of results/."""
    workdir = copy_workflow(tmp_path / "mixed")
    write_sweep(workdir, MIXED_SWEEP)
    runs = {dict(run.swept).get("model.activation"): run.name for run in _runs(MIXED_SWEEP)}
    failing = runs["tanh"]
    sitedir = tmp_path / "site"
    sitedir.mkdir()
    (sitedir / "sitecustomize.py").write_text(FAULT_INJECTION)
    monkeypatch.setenv("PYTHONPATH", str(sitedir))
    monkeypatch.setenv("THESIS_ML_FAULT_RUN", failing)
    result = snakemake(workdir, "--cores", "2", "--keep-going", *CONFIGFILE, check=False)
    assert result.returncode != 0
    log = (workdir / "results" / "mixed" / "logs" / "train" / f"{failing}.log").read_text()
    assert "Traceback" in log and "injected fault in the training loop" in log
    assert not (_run_dir(workdir, MIXED_SWEEP, failing) / "model.pt").exists()
    finished = [name for name in (run.name for run in _runs(MIXED_SWEEP)) if name != failing]
    for name in finished:
        assert (_run_dir(workdir, MIXED_SWEEP, name) / "model.pt").is_file(), name
    statuses = {
        name: final_event(read_events(_run_dir(workdir, MIXED_SWEEP, name)))["status"]
        for name in finished
    }
    assert sorted(statuses.values()) == ["completed", "completed", "diverged"]

    hostile = next(
        run.name for run in _runs(MIXED_SWEEP) if "logging.output_root" in dict(run.swept)
    )
    cfg = yaml.safe_load((_run_dir(workdir, MIXED_SWEEP, hostile) / "cfg.yaml").read_text())
    assert cfg["logging"]["output_root"] == HOSTILE
    assert "/" not in hostile and ".." not in hostile.split("__")
    assert not list(tmp_path.rglob("PWNED*")) and not list(Path.cwd().glob("PWNED*"))
    assert not (tmp_path / "escape").exists() and not (workdir / "escape").exists()

    monkeypatch.delenv("THESIS_ML_FAULT_RUN")  # the fault is gone: the sweep completes
    snakemake(workdir, "--cores", "2", *CONFIGFILE)
    summary = workdir / "results" / "mixed" / "report" / "summary.csv"
    marked = {row["run_id"]: row["status"] for row in csv.DictReader(summary.open())}
    assert sorted(marked.values()) == ["completed", "completed", "completed", "diverged"]


def test_sweep_name_cannot_escape_results(tmp_path):
    workdir = copy_workflow(tmp_path / "escape")
    write_sweep(workdir, {**MIXED_SWEEP, "sweep": "../../outside"})
    result = snakemake(workdir, "--cores", "1", *CONFIGFILE, check=False)
    assert result.returncode != 0 and "sweep" in result.stdout + result.stderr
    assert not (tmp_path / "outside").exists() and not (workdir / "results").exists()
