"""Each round's Optuna sampler, made afresh so that a round's proposals depend on nothing but
the search section, the round's index and the trials told before it.

A sampler keeps its random state in memory and advances it with every proposal, so a sampler
that lived across rounds would propose differently after a restart. Each round gets one seeded
from (seed, round): a rerun of the round, in any process, draws the same numbers.
"""

from __future__ import annotations

import hashlib

import optuna

from thesis_ml.search.section import SearchConfig


def round_seed(seed: int, round_index: int) -> int:
    """A seed of the round, in numpy's range (below 2**32), unrelated to its neighbours'."""
    digest = hashlib.sha256(f"{seed}/{round_index}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def make_sampler(search: SearchConfig, round_index: int) -> optuna.samplers.BaseSampler:
    seed = round_seed(search.seed, round_index)
    if search.sampler == "tpe":
        # A round's trials are asked together: the constant liar counts those already asked
        # (and a repeated point asked again, study._ask) as bad, so that the round spreads over
        # the space instead of asking its favourite point `batch` times.
        return optuna.samplers.TPESampler(seed=seed, constant_liar=True)
    if search.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if search.sampler == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed)
    # The grid sampler numbers the grid's points in an order it shuffles with its seed, and
    # records the number in each trial: every round must shuffle alike, with the search's seed.
    grid = {parameter.key: parameter.grid_values() for parameter in search.space}
    return optuna.samplers.GridSampler(grid, seed=search.seed)
