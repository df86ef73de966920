"""What a newcomer meets on the command line: silent no-ops made loud, bad input stopped before
anything is written, a finished run never overwritten by accident, Ctrl-C without tracebacks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from thesis_ml.facts import final_event, read_events


def _assert_refused(done: subprocess.CompletedProcess, *named: str) -> None:
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, done.stderr
    for text in named:
        assert text in lines[0], (text, lines[0])


def test_phase1_parts_without_the_autoencoder_trainer_say_what_to_add(run_train, tmp_path):
    done = run_train("phase1/tokenizer=vq", f"run_dir={tmp_path / 'run'}")
    _assert_refused(done, "phase1/tokenizer", "trainer.loop", "phase1/trainer=ae")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("override", "key"),
    [("trainer.lr=nan", "trainer.lr"), ("trainer.divergence_factor=inf", "divergence_factor")],
)
def test_non_finite_numbers_are_refused_before_anything_is_written(
    run_train, tmp_path, override, key
):
    done = run_train(override, f"run_dir={tmp_path / 'run'}")
    _assert_refused(done, key, "finite")
    assert not (tmp_path / "run").exists()


def test_a_run_dir_that_cannot_be_created_is_named(run_train, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    done = run_train(f"run_dir={blocker / 'run'}", "trainer.epochs=1")
    _assert_refused(done, "run_dir=", str(blocker / "run"))


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_a_missing_device_is_refused_before_the_run_dir_is_written(run_train, tmp_path):
    done = run_train("trainer.device=cuda", f"run_dir={tmp_path / 'run'}")
    _assert_refused(done, "trainer.device", "no CUDA device")
    assert not (tmp_path / "run").exists()


def test_the_supervised_loop_on_data_without_an_optimum_says_so(run_train):
    done = run_train("data=reconstruction", "trainer.epochs=1", "data.n_samples=400")
    assert done.returncode == 0, done.stderr
    assert "no optimum: no optimum is known for this data" in done.stdout


def test_an_ephemeral_run_says_that_its_figures_are_not_kept(run_train):
    done = run_train("logging=plots_standard", "trainer.epochs=1", "data.n_samples=400")
    assert done.returncode == 0, done.stderr
    assert "keeps no files" in done.stderr and "logging.save_artifacts=true" in done.stderr


def test_a_finished_run_is_refused_unless_overwrite_is_asked_and_then_replaced_whole(
    run_train, tmp_path
):
    run_dir = tmp_path / "run"
    quick = (
        "trainer.epochs=1",
        "data.n_samples=400",
        "logging=plots_minimal",
        f"run_dir={run_dir}",
    )
    assert run_train(*quick).returncode == 0
    stale = run_dir / "figures" / "stale-train_end-9.png"
    stale.write_bytes(b"from an older run")
    before = (run_dir / "model.pt").read_bytes()
    _assert_refused(
        run_train(*quick, "trainer.seed=1"), f"run_dir={run_dir}", "overwrite_run_dir=true"
    )
    assert (run_dir / "model.pt").read_bytes() == before and stale.exists()  # nothing touched

    done = run_train(*quick, "trainer.seed=1", "overwrite_run_dir=true")
    assert done.returncode == 0, done.stderr
    assert not stale.exists() and (run_dir / "model.pt").read_bytes() != before
    events = read_events(run_dir)
    assert [e["event"] for e in events].count("on_train_start") == 1  # one run's facts
    assert final_event(events)["status"] == "completed"


@pytest.mark.parametrize("argv", [["trainer.lr=0.1,0.01"], ["-m", "trainer.lr=0.1"]])
def test_a_sweep_on_the_command_line_points_to_sweep_files(run_train, argv):
    _assert_refused(run_train(*argv), "sweep", "snakemake", "--configfile")


def test_ctrl_c_ends_a_run_and_its_plot_helper_with_one_line_and_exit_130(tmp_path):
    run_dir = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-m", "thesis_ml.train", "trainer.epochs=100000", f"run_dir={run_dir}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    deadline = time.monotonic() + 120
    while not (run_dir / "facts" / "scalars.csv").is_file() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)  # inside the epoch loop
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C does: the run and its plot helper
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and stderr.strip().splitlines()[-1] == "interrupted"


def test_the_plot_helper_starts_with_ctrl_c_ignored(tmp_path):
    """So that a Ctrl-C while it still imports prints no traceback of its own: the training
    process handles it, and the helper ends when its stdin closes."""
    from thesis_ml.plots.live import _start_worker

    status = Path("/proc/self/status")
    if not status.is_file():
        pytest.skip("reads the signal mask from /proc (Linux)")
    worker = _start_worker(tmp_path)
    try:
        fields = dict(
            line.split(":", 1)
            for line in Path(f"/proc/{worker.pid}/status").read_text().splitlines()
        )
        assert int(fields["SigIgn"], 16) & (1 << (signal.SIGINT - 1))
    finally:
        worker.stdin.close()
        worker.wait(timeout=60)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the caller's is back
