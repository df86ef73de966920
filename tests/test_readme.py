"""The README followed as written, in a fresh copy of the tracked files (its .venv/ is this
environment, so the copy skips only the package installation).

The Python blocks run as scripts, and the commands the README names in its prose run too; the
SLURM block runs as a whole against the local cluster. The command blocks of the README and
docs/ run in tests/test_doc_commands.py.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.test_doc_commands import link_this_environment
from tests.workflow_helpers import REPO

pytestmark = pytest.mark.slow


def _blocks(language: str) -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)


def _copy_repository(destination: Path) -> Path:
    """The tracked files of the repository, with this environment as its .venv."""
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    for name in filter(None, files):
        if (REPO / name).is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes((REPO / name).read_bytes())
            target.chmod((REPO / name).stat().st_mode)
    link_this_environment(destination)
    return destination


def _run(clone: Path, command: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{clone / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}")
    return subprocess.run(
        ["bash", "-c", command], cwd=clone, env=env, capture_output=True, text=True, timeout=900
    )


def test_readme_python_blocks_and_inline_commands_run(docs_copy):
    """In the copy where the README's commands ran (its default sweep among them)."""
    from tests.test_doc_commands import run

    if not (docs_copy / "results" / "default" / "report" / "summary.csv").is_file():
        assert run(docs_copy, "bash scripts/sweep.sh").returncode == 0
    for block in _blocks("python"):
        result = run(docs_copy, f"python - <<'PY'\n{block}PY")
        assert result.returncode == 0, f"{block}\n{result.stderr[-3000:]}"
    for command in (
        "snakemake --report report.zip",
        "python -m thesis_ml.pipeline status results/default",
        "python -m thesis_ml.train --help",
    ):
        result = run(docs_copy, command)
        assert result.returncode == 0, f"{command}\n{result.stderr[-3000:]}"
    assert (docs_copy / "report.zip").is_file()


@pytest.mark.slurm
def test_readme_cluster_block_runs_as_written_on_the_local_cluster(tmp_path):
    """The SLURM block, line for line, on the cluster of scripts/local_slurm.sh; the copy's
    default sweep is made tiny so that the profile's real polling intervals stay affordable."""
    from tests.slurm_helpers import jobcomp_records, require_slurm
    from tests.workflow_helpers import TINY_SWEEP, write_sweep

    require_slurm()
    (block,) = [b for b in _blocks("bash") if "--profile profiles/slurm" in b]
    workdir = _copy_repository(tmp_path / "cluster")
    write_sweep(workdir, {**TINY_SWEEP, "sweep": "default"}, "default.yaml")
    result = _run(workdir, block)
    assert result.returncode == 0, f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert (workdir / "results" / "default" / "report" / "summary.csv").is_file()
    train_logs = list((workdir / ".snakemake" / "slurm_logs" / "rule_train").rglob("*.log"))
    assert len(train_logs) == 4, "every train job went through sbatch"
    assert len(jobcomp_records(workdir)) >= 4
