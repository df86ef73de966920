"""Running the real Snakemake workflow in a temporary copy of the repository's workflow."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
WORKFLOW_PARTS = ("Snakefile", "rules", "workflow_configs", "envs", "profiles", "report", "src")

# A sweep small enough for tests: 2 activations x 2 seeds of a short supervised run.
TINY_SWEEP = {
    "sweep": "tiny",
    "overrides": [
        "trainer.epochs=3",
        "data.n_samples=512",
        "model.hidden_sizes=[16]",
        "logging=plots_minimal",
    ],
    "grid": {"model.activation": ["relu", "tanh"]},
    "seeds": [0, 1],
}

# The tiny sweep, with a second model option so that a config-file edit touches half the runs,
# and two figures per run, so that the HTML report must tell a run's figures apart.
STALENESS_SWEEP = {
    **TINY_SWEEP,
    "overrides": [*TINY_SWEEP["overrides"], "logging.families.metrics=true"],
    "grid": {**TINY_SWEEP["grid"], "model": ["mlp", "wide"]},
}


def add_wide_model(workdir: Path) -> Path:
    """The model option ``wide`` (one hidden layer of 32) beside mlp, in a workflow copy."""
    model_dir = workdir / "src" / "thesis_ml" / "configs" / "model"
    wide = model_dir / "wide.yaml"
    text = (
        (model_dir / "mlp.yaml").read_text().replace("hidden_sizes: [64, 64]", "hidden_sizes: [32]")
    )
    wide.write_text(text)
    return wide


@contextlib.contextmanager
def wide_dropout_changed(workdir: Path):
    """The wide model option's package default dropout changed (it touches exactly the runs
    of model=wide), then put back."""
    wide = workdir / "src" / "thesis_ml" / "configs" / "model" / "wide.yaml"
    original = wide.read_text()
    try:
        wide.write_text(original.replace("dropout: 0.0", "dropout: 0.1"))
        yield
    finally:
        wide.write_text(original)


def copy_workflow(destination: Path) -> Path:
    """A copy of the workflow (and the library sources it depends on) in ``destination``."""
    destination.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", ".snakemake", "results")
    for part in WORKFLOW_PARTS:
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, destination / part, ignore=ignore)
        else:
            shutil.copy2(source, destination / part)
    return destination


# The sweep file write_sweep writes by default, and the arguments that select it.
TEST_SWEEP_FILE = "test.yaml"
CONFIGFILE = ("--configfile", f"workflow_configs/{TEST_SWEEP_FILE}")


def write_sweep(workdir: Path, sweep: dict, name: str = TEST_SWEEP_FILE) -> Path:
    path = workdir / "workflow_configs" / name
    path.write_text(yaml.safe_dump(sweep, sort_keys=False), encoding="utf-8")
    return path


def env_with_this_python(base: dict | None = None) -> dict:
    """``base`` (default: this process's environment) with this interpreter's bin first on
    PATH, so that the jobs Snakemake starts run ``python`` of this environment."""
    env = dict(os.environ if base is None else base)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def start_snakemake(workdir: Path, *args: str, output=subprocess.PIPE) -> subprocess.Popen:
    """Snakemake started in the background in its own process group (what a terminal's Ctrl-C
    or a lost node reaches as a whole); its stdout and stderr go together to ``output``."""
    return subprocess.Popen(
        [sys.executable, "-m", "snakemake", *args],
        cwd=workdir,
        env=env_with_this_python(),
        stdout=output,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def sweep_status(workdir: Path, sweep_dir: str) -> subprocess.CompletedProcess:
    """``python -m thesis_ml.pipeline status SWEEP_DIR`` in ``workdir``; it must succeed."""
    return subprocess.run(
        [sys.executable, "-m", "thesis_ml.pipeline", "status", sweep_dir],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=True,
    )


def snakemake(workdir: Path, *args: str, check: bool = True, timeout: float = 900):
    """Run Snakemake in ``workdir`` with this interpreter's environment on PATH."""
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", *args],
        cwd=workdir,
        env=env_with_this_python(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} exited {result.returncode}\n"
            f"stdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-6000:]}"
        )
    return result


def planned_jobs(workdir: Path, *args: str) -> dict[str, int]:
    """Jobs per rule that a dry run would execute ({} when nothing is to be done)."""
    result = snakemake(workdir, "-n", *args)
    output = result.stdout + result.stderr
    if "Nothing to be done" in output:
        return {}
    table = output.split("Job stats:", 1)[1]
    counts = {}
    for line in table.splitlines():
        match = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if match and match.group(1) != "total":
            counts[match.group(1)] = int(match.group(2))
    return counts


class Edited:
    """Context: ``path`` gets a comment appended (a real edit: Snakemake compares checksums of
    small inputs, so a mere touch reruns nothing), then its content and mtime are restored."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self):
        self.text, self.stat = self.path.read_text(), self.path.stat()
        self.path.write_text(self.text + "\n# edited\n")

    def __exit__(self, *exc):
        self.path.write_text(self.text)
        os.utime(self.path, ns=(self.stat.st_atime_ns, self.stat.st_mtime_ns))
