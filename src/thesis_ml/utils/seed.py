"""Seeding for reproducible runs."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator

import numpy as np
import torch


def set_all_seeds(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return a torch generator seeded the same way.

    Loops draw their shuffles from the returned generator rather than the global one, so that
    what happens elsewhere in the process (a notebook cell, another run) cannot shift them.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[torch.Generator]:
    """:func:`set_all_seeds` inside the block; the caller's RNG states are restored after it.

    This is how every training loop seeds: a run in a notebook then leaves the notebook's own
    random streams (Python, NumPy, torch) untouched.
    """
    python_state, numpy_state = random.getstate(), np.random.get_state()
    try:
        with torch.random.fork_rng(devices=[]):
            yield set_all_seeds(seed)
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


@contextlib.contextmanager
def torch_threads(num_threads: int | None) -> Iterator[None]:
    """Use ``num_threads`` intra-op threads inside the block (None: leave as is)."""
    previous = torch.get_num_threads()
    if num_threads:
        torch.set_num_threads(num_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
