"""The helper process that draws a training run's figures while it trains.

``python -m thesis_ml.plots.worker RUN_DIR`` reads one command per line on stdin: ``epoch_end``
(draw the quick figures of the last finished epoch) or ``train_end`` (draw every enabled moment,
exactly as ``python -m thesis_ml.plots RUN_DIR`` would, then exit). Commands that pile up while
a figure is being drawn are merged, so training never waits for a per-epoch figure. End of
input without ``train_end`` (the run failed or was killed) ends it without drawing.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
import time
from pathlib import Path

import yaml

from thesis_ml.plots.orchestrator import destinations, log_skips, render_run

END = None  # stdin closed
# Quick figures use at most this share of a core: on a small machine the helper must not slow
# the training it draws (the final figures are not throttled: training waits for them).
QUICK_DUTY_CYCLE = 0.2


def main(argv: list[str] | None = None) -> int:
    run_dir = Path((argv if argv is not None else sys.argv[1:])[0])
    logging_cfg = yaml.safe_load((run_dir / "cfg.yaml").read_text(encoding="utf-8"))["logging"]
    logging.basicConfig(
        level=logging.WARNING if logging_cfg["quiet"] else logging.INFO,
        format="%(message)s",
        stream=sys.stderr,
    )
    _warm_up(logging_cfg, screen="screen" in destinations(logging_cfg))
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
        log_skips(render_run(run_dir, logging_cfg, moments=["epoch_end"]), reported)
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


def _warm_up(logging_cfg: dict, screen: bool) -> None:
    """Import matplotlib and draw a throw-away figure now, while the run trains.

    The first figure of a process pays for loading fonts, the math-text parser of log-axis
    labels and the image encoder (together more than the figure itself); the final figures,
    which training waits for, then pay only for their own drawing.
    """
    import io

    from thesis_ml.plots.drawing import finish, panels, reference_line
    from thesis_ml.plots.orchestrator import NO_DATES, _new_figure

    if screen:
        import matplotlib.pyplot  # noqa: F401
    fig = _new_figure((4.0, 3.0), screen=False)
    ax = panels(fig, 1)[0]
    ax.plot([1, 2, 3], [1.0, 0.1, 0.01], marker="o", label="warm-up")
    values = [1.0, 0.01] + reference_line(ax, 0.05, "reference")
    finish(ax, "warm-up", "value (units)", values)
    fig.suptitle("warm-up", fontsize="medium")
    fig_format = logging_cfg["fig_format"]
    fig.savefig(
        io.BytesIO(), format=fig_format, dpi=int(logging_cfg["dpi"]), metadata=NO_DATES[fig_format]
    )


def _read_commands(commands: queue.Queue) -> None:
    for line in sys.stdin:
        commands.put(line.strip())
    commands.put(END)


if __name__ == "__main__":
    code = main()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    # Training waits for this process to end, and the interpreter's teardown with matplotlib
    # loaded takes longer (0.1 s) than the final figure; every file is already written.
    os._exit(code)
