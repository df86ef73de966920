"""``python -m thesis_ml.pipeline status`` on a sweep the real workflow has planned."""

from __future__ import annotations

import pytest

from tests.workflow_helpers import (
    CONFIGFILE,
    TINY_SWEEP,
    copy_workflow,
    planned_jobs,
    sweep_status,
    write_sweep,
)

pytestmark = pytest.mark.slow


def test_status_counts_the_runs_the_workflow_planned_but_never_started(tmp_path):
    workdir = copy_workflow(tmp_path / "wf")
    write_sweep(workdir, TINY_SWEEP)
    assert planned_jobs(workdir, *CONFIGFILE)["train"] == 4  # parsing records the plan
    result = sweep_status(workdir, "results/tiny")
    assert result.stdout.splitlines()[:2] == ["4 planned: 4 not started", "not started:"]
