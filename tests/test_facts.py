"""The facts schema is documented, and facts survive SIGKILL up to the last finished epoch."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from thesis_ml.config import compose
from thesis_ml.facts import (
    END_STATUSES,
    EVENTS,
    SCALAR_COLUMNS,
    YARDSTICKS,
    read_events,
    read_scalars,
)
from thesis_ml.plots.__main__ import main as plots_main
from thesis_ml.train.train_test import train

DOC = Path(__file__).resolve().parents[1] / "docs" / "facts.md"


def documented_keys(section: str) -> set[str]:
    """Names in the first column of the tables under the heading that names ``section`` (a row
    may name several: ``| `val_loss`, `test_loss` | ...``)."""
    text = DOC.read_text(encoding="utf-8")
    start = text.index(f"`{section}`\n")
    end = text.find("\n#", start + 1)
    body = text[start : end if end != -1 else None]
    cells = re.findall(r"^\| ([^|]+) \|", body, flags=re.MULTILINE)
    return {name for cell in cells for name in re.findall(r"`([a-z_]+)`", cell)}


def test_every_scalar_column_is_documented():
    assert set(SCALAR_COLUMNS) == documented_keys("facts/scalars.csv")


def test_every_event_key_a_run_emits_is_documented(tmp_path):
    overrides = [
        f"run_dir={tmp_path}",
        "data.n_samples=256",
        "trainer.epochs=2",
        "data.task=binary",
        "logging.quiet=true",
        "logging.make_plots=false",
    ]
    train(compose(overrides))
    events = read_events(tmp_path)
    assert [e["event"] for e in events][0] == EVENTS[0]
    for event in events:
        emitted = set(event) - {"event", "time"}
        assert emitted <= documented_keys(event["event"]), event["event"]
    start, end = events[0], events[-1]
    assert set(start["yardsticks"]) == {"optimum"} and start["reference_kind"] == "optimum"
    for name, yardstick in start["yardsticks"].items():
        assert name in YARDSTICKS and yardstick["role"] == "optimum"
        assert set(yardstick) <= documented_keys("yardsticks"), name
    assert set(start["provenance"]) == documented_keys("provenance")
    assert end["status"] in END_STATUSES and end["yardsticks"] == start["yardsticks"]
    assert {"test_loss", "test_accuracy", "val_loss"} <= set(end["best"])


def test_sigkill_mid_epoch_leaves_facts_that_parse_to_the_last_finished_epoch(tmp_path):
    code = (
        "from thesis_ml.config import compose\n"
        "from thesis_ml.train.train_test import train\n"
        f"train(compose(['run_dir={tmp_path}', 'trainer.epochs=1000', 'data.n_samples=20000',"
        " 'logging.quiet=true', 'trainer.num_threads=1']))\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.monotonic() + 120
        while _finished_epochs(tmp_path) < 3:
            assert process.poll() is None, "training ended before it could be killed"
            assert time.monotonic() < deadline, "training too slow to reach epoch 3"
            time.sleep(0.02)
        time.sleep(0.05)  # somewhere inside a later epoch
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == -signal.SIGKILL
    events = read_events(tmp_path)
    finished = [e["epoch"] for e in events if e["event"] == "on_epoch_end"]
    assert finished == list(range(1, len(finished) + 1)) and len(finished) >= 3
    assert events[-1]["event"] != "on_train_end"
    rows = read_scalars(tmp_path)
    epochs = sorted({row["epoch"] for row in rows})
    # Rows are written just before the epoch's events: at most one unfinished epoch has rows.
    assert epochs[: len(finished)] == finished and len(epochs) - len(finished) in (0, 1)
    for epoch in finished:
        assert [r["split"] for r in rows if r["epoch"] == epoch] == ["train", "val"]
    # A killed run still re-renders, up to its last finished epoch.
    assert plots_main([str(tmp_path), "logging=plots_minimal"]) == 0
    assert (tmp_path / "figures" / f"losses-train_end-{finished[-1]}.png").is_file()


def _finished_epochs(run_dir: Path) -> int:
    path = run_dir / "facts" / "events.jsonl"
    return path.read_text().count('"on_epoch_end"') if path.is_file() else 0


def test_numpy_scalars_are_written_as_plain_numbers(tmp_path):
    import numpy as np

    from thesis_ml.facts import FactsWriter, read_scalars

    writer = FactsWriter(tmp_path)
    row = {"epoch": np.int64(1), "split": "val", "loss": np.float64(0.25), "val_loss": 0.5}
    writer.scalars([row, {**row, "split": "train", "loss": np.float32(0.125)}])
    writer.close()
    rows = read_scalars(tmp_path)
    assert [(r["epoch"], r["loss"]) for r in rows] == [(1, 0.25), (1, 0.125)]
