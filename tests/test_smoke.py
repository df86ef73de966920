"""The seed's quick sanity test: the package imports, data is generated, a model runs forward,
and one training step changes the weights."""

from __future__ import annotations

import torch

import thesis_ml
from thesis_ml.config import compose
from thesis_ml.data.loaders import make_dataloaders
from thesis_ml.models.mlp import build_mlp


def test_import_data_forward_and_one_step():
    assert thesis_ml.__version__
    cfg = compose(["data.n_samples=64", "trainer.batch_size=16"])
    loaders, dataset = make_dataloaders(cfg, torch.Generator().manual_seed(0))
    model = build_mlp(cfg.model, dataset.meta["input_dim"], dataset.meta["output_dim"])
    inputs, targets = next(iter(loaders["train"]))
    outputs = model(inputs)
    assert outputs.shape == targets.shape == (16, 1)
    before = [p.detach().clone() for p in model.parameters()]
    loss = torch.nn.functional.mse_loss(outputs, targets)
    loss.backward()
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
