"""Synthetic run directories for testing and benchmarking reports without training.

:func:`write_fake_run` writes ``cfg.yaml`` and facts through :class:`~thesis_ml.facts.FactsWriter`,
shaped like an autoencoder run's (continuous or VQ) or a supervised one's: a validation loss
that decays towards a floor above the run's limit, timings, compression and VQ metrics.
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

    ``status="diverged"`` makes the last epoch's losses non-finite, as a real divergence does.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if write_config:
        config = {**config, "run_dir": str(run_dir)}
        run_directory.write_config(run_dir, config)
    tokenizer = (config.get("phase1") or {}).get("tokenizer", {}).get("kind")
    latent_dim = (config.get("phase1") or {}).get("encoder", {}).get("latent_dim", 4)
    seed = config["trainer"]["seed"]
    rng = random.Random(f"{run_dir.name}-{seed}")
    start, optimum, compression = _limits(tokenizer, latent_dim, config)
    writer = FactsWriter(run_dir)
    writer.emit("on_train_start", epochs=epochs, n_params=1000 * latent_dim, **start)
    floor = optimum["val_loss"] * (1.05 + 0.1 * rng.random())
    wall, best = 0.0, None
    for epoch in range(1, epochs + 1):
        val_loss = floor + (1.0 - floor) * math.exp(-epoch / 2) * (1 + 0.05 * rng.random())
        if status == "diverged" and epoch == epochs:
            val_loss = math.inf
        epoch_time = 0.1 * latent_dim * (1 + 0.2 * rng.random())
        wall += epoch_time
        vq = _vq_metrics(config, rng) if tokenizer == "vq" else {}
        common = {"epoch": epoch, "epoch_time_s": epoch_time, "wall_time_s": wall, "lr": 0.003}
        writer.scalars(
            [
                {**common, "split": "train", "loss": val_loss * 1.1, "samples_per_s": 5e4},
                {**common, "split": "val", "loss": val_loss, "val_loss": val_loss, **vq},
            ]
        )
        writer.emit("on_epoch_end", epoch=epoch, val={"val_loss": val_loss}, wall_time_s=wall)
        if math.isfinite(val_loss) and (best is None or val_loss < best["val_loss"]):
            best = {"epoch": epoch, "val_loss": val_loss}
    if status is not None:
        final = {"epoch": epochs, "val_loss": val_loss}
        writer.emit(
            "on_train_end",
            status=status,
            run_dir=str(run_dir),
            epochs=epochs,
            final=final,
            best=best,
            optimum=optimum,
            gap={
                "final": {"val_loss_rel": final["val_loss"] / optimum["val_loss"] - 1},
                "best": {"val_loss_rel": best["val_loss"] / optimum["val_loss"] - 1},
            },
            n_params=1000 * latent_dim,
            wall_time_s=wall + 0.5,
            samples_per_s=5e4 / latent_dim,
        )
    writer.close()
    return run_dir


def _limits(tokenizer: str | None, latent_dim: int, config: Mapping) -> tuple[dict, dict, dict]:
    """on_train_start extras, the optimum and the compression of a run."""
    if tokenizer is None:
        optimum = {"kind": "noise_floor", "val_loss": 0.25}
        return {"optimum": optimum}, optimum, {}
    n = len(EIGENVALUES)
    if tokenizer == "vq":
        bits = math.log2(config["phase1"]["tokenizer"]["codebook_size"])
    else:
        bits = 32.0 * latent_dim
    rd = float(distortion_rate(EIGENVALUES, bits)[0])
    pca = pca_bound(EIGENVALUES, latent_dim)
    optimum = {
        "kind": "rate_distortion" if tokenizer == "vq" else "pca",
        "val_loss": rd if tokenizer == "vq" else pca,
        "pca_bound": pca,
        "rate_distortion_bound": rd,
        "eigenvalues": EIGENVALUES,
    }
    compression = {"bits_per_sample": bits, "input_bits": 32 * n, "ratio": bits / (32 * n)}
    start = {"tokenizer": tokenizer, "compression": compression, "optimum": optimum}
    return start, optimum, compression


def _vq_metrics(config: Mapping, rng: random.Random) -> dict:
    size = config["phase1"]["tokenizer"]["codebook_size"]
    used = rng.randint(size // 2, size)
    return {
        "perplexity": used * (0.7 + 0.3 * rng.random()),
        "code_usage": used / size,
        "dead_codes": size - used,
    }
