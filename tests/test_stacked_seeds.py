"""Seeds trained as one stacked model (``thesis_ml.train.stacked_seeds``) are their solo runs to
float tolerance: the same files, statuses and epochs, and weights and metrics within rounding."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.conftest import TINY
from tests.run_helpers import assert_close_run, weights
from thesis_ml.config import ConfigError, compose
from thesis_ml.facts import read_events
from thesis_ml.train import run_loop
from thesis_ml.train.stacked_seeds import train_seeds

SEEDS = (0, 1, 2)


def _configs(root: Path, *overrides: str, seeds=SEEDS) -> list:
    return [
        compose(
            [
                *TINY,
                "trainer.epochs=4",
                *overrides,
                f"trainer.seed={seed}",
                f"run_dir={root}/seed-{seed}",
            ]
        )
        for seed in seeds
    ]


@pytest.mark.parametrize(
    "overrides",
    [
        ("trainer.checkpoint_every=2",),  # regression (the default data), cosine schedule
        ("data.task=binary", "trainer.lr_schedule=constant", "trainer.weight_decay=0.01"),
        ("data=digits", "data.n_samples=1797"),  # multiclass
    ],
    ids=["regression", "binary", "multiclass"],
)
def test_stacked_seeds_are_their_solo_runs_to_float_tolerance(tmp_path, overrides):
    assert_stack_matches_solo_runs(tmp_path, overrides)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_stacked_seeds_on_cuda_are_their_solo_runs_to_float_tolerance(tmp_path):
    assert_stack_matches_solo_runs(tmp_path, ("trainer.device=cuda",))


def assert_stack_matches_solo_runs(tmp_path: Path, overrides: tuple[str, ...]) -> None:
    solo = [run_loop(cfg, live_plots=False) for cfg in _configs(tmp_path / "solo", *overrides)]
    stacked = train_seeds(_configs(tmp_path / "stacked", *overrides), live_plots=False)
    assert [r["status"] for r in stacked] == [r["status"] for r in solo] == ["completed"] * 3
    for mine, theirs in zip(stacked, solo, strict=True):
        assert_close_run(Path(mine["run_dir"]), Path(theirs["run_dir"]))
    for mine, theirs in zip(stacked, solo, strict=True):  # the facts say how it was trained
        starts = [read_events(Path(r["run_dir"]))[0] for r in (mine, theirs)]
        assert starts[0]["stacked_with"] == list(SEEDS) and "stacked_with" not in starts[1]
    # the seeds are trained apart: their weights differ as much as solo runs' do
    a, b = (weights(Path(r["run_dir"])) for r in stacked[:2])
    assert not torch.allclose(a["0.weight"], b["0.weight"])


def test_members_join_at_their_checkpoint_and_leave_when_they_stop(tmp_path):
    """One member resumes from a solo run's pause, the others start fresh; early stopping
    ends them at different epochs: each still matches its run trained alone, straight through."""
    overrides = (
        "trainer.epochs=6",
        "trainer.early_stopping.patience=1",
        "trainer.early_stopping.min_delta=0.02",
    )
    seeds = (0, 1, 2, 3)
    solo = [
        run_loop(c, live_plots=False) for c in _configs(tmp_path / "solo", *overrides, seeds=seeds)
    ]
    ends = {r["epochs"] for r in solo}
    assert len(ends) > 1, f"the seeds must stop at different epochs for this test: {ends}"
    stacked_cfgs = _configs(tmp_path / "stacked", *overrides, seeds=seeds)
    paused = compose(
        [
            *TINY,
            "trainer.epochs=4",
            *overrides,
            "trainer.stop_after_epochs=2",
            "trainer.seed=0",
            f"run_dir={tmp_path}/stacked/seed-0",
        ]
    )
    assert run_loop(paused, live_plots=False)["status"] == "paused"
    stacked = train_seeds(stacked_cfgs, live_plots=False)
    for mine, theirs in zip(stacked, solo, strict=True):
        assert (mine["status"], mine["epochs"]) == (theirs["status"], theirs["epochs"])
        assert_close_run(Path(mine["run_dir"]), Path(theirs["run_dir"]))


@pytest.mark.parametrize(
    ("overrides", "culprit"),
    [
        (("model.dropout=0.1",), "model.dropout: "),
        (("trainer.loop=ae",), "trainer.loop: ae"),
    ],
)
def test_what_a_stack_cannot_train_as_solo_runs_is_refused_by_its_key(tmp_path, overrides, culprit):
    with pytest.raises(ConfigError, match=culprit):
        train_seeds(_configs(tmp_path, *overrides), live_plots=False)
    assert not list(tmp_path.iterdir()), "refused before any run directory is written"


def test_members_that_differ_in_more_than_their_seed_are_refused_by_the_key(tmp_path):
    cfgs = _configs(tmp_path, seeds=(0, 1))
    cfgs[1].trainer.lr = 0.01
    with pytest.raises(ConfigError, match=r"^trainer\.lr: 0\.003 in one member, 0\.01 in another"):
        train_seeds(cfgs, live_plots=False)
    with pytest.raises(ConfigError, match=r"^trainer\.seed: \[1, 1\] has a seed twice"):
        train_seeds(_configs(tmp_path, seeds=(1, 1)), live_plots=False)
