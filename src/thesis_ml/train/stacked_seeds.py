"""Seeds of one configuration trained as one stacked model, each still a run of its own.

Every member keeps what its solo run has: its run directory, facts, checkpoints and weights,
and its own model, optimiser, schedule and shuffle, built from its seed as the solo run builds
them. Only the forward and backward passes run once for all members, on their parameters
stacked (``torch.func.stack_module_state``) and mapped over (``torch.func.vmap``): one batched
matrix product instead of one per seed, which is where a GPU gains.

The numbers therefore match solo runs to float tolerance, not bitwise: a batched product rounds
differently from a single one, and training carries the difference on. Supported: the
supervised loop, with models that draw no random numbers and keep no buffers while training
(no dropout, no batch-norm statistics), since a stacked model cannot draw or update them as
each solo run would.
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Sequence

import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from thesis_ml.config import ConfigError, to_plain_dict, validate
from thesis_ml.data.dataset import Dataset
from thesis_ml.data.registry import generate_dataset
from thesis_ml.models.registry import build_model
from thesis_ml.train.course import Course
from thesis_ml.train.runtime import training_session
from thesis_ml.train.train_test import SupervisedParts, supervised_parts
from thesis_ml.utils.dotted import differing_keys, flatten

# What may differ between the members of one stack: everything else is one configuration.
MEMBER_KEYS = ("trainer.seed", "run_dir", "overwrite_run_dir")
RANDOM_LAYERS = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout)
DROPOUT_REASON = (
    "a stacked model draws the dropout masks of all seeds from one stream, so its runs would "
    "not be their solo runs; set model.dropout=0 or train these seeds one by one"
)


def refuse_unstackable(cfgs: Sequence[DictConfig]) -> None:
    """A :class:`ConfigError` naming the key that keeps ``cfgs`` from training as one stack."""
    if not cfgs:
        raise ConfigError("stacked seeds: no configs to train")
    plain = [flatten(to_plain_dict(validate(cfg))) for cfg in cfgs]
    for cfg in cfgs:
        if cfg.trainer.loop != "supervised":
            raise ConfigError(
                f"trainer.loop: {cfg.trainer.loop}; seeds are stacked for the supervised loop "
                "only (train these seeds one by one)"
            )
        if float(OmegaConf.select(cfg, "model.dropout", default=0.0) or 0.0) > 0:
            raise ConfigError(f"model.dropout: {cfg.model.dropout}; {DROPOUT_REASON}")
    for key in differing_keys(plain, MEMBER_KEYS):
        first, other = sorted({repr(flat.get(key)) for flat in plain})[:2]
        raise ConfigError(
            f"{key}: {first} in one member, {other} in another; the members of a stack "
            f"differ only in {', '.join(MEMBER_KEYS)}"
        )
    seeds = [int(cfg.trainer.seed) for cfg in cfgs]
    if len(set(seeds)) < len(seeds):
        raise ConfigError(f"trainer.seed: {seeds} has a seed twice; one run per seed")


def refuse_unstackable_model(cfg: DictConfig, meta: dict) -> None:
    """Layers a stacked model cannot run as each solo run would (checked on a model of
    ``cfg`` built without weights, before any run directory is written)."""
    with torch.device("meta"):
        model = build_model(cfg.model, meta["input_dim"], meta["output_dim"])
    if any(isinstance(module, RANDOM_LAYERS) for module in model.modules()):
        raise ConfigError(f"model.kind: {cfg.model.kind} has dropout layers; {DROPOUT_REASON}")
    if any(True for _ in model.buffers()):
        raise ConfigError(
            f"model.kind: {cfg.model.kind} keeps buffers (such as batch-norm statistics), which "
            "a stacked model cannot update per seed; train these seeds one by one"
        )


def train_seeds(
    cfgs: Sequence[DictConfig], dataset: Dataset | None = None, live_plots: bool = True
) -> list[dict]:
    """Train the runs ``cfgs`` (one configuration, its seeds) as one stack; return each run's
    result, as ``train.run_loop`` returns it, in the order of ``cfgs``.

    A member resumed from its checkpoint joins the stack at its next epoch; a member that
    stops (diverged, stopped early, paused) leaves it, and the others go on.
    """
    refuse_unstackable(cfgs)
    dataset = dataset if dataset is not None else generate_dataset(cfgs[0].data)
    refuse_unstackable_model(cfgs[0], dataset.meta)
    seeds = [int(cfg.trainer.seed) for cfg in cfgs]
    with contextlib.ExitStack() as stack:
        members, courses = [], []
        for cfg in cfgs:  # in turn: each member's model is drawn right after its seeding
            parts = supervised_parts(
                stack.enter_context(training_session(cfg, dataset, live_plots))
            )
            members.append(parts)
            options = parts.course_options()
            # provenance: this run's numbers are its solo run's to float tolerance, not bitwise
            options["start_payload"] = {**options["start_payload"], "stacked_with": seeds}
            courses.append(Course(parts.session.run, parts.model, parts.evaluate, **options))
        ended = [False] * len(members)
        first = min(course.first for course in courses)
        for number in range(first, max(course.last_epoch for course in courses) + 1):
            stepping = [
                index
                for index, course in enumerate(courses)
                if not ended[index] and number in course.epochs()
            ]
            if not stepping:
                continue
            started = time.perf_counter()
            metrics = train_stacked_epoch([members[index] for index in stepping])
            train_s = time.perf_counter() - started
            for index, train_metrics in zip(stepping, metrics, strict=True):
                course = courses[index]
                ended[index] = course.close(course.measure(number, train_metrics, train_s))
        return [course.result() for course in courses]


def train_stacked_epoch(members: Sequence[SupervisedParts]) -> list[dict]:
    """One pass of each member over its own shuffle of the training data, as
    ``train_test.train_one_epoch`` makes it, with one stacked forward and backward per batch;
    each member's optimiser then takes its own step."""
    models = [member.model for member in members]
    for model in models:
        model.train()
    shape = copy.deepcopy(models[0]).to("meta")  # the architecture, without its weights
    loss_fn, autocast = members[0].loss_fn, members[0].autocast

    def member_loss(params, buffers, inputs, targets):
        return loss_fn(functional_call(shape, (params, buffers), (inputs,)), targets)

    stacked_loss = vmap(member_loss)
    named = [dict(model.named_parameters()) for model in models]
    lrs = [member.optimizer.param_groups[0]["lr"] for member in members]
    loaders = [member.session.loaders["train"] for member in members]
    totals = torch.zeros(len(members), device=loaders[0].tensors[0].device)
    for batches in zip(*loaders, strict=True):
        inputs = torch.stack([batch[0] for batch in batches])
        targets = torch.stack([batch[1] for batch in batches])
        params, buffers = stack_module_state(models)
        with autocast():
            losses = stacked_loss(params, buffers, inputs, targets)
        grads = torch.autograd.grad(losses.sum(), list(params.values()))
        for name, grad in zip(params, grads, strict=True):
            # contiguous: a transposed gradient's strides are not its parameter's, and the
            # fused Adam kernel reads gradients in the parameter's layout
            grad = grad.contiguous()
            for index, parameters in enumerate(named):
                parameters[name].grad = grad[index]
        for member in members:
            member.optimizer.step()
        totals += losses.detach() * inputs.shape[1]
    for member in members:
        if member.scheduler is not None:
            member.scheduler.step()
    n_train = loaders[0].num_samples
    return [
        {"loss": total / n_train, "lr": lr} for total, lr in zip(totals.tolist(), lrs, strict=True)
    ]
