"""Figures drawn while a run trains: :func:`attach` gives the listener of the run's
:class:`~thesis_ml.facts.FactsWriter`, an :class:`Orchestrator` that hands the drawing to a
helper process (``plots/worker.py``), so that the training process never imports matplotlib and
never waits for a per-epoch figure.

``train/runtime.py`` loads this module by name (``LIVE_PLOTS_MODULE``), not by import.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path

from thesis_ml.plots.policy import destinations, enabled_families, enabled_moments


class Orchestrator:
    """The plot side of a training run: a listener of its facts writer.

    It sends the moments to a helper process that renders them from the facts on disk. At
    ``on_train_end`` it waits for that process, so the figures exist when training returns.
    """

    def __init__(self, run_dir: Path, logging_cfg: Mapping) -> None:
        self.run_dir = Path(run_dir)
        self.logging_cfg = logging_cfg
        self.moments = enabled_moments(logging_cfg)
        # Started now, not at on_train_start, so that its imports and warm-up overlap the data
        # and model setup: at the end training waits only for the final figures' drawing.
        self._worker: subprocess.Popen | None = None
        if self.moments and enabled_families(logging_cfg):
            self._worker = _start_worker(self.run_dir)

    def __call__(self, event: str, record: dict) -> None:
        if event == "on_epoch_end" and "epoch_end" in self.moments:
            self._send("epoch_end")
        elif event == "on_train_end":
            self._send("train_end")
            self.close()

    def close(self) -> None:
        """Let the helper finish (without a train_end it draws nothing more) and reap it."""
        worker, self._worker = self._worker, None
        if worker is None:
            return
        if worker.stdin:
            with contextlib.suppress(BrokenPipeError):
                worker.stdin.close()
        if worker.wait() != 0:
            print(
                f"warning: drawing figures failed (exit {worker.returncode}); the facts are "
                f"complete: python -m thesis_ml.plots {self.run_dir}",
                file=sys.stderr,
            )

    def _send(self, command: str) -> None:
        if self._worker is None or self._worker.stdin is None:
            return
        try:
            self._worker.stdin.write(command + "\n")
            self._worker.stdin.flush()
        except BrokenPipeError:  # it died; close() reports how
            pass


def _start_worker(run_dir: Path) -> subprocess.Popen:
    package_root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    # Started with Ctrl-C ignored (kept across exec, and by Python's start-up): a Ctrl-C while
    # it still imports would otherwise print its traceback; the training process handles it.
    with _sigint_ignored():
        return subprocess.Popen(
            [sys.executable, "-m", "thesis_ml.plots.worker", str(run_dir)],
            stdin=subprocess.PIPE,
            text=True,
            env=env,
        )


@contextlib.contextmanager
def _sigint_ignored():
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may change handlers; the worker then ignores it itself
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def attach(run_dir: Path, logging_cfg: Mapping, keep: bool) -> Orchestrator | None:
    """The listener that draws a run's figures while it trains, or None when none would be
    kept or shown."""
    draws = logging_cfg["make_plots"] and (keep or "screen" in destinations(logging_cfg))
    return Orchestrator(run_dir, logging_cfg) if draws else None
