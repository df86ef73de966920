"""Per-epoch progress: plain lines in logs, a bar on a terminal, nothing when quiet."""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys

from thesis_ml.config import compose, to_plain_dict
from thesis_ml.data.dataset import save_dataset
from thesis_ml.data.registry import generate_dataset
from thesis_ml.progress import CLEAR_LINE, Progress, format_duration
from thesis_ml.train.train_test import train

TINY = ["data.n_samples=512", "model.hidden_sizes=[16]", "logging.make_plots=false"]


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def report_epochs(progress: Progress, epoch_times: list[float]) -> None:
    for epoch, seconds in enumerate(epoch_times, start=1):
        progress.epoch(
            epoch, {"train_loss": 0.5, "val_loss": 0.25}, samples_per_s=1e5, epoch_time_s=seconds
        )


def test_plain_stream_gets_one_line_per_epoch_without_control_characters():
    stream = io.StringIO()
    report_epochs(Progress(3, stream=stream), [1.0, 1.0, 1.0])
    lines = stream.getvalue().splitlines()
    assert [line.split()[:2] for line in lines] == [
        ["epoch", "1/3"],
        ["epoch", "2/3"],
        ["epoch", "3/3"],
    ]
    assert "train_loss=0.5 val_loss=0.25 samples/s=100000 time=1.0s eta=2.0s" in lines[0]
    assert "\r" not in stream.getvalue() and "\x1b" not in stream.getvalue()


def test_terminal_gets_a_bar_redrawn_below_the_epoch_lines():
    stream = FakeTerminal()
    report_epochs(Progress(3, stream=stream), [1.0, 1.0, 1.0])
    text = stream.getvalue()
    assert text.count(CLEAR_LINE) == 2  # the bars after epochs 1 and 2 are replaced
    assert "] 1/3 eta 2.0s" + CLEAR_LINE + "epoch 2/3" in text
    assert "] 2/3 eta 1.0s" + CLEAR_LINE + "epoch 3/3" in text
    assert text.endswith("eta=0ms\n")  # no bar is left after the last epoch


def test_message_keeps_the_bar_and_close_ends_an_unfinished_bar():
    stream = FakeTerminal()
    progress = Progress(5, stream=stream)
    report_epochs(progress, [1.0])
    progress.message("note: something happened")
    progress.close()
    text = stream.getvalue()
    assert "] 1/5 eta 4.0s" + CLEAR_LINE + "note: something happened\n[" in text
    assert text.endswith("] 1/5 eta 4.0s\n")


def test_quiet_prints_nothing_but_still_tracks_the_eta():
    stream = FakeTerminal()
    progress = Progress(4, stream=stream, quiet=True)
    report_epochs(progress, [1.0, 3.0])
    progress.message("hidden")
    progress.close()
    assert stream.getvalue() == ""
    assert progress.eta_s(2) == 4.0  # mean 2 s times 2 epochs left


def test_format_duration():
    assert [format_duration(s) for s in (0.0042, 3.64, 245, 7380)] == [
        "4ms",
        "3.6s",
        "4m05s",
        "2h03m",
    ]


def test_train_prints_epoch_lines_and_quiet_silences_them(capsys):
    train(compose([*TINY, "trainer.epochs=2", "data.task=binary"]))
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in lines] == ["1/2", "2/2"]
    for name in ("train_loss=", "val_loss=", "val_accuracy=", "samples/s=", "eta="):
        assert all(name in line for line in lines), name
    train(compose([*TINY, "trainer.epochs=2", "logging.quiet=true"]))
    assert capsys.readouterr().out == ""


def test_training_in_a_real_terminal_draws_the_bar():
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "thesis_ml.train", *TINY, "trainer.epochs=3"],
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    output = b""
    while chunk := _read(leader):
        output += chunk
    os.close(leader)
    assert process.wait(timeout=120) == 0, output
    text = output.decode()
    assert "] 1/3 eta" in text and "] 2/3 eta" in text and text.count(CLEAR_LINE) == 2
    assert "epoch 3/3" in text


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 4096)
    except OSError:  # the child closed the terminal (EIO on Linux)
        return b""


def test_pipeline_job_log_holds_plain_epoch_lines(tmp_path):
    cfg = compose([*TINY, "trainer.epochs=2"])
    data = tmp_path / "data.pt"
    save_dataset(generate_dataset(to_plain_dict(cfg.data)), data)
    log = tmp_path / "train.log"
    with log.open("w") as handle:  # as the train rule does: `> {log} 2>&1`
        subprocess.run(
            [
                sys.executable,
                "-m",
                "thesis_ml.pipeline",
                "train",
                "--config-json",
                json.dumps(to_plain_dict(cfg)),
                "--data",
                str(data),
                "--run-dir",
                str(tmp_path / "run"),
            ],
            stdout=handle,
            stderr=subprocess.STDOUT,
            check=True,
            timeout=120,
        )
    text = log.read_text()
    assert "epoch 1/2 train_loss=" in text and "epoch 2/2 train_loss=" in text
    assert "\r" not in text and "\x1b" not in text
