"""The supervised loop: the model ``cfg.model`` selects, on regression, binary or multiclass
data.

Usable from a notebook with no Hydra side effects::

    from thesis_ml.config import compose
    from thesis_ml.train.train_test import train

    result = train(compose(["trainer.epochs=2"]))
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from omegaconf import DictConfig

from thesis_ml.data.dataset import Dataset
from thesis_ml.data.loaders import TensorLoader
from thesis_ml.data.references import supervised_yardsticks
from thesis_ml.models.registry import build_model
from thesis_ml.train.fit import fit
from thesis_ml.train.runtime import Autocast, Session, forward_precision, training_session


def make_optimizer(model: torch.nn.Module, trainer: Mapping, device: torch.device):
    """Adam; the fused kernel where torch has one for the device (about 1.2x per step here)."""
    return torch.optim.Adam(
        model.parameters(),
        lr=float(trainer["lr"]),
        weight_decay=float(trainer["weight_decay"]),
        fused=device.type in ("cpu", "cuda"),
    )


def make_scheduler(optimizer: torch.optim.Optimizer, trainer: Mapping):
    """Per-epoch learning-rate schedule, or None for a constant rate.

    ``cosine`` decays the rate along a half cosine to 0 after the last epoch: the late, small
    steps average out minibatch noise instead of bouncing around the minimum.
    """
    if trainer["lr_schedule"] == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=int(trainer["epochs"]))
    return None


def train_one_epoch(
    model: torch.nn.Module,
    loader: TensorLoader,
    optimizer: torch.optim.Optimizer,
    loss_fn,
    scheduler=None,
    autocast: Autocast = contextlib.nullcontext,
) -> dict:
    """One pass over ``loader``; returns the mean loss and the learning rate it used."""
    model.train()
    lr = optimizer.param_groups[0]["lr"]
    total = torch.zeros((), device=loader.tensors[0].device)
    for inputs, targets in loader:
        with autocast():
            loss = loss_fn(model(inputs), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += loss.detach() * len(inputs)  # stays on the device: no sync per batch
    if scheduler is not None:
        scheduler.step()
    return {"loss": total.item() / loader.num_samples, "lr": lr}


@torch.inference_mode()
def evaluate(
    model: torch.nn.Module,
    loader: TensorLoader,
    task: str,
    autocast: Autocast = contextlib.nullcontext,
) -> dict:
    model.eval()
    with autocast():
        outputs = torch.cat([model(inputs) for inputs, _ in loader]).float()
    targets = loader.tensors[1]
    if task == "binary":
        metrics = {"loss": F.binary_cross_entropy_with_logits(outputs, targets).item()}
        metrics["accuracy"] = ((outputs > 0).float() == targets).float().mean().item()
        return metrics
    if task == "multiclass":
        predicted = outputs.argmax(dim=1)
        n_classes = outputs.shape[1]
        pairs = targets * n_classes + predicted  # row: true class, column: predicted class
        confusion = torch.bincount(pairs, minlength=n_classes**2).view(n_classes, n_classes)
        return {
            "loss": F.cross_entropy(outputs, targets).item(),
            "accuracy": (predicted == targets).float().mean().item(),
            "confusion_matrix": confusion.tolist(),
        }
    return {"loss": F.mse_loss(outputs, targets).item()}


# The training objective of each supervised task (the same loss evaluate() reports).
LOSSES = {
    "binary": F.binary_cross_entropy_with_logits,
    "multiclass": F.cross_entropy,
    "regression": F.mse_loss,
}


@dataclass
class SupervisedParts:
    """A supervised run's parts, built in its session as its seed makes them: what
    :func:`train` steps alone and :mod:`thesis_ml.train.stacked_seeds` steps with other seeds."""

    session: Session
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: object
    loss_fn: Callable
    autocast: Autocast

    def evaluate(self, split: str) -> dict:
        task = self.session.meta["task"]
        return evaluate(self.model, self.session.loaders[split], task, self.autocast)

    def course_options(self) -> dict:
        """What the run's :class:`~thesis_ml.train.course.Course` takes besides its model."""
        session = self.session
        return {
            "n_train": session.meta["n_train"],
            "comparison": supervised_yardsticks(session.meta),
            "lr": float(session.run.cfg.trainer.lr),
            "start_payload": {
                "task": session.meta["task"],
                "device": str(session.device),
                "data": session.meta,
            },
            "resumables": {
                "optimizer": self.optimizer,
                "scheduler": self.scheduler,
                "shuffle": session.generator,
            },
        }


def supervised_parts(session: Session) -> SupervisedParts:
    cfg, meta, device = session.run.cfg, session.meta, session.device
    model = build_model(cfg.model, meta["input_dim"], meta["output_dim"]).to(device)
    optimizer = make_optimizer(model, cfg.trainer, device)
    return SupervisedParts(
        session=session,
        model=model,
        optimizer=optimizer,
        scheduler=make_scheduler(optimizer, cfg.trainer),
        loss_fn=LOSSES.get(meta["task"], F.mse_loss),  # a model fitted to reconstruct: MSE
        autocast=forward_precision(device, cfg.trainer.precision),
    )


def train(cfg: DictConfig, dataset: Dataset | None = None, live_plots: bool = True) -> dict:
    """Train ``cfg.model`` on ``cfg.data``; return final and selected (best on validation)
    metrics on validation and test, the yardsticks and gaps, the history and the run dir.

    ``dataset`` skips data generation (the pipeline passes the file it generated once).
    """
    with training_session(cfg, dataset, live_plots) as session:
        parts = supervised_parts(session)
        return fit(
            session.run,
            parts.model,
            train_epoch=lambda: train_one_epoch(
                parts.model,
                session.loaders["train"],
                parts.optimizer,
                parts.loss_fn,
                parts.scheduler,
                parts.autocast,
            ),
            evaluate=parts.evaluate,
            **parts.course_options(),
        )


def main(cfg: DictConfig, dataset: Dataset | None = None, live_plots: bool = True) -> dict:
    """Entry point of ``trainer.loop=supervised`` for the dispatcher (see ``train.run_loop``)."""
    return train(cfg, dataset=dataset, live_plots=live_plots)
