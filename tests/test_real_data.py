"""Real data: scikit-learn's bundled datasets and the user's own files, split, scaled and
compared against references (no optimum is known for them)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from thesis_ml.config import compose
from thesis_ml.data.registry import generate_dataset
from thesis_ml.train import run_loop

QUIET = ("logging.quiet=true",)


@pytest.mark.parametrize(
    ("data", "task", "kind"),
    [
        ("digits", "multiclass", "logistic_regression"),
        ("diabetes", "regression", "ridge"),
        ("breast_cancer", "binary", "logistic_regression"),
    ],
)
def test_each_bundled_dataset_trains_and_records_its_reference(data, task, kind):
    result = run_loop(compose([f"data={data}", "trainer.epochs=3", *QUIET]))
    assert result["status"] == "completed" and result["reference_kind"] == "linear_reference"
    reference = result["yardsticks"]["linear_reference"]
    assert (reference["role"], reference["kind"]) == ("reference", kind)
    assert "no optimum" in result["omitted_yardsticks"]["optimum"]
    assert (
        result["best"]["test_loss"] > 0
        and "test_loss_rel" in result["gap"]["best"]["linear_reference"]
    )
    if task != "regression":
        assert 0.5 < reference["test_accuracy"] <= 1 and "test_accuracy" in result["best"]


@pytest.mark.slow
def test_an_mlp_on_digits_beats_95_percent_beside_its_logistic_baseline():
    """Within the epochs of workflow_configs/digits_classify.yaml."""
    result = run_loop(compose(["data=digits", "trainer.epochs=30", *QUIET]))
    assert result["best"]["test_accuracy"] > 0.95, result["best"]
    baseline = result["yardsticks"]["linear_reference"]
    assert baseline["kind"] == "logistic_regression" and baseline["test_accuracy"] > 0.9
    points = result["gap"]["best"]["linear_reference"]["test_accuracy_points"]
    assert points == pytest.approx(
        100 * (baseline["test_accuracy"] - result["best"]["test_accuracy"])
    )


def test_digits_autoencoders_get_pca_and_kmeans_references_and_no_bound():
    result = run_loop(
        compose(
            [
                "phase1/trainer=ae",
                "data=digits",
                "data.task=reconstruction",
                "phase1/tokenizer=vq",
                "phase1.tokenizer.codebook_size=16",
                "trainer.epochs=2",
                *QUIET,
            ]
        )
    )
    assert set(result["yardsticks"]) == {"linear_reference", "quantizer_reference"}
    assert "not known" in result["omitted_yardsticks"]["lower_bound"]


def _labels(dataset, split: str) -> np.ndarray:
    return dataset.targets(split).numpy().ravel()


def test_classification_splits_are_stratified_disjoint_and_a_function_of_the_data_seed():
    dataset = generate_dataset(compose(["data=digits"]).data)
    shares = {
        split: np.bincount(_labels(dataset, split), minlength=10) / len(_labels(dataset, split))
        for split in ("train", "val", "test")
    }
    assert np.abs(shares["train"] - shares["test"]).max() < 0.02
    assert np.abs(shares["train"] - shares["val"]).max() < 0.02
    sizes = [dataset.meta[f"n_{split}"] for split in ("train", "val", "test")]
    assert sizes == [1258, 270, 269] and dataset.meta["class_names"] == [str(d) for d in range(10)]
    again = generate_dataset(compose(["data=digits", "trainer.seed=5"]).data)
    other = generate_dataset(compose(["data=digits", "data.seed=1"]).data)
    assert torch.equal(again.x_test, dataset.x_test)
    assert not torch.equal(other.x_test, dataset.x_test)


def test_standardizing_uses_the_training_split_only():
    dataset = generate_dataset(compose(["data=diabetes"]).data)
    train = dataset.x_train.double()
    assert train.mean(dim=0).abs().max() < 1e-6
    assert (train.std(dim=0, unbiased=False) - 1).abs().max() < 1e-5
    assert dataset.x_test.double().mean(dim=0).abs().max() > 1e-3  # test is scaled, not fitted
    assert dataset.y_train.double().mean().abs() < 1e-6  # the regression target too
    raw = generate_dataset(compose(["data=diabetes", "data.scaling=none"]).data)
    assert raw.y_train.max() > 100  # disease progression scores as they are


@pytest.mark.slow
def test_the_digits_sweep_runs_to_a_report_that_shows_its_references(tmp_path):
    import csv

    import yaml

    from tests.workflow_helpers import REPO, copy_workflow, snakemake, write_sweep

    sweep = yaml.safe_load((REPO / "workflow_configs" / "digits.yaml").read_text())
    sweep["overrides"] = [o for o in sweep["overrides"] if not o.startswith("trainer.epochs=")]
    sweep["overrides"].append("trainer.epochs=3")  # the sweep as written, shorter
    workdir = copy_workflow(tmp_path / "workflow")
    path = write_sweep(workdir, sweep)
    snakemake(workdir, "--cores", "2", "--configfile", str(path.relative_to(workdir)))
    report = workdir / "results" / "digits" / "report"
    with (report / "summary.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 12 and all(row["linear_reference"] for row in rows)
    vq = [row for row in rows if row["tokenizer"] == "vq"]
    assert len(vq) == 8 and all(row["reference_kind"] == "quantizer_reference" for row in vq)
    assert all(row["quantizer_reference"] and not row["lower_bound"] for row in vq)
    assert (report / "figures" / "pareto_error_vs_compression.png").is_file()
    run = (
        workdir
        / "results"
        / "digits"
        / "runs"
        / "tokenizer-vq__latent_dim-4__codebook_size-16__seed-0"
    )
    assert (run / "figures" / "recon-train_end-3.png").is_file()  # drawn as 8x8 images


@pytest.mark.slow
def test_the_digits_classification_sweep_runs_to_a_report_with_accuracies(tmp_path):
    import csv

    import yaml

    from tests.workflow_helpers import REPO, copy_workflow, snakemake, write_sweep

    sweep = yaml.safe_load((REPO / "workflow_configs" / "digits_classify.yaml").read_text())
    sweep["overrides"] = [o for o in sweep["overrides"] if not o.startswith("trainer.epochs=")]
    sweep["overrides"].append("trainer.epochs=2")  # the sweep as written, shorter
    sweep["seeds"] = [0]
    workdir = copy_workflow(tmp_path / "workflow")
    path = write_sweep(workdir, sweep)
    snakemake(workdir, "--cores", "2", "--configfile", str(path.relative_to(workdir)))
    with (workdir / "results/digits_classify/report/summary.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4 and all(0 <= float(row["best_test_accuracy"]) <= 1 for row in rows)
    assert all(row["reference_kind"] == "linear_reference" for row in rows)
