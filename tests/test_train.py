"""The supervised loop: notebook use, reproducibility, the run directory and convergence."""

from __future__ import annotations

import datetime as dt
import math
import os
import threading
from pathlib import Path

import pytest
import torch

from tests.run_helpers import weights
from thesis_ml.config import ConfigError, compose
from thesis_ml.data.splits import split_sizes
from thesis_ml.facts import final_event, read_events, read_scalars
from thesis_ml.train import run_loop, runtime, train_test
from thesis_ml.train.fit import fit
from thesis_ml.train.train_test import train


def test_notebook_snippet_runs_and_leaves_the_caller_state_alone(private_tmp):
    """The seed's notebook cell, with the config loaded by ``compose()``."""
    torch.manual_seed(1234)
    rng_before = torch.get_rng_state()
    threads_before = torch.get_num_threads()
    cwd_before = os.getcwd()

    cfg = compose()
    cfg.trainer.epochs = 2
    cfg.logging.save_artifacts = False
    result = train(cfg)

    assert result["status"] == "completed" and result["run_dir"] is None
    assert result["history"]["epoch"] == [1, 2]
    assert set(result["final"]) >= {"epoch", "val_loss", "train_loss"}
    assert os.getcwd() == cwd_before
    assert torch.equal(torch.get_rng_state(), rng_before)
    assert torch.get_num_threads() == threads_before
    assert not list(private_tmp.glob("thesis_ml-*"))  # the ephemeral run directory is gone


def test_thread_setting_applies_inside_the_run_only(tiny_cfg, monkeypatch):
    before = torch.get_num_threads()
    target = 1 if before != 1 else 2
    seen = []

    def recording_fit(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return fit(*args, **kwargs)

    monkeypatch.setattr(train_test, "fit", recording_fit)
    train(tiny_cfg(f"trainer.num_threads={target}"))
    assert seen == [target]
    assert torch.get_num_threads() == before


def test_same_config_and_seed_give_bit_identical_weights_and_metrics(tiny_cfg, tmp_path):
    results = []
    for name, noise in (("a", 7), ("b", 99)):
        torch.manual_seed(noise)  # what the caller did before must not matter
        torch.rand(noise)
        cfg = tiny_cfg("model.dropout=0.2", f"run_dir={tmp_path / name}")
        results.append(train(cfg))
    first, second = (weights(tmp_path / name) for name in ("a", "b"))
    assert first.keys() == second.keys()
    assert all(torch.equal(first[key], second[key]) for key in first)
    assert results[0]["history"] == results[1]["history"]
    assert results[0]["best"] == results[1]["best"]


@pytest.mark.parametrize("override", ["trainer.seed=1", "data.seed=1"])
def test_a_different_seed_gives_different_weights_and_metrics(tiny_cfg, tmp_path, override):
    base = train(tiny_cfg(f"run_dir={tmp_path / 'base'}"))
    other = train(tiny_cfg(override, f"run_dir={tmp_path / 'other'}"))
    assert base["history"]["val_loss"] != other["history"]["val_loss"]
    if override.startswith("trainer"):  # the data seed changes the data, not the initial weights
        first, second = weights(tmp_path / "base"), weights(tmp_path / "other")
        assert not all(torch.equal(first[key], second[key]) for key in first)


def test_runs_started_in_the_same_second_get_distinct_directories(tmp_path, monkeypatch):
    class FrozenClock(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return cls(2024, 1, 2, 3, 4, 5)

    monkeypatch.setattr(runtime.dt, "datetime", FrozenClock)
    made = [runtime.new_timestamped_dir(tmp_path / "outputs") for _ in range(3)]
    assert [path.name for path in made] == [
        "20240102-030405",
        "20240102-030405-1",
        "20240102-030405-2",
    ]

    # Concurrent starts: each mkdir is atomic, so no two threads get the same directory.
    parallel: list[Path] = []
    threads = [
        threading.Thread(
            target=lambda: parallel.append(runtime.new_timestamped_dir(tmp_path / "concurrent"))
        )
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(parallel)) == 8


def test_save_artifacts_false_leaves_no_directory_behind(
    tiny_cfg, tmp_path, private_tmp, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    result = train(tiny_cfg("logging.save_artifacts=false", "logging.make_plots=true"))
    assert result["run_dir"] is None
    assert sorted(path.name for path in tmp_path.iterdir()) == ["tmp"]
    assert not list(private_tmp.glob("thesis_ml-*"))


def test_run_dir_puts_the_run_where_the_caller_wants(tiny_cfg, tmp_path):
    run_dir = tmp_path / "nested" / "run"
    result = train(tiny_cfg(f"run_dir={run_dir}", "data.task=binary"))
    assert result["run_dir"] == str(run_dir)
    assert {"cfg.yaml", "model.pt", "facts"} <= {path.name for path in run_dir.iterdir()}
    end = final_event(read_events(run_dir))
    assert end["status"] == "completed"
    assert end["best"]["val_accuracy"] == result["best"]["val_accuracy"]
    assert end["gap"] == result["gap"]


@pytest.mark.parametrize("schedule", ["cosine", "constant"])
def test_learning_rate_schedule_is_applied_and_recorded_per_epoch(tiny_cfg, tmp_path, schedule):
    train(
        tiny_cfg(
            f"trainer.lr_schedule={schedule}",
            "trainer.epochs=4",
            "trainer.lr=0.01",
            f"run_dir={tmp_path}",
        )
    )
    rates = [row["lr"] for row in read_scalars(tmp_path) if row["split"] == "train"]
    if schedule == "constant":
        assert rates == [0.01] * 4
    else:
        expected = [0.01 * (1 + math.cos(math.pi * epoch / 4)) / 2 for epoch in range(4)]
        assert rates == pytest.approx(expected)


def test_unknown_loop_names_the_valid_loops(tiny_cfg):
    with pytest.raises(ConfigError, match=r'trainer\.loop: got "foo"; allowed: one of supervised'):
        run_loop(tiny_cfg("trainer.loop=foo"))


# Convergence: trained with the defaults, how close does the loop get to the known optimum?
RUNS = {
    "regression": [],
    "binary": ["data.task=binary"],
    "overfit": ["data.n_samples=2048", "model.hidden_sizes=[256,256]", "trainer.epochs=40"],
    "noisy-tanh": ["data.seed=3", "data.noise=1.0", "model.activation=tanh"],
    "binary-sharp": ["data.task=binary", "data.noise=0.25", "model.activation=silu"],
}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """``trained(name)``: the config, result and run directory of ``RUNS[name]``, run once."""
    done: dict[str, tuple] = {}

    def get(name: str) -> tuple:
        if name not in done:
            run_dir = tmp_path_factory.mktemp(name)
            quiet = ["logging.quiet=true", "logging.make_plots=false"]
            cfg = compose([*RUNS[name], *quiet, f"run_dir={run_dir}"])
            done[name] = (cfg, train(cfg), run_dir)
        return done[name]

    return get


@pytest.mark.slow
def test_default_regression_run_reaches_the_noise_floor(trained):
    """The issue's claim is within 10% of the noise floor; the defaults keep a margin (< 5%)."""
    _, result, run_dir = trained("regression")
    assert result["reference_kind"] == "optimum"
    gap = result["gap"]["best"]["optimum"]["test_loss_rel"]  # the headline: selected, on test
    assert gap < 0.05, gap
    end = final_event(read_events(run_dir))
    assert end["gap"]["best"]["optimum"]["test_loss_rel"] == pytest.approx(gap)  # recorded
    optimum = end["yardsticks"]["optimum"]
    assert end["best"]["test_loss"] == pytest.approx(optimum["test_loss"] * (1 + gap))


@pytest.mark.slow
def test_default_binary_run_reaches_the_bayes_accuracy(trained):
    _, result, run_dir = trained("binary")
    points = result["gap"]["best"]["optimum"]["test_accuracy_points"]
    assert points < 2, points
    end = final_event(read_events(run_dir))
    assert end["gap"]["best"]["optimum"]["test_accuracy_points"] == pytest.approx(points)
    bayes = end["yardsticks"]["optimum"]["test_accuracy"]
    assert end["best"]["test_accuracy"] == pytest.approx(bayes - points / 100)


# Beating the optimum. A predictor g that never saw the test noise differs from the true
# function f on the test set by L(g) - L(f) = m - 2c, with m = mean (g - f)^2 >= 0 and a
# cross term c of standard deviation sigma * sqrt(m / n). The worst case over m of m - 2 z sigma
# sqrt(m / n) is -z^2 sigma^2 / n; for the log loss the same holds with sigma^2 ~ 1/2 near the
# decision boundary. Anything lower means the "optimum" is not one. The selected weights were
# chosen on validation, never on test: no slack for a best-of-several pick is needed.
Z = 4.0


@pytest.mark.slow
@pytest.mark.parametrize("name", list(RUNS))
def test_no_run_beats_the_optimum_by_more_than_sampling_noise(trained, name):
    cfg, result, _ = trained(name)
    n_test = split_sizes(cfg.data)[2]
    scale = float(cfg.data.noise) ** 2 if cfg.data.task == "regression" else 0.5
    floor = -(Z**2) * scale / n_test
    excess = result["best"]["test_loss"] - result["yardsticks"]["optimum"]["test_loss"]
    assert excess > floor, (excess, floor)
