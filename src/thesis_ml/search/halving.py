"""Synchronous successive halving within a round: every trial trains to the first rung's
epochs, the best 1/reduction_factor of them go on to the next rung, and so on; the last rung
is the full schedule, ``trainer.epochs``. Pure functions: the workflow decides who trains on.

Optuna's own successive-halving pruner is asynchronous (each trial is judged against whichever
trials reached its rung before it), so its decisions depend on the order jobs finish in; here a
rung is judged once all its trials are done, which is what makes a search reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Mapping


def rung_epochs(max_epochs: int, min_epochs: int, reduction_factor: int) -> list[int]:
    """The epochs of each rung: min_epochs * reduction_factor**i below max_epochs, then
    max_epochs itself."""
    if max_epochs < 1 or min_epochs < 1 or reduction_factor < 2:
        raise ValueError(
            f"need max_epochs >= 1, min_epochs >= 1, reduction_factor >= 2; got "
            f"{max_epochs}, {min_epochs}, {reduction_factor}"
        )
    rungs, epochs = [], min_epochs
    while epochs < max_epochs:
        rungs.append(epochs)
        epochs *= reduction_factor
    return [*rungs, max_epochs]


def promoted(
    values: Mapping[int, float | None], reduction_factor: int, direction: str = "minimize"
) -> list[int]:
    """Trial numbers that go on to the next rung, ascending: the best len/reduction_factor by
    value (at least one), ties going to the lower trial number. A trial without a finite value
    (failed, diverged) never goes on."""
    sign = -1.0 if direction == "maximize" else 1.0
    valued = [n for n, value in values.items() if value is not None and math.isfinite(value)]
    ranked = sorted(valued, key=lambda number: (sign * values[number], number))
    return sorted(ranked[: max(1, len(values) // reduction_factor)])
