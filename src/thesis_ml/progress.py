"""Per-epoch progress of a training run: one line per epoch, plus a bar on a terminal.

Every epoch prints one permanent line (epoch, losses, metrics, samples/s, epoch time, ETA).
When the stream is a terminal, a bar under those lines is redrawn in place after each epoch;
anywhere else (pipeline job logs, notebooks, pipes) only the plain lines are written, so that
logs hold no carriage returns or escape codes. ``quiet`` silences everything.

Why not tqdm or rich: measured with tqdm 4.70 on a 20-epoch run written to a file (what a
Snakemake job log is), its defaults put 82 carriage returns and 3.5 kB of bar redraws around the
21 lines of text; ``disable=None`` (off when not a terminal) avoids that, but the part that stays
ours either way is the per-epoch line, its ETA and the duration format, and what tqdm would
replace is the 20-line ``_draw_bar``: not worth a dependency of the core install.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Mapping
from typing import TextIO

CLEAR_LINE = "\r\x1b[K"  # back to column 0 and erase to the end of the line
MIN_BAR_WIDTH = 10


class Progress:
    """Prints the epochs of one run; ``stream`` None means ``sys.stdout`` at each write.

    ``bar`` None draws the bar exactly when the stream is a terminal.
    """

    def __init__(
        self,
        total_epochs: int,
        *,
        quiet: bool = False,
        stream: TextIO | None = None,
        bar: bool | None = None,
    ) -> None:
        self.total_epochs = total_epochs
        self.quiet = quiet
        self._stream = stream
        self._bar = bar
        self._epoch_times: list[float] = []
        self._bar_shown = False

    @property
    def stream(self) -> TextIO:
        # Looked up late: notebooks and pytest swap sys.stdout after this object exists.
        return self._stream or sys.stdout

    @property
    def draws_bar(self) -> bool:
        if self._bar is not None:
            return self._bar
        isatty = getattr(self.stream, "isatty", None)
        return bool(isatty and isatty())

    def message(self, line: str) -> None:
        """A line that is not an epoch (a warning, a note); keeps the bar below it."""
        if self.quiet:
            return
        bar_was_shown = self._bar_shown
        self._write_line(line)
        if bar_was_shown:
            self._draw_bar(len(self._epoch_times))

    def epoch(
        self,
        epoch: int,
        metrics: Mapping[str, object],
        *,
        samples_per_s: float,
        epoch_time_s: float,
    ) -> None:
        """Report a finished epoch (1-based) with its metrics."""
        self._epoch_times.append(epoch_time_s)
        if self.quiet:
            return
        eta_s = self.eta_s(epoch)
        self._write_line(
            epoch_line(epoch, self.total_epochs, metrics, samples_per_s, epoch_time_s, eta_s)
        )
        if self.draws_bar:
            if epoch < self.total_epochs:
                self._draw_bar(epoch)
            else:
                self._bar_shown = False

    def eta_s(self, epoch: int) -> float:
        """Seconds left: the mean epoch time so far times the epochs still to run."""
        mean = sum(self._epoch_times) / max(len(self._epoch_times), 1)
        return mean * max(self.total_epochs - epoch, 0)

    def close(self) -> None:
        """End a bar left on screen (a run that stopped early) with a newline."""
        if self._bar_shown and not self.quiet:
            self.stream.write("\n")
            self.stream.flush()
            self._bar_shown = False

    def _write_line(self, line: str) -> None:
        prefix = CLEAR_LINE if self._bar_shown else ""
        self.stream.write(f"{prefix}{line}\n")
        self.stream.flush()
        self._bar_shown = False

    def _draw_bar(self, epoch: int) -> None:
        label = f" {epoch}/{self.total_epochs} eta {format_duration(self.eta_s(epoch))}"
        columns = shutil.get_terminal_size(fallback=(80, 24)).columns
        width = max(MIN_BAR_WIDTH, min(40, columns - len(label) - 3))
        filled = round(width * epoch / max(self.total_epochs, 1))
        self.stream.write(f"[{'#' * filled}{'.' * (width - filled)}]{label}")
        self.stream.flush()
        self._bar_shown = True


def epoch_line(
    epoch: int,
    total_epochs: int,
    metrics: Mapping[str, object],
    samples_per_s: float,
    epoch_time_s: float,
    eta_s: float,
) -> str:
    """``epoch 3/20 train_loss=0.12 val_loss=0.13 samples/s=81234 time=0.2s eta=3.6s``."""
    return (
        f"epoch {epoch}/{total_epochs} {format_metrics(metrics)} samples/s={samples_per_s:.0f} "
        f"time={format_duration(epoch_time_s)} eta={format_duration(eta_s)}"
    )


def format_metrics(metrics: Mapping[str, object]) -> str:
    return " ".join(
        f"{name}={value:.4g}" if isinstance(value, float) else f"{name}={value}"
        for name, value in metrics.items()
    )


def format_duration(seconds: float) -> str:
    """``35ms`` below a second, ``3.6s`` below a minute, ``4m05s`` below an hour, else ``2h03m``."""
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
