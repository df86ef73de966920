"""Phase 1 autoencoders: the seed commands, facts, rebuilding, bounds and bad input."""

from __future__ import annotations

import pytest
import torch
import yaml

from thesis_ml.config import ConfigError, compose
from thesis_ml.data.registry import generate_dataset
from thesis_ml.facts import read_events, read_scalars
from thesis_ml.run_directory import load_model
from thesis_ml.train import run_loop
from thesis_ml.train.__main__ import main as train_cli
from thesis_ml.train.ae_loop import train

SEED_COMMAND = (
    "logging=plots_minimal",
    "phase1/encoder=mlp",
    "phase1/decoder=mlp",
    "phase1/trainer=ae",
)
# A run of this size takes well under a second.
SMALL = (
    "data.n_samples=1024",
    "trainer.epochs=2",
    "logging.quiet=true",
    "logging.make_plots=false",
)


def _ae(tmp_path, *overrides: str) -> dict:
    return train(compose(["phase1/trainer=ae", f"run_dir={tmp_path}", *SMALL, *overrides]))


@pytest.mark.parametrize("tokenizer", ["none", "vq"])
def test_seed_command_writes_its_run_directory(run_train, tmp_path, tokenizer):
    done = run_train(
        *SEED_COMMAND,
        f"phase1/tokenizer={tokenizer}",
        "logging.save_artifacts=true",
        "trainer.epochs=2",
    )
    assert done.returncode == 0, done.stderr
    (run_dir,) = (tmp_path / "outputs").iterdir()
    assert {"cfg.yaml", "model.pt", "facts"} <= {p.name for p in run_dir.iterdir()}
    start = read_events(run_dir)[0]
    assert start["tokenizer"] == tokenizer and start["data"]["task"] == "reconstruction"
    bits = 4 * 32 if tokenizer == "none" else 8
    assert start["compression"] == {"bits_per_sample": bits, "input_bits": 512, "ratio": bits / 512}
    expected = {"linear_reference", "lower_bound", "quantizer_reference"}
    assert set(start["yardsticks"]) == (expected if tokenizer == "vq" else {"linear_reference"})
    assert start["reference_kind"] == (
        "quantizer_reference" if tokenizer == "vq" else "linear_reference"
    )
    rows = read_scalars(run_dir, required=["recon_mse", "aux_loss"])
    assert [row["split"] for row in rows] == ["train", "val"] * 2
    assert all(row["recon_mse"] > 0 for row in rows)
    if tokenizer == "vq":
        assert all(row["perplexity"] >= 1 and row["dead_codes"] >= 0 for row in rows)


def test_trainer_loop_alone_fills_the_phase1_defaults(tmp_path):
    cfg = compose(["trainer.loop=ae", f"run_dir={tmp_path}", *SMALL, "data.n_samples=512"])
    result = run_loop(cfg)
    saved = saved_config(tmp_path)
    assert saved["phase1"]["tokenizer"] == {"kind": "none"}
    assert saved["phase1"]["encoder"]["kind"] == "mlp" and saved["data"]["task"] == "regression"
    # an autoencoder on supervised data is judged by PCA of its inputs, not by the task's optimum
    assert list(result["yardsticks"]) == ["linear_reference"]
    assert result["reference_kind"] == "linear_reference"


def test_seed_vqae_loop_name_defaults_to_a_vq(tmp_path):
    run_loop(compose(["trainer.loop=vqae", f"run_dir={tmp_path}", *SMALL]))
    assert saved_config(tmp_path)["phase1"]["tokenizer"]["kind"] == "vq"
    assert read_events(tmp_path)[0]["tokenizer"] == "vq"


def saved_config(run_dir) -> dict:
    return yaml.safe_load((run_dir / "cfg.yaml").read_text())


@pytest.mark.parametrize("tokenizer", ["none", "vq"])
def test_model_is_rebuilt_from_cfg_and_weights_alone(tmp_path, tokenizer):
    shape = "phase1.tokenizer.n_tokens=2" if tokenizer == "vq" else "phase1.encoder.latent_dim=3"
    result = _ae(tmp_path, f"phase1/tokenizer={tokenizer}", shape)
    model = load_model(tmp_path)
    x_val = generate_dataset(saved_config(tmp_path)["data"]).x_val
    with torch.no_grad():
        reconstruction, quantized = model(x_val)
    mse = torch.nn.functional.mse_loss(reconstruction, x_val).item()
    assert mse == pytest.approx(result["final"]["val_recon_mse"], rel=1e-5)
    if tokenizer == "vq":
        counts = torch.bincount(quantized.codes.flatten(), minlength=256)
        assert counts.tolist() == _last_validation(tmp_path)["code_counts"]


def _last_validation(run_dir) -> dict:
    events = read_events(run_dir)
    return [e for e in events if e["event"] == "on_validation_end"][-1]["metrics"]


def test_same_config_gives_the_same_facts(tmp_path):
    runs = [_ae(tmp_path / name, "phase1/tokenizer=vq") for name in ("a", "b")]
    for key in ("train_loss", "val_recon_mse", "val_aux_loss", "val_perplexity"):
        assert runs[0]["history"][key] == runs[1]["history"][key]
    assert _last_validation(tmp_path / "a") == _last_validation(tmp_path / "b")


def _per_sample_error_noise(run_dir, which: str = "selected") -> tuple[float, float]:
    """The test MSE of the run's ``which`` weights and its standard error over test samples."""
    model = load_model(run_dir, which=which)
    x_test = generate_dataset(saved_config(run_dir)["data"]).x_test
    with torch.no_grad():
        errors = (model(x_test)[0] - x_test).square().mean(dim=1)
    return errors.mean().item(), errors.std().item() / len(errors) ** 0.5


@pytest.mark.slow
def test_continuous_ae_reaches_its_linear_reference(tmp_path):
    cfg = compose(
        [
            "phase1/trainer=ae",
            f"run_dir={tmp_path}",
            "logging.quiet=true",
            "logging.make_plots=false",
        ]
    )
    result = train(cfg)
    linear = result["yardsticks"]["linear_reference"]
    assert (linear["role"], linear["kind"]) == ("reference", "pca")
    assert result["reference_kind"] == "linear_reference"
    mse, _ = _per_sample_error_noise(tmp_path)
    assert mse == pytest.approx(result["best"]["test_loss"], rel=1e-5)
    assert mse <= 1.10 * linear["test_loss"]


@pytest.mark.slow
@pytest.mark.parametrize("latent_dim", [2, 8])
def test_no_vq_run_falls_below_its_lower_bound(tmp_path, latent_dim):
    run_dir = tmp_path / "vq"
    result = _ae(
        run_dir,
        "phase1/tokenizer=vq",
        "data.n_samples=4096",
        f"phase1.encoder.latent_dim={latent_dim}",
        "trainer.epochs=8",
    )
    bound = result["yardsticks"]["lower_bound"]
    assert bound["role"] == "bound"
    mse, noise = _per_sample_error_noise(run_dir)
    assert mse >= bound["test_loss"] - 3 * noise, (mse, bound["test_loss"])


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("phase1/tokenizer=foo", "phase1/tokenizer"),
        ("phase1.tokenizer.codebook_size=1", "phase1.tokenizer.codebook_size"),
        ("phase1.tokenizer.codebook_size=16777217", "phase1.tokenizer.codebook_size"),
        ("phase1.tokenizer.beta=-0.1", "phase1.tokenizer.beta"),
        ("phase1.encoder.latent_dim=0", "phase1.encoder.latent_dim"),
        ("phase1.tokenizer.n_tokens=3", "phase1.tokenizer.n_tokens"),
        ("phase1.tokenizer.decay=1.0", "phase1.tokenizer.decay"),
        ("data.n_factors=17", "data.n_factors"),
    ],
)
def test_bad_input_fails_before_training_naming_the_key(
    capsys, monkeypatch, tmp_path, override, key
):
    monkeypatch.chdir(tmp_path)
    args = [*SEED_COMMAND, "logging.save_artifacts=true"]
    if not override.startswith("phase1/tokenizer="):
        args.append("phase1/tokenizer=vq")
    assert train_cli([*args, override]) == 2
    stderr = capsys.readouterr().err
    assert key in stderr and "Traceback" not in stderr
    assert not (tmp_path / "outputs").exists()  # nothing written


def test_bad_latent_size_from_python_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="phase1.tokenizer.n_tokens"):
        _ae(tmp_path, "phase1/tokenizer=vq", "phase1.tokenizer.n_tokens=3")
    assert not (tmp_path / "cfg.yaml").exists()
