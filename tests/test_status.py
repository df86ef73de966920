"""The sweep status summary, on hand-made run directories in every state."""

from __future__ import annotations

from thesis_ml.facts import FactsWriter
from thesis_ml.pipeline.status import RUNNING, format_status, sweep_status


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
    states = sweep_status(tmp_path)
    assert states == {
        "completed": ["a", "b"],
        "diverged": ["c"],
        RUNNING: ["d"],
        "unreadable facts": ["e"],
    }
    text = format_status(states)
    assert text.splitlines()[0] == (
        "2 completed, 1 diverged, 1 running or interrupted, 1 unreadable facts"
    )
    assert "  c" in text and "  d" in text


def test_status_of_an_empty_sweep(tmp_path):
    assert format_status(sweep_status(tmp_path)) == "no runs yet"


def test_a_stopped_early_run_is_finished_and_not_listed_for_a_look(tmp_path):
    _run(tmp_path, "a", "completed")
    _run(tmp_path, "b", "stopped_early")
    _run(tmp_path, "c", "diverged")
    text = format_status(sweep_status(tmp_path))
    assert text.splitlines()[0] == "1 completed, 1 diverged, 1 stopped_early"
    assert "  c" in text and "  b" not in text and "stopped_early:" not in text
