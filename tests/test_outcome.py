"""How a run ends and what it reports: early stopping, selected weights measured on test, and
the provenance every run records."""

from __future__ import annotations

import subprocess

import pytest
import torch

from tests.test_references import assert_provenance, start_record
from thesis_ml.config import compose
from thesis_ml.data.registry import generate_dataset
from thesis_ml.facts import final_event, read_events, read_scalars
from thesis_ml.provenance import PACKAGE_DIR, git_state
from thesis_ml.run_directory import load_model
from thesis_ml.train import run_loop
from thesis_ml.train.fit import fit
from thesis_ml.train.runtime import open_run

# A crafted validation curve: with patience 2 and min_delta 0.01 the last improvement that
# counts is epoch 3 (0.85 < 0.9 - 0.01), epochs 4 and 5 do not count (0.849 and 0.86 are not
# below 0.84), so the run stops after epoch 5 = 3 + patience; epoch 4 is still the lowest loss,
# hence the selected epoch.
CURVE = [1.0, 0.9, 0.85, 0.849, 0.86, 0.848, 0.5, 0.4, 0.3, 0.2]
STOPPING = ("trainer.early_stopping.patience=2", "trainer.early_stopping.min_delta=0.01")


def _fit_on_curve(tmp_path, *overrides: str, curve=CURVE) -> tuple[dict, torch.nn.Module]:
    """fit() with a model whose weight is set to the epoch number by each training pass, and a
    validation loss read from CURVE; the test loss is the weight the evaluation saw."""
    cfg = compose(
        [
            "trainer.epochs=10",
            "trainer.divergence_factor=null",
            "logging.quiet=true",
            "logging=plots_minimal",
            f"run_dir={tmp_path}",
            *overrides,
        ]
    )
    model = torch.nn.Linear(1, 1, bias=False)
    epochs = iter(range(1, len(curve) + 1))
    losses = iter(curve)

    def train_epoch() -> dict:
        with torch.no_grad():
            model.weight.fill_(next(epochs))
        return {"loss": 1.0}

    def evaluate(split: str) -> dict:
        if split == "val":
            return {"loss": next(losses)}
        return {"loss": float(model.weight.detach())}

    yardsticks = {"optimum": {"role": "optimum", "kind": "noise_floor", "val_loss": 0.1}}
    comparison = {"yardsticks": yardsticks, "reference_kind": "optimum", "omitted_yardsticks": {}}
    with open_run(cfg, live_plots=False) as run:
        result = fit(run, model, train_epoch, evaluate, n_train=1, comparison=comparison, lr=0.1)
    return result, model


def test_a_validation_loss_that_is_no_number_ends_the_run_as_diverged(tmp_path):
    # a finite training loss beside it: the weights overflow on data they did not train on
    result, _ = _fit_on_curve(tmp_path, curve=[1.0, 0.9, float("nan"), 0.5, 0.4])
    assert (result["status"], result["epochs"]) == ("diverged", 3)
    assert result["reason"] == "validation loss is nan (training loss 1)"
    assert result["best"]["epoch"] == 2 and result["best"]["val_loss"] == 0.9
    assert float(load_model_weight(tmp_path, "selected")) == 2.0


def test_early_stopping_stops_at_the_documented_epoch_and_keeps_the_selected_weights(tmp_path):
    result, _ = _fit_on_curve(tmp_path, *STOPPING)
    assert (result["status"], result["epochs"]) == ("stopped_early", 5)
    assert "patience=2" in result["reason"] and "epoch 3" in result["reason"]
    assert result["best"]["epoch"] == 4 and result["best"]["val_loss"] == 0.849
    # test numbers: the selected weights (epoch 4) and the final ones (epoch 5), measured on test
    assert (result["best"]["test_loss"], result["final"]["test_loss"]) == (4.0, 5.0)
    assert float(load_model_weight(tmp_path, "selected")) == 4.0
    assert float(load_model_weight(tmp_path, "final")) == 5.0
    end = final_event(read_events(tmp_path))
    assert (end["status"], end["reason"]) == ("stopped_early", result["reason"])
    assert [row["epoch"] for row in read_scalars(tmp_path) if row["split"] == "val"] == [
        1,
        2,
        3,
        4,
        5,
    ]


def test_without_early_stopping_the_same_curve_trains_every_epoch(tmp_path):
    result, model = _fit_on_curve(tmp_path)
    assert (result["status"], result["epochs"]) == ("completed", 10)
    assert result["best"]["epoch"] == 10 and "reason" not in result
    assert float(model.weight.detach()) == 10.0  # fit leaves the selected weights in the model


def test_gap_is_measured_per_split_against_each_yardstick(tmp_path):
    result, _ = _fit_on_curve(tmp_path, *STOPPING)
    gap = result["gap"]["best"]["optimum"]
    assert gap == {"val_loss_rel": pytest.approx(0.849 / 0.1 - 1)}  # the yardstick has no test


def load_model_weight(run_dir, which: str) -> torch.Tensor:
    from thesis_ml.run_directory import WEIGHT_FILES

    return torch.load(run_dir / WEIGHT_FILES[which], weights_only=True)["weight"]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run") / "run"
    cfg = compose(
        [
            "data.n_samples=2000",
            "trainer.epochs=4",
            "logging=plots_minimal",
            "logging.quiet=true",
            f"run_dir={run_dir}",
        ]
    )
    return run_dir, run_loop(cfg), generate_dataset(cfg.data)


@pytest.mark.parametrize(("which", "record"), [("selected", "best"), ("final", "final")])
def test_headline_numbers_are_the_saved_weights_measured_on_test(trained_run, which, record):
    run_dir, result, dataset = trained_run
    model = load_model(run_dir, which=which)
    with torch.inference_mode():
        for split in ("val", "test"):
            loss = torch.nn.functional.mse_loss(
                model(dataset.inputs(split)), dataset.targets(split)
            )
            assert result[record][f"{split}_loss"] == pytest.approx(loss.item(), rel=1e-5)
    assert result[record]["test_loss"] != result[record]["val_loss"]
    assert result["weights"][which] in {p.name for p in run_dir.iterdir()}


def test_every_run_records_its_provenance_and_a_checkout_its_commit(trained_run):
    run_dir, _, _ = trained_run
    provenance = start_record(run_dir)["provenance"]
    assert_provenance(provenance)
    here = git_state(PACKAGE_DIR)
    assert provenance["git_commit"] == here["git_commit"] and provenance["git"] == here["git"]


def test_a_cli_run_records_its_command_line(run_train, tmp_path):
    run_dir = tmp_path / "cli-run"
    args = ["trainer.epochs=1", "data.n_samples=400", "logging=plots_minimal", f"run_dir={run_dir}"]
    completed = run_train(*args)
    assert completed.returncode == 0, completed.stderr
    provenance = start_record(run_dir)["provenance"]
    assert_provenance(provenance)
    assert provenance["command"][0].endswith("thesis_ml/train/__main__.py")
    assert provenance["command"][1:] == args


def test_outside_a_git_checkout_provenance_says_so(tmp_path):
    state = git_state(tmp_path)
    assert state["git_commit"] is None and state["git_dirty"] is None
    assert state["git"].startswith(f"not a git checkout: {tmp_path}")


def test_without_git_provenance_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no git executable there
    assert git_state(PACKAGE_DIR) == {
        "git_commit": None,
        "git_dirty": None,
        "git": "git is not installed",
    }


def test_a_dirty_checkout_is_flagged(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "f.txt").write_text("a")
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "add", "f.txt"], check=True)
    subprocess.run([*git, "commit", "-qm", "first"], check=True)
    assert git_state(tmp_path)["git_dirty"] is False
    (tmp_path / "f.txt").write_text("b")
    state = git_state(tmp_path)
    assert state["git_dirty"] is True and len(state["git_commit"]) == 40
