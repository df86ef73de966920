"""An edit of any library module makes exactly the steps that import it stale.

After a complete one-run sweep, Snakemake's record of each step's checksum job must list as
inputs exactly the .py files of the import closure of the step's entry modules; then, for each
distinct set of importing steps, one of its files gets a line appended, and a dry run must plan
the checksum jobs of those steps and the rules downstream of them: nothing more, nothing less.
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


def _closures(package: Path) -> dict[str, set[Path]]:
    graph = import_graph(package)
    return {step: set(graph.closure_files(entries)) for step, entries in STEP_ENTRIES.items()}


def test_each_steps_checksum_job_reads_exactly_the_import_closure_of_its_entries(completed):
    """Snakemake's own record of each checksum job's inputs (--detailed-summary) is the import
    closure of the step's entry modules, found here from the sources: every library module is
    an input of exactly the steps that import it."""
    package = completed / "src" / "thesis_ml"
    graph = import_graph(package)
    assert set(graph.files.values()) == set(package.rglob("*.py"))
    # the hole this closes: train runs through the dispatcher (and what it imports)
    closures = _closures(package)
    dispatcher = set(graph.closure_files(["thesis_ml.pipeline.__main__"]))
    assert dispatcher <= closures["train"] & closures["data"] & closures["report"]
    summary = snakemake(completed, "--detailed-summary", "--cores", "1", *CONFIGFILE).stdout
    inputs = {}
    for line in summary.splitlines():
        fields = line.split("\t")
        if fields[0].startswith("results/.sources/") and fields[0].endswith(".sha256"):
            step = Path(fields[0]).stem
            inputs[step] = {completed / name for name in fields[4].split(",")}
    assert inputs.keys() == closures.keys()
    for step, files in closures.items():
        assert inputs[step] == files, (step, sorted(map(str, inputs[step] ^ files)))


def test_editing_a_library_module_makes_exactly_its_importing_steps_stale(completed):
    """One real edit per set of importing steps (every module of a set is an input of the same
    checksum jobs, as the test above shows): a dry run plans those steps' checksum jobs and the
    rules downstream of them, nothing more, nothing less."""
    package = completed / "src" / "thesis_ml"
    closures = _closures(package)
    by_steps: dict[tuple[str, ...], Path] = {}
    for path in sorted(package.rglob("*.py")):
        steps = tuple(step for step, files in closures.items() if path in files)
        by_steps.setdefault(steps, path)
    assert () in by_steps and len(by_steps) >= 5, by_steps  # some module no step imports
    mismatches = []
    for steps, path in by_steps.items():
        text, stat = path.read_text(encoding="utf-8"), path.stat()
        try:
            path.write_text(text + "\n# touched\n", encoding="utf-8")
            planned = planned_jobs(completed, *CONFIGFILE)
        finally:
            path.write_text(text, encoding="utf-8")
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        if planned != _expected(list(steps)):
            rel = path.relative_to(package)
            mismatches.append(f"{rel} (steps {steps}): planned {planned}")
    assert not mismatches, "\n".join(mismatches)
    assert planned_jobs(completed, *CONFIGFILE) == {}  # every file restored
