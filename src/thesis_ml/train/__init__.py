"""Training loops and the ``trainer.loop`` dispatch table.

A new loop is a module with ``main(cfg, dataset=None, live_plots=True) -> result`` and one
line in :data:`DISPATCH`.
"""

from __future__ import annotations

from collections.abc import Callable

from omegaconf import DictConfig

from thesis_ml.train import ae_loop, train_test
from thesis_ml.utils.registry import select

DISPATCH: dict[str, Callable[..., dict]] = {
    "supervised": train_test.main,
    "ae": ae_loop.main,
    "vqae": ae_loop.main_vq,  # the original README's name: the AE loop, a VQ by default
}


def run_loop(cfg: DictConfig, **options) -> dict:
    """Run the loop ``cfg.trainer.loop`` names.

    ``options`` go to the loop's ``main``: ``dataset`` (skip data generation: the pipeline
    passes the file it generated once) and ``live_plots`` (False: draw no figures during
    training; the pipeline renders them from the facts in a step of its own).
    """
    return select(DISPATCH, "trainer.loop", cfg.trainer.loop)(cfg, **options)
