"""What every training loop needs around its epochs: the run directory, device, facts, artifacts."""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch
import yaml
from omegaconf import DictConfig

from thesis_ml.config import to_plain_dict, validate
from thesis_ml.facts import FactsWriter
from thesis_ml.plots.orchestrator import Orchestrator, ReconExamplesHook, attach
from thesis_ml.utils.io import atomic_write, atomic_write_text

MODEL_FILE = "model.pt"
CONFIG_FILE = "cfg.yaml"


def select_device(name: str) -> torch.device:
    """``auto`` picks cuda, then mps, then cpu; anything else is taken as given."""
    if name != "auto":
        device = torch.device(name)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"trainer.device={name} but no CUDA device is available")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def new_timestamped_dir(root: Path) -> Path:
    """``root/YYYYMMDD-HHMMSS``, suffixed ``-1``, ``-2``... if a run started in the same second."""
    root.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    for attempt in range(10_000):
        candidate = root / (stamp if attempt == 0 else f"{stamp}-{attempt}")
        try:
            candidate.mkdir()  # atomic: exactly one concurrent run wins each name
            return candidate
        except FileExistsError:
            continue
    raise RuntimeError(f"no free run directory name under {root} for {stamp}")


@dataclass
class Run:
    """An open run: its directory, facts writer and clock."""

    cfg: DictConfig
    dir: Path
    keep: bool
    facts: FactsWriter
    plots: Orchestrator | None = None
    started: float = field(default_factory=time.perf_counter)

    @property
    def elapsed_s(self) -> float:
        return time.perf_counter() - self.started

    def save_model(self, model: torch.nn.Module) -> None:
        state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        with atomic_write(self.dir / MODEL_FILE, "wb") as handle:
            torch.save(state, handle)

    def provide_recon_examples(self, hook: ReconExamplesHook) -> None:
        """Let figures show inputs next to reconstructions (``families.recon.mode=visuals``).

        ``hook()`` returns (inputs, reconstructions) of a few validation samples; it is called
        after the last epoch's validation and the result stored in the facts.
        """
        if self.plots is not None:
            self.plots.recon_examples = hook

    def progress(self, line: str) -> None:
        if not self.cfg.logging.quiet:
            print(line, file=sys.stdout, flush=True)


@contextlib.contextmanager
def open_run(cfg: DictConfig, live_plots: bool = True) -> Iterator[Run]:
    """Validate ``cfg``, create the run directory and write ``cfg.yaml``.

    The directory is ``cfg.run_dir`` if set, else a new timestamped one under
    ``logging.output_root`` when ``logging.save_artifacts`` is true, else a temporary one that
    is removed when the block ends. Figures are drawn as ``cfg.logging`` says, during training
    unless ``live_plots`` is false (the pipeline renders them from the facts afterwards).
    """
    plain = validate(cfg)
    if cfg.run_dir is not None:
        run_dir, keep = Path(cfg.run_dir), True
        run_dir.mkdir(parents=True, exist_ok=True)
    elif cfg.logging.save_artifacts:
        run_dir, keep = new_timestamped_dir(Path(cfg.logging.output_root)), True
    else:
        run_dir, keep = Path(tempfile.mkdtemp(prefix="thesis_ml-run-")), False
    try:
        atomic_write_text(
            run_dir / CONFIG_FILE, yaml.safe_dump(to_plain_dict(plain), sort_keys=False)
        )
        plots = attach(run_dir, plain["logging"], keep=keep, live=live_plots)
        facts = FactsWriter(run_dir, listeners=[plots] if plots else [])
        try:
            yield Run(cfg=cfg, dir=run_dir, keep=keep, facts=facts, plots=plots)
        finally:
            facts.close()
            if plots:
                plots.close()
    finally:
        if not keep:
            shutil.rmtree(run_dir, ignore_errors=True)


def format_metrics(metrics: dict) -> str:
    return " ".join(
        f"{name}={value:.4g}" if isinstance(value, float) else f"{name}={value}"
        for name, value in metrics.items()
    )
