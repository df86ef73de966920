"""The helper process that draws a training run's figures while it trains.

``python -m thesis_ml.plots.worker RUN_DIR`` reads one command per line on stdin: ``epoch_end``
(draw the quick figures of the last finished epoch) or ``train_end`` (draw every enabled moment,
exactly as ``python -m thesis_ml.plots RUN_DIR`` would, then exit). Commands that pile up while
a figure is being drawn are merged, so training never waits for a per-epoch figure. End of
input without ``train_end`` (the run failed or was killed) ends it without drawing.
"""

from __future__ import annotations

import queue
import signal
import sys
import threading
import time
from pathlib import Path

from thesis_ml.cli import setup_logging
from thesis_ml.plots.policy import destinations
from thesis_ml.plots.render import log_skips, render_run
from thesis_ml.run_directory import read_config

END = None  # stdin closed
# Quick figures use at most this share of a core: on a small machine the helper must not slow
# the training it draws (the final figures are not throttled: training waits for them).
QUICK_DUTY_CYCLE = 0.2


def main(argv: list[str] | None = None) -> int:
    # Ctrl-C in a terminal reaches the whole process group: the training process handles it
    # and closes our stdin, which ends this helper quietly (no traceback of its own).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    run_dir = Path((argv if argv is not None else sys.argv[1:])[0])
    # The training process wrote and validated this config just now.
    logging_cfg = read_config(run_dir, validated=False)["logging"]
    setup_logging(logging_cfg["quiet"])
    _preload("screen" in destinations(logging_cfg))
    commands: queue.Queue = queue.Queue()
    threading.Thread(target=_read_commands, args=(commands,), daemon=True).start()
    reported: set[str] = set()
    next_quick = 0.0
    while True:
        pending = _next_commands(commands, next_quick)
        if "train_end" in pending:
            log_skips(render_run(run_dir, logging_cfg), reported)
            return 0
        if END in pending:
            return 0
        started = time.monotonic()
        quick = render_run(run_dir, logging_cfg, moments=["epoch_end"])
        log_skips(quick, reported)
        spent = time.monotonic() - started
        next_quick = started + spent / QUICK_DUTY_CYCLE


def _next_commands(commands: queue.Queue, not_before: float) -> list:
    """Every command that arrives until ``not_before``; ``train_end`` and END cut the wait."""
    pending = [commands.get()]
    while "train_end" not in pending and END not in pending:
        remaining = not_before - time.monotonic()
        try:
            pending.append(
                commands.get(timeout=remaining) if remaining > 0 else commands.get_nowait()
            )
        except queue.Empty:
            if remaining <= 0:
                break
    return pending


def _preload(screen: bool) -> None:
    """Import matplotlib now, while the run trains, not when the first figure is due.

    Only imports: drawing a throw-away figure as well (to load fonts early) did not shorten the
    final wait in measurements, and its CPU time slowed the training on a busy machine.
    """
    import matplotlib.backends.backend_agg  # noqa: F401  (savefig's renderer)
    import matplotlib.figure  # noqa: F401

    if screen:
        import matplotlib.pyplot  # noqa: F401


def _read_commands(commands: queue.Queue) -> None:
    for line in sys.stdin:
        commands.put(line.strip())
    commands.put(END)


if __name__ == "__main__":
    from thesis_ml.plots import exit_without_teardown

    exit_without_teardown(main())
