"""The run directory: the one owner of its file names, its config file and its weights.

Layout (README "Run directory", docs/facts.md)::

    <run_dir>/cfg.yaml         the resolved config the run was trained with
    <run_dir>/model.pt         the final weights (a state dict of tensors)
    <run_dir>/model_selected.pt the selected weights: the epoch with the lowest validation loss
    <run_dir>/checkpoint.pt    while a run trains: what a killed run resumes from
    <run_dir>/inputs.sha256    a pipeline run's: the digest of its job's inputs (packs keep a
                               finished run whose inputs are unchanged)
    <run_dir>/loss.png         a copy of the losses figure of the last epoch
    <run_dir>/facts/           events.jsonl, scalars.csv, recon_examples.json (thesis_ml.facts)
    <run_dir>/figures/         every figure (logging.figures_subdir)

Every other module reads and writes these through the functions below. Weights are read with
``torch.load(..., weights_only=True)``: a file from elsewhere can run no code.
"""

from __future__ import annotations

import importlib
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

import yaml

from thesis_ml.config import ConfigError, to_struct_config, validate
from thesis_ml.errors import UserError
from thesis_ml.facts import FACTS_SUBDIR, SCALARS_FILE, FactsError
from thesis_ml.utils.io import atomic_write, atomic_write_text
from thesis_ml.utils.yaml_file import load_yaml_file

CONFIG_FILE = "cfg.yaml"
MODEL_FILE = "model.pt"
CHECKPOINT_FILE = "checkpoint.pt"
INPUTS_FILE = "inputs.sha256"
LOSS_FIGURE_STEM = "loss"  # <run_dir>/loss.<fig_format>, the README's promise
SELECTED_MODEL_FILE = "model_selected.pt"
# Which weights load_model reads: the last epoch's, or the epoch chosen on validation.
WEIGHT_FILES = {"final": MODEL_FILE, "selected": SELECTED_MODEL_FILE}

# Loaded by name when a model is rebuilt, not imported: the pipeline's render and report steps
# read run directories but never load a model, so model code is not one of their sources
# (rules/sources.smk derives those from imports) and editing it never redraws a figure.
MODEL_REGISTRY = "thesis_ml.models.registry"

# libyaml's loader is about 10x faster than the pure-Python one; both are safe loaders.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ModelFileError(UserError):
    """A run's weights file that cannot be loaded; the message names the file."""


def is_run_record(run_dir: Path | str, path: Path | str, figures_subdir: str) -> bool:
    """``path`` is one of the files a run directory keeps as the run's record (its config,
    weights, checkpoint, inputs digest, facts and figures), which no other output may take."""
    run_dir, path = Path(run_dir).resolve(), Path(path).resolve()
    if not path.is_relative_to(run_dir) or path == run_dir:
        return False
    first = path.relative_to(run_dir).parts[0]
    root_files = {CONFIG_FILE, CHECKPOINT_FILE, INPUTS_FILE, *WEIGHT_FILES.values()}
    return first in {FACTS_SUBDIR, figures_subdir, *root_files} or first.startswith(
        f"{LOSS_FIGURE_STEM}."
    )


def is_run_dir(path: Path | str) -> bool:
    path = Path(path)
    return (path / CONFIG_FILE).is_file() or (path / FACTS_SUBDIR).is_dir()


def find_run_dirs(sweep_dir: Path | str) -> list[Path]:
    """Every run directory below ``sweep_dir`` (not descending into runs), sorted."""
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise FactsError(f"{sweep_dir}: sweep directory does not exist")
    found = []
    for root, dirs, _files in os.walk(sweep_dir):
        path = Path(root)
        if is_run_dir(path):
            found.append(path)
            dirs.clear()
        else:
            dirs.sort()
    if not found:
        raise FactsError(
            f"{sweep_dir}: no run directories below it (none holds {CONFIG_FILE} or "
            f"{FACTS_SUBDIR}/)"
        )
    return sorted(found)


def prepare_run_dir(run_dir: Path | str, overwrite: bool, figures_subdir: str) -> Path:
    """Create ``run_dir`` for a new run (or the resumption of a killed one), refusing one that
    holds a finished run unless ``overwrite`` (then its files are removed first, so none of the
    old run's outputs mix with the new one's). Nothing is written when it refuses."""
    run_dir = Path(run_dir)
    if finished_run(run_dir):
        if not overwrite:
            raise ConfigError(
                f"run_dir={run_dir} holds a finished run ({FACTS_SUBDIR}/events.jsonl has its "
                "on_train_end record); choose another run_dir, or add overwrite_run_dir=true "
                "to replace that run"
            )
        clear_run(run_dir, figures_subdir)
    return make_directory(run_dir, "run_dir")


def make_directory(path: Path, key: str) -> Path:
    """``path`` created (with its parents) and writable; a ConfigError naming ``key`` if not."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(f"{key}={path}: cannot create the directory ({error.strerror})") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(f"{key}={path}: the directory is not writable")
    return path


def finished_run(run_dir: Path) -> bool:
    """Whether ``run_dir`` holds a run that ended (its facts have an on_train_end record), and
    is not a paused one that can go on (status paused, its checkpoint kept)."""
    from thesis_ml.facts import EVENTS_FILE, PAUSED, facts_dir, final_event, read_events

    if not (facts_dir(run_dir) / EVENTS_FILE).is_file():
        return False
    end = final_event(read_events(run_dir))
    if end is None:
        return False
    return not (end.get("status") == PAUSED and (run_dir / CHECKPOINT_FILE).is_file())


def clear_run(run_dir: Path, figures_subdir: str) -> None:
    """Remove the files a run writes (only those: a run_dir may hold other things)."""
    for name in (CONFIG_FILE, CHECKPOINT_FILE, INPUTS_FILE, *WEIGHT_FILES.values()):
        (run_dir / name).unlink(missing_ok=True)
    for figure in run_dir.glob(f"{LOSS_FIGURE_STEM}.*"):
        figure.unlink()
    for subdir in {FACTS_SUBDIR, figures_subdir} - {""}:
        shutil.rmtree(run_dir / subdir, ignore_errors=True)


def write_inputs_digest(run_dir: Path | str, digest: str) -> None:
    """Record the digest of what the run's pipeline job was given, once the run has ended."""
    atomic_write_text(Path(run_dir) / INPUTS_FILE, digest + "\n")


def inputs_digest(run_dir: Path | str) -> str | None:
    """The digest :func:`write_inputs_digest` recorded, if the run's outputs are all there."""
    run_dir = Path(run_dir)
    outputs = (CONFIG_FILE, *WEIGHT_FILES.values(), f"{FACTS_SUBDIR}/{SCALARS_FILE}")
    if not all((run_dir / name).is_file() for name in outputs):
        return None
    try:
        return (run_dir / INPUTS_FILE).read_text(encoding="utf-8").strip()
    except (FileNotFoundError, UnicodeDecodeError):
        return None


def load_failure(error: Exception) -> str:
    """Why ``torch.load(..., weights_only=True)`` failed, in a few words. Torch's own message
    for a file holding more than tensors advises loading it with weights_only=False, which
    would run whatever code the file carries: that advice is left out."""
    text = str(error).strip()
    if text.startswith("Weights only load failed"):
        return (
            "it holds Python objects besides tensors, which are not loaded: unpickling can run code"
        )
    reason = text.splitlines()[0][:200] if text else ""
    return f"{type(error).__name__}: {reason}" if reason else type(error).__name__


def write_config(run_dir: Path | str, plain: Mapping) -> None:
    """Write the run's resolved config (plain builtin types) as ``cfg.yaml``."""
    atomic_write_text(Path(run_dir) / CONFIG_FILE, yaml.safe_dump(dict(plain), sort_keys=False))


def read_config(run_dir: Path | str, validated: bool = True) -> dict:
    """The run's ``cfg.yaml`` as a plain dict; ConfigError naming the file when it is bad.

    ``validated`` also checks it against the schemas (a run directory from elsewhere); a reader
    that only needs a few keys of a config the training just wrote may skip that.
    """
    return read_config_file(Path(run_dir) / CONFIG_FILE, validated)


def read_config_file(path: Path | str, validated: bool = True) -> dict:
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: missing; is {path.parent} a run directory?")
    data = load_yaml_file(path, ConfigError, loader=_YAML_LOADER)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of config groups, got {type(data).__name__}")
    if validated:
        try:
            validate(data)
        except ConfigError as error:
            raise ConfigError(f"{path}: {error}") from None
    return data


def load_run_config(path: Path | str):
    """A saved ``cfg.yaml`` (the file's path), validated, as a struct DictConfig."""
    return to_struct_config(read_config_file(path))


def save_weights(run_dir: Path | str, model, which: str = "final") -> None:
    """Write ``model``'s state dict (on the CPU) as the run's ``which`` weights."""
    import torch

    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    with atomic_write(Path(run_dir) / _weights_file(which), "wb") as handle:
        torch.save(state, handle)


def load_model(run_dir: Path | str, which: str = "final", device="cpu"):
    """Rebuild a run's trained model from ``cfg.yaml`` and its weights (in eval mode).

    Any run, supervised or autoencoder: the config's registries build the architecture. Raises
    ConfigError for a bad ``cfg.yaml`` and :class:`ModelFileError` for weights that are
    missing, not a state dict of tensors, or of another architecture.
    """
    import torch

    registry = importlib.import_module(MODEL_REGISTRY)
    run_dir = Path(run_dir)
    model = registry.build_run_model(
        load_run_config(run_dir / CONFIG_FILE), _recorded_shape(run_dir)
    )
    path = run_dir / _weights_file(which)
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as error:  # missing, a directory, torn, or not a weights-only pickle
        raise ModelFileError(f"{path}: cannot load weights ({load_failure(error)})") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelFileError(f"{path}: not a state dict of tensors ({type(state).__name__})")
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        first = str(error).splitlines()[0]
        message = f"{path}: does not fit the model cfg.yaml describes: {first}"
        raise ModelFileError(message) from None
    return model.to(device).eval()


def _recorded_shape(run_dir: Path) -> dict | None:
    """The input and output sizes the run recorded at its start, if its facts say them."""
    from thesis_ml.facts import EVENTS_FILE, facts_dir, read_events

    if not (facts_dir(run_dir) / EVENTS_FILE).is_file():
        return None
    start = next((e for e in read_events(run_dir) if e["event"] == "on_train_start"), {})
    data = start.get("data") or {}
    return data if {"input_dim", "output_dim"} <= set(data) else None


def _weights_file(which: str) -> str:
    if which not in WEIGHT_FILES:
        raise ValueError(f"which={which!r}: a run keeps weights {', '.join(WEIGHT_FILES)}")
    return WEIGHT_FILES[which]
