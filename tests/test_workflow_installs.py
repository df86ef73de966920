"""How the project is installed: the workflow's dependencies stay out of the library's, and the
rules' conda environment (``snakemake --use-conda``) installs this checkout. Conda itself is not
needed: the environment files are checked as data, the post-deploy script is run for real with
a stand-in ``python`` that records what it was asked to install."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import tomllib

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from tests.workflow_helpers import REPO

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
RULE_ENV = REPO / "envs" / "thesis-ml.yaml"
POST_DEPLOY = REPO / "envs" / "thesis-ml.post-deploy.sh"
WORKFLOW_PACKAGES = ("snakemake", "snakemake_executor_plugin_slurm", "snakemake_interface")

# Imports of a notebook user: the library, its CLI entry points and every pipeline step command.
LIBRARY_MODULES = [
    "thesis_ml",
    "thesis_ml.train",
    "thesis_ml.reports",
    "thesis_ml.plots",
    "thesis_ml.pipeline.__main__",
    "thesis_ml.pipeline.train_step",
    "thesis_ml.pipeline.report_step",
    "thesis_ml.pipeline.status",
]


def test_the_library_imports_without_the_workflow_packages():
    blocker = f"""
import sys
class Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0].startswith({WORKFLOW_PACKAGES!r}):
            raise ModuleNotFoundError(f"blocked: {{name}}")
sys.meta_path.insert(0, Blocked())
import importlib
for module in {LIBRARY_MODULES!r}:
    importlib.import_module(module)
"""
    result = subprocess.run([sys.executable, "-c", blocker], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_workflow_packages_are_an_extra_that_every_install_adds():
    names = lambda specs: {Requirement(spec).name for spec in specs}  # noqa: E731
    assert not {n for n in names(PYPROJECT["dependencies"]) if n.startswith("snakemake")}
    assert "snakemake" in names(PYPROJECT["optional-dependencies"]["workflow"])
    assert '"$repo_root[dev,workflow,tracking]"' in (REPO / "scripts" / "bootstrap.sh").read_text()
    pip = yaml.safe_load((REPO / "environment.yml").read_text())["dependencies"][-1]["pip"]
    assert '-e ".[dev,workflow,tracking]"' in pip


def _pip_entries(env_file) -> list[str]:
    dependencies = yaml.safe_load(env_file.read_text(encoding="utf-8"))["dependencies"]
    return next(d["pip"] for d in dependencies if isinstance(d, dict))


def test_rule_env_installs_nothing_by_relative_path_and_agrees_with_pyproject():
    """Snakemake creates the env from a copy in .snakemake/conda/, where `..` is elsewhere."""
    env = yaml.safe_load(RULE_ENV.read_text(encoding="utf-8"))
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python="))
    assert SpecifierSet(PYPROJECT["requires-python"]).contains(python.split("=")[1] + ".0")
    pip = _pip_entries(RULE_ENV)
    assert not [entry for entry in pip if entry.startswith("-e") or "." in entry.split("==")[0]]
    (torch,) = [Requirement(e) for e in pip if Requirement(e).name == "torch"]
    (pinned,) = [Requirement(e) for e in _pip_entries(REPO / "environment.yml") if "torch" in e]
    bootstrap = re.search(r'TORCH_SPEC:-([^}"]+)', (REPO / "scripts/bootstrap.sh").read_text())
    assert str(torch) == str(pinned) == bootstrap.group(1)
    library_torch = next(Requirement(d) for d in PYPROJECT["dependencies"] if d.startswith("torch"))
    assert library_torch.specifier.contains(str(torch.specifier).lstrip("="))


def _post_deploy(tmp_path, cwd):
    """Run the post-deploy script as Snakemake does (``bash FILE`` from its working directory),
    with a `python` on PATH that writes its arguments to a file instead of installing."""
    bin_dir, record = tmp_path / "bin", tmp_path / "python-args"
    bin_dir.mkdir()
    fake = bin_dir / "python"
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {record}\n')
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        ["bash", str(POST_DEPLOY)], cwd=cwd, env=env, capture_output=True, text=True
    )
    return result, record.read_text().split() if record.exists() else None


def test_post_deploy_script_installs_this_checkout_by_absolute_path(tmp_path):
    result, args = _post_deploy(tmp_path, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert args == ["-m", "pip", "install", "--no-input", "-e", f"{REPO}[workflow,tracking]"]


def test_post_deploy_script_outside_the_repository_stops_with_one_message(tmp_path):
    result, args = _post_deploy(tmp_path, cwd=tmp_path)
    assert result.returncode == 2 and args is None
    assert result.stderr.startswith(f"error: {tmp_path} is not the thesis-ml repository root")
