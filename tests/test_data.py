"""Synthetic supervised data, its known optimum, and the tensor loader."""

from __future__ import annotations

import math
import pickle

import pytest
import torch
import torch.nn.functional as F

from thesis_ml.config import ConfigError, compose
from thesis_ml.data.dataset import load_dataset, save_dataset
from thesis_ml.data.loaders import TensorLoader, make_dataloaders
from thesis_ml.data.registry import generate_dataset


def _data(*overrides: str):
    return generate_dataset(compose(["data.n_samples=4000", *overrides]).data)


def test_same_config_gives_the_same_tensors_and_another_seed_does_not():
    first, second, other = _data(), _data(), _data("data.seed=1")
    for name in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        assert torch.equal(getattr(first, name), getattr(second, name))
        assert not torch.equal(getattr(first, name), getattr(other, name))
    assert first.meta == second.meta


@pytest.mark.parametrize("task", ["regression", "binary"])
def test_shapes_split_and_metadata(task):
    data = _data(f"data.task={task}", "data.train_frac=0.75", "data.val_frac=0.1")
    assert data.x_train.shape == (3000, 8) and data.x_val.shape == (400, 8)
    assert data.x_test.shape == (600, 8) and data.y_test.shape == (600, 1)
    assert data.y_train.shape == (3000, 1) and data.y_val.shape == (400, 1)
    assert data.meta["input_dim"] == 8 and data.meta["output_dim"] == 1
    assert data.meta["task"] == task
    assert (data.meta["n_train"], data.meta["n_val"], data.meta["n_test"]) == (3000, 400, 600)
    if task == "binary":
        assert set(data.y_train.unique().tolist()) == {0.0, 1.0}


@pytest.mark.parametrize("split", ["val", "test"])
def test_regression_optimum_is_the_loss_of_the_true_function_on_each_split(split):
    """Recover the noise from two datasets that differ only in its scale: y_a - y_b = (a-b) eps.

    Then f = y_a - a * eps, and the optimum must be exactly mse(f, y_a) on that split.
    """
    a, b = 0.5, 0.25
    noisy, less_noisy = _data(f"data.noise={a}"), _data(f"data.noise={b}")
    assert torch.equal(noisy.inputs(split), less_noisy.inputs(split))
    eps = (noisy.targets(split) - less_noisy.targets(split)) / (a - b)
    truth = noisy.targets(split) - a * eps
    optimum = noisy.meta["optimum"]
    assert (optimum["role"], optimum["kind"]) == ("optimum", "noise_floor")
    expected = F.mse_loss(truth, noisy.targets(split)).item()
    assert optimum[f"{split}_loss"] == pytest.approx(expected, rel=1e-5)
    assert optimum["expected_loss"] == a**2
    # The realised floor is within sampling noise of its expectation (std: a^2 sqrt(2 / n)).
    n = noisy.meta[f"n_{split}"]
    assert abs(optimum[f"{split}_loss"] - a**2) < 4 * a**2 * math.sqrt(2 / n)


def test_binary_optimum_is_the_bayes_classifier_within_sampling_noise():
    data = _data("data.task=binary", "data.n_samples=20000")
    optimum = data.meta["optimum"]
    assert optimum["kind"] == "bayes"
    expected = optimum["expected_accuracy"]
    assert 0.5 < expected < 1
    for split in ("val", "test"):
        binomial_std = math.sqrt(expected * (1 - expected) / data.meta[f"n_{split}"])
        assert abs(optimum[f"{split}_accuracy"] - expected) < 4 * binomial_std
        assert optimum[f"{split}_loss"] == pytest.approx(optimum["expected_loss"], rel=0.05)
        # No constant predictor does better than Bayes on the same labels.
        base_rate = data.targets(split).mean().item()
        assert optimum[f"{split}_accuracy"] > max(base_rate, 1 - base_rate)


def test_lower_noise_gives_an_easier_binary_task():
    sharp, blurred = _data("data.task=binary", "data.noise=0.1"), _data("data.task=binary")
    assert sharp.meta["optimum"]["val_accuracy"] > blurred.meta["optimum"]["val_accuracy"]


def test_unknown_task_names_the_known_ones():
    cfg = dict(compose().data)
    cfg["task"] = "ranking"
    with pytest.raises(ValueError, match="ranking.*binary.*regression"):
        generate_dataset(cfg)


@pytest.mark.parametrize(
    "fractions", [("0.0001", "0.15"), ("0.7", "0.0001"), ("0.8", "0.2"), ("0.9", "0.15")]
)
def test_split_leaving_a_part_empty_names_both_fractions_at_composition(fractions):
    train_frac, val_frac = fractions
    with pytest.raises(ConfigError, match=r"data.train_frac=.* data.val_frac=.*at least one"):
        compose(["data.n_samples=10", f"data.train_frac={train_frac}", f"data.val_frac={val_frac}"])


def test_the_split_depends_on_the_data_config_only():
    """Every run of a sweep sees the same disjoint splits: trainer.seed does not move them."""
    cfg = compose(["data.n_samples=600", "trainer.seed=3"])
    generator = torch.Generator().manual_seed(3)
    loaders, _ = make_dataloaders(cfg, generator)
    other, _ = make_dataloaders(compose(["data.n_samples=600", "trainer.seed=4"]))
    for split in ("train", "val", "test"):
        assert torch.equal(loaders[split].tensors[0], other[split].tensors[0])
    rows = [
        {tuple(row.tolist()) for row in loaders[s].tensors[0]} for s in ("train", "val", "test")
    ]
    assert sum(map(len, rows)) == 600 and not (
        rows[0] & rows[1] or rows[0] & rows[2] or rows[1] & rows[2]
    )


def test_saved_dataset_loads_back_identically(tmp_path):
    data = _data("data.task=binary")
    path = tmp_path / "data.pt"
    save_dataset(data, path)
    loaded = load_dataset(path)
    for split in ("train", "val", "test"):
        assert torch.equal(loaded.inputs(split), data.inputs(split))
        assert torch.equal(loaded.targets(split), data.targets(split))
    assert loaded.meta == data.meta


def test_loading_a_file_that_is_not_a_dataset_names_it(tmp_path):
    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps(print, protocol=2))  # weights_only refuses arbitrary objects
    with pytest.raises(ValueError, match="evil.pt: not a thesis_ml dataset"):
        load_dataset(path)


def test_shuffled_loader_yields_every_sample_once_per_epoch_in_a_new_order():
    x = torch.arange(10.0).unsqueeze(1)
    loader = TensorLoader(x, x * 2, batch_size=4, shuffle=True, generator=torch.Generator())
    assert len(loader) == 3 and loader.num_samples == 10
    epochs = []
    for _ in range(2):
        batches = list(loader)
        assert [len(inputs) for inputs, _ in batches] == [4, 4, 2]
        assert all(torch.equal(targets, inputs * 2) for inputs, targets in batches)
        epochs.append(torch.cat([inputs for inputs, _ in batches]).squeeze(1))
    for order in epochs:
        assert sorted(order.tolist()) == list(range(10))
    assert not torch.equal(epochs[0], epochs[1])


def test_loader_order_follows_its_generator():
    x = torch.arange(50.0)

    def first_batch(seed: int) -> torch.Tensor:
        generator = torch.Generator().manual_seed(seed)
        return next(iter(TensorLoader(x, batch_size=8, shuffle=True, generator=generator)))[0]

    assert torch.equal(first_batch(0), first_batch(0))
    assert not torch.equal(first_batch(0), first_batch(1))


def test_unshuffled_loader_keeps_the_order():
    x = torch.arange(7.0)
    assert torch.equal(torch.cat([b for (b,) in TensorLoader(x, batch_size=3)]), x)


def test_loader_rejects_tensors_of_different_lengths():
    with pytest.raises(ValueError, match="same"):
        TensorLoader(torch.zeros(3), torch.zeros(4), batch_size=2)


def test_make_dataloaders_uses_the_trainer_batch_sizes_and_shuffles_only_training():
    cfg = compose(["data.n_samples=1000", "trainer.batch_size=64", "trainer.eval_batch_size=300"])
    loaders, dataset = make_dataloaders(cfg, torch.Generator().manual_seed(0))
    assert [loaders[s].batch_size for s in ("train", "val", "test")] == [64, 300, 300]
    assert loaders["train"].shuffle and not loaders["val"].shuffle and not loaders["test"].shuffle
    meta = dataset.meta
    assert meta["input_dim"] == cfg.data.n_features and meta["task"] == "regression"
    given = _data()
    loaders, dataset = make_dataloaders(cfg, dataset=given)
    assert loaders["val"].tensors[0] is given.x_val and dataset is given
    assert loaders["test"].tensors[0] is given.x_test
