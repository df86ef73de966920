"""Synthetic supervised data, its known optimum, and the tensor loader."""

from __future__ import annotations

import math
import pickle

import pytest
import torch
import torch.nn.functional as F

from thesis_ml.config import compose
from thesis_ml.data.dataset import load_dataset, save_dataset
from thesis_ml.data.loaders import TensorLoader, make_dataloaders
from thesis_ml.data.registry import generate_dataset


def _data(*overrides: str):
    return generate_dataset(compose(["data.n_samples=4000", *overrides]).data)


def test_same_config_gives_the_same_tensors_and_another_seed_does_not():
    first, second, other = _data(), _data(), _data("data.seed=1")
    for name in ("x_train", "y_train", "x_val", "y_val"):
        assert torch.equal(getattr(first, name), getattr(second, name))
        assert not torch.equal(getattr(first, name), getattr(other, name))
    assert first.meta == second.meta


@pytest.mark.parametrize("task", ["regression", "binary"])
def test_shapes_split_and_metadata(task):
    data = _data(f"data.task={task}", "data.train_frac=0.75", "data.n_features=5")
    assert data.x_train.shape == (3000, 5) and data.x_val.shape == (1000, 5)
    assert data.y_train.shape == (3000, 1) and data.y_val.shape == (1000, 1)
    assert data.meta["input_dim"] == 5 and data.meta["output_dim"] == 1
    assert data.meta["task"] == task
    assert (data.meta["n_train"], data.meta["n_val"]) == (3000, 1000)
    if task == "binary":
        assert set(data.y_train.unique().tolist()) == {0.0, 1.0}


def test_regression_optimum_is_the_loss_of_the_true_function_on_this_validation_set():
    """Recover the noise from two datasets that differ only in its scale: y_a - y_b = (a-b) eps.

    Then f = y_a - a * eps, and the optimum must be exactly mse(f, y_a) on the validation part.
    """
    a, b = 0.5, 0.25
    noisy, less_noisy = _data(f"data.noise={a}"), _data(f"data.noise={b}")
    assert torch.equal(noisy.x_val, less_noisy.x_val)
    eps = (noisy.y_val - less_noisy.y_val) / (a - b)
    truth = noisy.y_val - a * eps
    optimum = noisy.meta["optimum"]
    assert optimum["kind"] == "noise_floor"
    assert optimum["val_loss"] == pytest.approx(F.mse_loss(truth, noisy.y_val).item(), rel=1e-5)
    assert optimum["expected_val_loss"] == a**2
    # The realised floor is within sampling noise of its expectation (std: a^2 sqrt(2 / n)).
    n_val = noisy.meta["n_val"]
    assert abs(optimum["val_loss"] - a**2) < 4 * a**2 * math.sqrt(2 / n_val)


def test_binary_optimum_is_the_bayes_classifier_within_sampling_noise():
    data = _data("data.task=binary", "data.n_samples=20000")
    optimum = data.meta["optimum"]
    assert optimum["kind"] == "bayes"
    n_val = data.meta["n_val"]
    expected = optimum["expected_val_accuracy"]
    assert 0.5 < expected < 1
    binomial_std = math.sqrt(expected * (1 - expected) / n_val)
    assert abs(optimum["val_accuracy"] - expected) < 4 * binomial_std
    assert optimum["val_loss"] == pytest.approx(optimum["expected_val_loss"], rel=0.05)
    # No constant predictor does better than Bayes on the same labels.
    base_rate = data.y_val.mean().item()
    assert optimum["val_accuracy"] > max(base_rate, 1 - base_rate)


def test_lower_noise_gives_an_easier_binary_task():
    sharp, blurred = _data("data.task=binary", "data.noise=0.1"), _data("data.task=binary")
    assert sharp.meta["optimum"]["val_accuracy"] > blurred.meta["optimum"]["val_accuracy"]


def test_unknown_task_names_the_known_ones():
    cfg = dict(compose().data)
    cfg["task"] = "ranking"
    with pytest.raises(ValueError, match="ranking.*binary.*regression"):
        generate_dataset(cfg)


@pytest.mark.parametrize("train_frac", [0.0001, 0.9999])
def test_split_leaving_a_side_empty_is_an_error(train_frac):
    with pytest.raises(ValueError, match="train_frac"):
        _data("data.n_samples=10", f"data.train_frac={train_frac}")


def test_saved_dataset_loads_back_identically(tmp_path):
    data = _data("data.task=binary")
    path = tmp_path / "data.pt"
    save_dataset(data, path)
    loaded = load_dataset(path)
    assert torch.equal(loaded.x_train, data.x_train) and torch.equal(loaded.y_val, data.y_val)
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
    train_loader, val_loader, meta = make_dataloaders(cfg, torch.Generator().manual_seed(0))
    assert (train_loader.batch_size, val_loader.batch_size) == (64, 300)
    assert train_loader.shuffle and not val_loader.shuffle
    assert meta["input_dim"] == cfg.data.n_features and meta["task"] == "regression"
    given = _data()
    _, val_loader, meta = make_dataloaders(cfg, dataset=given)
    assert val_loader.tensors[0] is given.x_val and meta is given.meta
