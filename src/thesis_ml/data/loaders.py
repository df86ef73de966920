"""Batches from in-memory tensors, with the interface of a ``torch.utils.data.DataLoader``.

At the model sizes this project trains, per-batch Python overhead dominates: a DataLoader over a
TensorDataset collates every sample separately and runs at about 0.6x of plain tensor slicing.
This loader gathers the whole epoch in one ``index_select`` and then yields contiguous slices.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping

import torch

from thesis_ml.data.dataset import Dataset
from thesis_ml.data.registry import generate_dataset


class TensorLoader:
    """Iterate over ``tensors`` (same first dimension) in batches, optionally shuffled."""

    def __init__(
        self,
        *tensors: torch.Tensor,
        batch_size: int,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
    ) -> None:
        if not tensors or any(len(t) != len(tensors[0]) for t in tensors):
            raise ValueError("TensorLoader needs tensors with the same, non-empty first dimension")
        self.tensors = tensors
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator

    @property
    def num_samples(self) -> int:
        return len(self.tensors[0])

    def __len__(self) -> int:
        return math.ceil(self.num_samples / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        tensors = self.tensors
        if self.shuffle:
            order = torch.randperm(self.num_samples, generator=self.generator)
            order = order.to(tensors[0].device)
            tensors = tuple(t.index_select(0, order) for t in tensors)
        for start in range(0, self.num_samples, self.batch_size):
            yield tuple(t[start : start + self.batch_size] for t in tensors)

    def to(self, device: torch.device | str) -> TensorLoader:
        """Move the data to ``device`` once, so that no batch is copied during training."""
        self.tensors = tuple(t.to(device) for t in self.tensors)
        return self


def make_dataloaders(
    cfg: Mapping,
    generator: torch.Generator | None = None,
    dataset: Dataset | None = None,
) -> tuple[dict[str, TensorLoader], Dataset]:
    """Loaders of the train (shuffled by ``generator``), val and test splits of ``cfg.data``,
    by split name, and the dataset.

    ``dataset`` skips generation (the pipeline passes the file it generated once).
    """
    dataset = dataset if dataset is not None else generate_dataset(cfg["data"])
    trainer = cfg["trainer"]
    loaders = {
        "train": TensorLoader(
            dataset.x_train,
            dataset.y_train,
            batch_size=int(trainer["batch_size"]),
            shuffle=True,
            generator=generator,
        )
    }
    for split in ("val", "test"):
        loaders[split] = TensorLoader(
            dataset.inputs(split),
            dataset.targets(split),
            batch_size=int(trainer["eval_batch_size"]),
        )
    return loaders, dataset
