"""Shared helpers of the core-library tests: tiny configs, and the CLI run as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from omegaconf import DictConfig

from thesis_ml.config import compose

# A run of this size takes a fraction of a second; only convergence tests use the defaults.
TINY = (
    "data.n_samples=512",
    "model.hidden_sizes=[16]",
    "trainer.epochs=2",
    "logging.quiet=true",
    "logging.make_plots=false",
)


@pytest.fixture
def tiny_cfg() -> Callable[..., DictConfig]:
    """``tiny_cfg(*overrides)``: the composed default config, shrunk by :data:`TINY`."""
    return lambda *overrides: compose([*TINY, *overrides])


@pytest.fixture
def private_tmp(tmp_path, monkeypatch) -> Path:
    """An empty directory that the process's ``tempfile`` uses, to see what a run leaves there."""
    directory = tmp_path / "tmp"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


@pytest.fixture
def run_train(tmp_path) -> Callable[..., subprocess.CompletedProcess]:
    """``run_train(*args, cwd=tmp_path)``: ``python -m thesis_ml.train ARGS`` in a subprocess.

    Its temporary files go to ``tmp_path/proc_tmp`` so that a test can check none are left.
    """
    proc_tmp = tmp_path / "proc_tmp"
    proc_tmp.mkdir()

    def run(*args: str, cwd: Path = tmp_path, timeout: float = 300) -> subprocess.CompletedProcess:
        env = {**os.environ, "TMPDIR": str(proc_tmp)}
        return subprocess.run(
            [sys.executable, "-m", "thesis_ml.train", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run


@pytest.fixture(scope="session")
def docs_copy(tmp_path_factory) -> Path:
    """One copy of the repository in which the documents' commands run, one after another, as
    a reader types them (tests/test_doc_commands.py): the README's first command there is the
    default sweep, which tests/test_readme.py's blocks then read instead of running it again."""
    from tests.test_doc_commands import repository_copy

    return repository_copy(tmp_path_factory.mktemp("docs") / "copy")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups it schedules by
def pytest_collection_modifyitems(items):
    """Under ``pytest -n`` (scripts/test.sh runs one worker per core), tests that share one
    resource run one after another on one worker: the SLURM tests share the local cluster
    (their job counts and time limits assume its queue is theirs), the documents' commands
    share one repository copy (:func:`docs_copy`), and the tests of a module that share a
    module-scoped fixture (a sweep trained once) share it on one worker rather than train it
    once per worker. Every other test goes to whichever worker is free.

    The longest work comes first (the groups, then the slow tests; scripts/test.sh keeps this
    order, ``--no-loadscope-reorder``), so that the run ends on short tests, not on one worker
    still busy with a long group."""
    order = {}
    for item in items:
        if item.get_closest_marker("slurm"):
            group, order[item] = "slurm", 0
        elif "docs_copy" in item.fixturenames:
            group, order[item] = "docs", 1
        elif _uses_module_fixture(item):
            group, order[item] = item.module.__name__, 2
        else:
            order[item] = 3 if item.get_closest_marker("slow") else 4
            continue
        item.add_marker(pytest.mark.xdist_group(group))
    items.sort(key=order.__getitem__)


def _uses_module_fixture(item) -> bool:
    definitions = getattr(item, "_fixtureinfo", None)
    return definitions is not None and any(
        fixture.scope in ("module", "class")
        for fixtures in definitions.name2fixturedefs.values()
        for fixture in fixtures
    )
