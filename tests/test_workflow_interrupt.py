"""Ctrl-C in the middle of a sweep, sent as a terminal sends it: SIGINT to the process group."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.workflow_helpers import (
    CONFIGFILE,
    TINY_SWEEP,
    copy_workflow,
    planned_jobs,
    start_snakemake,
    write_sweep,
)

pytestmark = pytest.mark.slow


def test_a_plain_rerun_after_ctrl_c_redoes_the_interrupted_runs(tmp_path):
    workdir = copy_workflow(tmp_path / "wf")
    long_runs = [*TINY_SWEEP["overrides"][1:], "trainer.epochs=200"]  # still training at Ctrl-C
    write_sweep(workdir, {**TINY_SWEEP, "overrides": long_runs})
    process = start_snakemake(workdir, "--cores", "1", *CONFIGFILE)
    runs = workdir / "results" / "tiny" / "runs"
    deadline = time.time() + 120
    while not list(runs.glob("*/facts/scalars.csv")) and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)
    output, _ = process.communicate(timeout=120)
    assert list(runs.glob("*/facts/scalars.csv")), "no train job started within 2 minutes"
    # Each interrupted job says so in one line (its log is shown), without a traceback.
    assert "Traceback" not in output and "KeyboardInterrupt" not in output, output
    # profiles/default sets rerun-incomplete: no IncompleteFilesException, the run is redone.
    assert planned_jobs(workdir, *CONFIGFILE)["train"] == 4
