"""The sweep status summary, on hand-made run directories in every state."""

from __future__ import annotations

import subprocess
import sys

import pytest

from thesis_ml.errors import UserError
from thesis_ml.facts import FactsWriter
from thesis_ml.pipeline.status import (
    NOT_PLANNED,
    NOT_STARTED,
    RUNNING,
    format_status,
    sweep_status,
    write_plan,
)


def _run(sweep_dir, name, status=None):
    writer = FactsWriter(sweep_dir / "runs" / name)
    writer.emit("on_train_start", epochs=1)
    if status:
        writer.emit("on_train_end", status=status)
    writer.close()


def test_status_groups_runs_by_state(tmp_path):
    _run(tmp_path, "a", "completed")
    _run(tmp_path, "b", "completed")
    _run(tmp_path, "c", "diverged")
    _run(tmp_path, "d")
    (tmp_path / "runs" / "e" / "facts").mkdir(parents=True)
    (tmp_path / "runs" / "e" / "facts" / "events.jsonl").write_text('{"event": \n')
    write_plan(tmp_path, "abcde")
    states, plan_known = sweep_status(tmp_path)
    assert plan_known
    assert states == {
        "completed": ["a", "b"],
        "diverged": ["c"],
        RUNNING: ["d"],
        "unreadable facts": ["e"],
    }
    text = format_status(states)
    assert text.splitlines()[0] == (
        "5 planned: 2 completed, 1 diverged, 1 running or interrupted, 1 unreadable facts"
    )
    assert "  c" in text and "  d" in text


def test_planned_runs_without_facts_are_counted_as_not_started(tmp_path):
    """After a Ctrl-C, runs that never started have no directory; the plan still names them."""
    _run(tmp_path, "a", "completed")
    _run(tmp_path, "old", "completed")  # of an earlier version of the sweep
    write_plan(tmp_path, ["a", "b", "c"])
    states, _ = sweep_status(tmp_path)
    assert states == {"completed": ["a"], NOT_STARTED: ["b", "c"], NOT_PLANNED: ["old"]}
    text = format_status(states)
    assert text.splitlines() == [
        "3 planned: 1 completed, 1 not in the plan, 2 not started",
        "not in the plan:",
        "  old",
        "not started:",
        "  b",
        "  c",
    ]


def test_status_of_a_sweep_nothing_has_planned_says_so(tmp_path):
    _run(tmp_path, "a", "completed")
    assert format_status(*sweep_status(tmp_path)) == (
        "planned runs unknown (no planned_runs.txt): 1 completed"
    )


def test_a_stopped_early_run_is_finished_and_not_listed_for_a_look(tmp_path):
    _run(tmp_path, "a", "completed")
    _run(tmp_path, "b", "stopped_early")
    _run(tmp_path, "c", "diverged")
    write_plan(tmp_path, "abc")
    text = format_status(*sweep_status(tmp_path))
    assert text.splitlines()[0] == "3 planned: 1 completed, 1 diverged, 1 stopped_early"
    assert "  c" in text and "  b" not in text and "stopped_early:" not in text


def test_a_sweep_directory_that_does_not_exist_is_refused(tmp_path):
    with pytest.raises(UserError, match="no such sweep directory"):
        sweep_status(tmp_path / "results" / "nope")
    result = subprocess.run(
        [sys.executable, "-m", "thesis_ml.pipeline", "status", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and result.stdout == ""
    assert (
        result.stderr
        == f"error: {tmp_path / 'nope'}: no such sweep directory (expected results/<sweep>)\n"
    )


@pytest.mark.parametrize("damage", ["not UTF-8", "a directory"])
def test_an_unreadable_plan_file_is_named(tmp_path, damage):
    sweep = tmp_path / "sweep"
    _run(sweep, "a", "completed")
    plan = sweep / "planned_runs.txt"
    if damage == "a directory":
        plan.mkdir()
        expected = f"{plan}: a directory, not a file"
    else:
        plan.write_bytes(b"a\n\xff\xfe\n")
        expected = f"{plan}:2: not UTF-8 text"
    with pytest.raises(UserError) as refused:
        sweep_status(sweep)
    assert str(refused.value).startswith(expected), refused.value
