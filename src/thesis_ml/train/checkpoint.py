"""Checkpoints: what a killed run needs to continue exactly where it left off.

``<run_dir>/checkpoint.pt`` holds the model, every resumable part of the loop (optimizer,
scheduler, the data-shuffle generator), torch's global RNG state, the epoch counter, the
driver's progress (best epoch, history, clocks) and a copy of the facts files as they were at
that epoch. It is not a declared output of the pipeline's ``train`` rule, so Snakemake's cleanup
of a failed job's outputs (which removes ``facts/``) leaves it; the facts are then restored from
the copy, and a resumed run's facts, weights and metrics equal an uninterrupted run's.

A checkpoint records the digest of the run's config: one written under another config is never
resumed (the run starts over, saying so on stderr). The file is removed when the run ends.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sys
from collections.abc import Mapping
from pathlib import Path

import torch

from thesis_ml.facts import EVENTS_FILE, SCALARS_FILE, facts_dir
from thesis_ml.run_directory import CHECKPOINT_FILE
from thesis_ml.utils.io import atomic_write, atomic_write_text

FORMAT = 1
FACTS_FILES = (EVENTS_FILE, SCALARS_FILE)


def config_digest(plain_cfg: Mapping) -> str:
    """Digest of everything that shapes the run (where it goes, and whether it may replace a
    finished run there, do not)."""
    relevant = {
        key: value
        for key, value in plain_cfg.items()
        if key not in ("run_dir", "overwrite_run_dir")
    }
    return hashlib.sha256(json.dumps(relevant, sort_keys=True, default=str).encode()).hexdigest()


def save_checkpoint(
    run_dir: Path,
    *,
    digest: str,
    epoch: int,
    model: torch.nn.Module,
    resumables: Mapping[str, object],
    progress: Mapping,
) -> None:
    """Write the state after ``epoch`` (its facts already on disk) atomically."""
    payload = {
        "format": FORMAT,
        "config_digest": digest,
        "epoch": epoch,
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "resumables": {name: _state_of(part) for name, part in resumables.items() if part},
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else [],
        "progress": dict(progress),
        "facts": {
            name: (facts_dir(run_dir) / name).read_text(encoding="utf-8") for name in FACTS_FILES
        },
    }
    with atomic_write(Path(run_dir) / CHECKPOINT_FILE, "wb") as handle:
        torch.save(payload, handle)


def load_checkpoint(run_dir: Path, digest: str) -> dict | None:
    """The run's checkpoint if there is one written under the same config, else None.

    A checkpoint of another config or one that cannot be read is removed, with a warning:
    the run then starts over rather than continuing something else.
    """
    path = Path(run_dir) / CHECKPOINT_FILE
    if not path.exists():
        return None
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        problem = None
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            problem = "not a checkpoint of this version"
        elif payload.get("config_digest") != digest:
            problem = "written under a different config"
    except Exception as error:  # a damaged file: any unpickling error means the same
        problem = f"unreadable ({type(error).__name__}: {str(error).splitlines()[0][:200]})"
    if problem:
        print(f"warning: {path}: {problem}; starting the run over", file=sys.stderr, flush=True)
        remove_checkpoint(run_dir)
        return None
    return payload


def restore_facts(run_dir: Path, checkpoint: Mapping) -> None:
    """Put the facts files back as they were at the checkpoint's epoch (later lines dropped)."""
    for name, text in checkpoint["facts"].items():
        atomic_write_text(facts_dir(run_dir) / name, text)


def restore_state(
    checkpoint: Mapping, model: torch.nn.Module, resumables: Mapping[str, object]
) -> None:
    """Load the model, the loop's parts and the RNG states from ``checkpoint``."""
    model.load_state_dict(checkpoint["model"])
    states = checkpoint["resumables"]
    expected = {name for name, part in resumables.items() if part}
    if set(states) != expected:
        raise RuntimeError(
            f"checkpoint holds {sorted(states)} but the loop resumes {sorted(expected)}"
        )
    for name, state in states.items():
        part = resumables[name]
        if isinstance(part, torch.Generator):
            part.set_state(state)
        else:
            part.load_state_dict(state)
    torch.set_rng_state(checkpoint["torch_rng"])
    if checkpoint["cuda_rng"]:
        torch.cuda.set_rng_state_all(checkpoint["cuda_rng"])


def remove_checkpoint(run_dir: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        (Path(run_dir) / CHECKPOINT_FILE).unlink()


def _state_of(part: object):
    if isinstance(part, torch.Generator):
        return part.get_state()
    return part.state_dict()
