"""Composing and validating run configs.

Composition and the override grammar (``a.b=v``, ``group=option``, ``group/sub=option``,
``'[a,b]'``) are hydra-core's compose API; this module only adds validation against the JSON
schemas in ``thesis_ml/schemas/`` and turns every failure into one :class:`ConfigError` that
names the key. The CLI, the pipeline and notebooks all go through :func:`compose`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf

PACKAGE_DIR = Path(__file__).resolve().parent
CONFIG_DIR = PACKAGE_DIR / "configs"
SCHEMA_DIR = PACKAGE_DIR / "schemas"

# Checks that JSON Schema cannot express (relations between keys). Each takes the plain
# config dict and returns messages of the form "key: what is wrong".
SEMANTIC_CHECKS: list[Callable[[dict], list[str]]] = []


class ConfigError(ValueError):
    """A config that cannot be composed or does not validate; the message names the key."""


def compose(
    overrides: Iterable[str] = (),
    config_name: str = "config",
    config_dir: Path | str = CONFIG_DIR,
) -> DictConfig:
    """Compose ``config_name`` with Hydra overrides, resolve and validate it.

    Returns a resolved DictConfig in struct mode: assigning an unknown key raises, and no Hydra
    state (working directory, global singletons) is left behind.
    """
    cfg = compose_unvalidated(overrides, config_name, config_dir)
    if config_name == "config" and Path(config_dir) == CONFIG_DIR:
        validate(cfg)
    return cfg


def compose_unvalidated(
    overrides: Iterable[str], config_name: str, config_dir: Path | str
) -> DictConfig:
    """Hydra composition and interpolation resolution, with errors as :class:`ConfigError`."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    overrides = list(overrides)
    try:
        with initialize_config_dir(config_dir=str(config_dir), version_base=None):
            cfg = hydra_compose(config_name=config_name, overrides=overrides)
        container = OmegaConf.to_container(cfg, resolve=True)
    except (HydraException, OmegaConfBaseException, yaml.YAMLError) as error:
        raise ConfigError(_explain_hydra_error(error, overrides)) from None
    return to_struct_config(container)


def to_struct_config(container: Mapping) -> DictConfig:
    cfg = OmegaConf.create(dict(container))
    OmegaConf.set_struct(cfg, True)
    return cfg


def to_plain_dict(cfg: DictConfig | Mapping) -> dict:
    """Resolved, plain builtin-typed copy of a config (for YAML, JSON and Snakemake params)."""
    if isinstance(cfg, DictConfig):
        return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]
    return dict(cfg)


def validate(cfg: DictConfig | Mapping) -> dict:
    """Check a run config against the schemas and semantic checks; return it as a plain dict."""
    import jsonschema

    try:
        plain = to_plain_dict(cfg)
    except Exception as error:  # an interpolation that points nowhere
        raise ConfigError(f"config: {error}") from None
    validator = jsonschema.Draft202012Validator(run_config_schema())
    problems = [_describe_schema_error(e) for e in validator.iter_errors(plain)]
    if not problems:
        problems = [msg for check in SEMANTIC_CHECKS for msg in check(plain)]
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(sorted(problems)))
    return plain


def load_run_config(path: Path | str) -> DictConfig:
    """Read and validate a run's saved ``cfg.yaml``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ConfigError(f"{path}: cannot read config: {error}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of config groups, got {type(data).__name__}")
    try:
        validate(data)
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None
    return to_struct_config(data)


@functools.cache
def run_config_schema() -> dict:
    """The JSON schema of a composed run config, assembled from ``schemas/*.yaml``."""
    root_properties = _load_yaml(SCHEMA_DIR / "root.yaml")
    groups = {
        path.stem: _load_yaml(path)
        for path in sorted(SCHEMA_DIR.glob("*.yaml"))
        if path.stem != "root"
    }
    required = ["run_dir", *(name for name in groups if name in REQUIRED_GROUPS)]
    return {
        "type": "object",
        "additionalProperties": False,
        "required": required,
        "properties": {**root_properties, **groups},
    }


# Groups present in every run config; the others (phase1) are present only when chosen.
REQUIRED_GROUPS = ("data", "model", "trainer", "logging")


def group_options(config_dir: Path | str = CONFIG_DIR) -> dict[str, list[str]]:
    """Every config group below ``config_dir`` and its options, for ``--help``."""
    config_dir = Path(config_dir)
    groups: dict[str, list[str]] = {}
    for option in sorted(config_dir.rglob("*.yaml")):
        group = option.parent.relative_to(config_dir).as_posix()
        if group != ".":
            groups.setdefault(group, []).append(option.stem)
    return groups


def _load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _describe_schema_error(error) -> str:
    key = ".".join(str(part) for part in error.absolute_path) or "config"
    if error.validator == "additionalProperties":
        allowed = ", ".join(sorted(error.schema.get("properties", {})))
        return f"{key}: {error.message} (allowed keys: {allowed})"
    description = error.schema.get("description") if isinstance(error.schema, dict) else None
    hint = f" ({description})" if description else ""
    return f"{key}: {error.message}{hint}"


def _explain_hydra_error(error: Exception, overrides: list[str]) -> str:
    message = str(error).strip()
    cause = error.__cause__ or error.__context__
    if cause is not None and str(cause).strip() and str(cause).strip() not in message:
        message = f"{message}\n  caused by: {str(cause).strip()}"
    shown = " ".join(overrides) if overrides else "(no overrides)"
    return f"cannot compose config with overrides {shown}:\n  {message}"
