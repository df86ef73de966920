"""Files the project writes get the permissions a plain ``open()`` would give them."""

from __future__ import annotations

import os
import stat

import pytest

from thesis_ml.config import compose
from thesis_ml.reports import build_report
from thesis_ml.train import run_loop
from thesis_ml.utils.io import atomic_write, atomic_write_text


@pytest.fixture
def group_readable_umask():
    previous = os.umask(0o027)
    try:
        yield 0o640  # what open() gives a new file under this umask
    finally:
        os.umask(previous)


def _modes(root) -> dict[str, int]:
    return {
        str(path.relative_to(root)): stat.S_IMODE(path.stat().st_mode)
        for path in root.rglob("*")
        if path.is_file()
    }


def test_atomic_writes_get_the_mode_open_gives(tmp_path, group_readable_umask):
    atomic_write_text(tmp_path / "a.txt", "x")
    with atomic_write(tmp_path / "b.bin", "wb") as handle:
        handle.write(b"x")
    with open(tmp_path / "c.txt", "w") as handle:
        handle.write("x")
    assert set(_modes(tmp_path).values()) == {group_readable_umask}


def test_a_run_and_its_report_are_readable_by_the_group(tmp_path, group_readable_umask):
    run_dir = tmp_path / "runs" / "run"
    overrides = ["trainer.epochs=2", "data.n_samples=400", "logging=plots_minimal"]
    run_loop(compose([*overrides, "logging.quiet=true", f"run_dir={run_dir}"]))
    build_report([run_dir], out_dir=tmp_path / "report")
    modes = _modes(tmp_path)
    assert {"runs/run/cfg.yaml", "runs/run/model.pt", "report/summary.csv"} <= set(modes)
    assert any(name.startswith("runs/run/figures/") for name in modes)
    wrong = {name: oct(mode) for name, mode in modes.items() if mode != group_readable_umask}
    assert not wrong
