"""What every training loop needs around its epochs: the run directory, device, facts, artifacts."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import importlib
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from thesis_ml.config import ConfigError, to_plain_dict, validate
from thesis_ml.data.dataset import Dataset
from thesis_ml.data.loaders import TensorLoader, make_dataloaders
from thesis_ml.data.registry import generate_dataset
from thesis_ml.facts import FactsWriter
from thesis_ml.progress import Progress
from thesis_ml.run_directory import make_directory, prepare_run_dir, save_weights, write_config
from thesis_ml.train.checkpoint import (
    config_digest,
    read_checkpoint,
    refuse_other_paused_run,
    restore_facts,
    usable_checkpoint,
)
from thesis_ml.utils.seed import seeded, torch_threads

# A zero-argument factory of the context a forward pass (and its loss) runs in.
Autocast = Callable[[], contextlib.AbstractContextManager]
# Figures drawn while a run trains. Loaded by name, not imported: the pipeline's train step
# never draws (it renders from the facts in a step of its own), so plotting code is not one
# of its sources and editing it never retrains (rules/sources.smk derives them from imports).
LIVE_PLOTS_MODULE = "thesis_ml.plots.live"


def select_device(name: str) -> torch.device:
    """``auto`` picks cuda, then mps, then cpu; anything else is taken as given, once this torch
    is known to reach it (before the run directory is touched)."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            f"trainer.device: {name}, but torch {torch.__version__} sees no CUDA device "
            "(a CPU build of torch, or no driver); use trainer.device=auto or cpu"
        )
    if device.type == "cuda" and device.index is not None:
        count = torch.cuda.device_count()
        if device.index >= count:
            raise ConfigError(
                f"trainer.device: {name}, but torch sees {count} CUDA device(s), "
                f"cuda:0 to cuda:{count - 1}"
            )
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(
            f"trainer.device: {name}, but torch {torch.__version__} has no usable MPS backend "
            "(Apple silicon with macOS 12.3+ only); use trainer.device=auto or cpu"
        )
    return device


def forward_precision(device: torch.device, precision: str) -> Autocast:
    """What forward passes run in: a factory of bfloat16 autocast contexts for ``bf16``.

    Autocast keeps weights, gradients and the optimiser in fp32 and computes losses in fp32;
    only matmuls and similar ops run in bfloat16. Supported on cuda and cpu (where it is
    mostly useful to try a bf16 config before a GPU run, and rarely faster).
    """
    if precision == "fp32":
        return contextlib.nullcontext
    if device.type not in ("cuda", "cpu"):
        raise ConfigError(
            f"trainer.precision: bf16 needs trainer.device cuda or cpu, not {device.type}"
        )
    return functools.partial(torch.autocast, device.type, dtype=torch.bfloat16)


def new_timestamped_dir(root: Path) -> Path:
    """``root/YYYYMMDD-HHMMSS``, suffixed ``-1``, ``-2``... if a run started in the same second."""
    make_directory(root, "logging.output_root")
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    for attempt in range(10_000):
        candidate = root / (stamp if attempt == 0 else f"{stamp}-{attempt}")
        try:
            candidate.mkdir()  # atomic: exactly one concurrent run wins each name
            return candidate
        except FileExistsError:
            continue
    raise RuntimeError(f"no free run directory name under {root} for {stamp}")


def choose_run_dir(cfg: DictConfig) -> tuple[Path, bool]:
    """The run's directory and whether it is kept (see :func:`open_run`)."""
    if cfg.run_dir is not None:
        overwrite = bool(OmegaConf.select(cfg, "overwrite_run_dir", default=False))
        return prepare_run_dir(cfg.run_dir, overwrite, cfg.logging.figures_subdir), True
    if cfg.logging.save_artifacts:
        return new_timestamped_dir(Path(cfg.logging.output_root)), True
    if cfg.logging.make_plots and not cfg.logging.quiet:
        print(
            "note: this run keeps no files (logging.save_artifacts=false and no run_dir), so "
            "no figures are drawn; add logging.save_artifacts=true or run_dir=PATH to keep them",
            file=sys.stderr,
        )
    return Path(tempfile.mkdtemp(prefix="thesis_ml-run-")), False


def stop_epoch(cfg: DictConfig) -> int:
    """The last epoch this run trains: ``trainer.epochs``, or ``trainer.stop_after_epochs``
    where that comes first (the run then pauses there, resumable)."""
    epochs = int(cfg.trainer.epochs)
    stop_after = OmegaConf.select(cfg, "trainer.stop_after_epochs", default=None)
    return min(epochs, int(stop_after)) if stop_after else epochs


@dataclass
class Run:
    """An open run: its directory, facts writer, progress printer and clock."""

    cfg: DictConfig
    dir: Path
    keep: bool
    facts: FactsWriter
    printer: Progress
    started: float = field(default_factory=time.perf_counter)
    config_digest: str = ""  # identifies the config a checkpoint was written under
    resume: dict | None = None  # the checkpoint this run continues from, if any

    @property
    def elapsed_s(self) -> float:
        return time.perf_counter() - self.started

    def save_model(self, model: torch.nn.Module, which: str = "final") -> None:
        save_weights(self.dir, model, which)


@contextlib.contextmanager
def open_run(cfg: DictConfig, live_plots: bool = True) -> Iterator[Run]:
    """Validate ``cfg``, create the run directory and write ``cfg.yaml``.

    The directory is ``cfg.run_dir`` if set (refused when it holds a finished run, unless
    ``overwrite_run_dir``), else a new timestamped one under ``logging.output_root`` when
    ``logging.save_artifacts`` is true, else a temporary one that is removed when the block
    ends. Figures are drawn as ``cfg.logging`` says, during training
    unless ``live_plots`` is false (the pipeline renders them from the facts afterwards).
    """
    plain = validate(cfg)
    run_dir, keep = choose_run_dir(cfg)
    try:
        digest = config_digest(plain)
        stored = read_checkpoint(run_dir) if keep else None
        if not OmegaConf.select(cfg, "overwrite_run_dir", default=False):
            refuse_other_paused_run(run_dir, digest, stored)
        write_config(run_dir, to_plain_dict(plain))
        resume = usable_checkpoint(run_dir, digest, stored)
        if resume and resume["epoch"] >= stop_epoch(cfg):
            # killed between its pause checkpoint and its end record: nothing is left to train
            # from there, so the run is trained again (to the same result)
            print(
                f"note: {run_dir}: the checkpoint is at the stop; training again", file=sys.stderr
            )
            resume = None
        if resume:
            restore_facts(run_dir, resume)  # drop what was written after the checkpoint
        plots = live_plot_listener(run_dir, plain["logging"], keep) if live_plots else None
        facts = FactsWriter(run_dir, listeners=[plots] if plots else [], append=bool(resume))
        printer = Progress(int(cfg.trainer.epochs), quiet=bool(cfg.logging.quiet))
        try:
            yield Run(
                cfg=cfg,
                dir=run_dir,
                keep=keep,
                facts=facts,
                printer=printer,
                config_digest=digest,
                resume=resume,
            )
        finally:
            printer.close()
            facts.close()
            if plots:
                plots.close()
    finally:
        if not keep:
            shutil.rmtree(run_dir, ignore_errors=True)


def live_plot_listener(run_dir: Path, logging_cfg: Mapping, keep: bool):
    """The facts listener that draws figures during training, or None when none are drawn."""
    return importlib.import_module(LIVE_PLOTS_MODULE).attach(run_dir, logging_cfg, keep=keep)


@dataclass
class Session:
    """What every training loop starts from: the open run, its device, the dataset and its
    splits' loaders on that device, and the generator of the shuffles (a checkpoint saves its
    state)."""

    run: Run
    device: torch.device
    generator: torch.Generator
    loaders: dict[str, TensorLoader]  # by split: train, val, test
    dataset: Dataset

    @property
    def meta(self) -> dict:
        return self.dataset.meta


@contextlib.contextmanager
def training_session(
    cfg: DictConfig, dataset: Dataset | None = None, live_plots: bool = True
) -> Iterator[Session]:
    """:func:`open_run`, seeded RNGs, the thread count, the device, and the loaders on it.

    ``dataset`` skips data generation (the pipeline passes the file it generated once).
    """
    validate(cfg)
    # What can still reject the config runs before the run directory is written.
    device = select_device(cfg.trainer.device)
    forward_precision(device, cfg.trainer.precision)
    dataset = dataset if dataset is not None else generate_dataset(cfg.data)
    with (
        open_run(cfg, live_plots=live_plots) as run,
        seeded(int(cfg.trainer.seed)) as generator,
        torch_threads(cfg.trainer.num_threads),
    ):
        loaders, dataset = make_dataloaders(cfg, generator, dataset)
        on_device = {split: loader.to(device) for split, loader in loaders.items()}
        yield Session(run, device, generator, on_device, dataset)
