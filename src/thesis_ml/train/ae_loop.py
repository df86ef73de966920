"""The Phase 1 autoencoder loop: encoder -> tokenizer (none | vq) -> decoder on reconstruction.

Selected by ``trainer.loop=ae`` (``phase1/trainer=ae`` sets it) or ``trainer.loop=vqae``, which
differs only in the tokenizer a config without ``phase1/tokenizer`` gets (vq instead of none).
The model reconstructs the inputs x of whatever ``cfg.data`` holds, and is compared against a
lower bound, a linear and a quantizer reference (:mod:`thesis_ml.data.references`).

Facts per epoch and split: ``recon_mse``, ``aux_loss`` and, for a discrete tokenizer,
``perplexity``, ``code_usage`` and ``dead_codes`` from code counts over the whole split. The
validation metrics also carry ``code_counts`` (events only): the last one is the final usage
histogram. ``on_train_start`` records the tokenizer and the code's compression.

Usable from a notebook with no Hydra side effects::

    from thesis_ml.config import compose
    from thesis_ml.train.ae_loop import train

    result = train(compose(["phase1/trainer=ae", "phase1/tokenizer=vq", "trainer.epochs=2"]))
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F
from omegaconf import DictConfig

from thesis_ml.config import compose, to_plain_dict, to_struct_config
from thesis_ml.data.bounds import compression
from thesis_ml.data.dataset import Dataset
from thesis_ml.data.loaders import TensorLoader
from thesis_ml.data.references import (
    reconstruction_yardsticks,
    stored_or_computed_quantizer_reference,
)
from thesis_ml.models.autoencoder import Autoencoder, build_autoencoder
from thesis_ml.tokenizers.base import code_usage_metrics
from thesis_ml.tokenizers.codes import code_levels
from thesis_ml.train.fit import fit
from thesis_ml.train.runtime import Autocast, forward_precision, training_session
from thesis_ml.train.train_test import make_optimizer, make_scheduler

# The option each phase1 part takes when a config does not choose one.
PHASE1_DEFAULTS = {"encoder": "mlp", "tokenizer": "none", "decoder": "mlp", "trainer": "ae"}
# Validation samples the figures show next to their reconstructions.
RECON_EXAMPLES = 4
# Dataset metadata the facts leave out: the yardsticks already hold what a run uses of them.
BULKY_META = ("linear_references", "quantizer_references")


def with_phase1_defaults(cfg: DictConfig, tokenizer: str = "none") -> DictConfig:
    """``cfg`` with every missing phase1 part filled from its default option's config file.

    Only the phase1 section is taken from the defaults: the data and trainer the caller chose
    stay as they are. The run's ``cfg.yaml`` then holds every part, so that the model can be
    rebuilt from it alone.
    """
    plain = to_plain_dict(cfg)
    phase1 = dict(plain.get("phase1") or {})
    defaults = {**PHASE1_DEFAULTS, "tokenizer": tokenizer}
    missing = [part for part in defaults if part not in phase1]
    if not missing:
        return cfg
    filled = compose([f"phase1/{part}={defaults[part]}" for part in missing]).phase1
    phase1.update({part: to_plain_dict(filled[part]) for part in missing})
    return to_struct_config({**plain, "phase1": phase1})


def run_epoch(
    model: Autoencoder,
    loader: TensorLoader,
    aux_weight: float,
    optimizer: torch.optim.Optimizer | None = None,
    autocast: Autocast = contextlib.nullcontext,
) -> tuple[dict, torch.Tensor | None]:
    """One pass over ``loader`` (training when ``optimizer`` is given): metrics and code counts.

    Sums stay on the device, so that no batch waits for the host.
    """
    model.train(optimizer is not None)
    codebook_size = model.tokenizer.codebook_size
    device = loader.tensors[0].device
    totals = torch.zeros(2, device=device)  # squared-error mean, aux loss; sample-weighted
    counts = torch.zeros(codebook_size, dtype=torch.long, device=device) if codebook_size else None
    with torch.inference_mode(optimizer is None):
        for x, *_ in loader:
            with autocast():
                reconstruction, quantized = model(x)
                recon_mse = F.mse_loss(reconstruction, x)
            if optimizer is not None:
                loss = recon_mse + aux_weight * quantized.aux_loss
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            totals += torch.stack([recon_mse.detach(), quantized.aux_loss.detach().float()]) * len(
                x
            )
            if counts is not None:
                counts += torch.bincount(quantized.codes.flatten(), minlength=codebook_size)
    recon_mse, aux_loss = (totals / loader.num_samples).tolist()
    metrics = {
        "loss": recon_mse + aux_weight * aux_loss,
        "recon_mse": recon_mse,
        "aux_loss": aux_loss,
    }
    if counts is not None:
        metrics.update(code_usage_metrics(counts, loader.num_samples))
    return metrics, counts


def train_one_epoch(
    model, loader, optimizer, aux_weight, scheduler=None, autocast=contextlib.nullcontext
) -> dict:
    """Training pass; also returns the learning rate it used."""
    lr = optimizer.param_groups[0]["lr"]
    metrics, _ = run_epoch(model, loader, aux_weight, optimizer, autocast)
    if scheduler is not None:
        scheduler.step()
    return {**metrics, "lr": lr}


def evaluate(
    model: Autoencoder,
    loader: TensorLoader,
    aux_weight: float,
    autocast: Autocast = contextlib.nullcontext,
) -> dict:
    """Evaluation pass; ``task_loss`` is the reconstruction MSE the yardsticks compare with."""
    metrics, counts = run_epoch(model, loader, aux_weight, autocast=autocast)
    metrics["task_loss"] = metrics["recon_mse"]
    if counts is not None:
        metrics["code_counts"] = counts.tolist()
    return metrics


def train(
    cfg: DictConfig,
    dataset: Dataset | None = None,
    live_plots: bool = True,
    tokenizer: str = "none",
) -> dict:
    """Train the autoencoder ``cfg.phase1`` describes on the inputs of ``cfg.data``.

    ``dataset`` skips data generation (the pipeline passes the file it generated once);
    ``live_plots`` false draws no figures during training; ``tokenizer`` is the option a config
    without ``phase1.tokenizer`` gets.
    """
    cfg = with_phase1_defaults(cfg, tokenizer)
    with training_session(cfg, dataset, live_plots) as session:
        run, device, meta, loaders = session.run, session.device, session.meta, session.loaders
        n_features = meta["input_dim"]
        model = build_autoencoder(cfg.phase1, n_features).to(device)
        optimizer = make_optimizer(model, cfg.trainer, device)
        scheduler = make_scheduler(optimizer, cfg.trainer)
        bits = model.tokenizer.bits_per_sample
        aux_weight = float(cfg.phase1.trainer.aux_weight)
        autocast = forward_precision(device, cfg.trainer.precision)
        x_val = loaders["val"].tensors[0]
        return fit(
            run,
            model,
            train_epoch=lambda: train_one_epoch(
                model, loaders["train"], optimizer, aux_weight, scheduler, autocast
            ),
            evaluate=lambda split: evaluate(model, loaders[split], aux_weight, autocast),
            n_train=meta["n_train"],
            comparison=comparison(cfg.phase1, session.dataset),
            lr=float(cfg.trainer.lr),
            start_payload={
                "task": meta["task"],
                "device": str(device),
                "data": {k: v for k, v in meta.items() if k not in BULKY_META},
                "tokenizer": cfg.phase1.tokenizer.kind,
                "compression": compression(bits, n_features),
            },
            resumables={
                "optimizer": optimizer,
                "scheduler": scheduler,
                "shuffle": session.generator,
            },
            examples=lambda: reconstruct(model, x_val[:RECON_EXAMPLES]),
        )


def comparison(phase1: DictConfig, dataset: Dataset) -> dict:
    """The yardsticks of an autoencoder of ``phase1`` on ``dataset`` (see data.references)."""
    latent_dim = int(phase1.encoder.latent_dim)
    levels = code_levels(phase1.tokenizer, latent_dim)
    quantizer = None
    if levels is not None:
        threads = torch.get_num_threads()  # what the run's training is allowed
        quantizer = stored_or_computed_quantizer_reference(dataset, levels, threads)
    return reconstruction_yardsticks(dataset, latent_dim, levels, quantizer)


@torch.inference_mode()
def reconstruct(model: Autoencoder, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x, model(x))`` for figures that show inputs next to their reconstructions."""
    model.eval()
    return x, model(x)[0]


def main(cfg: DictConfig, dataset: Dataset | None = None, live_plots: bool = True) -> dict:
    """Entry point of ``trainer.loop=ae`` for the dispatcher (see ``train.run_loop``)."""
    return train(cfg, dataset=dataset, live_plots=live_plots)


def main_vq(cfg: DictConfig, dataset: Dataset | None = None, live_plots: bool = True) -> dict:
    """Entry point of ``trainer.loop=vqae`` (the original README's name): a VQ by default."""
    return train(cfg, dataset=dataset, live_plots=live_plots, tokenizer="vq")
