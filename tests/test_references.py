"""What an autoencoder run is compared against: a true bound, a linear and a quantizer reference,
each computed independently here and compared with what the runs record."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA

from tests.workflow_helpers import CONFIGFILE, copy_workflow, planned_jobs, snakemake, write_sweep
from thesis_ml.config import compose
from thesis_ml.data.bounds import distortion_rate
from thesis_ml.data.registry import generate_dataset
from thesis_ml.facts import final_event, read_events
from thesis_ml.run_directory import load_model
from thesis_ml.train import run_loop

AE = ("phase1/trainer=ae", "logging.quiet=true")
# The default sweep's training settings (workflow_configs/default.yaml).
SWEEP_TRAINING = ("trainer.epochs=40", "trainer.lr=0.01")


@pytest.fixture(scope="module")
def default_data():
    return generate_dataset(compose(list(AE)).data)


def _kmeans_mse(dataset, levels: int, split: str) -> float:
    """k-means as docs/facts.md states it: k-means++, 4 restarts, random_state = data.seed."""
    train = dataset.x_train.numpy().astype(np.float64)
    kmeans = KMeans(levels, init="k-means++", n_init=4, random_state=0, tol=1e-6).fit(train)
    points = dataset.inputs(split).numpy().astype(np.float64)
    centroids = kmeans.cluster_centers_[kmeans.predict(points)]
    return float(np.mean((points - centroids) ** 2))


def _vq(*overrides: str, dataset=None) -> dict:
    cfg = compose([*AE, "phase1/tokenizer=vq", *overrides])
    return run_loop(cfg, dataset=dataset)


def test_quantizer_reference_equals_a_kmeans_fit_made_here(default_data):
    result = _vq("trainer.epochs=1", "phase1.tokenizer.codebook_size=16", dataset=default_data)
    reference = result["yardsticks"]["quantizer_reference"]
    assert (reference["role"], reference["kind"], reference["levels"]) == (
        "reference",
        "kmeans",
        16,
    )
    for split in ("val", "test"):
        assert reference[f"{split}_loss"] == pytest.approx(
            _kmeans_mse(default_data, 16, split), abs=1e-6
        )
    assert result["reference_kind"] == "quantizer_reference"


def test_linear_reference_is_pca_of_the_training_split_measured_on_test(default_data):
    result = run_loop(
        compose([*AE, "trainer.epochs=1", "phase1.encoder.latent_dim=3"]), dataset=default_data
    )
    pca = PCA(3).fit(default_data.x_train.numpy().astype(np.float64))
    test = default_data.x_test.numpy().astype(np.float64)
    expected = float(np.mean((test - pca.inverse_transform(pca.transform(test))) ** 2))
    linear = result["yardsticks"]["linear_reference"]
    assert (linear["role"], linear["kind"], linear["latent_dim"]) == ("reference", "pca", 3)
    assert linear["test_loss"] == pytest.approx(expected, abs=1e-6)
    # a continuous latent states no bound, and says why; it is judged by the linear reference
    assert "lower_bound" not in result["yardsticks"]
    assert "continuous" in result["omitted_yardsticks"]["lower_bound"]
    assert result["reference_kind"] == "linear_reference"
    gap = result["gap"]["best"]["linear_reference"]["test_loss_rel"]
    assert gap == pytest.approx(result["best"]["test_loss"] / expected - 1, rel=1e-6)


def test_a_quantizer_of_more_levels_than_the_data_supports_is_omitted_with_why(default_data):
    result = _vq(
        "trainer.epochs=1",
        "phase1.tokenizer.codebook_size=256",
        "phase1.tokenizer.n_tokens=2",
        dataset=default_data,
    )
    assert "quantizer_reference" not in result["yardsticks"]
    reason = result["omitted_yardsticks"]["quantizer_reference"]
    assert "65536 levels" in reason and str(default_data.meta["n_train"]) in reason
    assert result["reference_kind"] == "linear_reference"
    assert result["yardsticks"]["lower_bound"]["bits_per_sample"] == 16


@pytest.mark.slow
@pytest.mark.parametrize("latent_dim", [2, 4])
@pytest.mark.parametrize("codebook_size", [16, 256])
def test_vq_runs_respect_their_lower_bound_which_is_below_kmeans(
    default_data, tmp_path, latent_dim, codebook_size
):
    run_dir = tmp_path / "run"
    result = _vq(
        *SWEEP_TRAINING,
        f"phase1.encoder.latent_dim={latent_dim}",
        f"phase1.tokenizer.codebook_size={codebook_size}",
        f"run_dir={run_dir}",
        dataset=default_data,
    )
    bound = result["yardsticks"]["lower_bound"]
    rate = math.log2(codebook_size)
    eigenvalues = default_data.meta["eigenvalues"]
    assert (bound["role"], bound["bits_per_sample"]) == ("bound", rate)
    assert bound["test_loss"] == pytest.approx(distortion_rate(eigenvalues, rate)[0])
    assert bound["test_loss"] < _kmeans_mse(default_data, codebook_size, "test")
    # The selected weights' per-sample errors on test: their mean is the headline number, and
    # it is not below the bound by more than sampling noise.
    model = load_model(run_dir, which="selected")
    with torch.inference_mode():
        errors = ((model(default_data.x_test)[0] - default_data.x_test) ** 2).mean(dim=1)
    assert errors.mean().item() == pytest.approx(result["best"]["test_loss"], rel=1e-5)
    noise = 4 * errors.std().item() / math.sqrt(len(errors))
    assert errors.mean().item() > bound["test_loss"] - noise


@pytest.mark.slow
def test_the_pipeline_fits_one_quantizer_per_dataset_and_level_count(tmp_path):
    workdir = copy_workflow(tmp_path / "workflow")
    sweep = {
        "sweep": "refs",
        "overrides": [
            "phase1/trainer=ae",
            "trainer.epochs=2",
            "data.n_samples=1024",
            "logging=plots_minimal",
        ],
        "grid": {"phase1/tokenizer": ["none", "vq"]},
        "conditional": [
            {"when": {"phase1/tokenizer": "vq"}, "grid": {"phase1.tokenizer.codebook_size": [16]}}
        ],
        "seeds": [0, 1],
    }
    write_sweep(workdir, sweep)
    jobs = planned_jobs(workdir, *CONFIGFILE)
    assert (jobs["train"], jobs["quantizer_reference"]) == (4, 1)
    snakemake(workdir, "--cores", "2", *CONFIGFILE)
    (stored,) = (workdir / "results" / "data").glob("*/quantizer-16.json")
    reference = json.loads(stored.read_text())
    runs = sorted((workdir / "results" / "refs" / "runs").iterdir())
    vq_runs = [run for run in runs if "vq" in run.name]
    assert len(vq_runs) == 2
    for run_dir in vq_runs:
        end = final_event(read_events(run_dir))
        assert end["yardsticks"]["quantizer_reference"] == reference
        provenance = start_record(run_dir)["provenance"]
        assert_provenance(provenance)
        assert provenance["command"][0].endswith("pipeline/__main__.py")
        assert provenance["command"][1] == "train"


def start_record(run_dir) -> dict:
    return next(e for e in read_events(run_dir) if e["event"] == "on_train_start")


def assert_provenance(provenance: dict) -> None:
    """Every key docs/facts.md lists, consistent with this process's packages."""
    import platform

    import thesis_ml.provenance

    assert provenance["python"] == platform.python_version()
    assert provenance["torch"] == torch.__version__ and provenance["numpy"] == np.__version__
    assert provenance["thesis_ml"] == thesis_ml.provenance._package_version()
    assert provenance["host"] and provenance["device"] == "cpu" and provenance["threads"] >= 1
    assert provenance["started_at"].endswith("+00:00")
    if provenance["git"] == "checkout":
        assert len(provenance["git_commit"]) == 40 and isinstance(provenance["git_dirty"], bool)
    else:
        assert provenance["git_commit"] is None and provenance["git_dirty"] is None
        assert provenance["git"]
