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
import io
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

import torch

from thesis_ml.config import ConfigError
from thesis_ml.facts import EVENTS_FILE, PAUSED, SCALARS_FILE, facts_dir, final_event, read_events
from thesis_ml.run_directory import CHECKPOINT_FILE, finished_run, load_failure
from thesis_ml.utils.io import atomic_write, atomic_write_text

FORMAT = 1
FACTS_FILES = (EVENTS_FILE, SCALARS_FILE)


def config_digest(plain_cfg: Mapping) -> str:
    """Digest of everything that shapes the run. Where it goes, whether it may replace a
    finished run there, and where it pauses (``trainer.stop_after_epochs``: a later stop
    continues the same run) do not."""
    relevant = {
        key: value
        for key, value in plain_cfg.items()
        if key not in ("run_dir", "overwrite_run_dir")
    }
    if "stop_after_epochs" in relevant.get("trainer", {}):
        trainer = dict(relevant["trainer"])
        del trainer["stop_after_epochs"]
        relevant["trainer"] = trainer
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


class StoredCheckpoint(NamedTuple):
    """What ``checkpoint.pt`` of a run directory holds: its payload, or why it cannot be used."""

    payload: dict | None
    problem: str | None


def read_checkpoint(run_dir: Path) -> StoredCheckpoint | None:
    """The run's checkpoint, read once for every check of it; None where there is none."""
    path = Path(run_dir) / CHECKPOINT_FILE
    if not path.exists():
        return None
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a damaged file: any unpickling error means the same
        return StoredCheckpoint(None, f"unreadable ({load_failure(error)})")
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        return StoredCheckpoint(None, "not a checkpoint of this version")
    return StoredCheckpoint(payload, None)


def usable_checkpoint(run_dir: Path, digest: str, stored: StoredCheckpoint | None) -> dict | None:
    """The payload of ``stored`` if it was written under the same config, else None.

    A checkpoint of another config or one that cannot be read is removed, with a warning:
    the run then starts over rather than continuing something else.
    """
    if stored is None:
        return None
    problem = stored.problem
    if problem is None and stored.payload.get("config_digest") != digest:
        problem = "written under a different config"
    if problem:
        path = Path(run_dir) / CHECKPOINT_FILE
        print(f"warning: {path}: {problem}; starting the run over", file=sys.stderr, flush=True)
        remove_checkpoint(run_dir)
        return None
    return stored.payload


def seed_checkpoint(source_run_dir: Path | str, run_dir: Path | str, digest: str) -> None:
    """Start ``run_dir`` from the checkpoint of a paused run in ``source_run_dir`` (a search's
    next rung continues its trial in a directory of its own), which must have been written under
    the same config (``digest``). A checkpoint already in ``run_dir`` is its own, later one (a
    killed continuation), and is kept; a run that ended there is left for the run to refuse."""
    source = Path(source_run_dir) / CHECKPOINT_FILE
    target = Path(run_dir) / CHECKPOINT_FILE
    if target.exists() or finished_run(Path(run_dir)):
        return
    where = f"--resume-from {source_run_dir}"
    try:
        data = source.read_bytes()
        payload = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ConfigError(
            f"{where}: no {CHECKPOINT_FILE} there (only a paused run, trainer.stop_after_epochs, "
            "keeps one)"
        ) from None
    except Exception as error:  # a damaged file: any unpickling error means the same
        raise ConfigError(
            f"{where}: {CHECKPOINT_FILE} is unreadable ({load_failure(error)})"
        ) from None
    if not isinstance(payload, dict) or payload.get("config_digest") != digest:
        raise ConfigError(
            f"{where}: its checkpoint was written under another config than this run's"
        )
    with atomic_write(target, "wb") as handle:
        handle.write(data)


def refuse_other_paused_run(run_dir: Path, digest: str, stored: StoredCheckpoint | None) -> None:
    """A paused run in ``run_dir`` goes on only under its own config: any other would replace
    it (its checkpoint dropped, its facts rewritten) though no overwrite_run_dir asked for that.
    An unreadable checkpoint is left to :func:`usable_checkpoint`, which says so and starts over.
    """
    if stored is None or stored.payload is None:
        return
    if not (facts_dir(run_dir) / EVENTS_FILE).is_file():
        return
    end = final_event(read_events(run_dir))
    if end is None or end.get("status") != PAUSED:
        return
    if stored.payload.get("config_digest") != digest:
        raise ConfigError(
            f"run_dir={run_dir} holds a paused run of another config; continue it with its own "
            "config, choose another run_dir, or add overwrite_run_dir=true to replace it"
        )


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
