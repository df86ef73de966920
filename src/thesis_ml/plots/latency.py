"""Family ``latency``: epoch time and throughput; mode ``full`` adds per-phase and wall time."""

from __future__ import annotations

from thesis_ml.facts import RunFacts
from thesis_ml.plots.drawing import finish, plot_splits


def missing(facts: RunFacts, options) -> str | None:
    if not facts.has("epoch_time_s"):
        return "no epoch_time_s in facts/scalars.csv"
    return None


def panel_count(facts: RunFacts, options, full: bool) -> int:
    if not full:
        return 1
    return 4 if options["mode"] == "full" else 2


def draw(axes: list, facts: RunFacts, options, full: bool) -> None:
    epochs, times = facts.series("train", "epoch_time_s")
    axes[0].plot(epochs, times, color="tab:green", label="epoch (train + validation)")
    finish(axes[0], "Time per epoch", "time (s)", times)
    if not full:
        return
    values = plot_splits(axes[1], facts, "samples_per_s", splits=("train",))
    finish(axes[1], "Training throughput", "samples per second", values)
    if options["mode"] == "full":
        values = plot_splits(axes[2], facts, "phase_time_s")
        finish(axes[2], "Time per phase", "time (s)", values)
        epochs, wall = facts.series("train", "wall_time_s")
        axes[3].plot(epochs, wall, color="tab:gray", label="since training start")
        finish(axes[3], "Wall time at the end of each epoch", "time (s)", wall)
