"""What produced a run: code version, package versions, machine (facts ``provenance``).

The commit is that of the checkout the package was imported from; a package installed from a
wheel, or a checkout without git on PATH, records why there is none instead of failing.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import platform
import socket
import subprocess
import sys
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
GIT_TIMEOUT_S = 10


def provenance(device: str, threads: int) -> dict:
    """The provenance record of a run starting now on ``device`` with ``threads`` threads."""
    import numpy
    import torch

    return {
        **git_state(PACKAGE_DIR),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "thesis_ml": _package_version(),
        "host": socket.gethostname(),
        "device": device,
        "threads": threads,
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": list(sys.argv),
    }


def git_state(directory: Path) -> dict:
    """``git_commit`` and ``git_dirty`` of the checkout holding ``directory``, and ``git``:
    ``checkout``, or why there is no commit."""
    try:
        commit = _git(directory, "rev-parse", "HEAD")
        dirty = bool(_git(directory, "status", "--porcelain", "--untracked-files=no"))
    except FileNotFoundError:
        return {"git_commit": None, "git_dirty": None, "git": "git is not installed"}
    except subprocess.CalledProcessError as error:
        said = (error.stderr or "").strip().splitlines()
        reason = f"not a git checkout: {directory}" + (f" (git: {said[0]})" if said else "")
        return {"git_commit": None, "git_dirty": None, "git": reason}
    except subprocess.TimeoutExpired:
        return {"git_commit": None, "git_dirty": None, "git": "git did not answer in time"}
    return {"git_commit": commit, "git_dirty": dirty, "git": "checkout"}


def _git(directory: Path, *args: str) -> str:
    completed = subprocess.run(  # noqa: S603 - fixed arguments, no shell
        ["git", "-C", str(directory), *args],  # noqa: S607 - git from PATH, as a user runs it
        capture_output=True,
        text=True,
        check=True,
        timeout=GIT_TIMEOUT_S,
    )
    return completed.stdout.strip()


def _package_version() -> str:
    try:
        return importlib.metadata.version("thesis_ml")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"
