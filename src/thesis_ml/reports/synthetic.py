"""Synthetic run directories for testing and benchmarking reports without training.

:func:`write_fake_run` writes ``cfg.yaml`` and facts through :class:`~thesis_ml.facts.FactsWriter`
in the format of docs/facts.md, shaped like an autoencoder run's (continuous or VQ) or a
supervised one's: a validation loss that decays towards a floor just above the run's reference
yardstick, test losses a little above the validation ones (so that a reader taking one for the
other is caught), timings, compression, VQ metrics, yardsticks chosen by the rules of
:mod:`thesis_ml.data.references` and a fake but well-formed provenance.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from pathlib import Path

from thesis_ml import run_directory
from thesis_ml.data.bounds import distortion_rate, pca_bound
from thesis_ml.facts import FactsWriter

EIGENVALUES = [4.0, 2.0, 1.0, 0.5, 0.05, 0.05, 0.05, 0.05]  # x = A z + noise, latent rank 4
SPLIT_SIZES = {"n_train": 2048, "n_val": 512, "n_test": 512}
MAX_LEVELS = SPLIT_SIZES["n_train"] // 8  # more k-means levels memorise the training split
# Test loss / validation loss of the runs and of the yardsticks: different, so that a gap on
# one split is not the gap on the other.
TEST_EXCESS = {"run": 1.03, "yardstick": 1.01}
PATIENCE = 2  # epochs without improvement after which a stopped_early run ends
PROVENANCE = {
    "git_commit": "0123456789abcdef0123456789abcdef01234567",
    "git_dirty": False,
    "git": "checkout",
    "python": "3.12.0",
    "torch": "2.4.0+cpu",
    "numpy": "2.0.0",
    "thesis_ml": "0.0.0+fake",
    "host": "fake-host",
    "device": "cpu",
    "threads": 1,
    "started_at": "2024-01-01T00:00:00+00:00",
    "command": ["thesis_ml.reports.synthetic"],
}
REASONS = {
    "stopped_early": f"no validation loss improvement for {PATIENCE} epochs",
    "diverged": "training loss is inf",
}


def fake_config(seed: int = 0, tokenizer: str | None = "vq", latent_dim: int = 4, **extra) -> dict:
    """A nested cfg.yaml-like mapping; ``extra`` adds or replaces top-level groups."""
    config = {
        "data": {"task": "reconstruction", "n_features": len(EIGENVALUES), "seed": 0},
        "trainer": {"epochs": 5, "lr": 0.003, "seed": seed},
        "logging": {"quiet": True},
        "run_dir": None,
    }
    if tokenizer is not None:
        config["phase1"] = {
            "encoder": {"latent_dim": latent_dim},
            "tokenizer": {
                "kind": tokenizer,
                **({"codebook_size": 16} if tokenizer == "vq" else {}),
            },
        }
    config.update(extra)
    return config


def write_fake_run(
    run_dir: Path | str,
    config: Mapping,
    epochs: int = 5,
    status: str | None = "completed",
    write_config: bool = True,
) -> Path:
    """Write a run directory; ``status=None`` leaves it still training (no on_train_end).

    ``status="diverged"`` makes the last epoch's losses non-finite, as a real divergence does;
    ``"stopped_early"`` trains one epoch fewer than the ``epochs`` it planned, the last
    :data:`PATIENCE` of them without improvement.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if write_config:
        config = {**config, "run_dir": str(run_dir)}
        run_directory.write_config(run_dir, config)
    phase1 = config.get("phase1") or {}
    latent_dim = phase1.get("encoder", {}).get("latent_dim", 4)
    rng = random.Random(f"{run_dir.name}-{config['trainer']['seed']}")
    start = _start_record(phase1.get("tokenizer", {}), latent_dim)
    comparison = {key: start[key] for key in ("yardsticks", "reference_kind", "omitted_yardsticks")}
    writer = FactsWriter(run_dir)
    writer.emit("on_train_start", epochs=epochs, n_params=1000 * latent_dim, **start)
    trained = max(1, epochs - 1) if status == "stopped_early" else epochs
    floor = start["yardsticks"][start["reference_kind"]]["val_loss"] * (1.05 + 0.1 * rng.random())
    wall, best, val_loss = 0.0, None, None
    for epoch in range(1, trained + 1):
        if status == "stopped_early" and epoch > max(1, trained - PATIENCE):
            val_loss *= 1.01  # no improvement for PATIENCE epochs, then early stopping ends it
        else:
            val_loss = floor + (1.0 - floor) * math.exp(-epoch / 2) * (1 + 0.05 * rng.random())
        if status == "diverged" and epoch == trained:
            val_loss = math.inf
        epoch_time = 0.1 * latent_dim * (1 + 0.2 * rng.random())
        wall += epoch_time
        vq = _vq_metrics(config, rng) if "codebook_size" in phase1.get("tokenizer", {}) else {}
        common = {"epoch": epoch, "epoch_time_s": epoch_time, "wall_time_s": wall, "lr": 0.003}
        writer.scalars(
            [
                {**common, "split": "train", "loss": val_loss * 1.1, "samples_per_s": 5e4},
                {**common, "split": "val", "loss": val_loss, "val_loss": val_loss, **vq},
            ]
        )
        writer.emit("on_epoch_end", epoch=epoch, val={"val_loss": val_loss}, wall_time_s=wall)
        if math.isfinite(val_loss) and (best is None or val_loss < best["val_loss"]):
            best = {"epoch": epoch, **_on_splits(val_loss, "run"), **_test_code_metrics(vq)}
    if status is not None:
        final = {"epoch": trained, **_on_splits(val_loss, "run"), "train_loss": val_loss * 1.1}
        final.update(_test_code_metrics(vq))
        writer.emit(
            "on_train_end",
            status=status,
            **({"reason": REASONS[status]} if status in REASONS else {}),
            run_dir=str(run_dir),
            epochs=trained,
            final=final,
            best=best,
            weights=dict(run_directory.WEIGHT_FILES),
            **comparison,
            gap={"final": _gaps(final, comparison), "best": _gaps(best, comparison)},
            n_params=1000 * latent_dim,
            wall_time_s=wall + 0.5,
            samples_per_s=5e4 / latent_dim,
        )
    writer.close()
    return run_dir


def _start_record(tokenizer: Mapping, latent_dim: int) -> dict:
    """The keys of on_train_start beyond epochs and n_params, yardsticks included."""
    n = len(EIGENVALUES)
    data = {"input_dim": n, **SPLIT_SIZES, "seed": 0}
    common = {"provenance": PROVENANCE, "device": "cpu"}
    if not tokenizer:  # a supervised regression run: its optimum is the noise floor
        optimum = {"role": "optimum", "kind": "noise_floor", "expected_loss": 0.25}
        return {
            **common,
            "task": "regression",
            "data": {**data, "task": "regression", "output_dim": 1},
            "yardsticks": {"optimum": {**optimum, **_on_splits(0.25)}},
            "reference_kind": "optimum",
            "omitted_yardsticks": {},
        }
    linear = {"role": "reference", "kind": "pca", "latent_dim": latent_dim}
    yardsticks = {"linear_reference": {**linear, **_on_splits(pca_bound(EIGENVALUES, latent_dim))}}
    levels = tokenizer.get("codebook_size")
    bits = math.log2(levels) if levels else 32.0 * latent_dim
    if levels:
        bound = float(distortion_rate(EIGENVALUES, bits)[0])
        yardsticks["lower_bound"] = {
            "role": "bound",
            "kind": "gaussian_rate_distortion",
            "bits_per_sample": bits,
            "eigenvalues": EIGENVALUES,
            "expected_loss": bound,
            "val_loss": bound,
            "test_loss": bound,
        }
        omitted = {}
        if levels <= MAX_LEVELS:
            kmeans = {"role": "reference", "kind": "kmeans", "levels": levels, "n_init": 4}
            yardsticks["quantizer_reference"] = {**kmeans, "seed": 0, **_on_splits(1.3 * bound)}
        else:
            omitted["quantizer_reference"] = f"{levels} levels: too few training samples"
    else:
        omitted = {
            "lower_bound": "a continuous float latent: no code rate to bound",
            "quantizer_reference": "a continuous float latent has no levels",
        }
    compression = {"bits_per_sample": bits, "input_bits": 32 * n, "ratio": bits / (32 * n)}
    return {
        **common,
        "task": "reconstruction",
        "data": {**data, "task": "reconstruction", "output_dim": n, "eigenvalues": EIGENVALUES},
        "tokenizer": tokenizer["kind"],
        "compression": compression,
        "yardsticks": yardsticks,
        "reference_kind": (
            "quantizer_reference" if "quantizer_reference" in yardsticks else "linear_reference"
        ),
        "omitted_yardsticks": omitted,
    }


def _on_splits(val_loss: float, of: str = "yardstick") -> dict:
    return {"val_loss": val_loss, "test_loss": val_loss * TEST_EXCESS[of]}


def _gaps(measured: Mapping, comparison: Mapping) -> dict:
    """As ``thesis_ml.train.outcome.gaps`` (not imported: importing thesis_ml.train imports
    torch): relative excess loss over each yardstick, per split."""
    return {
        name: {
            f"{split}_loss_rel": measured[f"{split}_loss"] / yardstick[f"{split}_loss"] - 1
            for split in ("val", "test")
            if yardstick.get(f"{split}_loss")
        }
        for name, yardstick in comparison["yardsticks"].items()
    }


def _test_code_metrics(vq: Mapping) -> dict:
    """An epoch's code usage, as the weights' usage on test (``best.test_*``, docs/facts.md)."""
    if not vq:
        return {}
    return {
        "test_perplexity": vq["perplexity"],
        "test_code_usage": vq["code_usage"],
        "test_effective_bits": math.log2(vq["perplexity"]),
    }


def _vq_metrics(config: Mapping, rng: random.Random) -> dict:
    size = config["phase1"]["tokenizer"]["codebook_size"]
    used = rng.randint(size // 2, size)
    return {
        "perplexity": used * (0.7 + 0.3 * rng.random()),
        "code_usage": used / size,
        "dead_codes": size - used,
    }
