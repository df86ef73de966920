"""The generated config reference is current, and the documented errors are the real ones."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

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


def documented_errors() -> list[tuple[str, str]]:
    """(command, first line it prints) of each ```console block of the troubleshooting page."""
    blocks = re.findall(r"```console\n\$ (.+)\n(.+)\n```", TROUBLESHOOTING.read_text())
    assert len(blocks) >= 4
    return blocks


@pytest.mark.parametrize(("command", "expected"), documented_errors())
def test_troubleshooting_shows_the_real_error(command, expected, tmp_path):
    program, *args = shlex.split(command)
    assert program == "python"
    done = subprocess.run(
        [sys.executable, *args], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert done.stderr.strip() == expected
    assert not any(tmp_path.iterdir())  # nothing half-written
