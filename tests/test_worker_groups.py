"""scripts/test.sh runs the suite on one pytest-xdist worker per core; the tests that share a
resource must still run on one worker (tests/conftest.py). Checked with real workers: a small
suite with this conftest, its tests recording the worker that ran them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import defaultdict

from tests.workflow_helpers import REPO

SUITE = """
import os
from pathlib import Path

import pytest


def record(kind):
    with open(Path(__file__).parent / "workers.txt", "a") as log:
        log.write(f"{kind} {os.environ['PYTEST_XDIST_WORKER']}\\n")


@pytest.fixture(scope="session")
def docs_copy():
    return None


@pytest.fixture(scope="module")
def trained_sweep():
    return None


@pytest.mark.slurm
@pytest.mark.parametrize("i", range(6))
def test_slurm(i):
    record("slurm")


@pytest.mark.parametrize("i", range(6))
def test_docs(i, docs_copy):
    record("docs")


@pytest.mark.parametrize("i", range(6))
def test_module(i, trained_sweep):
    record("module")


@pytest.mark.parametrize("i", range(24))
def test_free(i):
    record("free")
"""


def test_tests_that_share_a_resource_run_on_one_worker(tmp_path):
    suite = tmp_path / "tests"
    suite.mkdir()
    shutil.copy(REPO / "tests" / "conftest.py", suite / "conftest.py")
    (suite / "__init__.py").write_text("")
    (suite / "test_sample.py").write_text(SUITE)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-n",
            "2",
            "--dist",
            "loadgroup",
            "--no-loadscope-reorder",
            "-p",
            "no:cacheprovider",
            "-q",
            "tests",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    workers = defaultdict(set)
    for line in (suite / "workers.txt").read_text().splitlines():
        kind, worker = line.split()
        workers[kind].add(worker)
    assert all(len(workers[kind]) == 1 for kind in ("slurm", "docs", "module")), dict(workers)
    assert len(workers["free"]) == 2, "the other tests go to whichever worker is free"
