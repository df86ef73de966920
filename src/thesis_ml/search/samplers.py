"""Each round's Optuna sampler, made afresh so that a round's proposals depend on nothing but
the search section, the round's index and the trials told before it.

A sampler keeps its random state in memory and advances it with every proposal, so a sampler
that lived across rounds would propose differently after a restart. Each round gets one seeded
from (seed, round): a rerun of the round, in any process, draws the same numbers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Protocol

import optuna

from thesis_ml.search.space import Parameter


class SearchSection(Protocol):
    """What a sampler's builder reads of section.SearchConfig (which takes its sampler names
    from SAMPLERS, so this module cannot import it)."""

    sampler: str
    seed: int
    space: tuple[Parameter, ...]


def round_seed(seed: int, round_index: int) -> int:
    """A seed of the round, in numpy's range (below 2**32), unrelated to its neighbours'."""
    digest = hashlib.sha256(f"{seed}/{round_index}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def _tpe(search: SearchSection, seed: int) -> optuna.samplers.BaseSampler:
    # A round's trials are asked together: the constant liar counts those already asked (and a
    # repeated point asked again, study._ask) as bad, so that the round spreads over the space
    # instead of asking its favourite point `batch` times.
    return optuna.samplers.TPESampler(seed=seed, constant_liar=True)


def _random(search: SearchSection, seed: int) -> optuna.samplers.BaseSampler:
    return optuna.samplers.RandomSampler(seed=seed)


def _cmaes(search: SearchSection, seed: int) -> optuna.samplers.BaseSampler:
    return optuna.samplers.CmaEsSampler(seed=seed)


def _grid(search: SearchSection, seed: int) -> optuna.samplers.BaseSampler:
    # The grid sampler numbers the grid's points in an order it shuffles with its seed, and
    # records the number in each trial: every round must shuffle alike, with the search's seed.
    grid = {parameter.key: parameter.grid_values() for parameter in search.space}
    return optuna.samplers.GridSampler(grid, seed=search.seed)


# search.sampler -> its builder (the search section, the round's seed): README "Extending".
SAMPLERS: dict[str, Callable[[SearchSection, int], optuna.samplers.BaseSampler]] = {
    "tpe": _tpe,
    "random": _random,
    "grid": _grid,
    "cmaes": _cmaes,
}


def make_sampler(search: SearchSection, round_index: int) -> optuna.samplers.BaseSampler:
    return SAMPLERS[search.sampler](search, round_seed(search.seed, round_index))
