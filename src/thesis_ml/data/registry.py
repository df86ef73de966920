"""The datasets ``data.kind`` selects.

A new dataset is a module with ``generate(data_cfg) -> Dataset``, one line in :data:`DATASETS`,
its config ``configs/data/<kind>.yaml`` and its schema branch in ``schemas/data.yaml`` (README
"Extending").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from thesis_ml.data import reconstruction, synthetic
from thesis_ml.data.dataset import Dataset
from thesis_ml.data.references import linear_references
from thesis_ml.utils.registry import select

DATASETS: dict[str, Callable[[Mapping], Dataset]] = {
    "synthetic": synthetic.generate,
    "reconstruction": reconstruction.generate,
}


def generate_dataset(data_cfg: Mapping) -> Dataset:
    """Draw the dataset that ``cfg.data`` describes; the same config gives the same tensors.

    Reconstruction data carries the linear reference of every latent size (cheap, and needed by
    every autoencoder run on it), so they are computed once, with the dataset.
    """
    dataset = select(DATASETS, "data.kind", data_cfg["kind"])(data_cfg)
    if dataset.meta["task"] == "reconstruction":
        dataset.meta["linear_references"] = linear_references(dataset.input_splits())
    return dataset
