"""An edit of any library module makes exactly the steps that import it stale.

After a complete one-run sweep, every .py file of the workflow copy's library in turn gets a
line appended; a dry run must then plan the checksum jobs of the steps whose entry modules'
import closure holds that file, and the rules downstream of them: nothing more, nothing less.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.workflow_helpers import (
    CONFIGFILE,
    TINY_SWEEP,
    copy_workflow,
    planned_jobs,
    snakemake,
    write_sweep,
)
from thesis_ml.pipeline.import_graph import import_graph

pytestmark = pytest.mark.slow

# One run: every rule has one job, so a dry run plans each rule once or not at all.
ONE_RUN_SWEEP = {**TINY_SWEEP, "grid": {"model.activation": ["relu"]}, "seeds": [0]}

# What each step's command runs first (rules/*.smk); rules/common.smk's STEP_ENTRIES.
STEP_ENTRIES = {
    "data": ["thesis_ml.pipeline.__main__", "thesis_ml.pipeline.generate_data"],
    "train": ["thesis_ml.pipeline.__main__", "thesis_ml.pipeline.train_step"],
    "render": ["thesis_ml.plots.__main__"],
    "report": ["thesis_ml.pipeline.__main__", "thesis_ml.pipeline.report_step"],
}
# The rules a changed checksum of each step makes stale: its own and everything downstream.
STALE_RULES = {
    "data": ["generate_data", "train", "render_run", "build_report"],
    "train": ["train", "render_run", "build_report"],
    "render": ["render_run", "build_report"],
    "report": ["build_report"],
}


@pytest.fixture(scope="module")
def completed(tmp_path_factory) -> Path:
    workdir = copy_workflow(tmp_path_factory.mktemp("workflow"))
    write_sweep(workdir, ONE_RUN_SWEEP)
    snakemake(workdir, "--cores", "2", *CONFIGFILE)
    assert planned_jobs(workdir, *CONFIGFILE) == {}
    return workdir


def _expected(steps: list[str]) -> dict[str, int]:
    if not steps:
        return {}
    rules = {rule for step in steps for rule in STALE_RULES[step]}
    return {"source_checksums": len(steps), **dict.fromkeys(rules, 1), "all": 1}


def test_editing_any_library_module_makes_exactly_its_importing_steps_stale(completed):
    package = completed / "src" / "thesis_ml"
    graph = import_graph(package)
    closures = {step: set(graph.closure_files(entries)) for step, entries in STEP_ENTRIES.items()}
    # the hole this closes: train runs through the dispatcher (and what it imports)
    dispatcher = set(graph.closure_files(["thesis_ml.pipeline.__main__"]))
    assert dispatcher <= closures["train"] & closures["data"] & closures["report"]
    modules = sorted(package.rglob("*.py"))
    assert set(graph.files.values()) == set(modules)
    mismatches = []
    for path in modules:
        steps = [step for step, files in closures.items() if path in files]
        text, stat = path.read_text(encoding="utf-8"), path.stat()
        try:
            path.write_text(text + "\n# touched\n", encoding="utf-8")
            planned = planned_jobs(completed, *CONFIGFILE)
        finally:
            path.write_text(text, encoding="utf-8")
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        if planned != _expected(steps):
            rel = path.relative_to(package)
            mismatches.append(f"{rel} (steps {steps}): planned {planned}")
    assert not mismatches, "\n".join(mismatches)
    assert planned_jobs(completed, *CONFIGFILE) == {}  # every file restored
