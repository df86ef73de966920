"""The generated config reference is current, and every documented error is run or excused."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from thesis_ml.config import compose, to_plain_dict

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / "docs" / "config_reference.md"
TROUBLESHOOTING = REPO / "docs" / "troubleshooting.md"


def test_config_reference_is_current():
    done = subprocess.run(
        [sys.executable, "scripts/gen_config_reference.py", "--check"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def leaf_keys(tree: dict, prefix: str = "") -> list[str]:
    keys = []
    for name, value in tree.items():
        key = f"{prefix}{name}"
        keys += leaf_keys(value, f"{key}.") if isinstance(value, dict) else [key]
    return keys


def test_config_reference_lists_every_key_of_every_part():
    parts = ["phase1/trainer=ae", "phase1/tokenizer=vq", "phase1/encoder=mlp", "phase1/decoder=mlp"]
    keys = leaf_keys(to_plain_dict(compose(parts))) + leaf_keys(to_plain_dict(compose()))
    documented = set(re.findall(r"^\| `([^`]+)` \|", REFERENCE.read_text(), re.MULTILINE))
    assert sorted(set(keys) - documented) == []


def schema_keys(schema: dict, prefix: str = "") -> list[str]:
    """Every property of a JSON schema, nested ones as ``a.b``."""
    keys = []
    for name, sub in schema.get("properties", {}).items():
        keys += [f"{prefix}{name}", *schema_keys(sub, f"{prefix}{name}.")]
    return keys


def test_config_reference_lists_every_sweep_key_of_the_schema():
    schema = yaml.safe_load((REPO / "workflow_configs/schemas/sweep.schema.yaml").read_text())
    sweep_part = REFERENCE.read_text().split("## Sweep configs", 1)[1]
    documented = set(re.findall(r"^\| `([^`]+)` \|", sweep_part, re.MULTILINE))
    assert {"runs", "resources.mem_mb", "report.overrides"} <= set(schema_keys(schema))
    assert sorted(set(schema_keys(schema)) - documented) == []


def test_config_reference_lists_no_defaults_list_as_a_key():
    """A config file's ``defaults:`` is Hydra's composition list, in any group's file."""
    rows = re.findall(r"^\| `([^`]+)` \|", REFERENCE.read_text(), re.MULTILINE)
    assert [key for key in rows if key.split(".")[-1] == "defaults"] == []


# Error texts of docs/troubleshooting.md that no console example prints (tests/
# test_doc_commands.py runs those), each with why it is not run there.
NOT_RUN_ERRORS = {
    "Error: Directory cannot be locked.": "needs a second Snakemake racing a running one: "
    "tests/test_faults.py::test_second_snakemake_on_the_same_workdir_is_refused_by_the_lock",
    "IncompleteFilesException": "needs a job killed while writing: tests/test_faults.py::"
    "test_sigkilled_train_job_resumes_under_rerun_incomplete",
    "bf16 needs trainer.device cuda or cpu, not mps": "needs an Apple GPU: tests/test_gpu.py::"
    "test_bf16_is_refused_on_mps_with_the_key_named",
    "'python3 -m venv' failed": "needs a Python without venv (scripts/bootstrap.sh)",
    "snakemake: command not found": "the shell's, without the venv active",
    "No module named 'thesis_ml'": "Python's, without the venv active",
    "sbatch: command not found": "the shell's, on a machine without SLURM",
    "Unable to contact slurm controller": "SLURM's, with its controller down",
    "No such kernel named python3": "Jupyter's, without the project's kernel",
}


def test_every_error_text_of_troubleshooting_is_run_or_listed():
    """Each ```text block is one of NOT_RUN_ERRORS (every other message is a console example,
    which tests/test_doc_commands.py runs), and each of those is still on the page."""
    page = TROUBLESHOOTING.read_text(encoding="utf-8")
    text_blocks = re.findall(r"^```text\n(.*?)^```", page, re.MULTILINE | re.DOTALL)
    unlisted = [b for b in text_blocks if not any(e in b for e in NOT_RUN_ERRORS)]
    assert unlisted == [], "make it a console example, or list it in NOT_RUN_ERRORS"
    assert [e for e in NOT_RUN_ERRORS if e not in page] == []
