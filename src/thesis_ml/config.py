"""Composing and validating run configs.

Composition and the override grammar (``a.b=v``, ``group=option``, ``group/sub=option``,
``'[a,b]'``) are hydra-core's compose API; this module only adds validation against the JSON
schemas in ``thesis_ml/schemas/`` and turns every failure into one :class:`ConfigError` that
names the key. The CLI, the pipeline and notebooks all go through :func:`compose`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf

from thesis_ml.errors import UserError
from thesis_ml.models.activations import ACTIVATIONS

PACKAGE_DIR = Path(__file__).resolve().parent
CONFIG_DIR = PACKAGE_DIR / "configs"
SCHEMA_DIR = PACKAGE_DIR / "schemas"

# Checks that JSON Schema cannot express (relations between keys). Each takes the plain
# config dict and returns messages of the form "key: what is wrong".
SEMANTIC_CHECKS: list[Callable[[dict], list[str]]] = []


def _check_phase1_shapes(cfg: dict) -> list[str]:
    """VQ tokens must split the latent evenly; reconstruction factors must fit the features."""
    problems = []
    phase1, data = cfg.get("phase1") or {}, cfg.get("data") or {}
    tokenizer, encoder = phase1.get("tokenizer") or {}, phase1.get("encoder") or {}
    n_tokens, latent_dim = tokenizer.get("n_tokens"), encoder.get("latent_dim")
    if n_tokens and latent_dim and latent_dim % n_tokens:
        problems.append(
            f"phase1.tokenizer.n_tokens: {n_tokens} does not divide "
            f"phase1.encoder.latent_dim={latent_dim}"
        )
    n_factors, n_features = data.get("n_factors"), data.get("n_features")
    if n_factors and n_features and n_factors > n_features:
        problems.append(f"data.n_factors: {n_factors} exceeds data.n_features={n_features}")
    return problems


SEMANTIC_CHECKS.append(_check_phase1_shapes)


class ConfigError(UserError):
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
    overrides = list(overrides)
    cfg = compose_unresolved(overrides, config_name, config_dir)
    try:
        container = OmegaConf.to_container(cfg, resolve=True)
    except _hydra_errors() as error:
        raise ConfigError(explain_hydra_error(error, overrides)) from None
    return to_struct_config(container)


def compose_unresolved(
    overrides: Iterable[str], config_name: str = "config", config_dir: Path | str = CONFIG_DIR
) -> DictConfig:
    """Hydra's compose API alone: the config as composed, interpolations left in place."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    overrides = list(overrides)
    try:
        with initialize_config_dir(config_dir=str(config_dir), version_base=None):
            return hydra_compose(config_name=config_name, overrides=overrides)
    except _hydra_errors() as error:
        raise ConfigError(explain_hydra_error(error, overrides)) from None


def _hydra_errors() -> tuple[type[BaseException], ...]:
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    return (HydraException, OmegaConfBaseException, yaml.YAMLError)


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
    from omegaconf.errors import InterpolationResolutionError

    try:
        plain = to_plain_dict(cfg)
    except InterpolationResolutionError as error:  # an interpolation that points nowhere
        raise ConfigError(explain_hydra_error(error, [])) from None
    problems = schema_problems(plain)
    if not problems:
        problems = [msg for check in SEMANTIC_CHECKS for msg in check(plain)]
    if len(problems) == 1:
        raise ConfigError(f"invalid config: {problems[0]}")
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(sorted(problems)))
    return plain


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
    return _expand_placeholders(
        {
            "type": "object",
            "additionalProperties": False,
            "required": required,
            "properties": {**root_properties, **groups},
        }
    )


# `x-enum: activations` in a schema file stands for the activation names models accept.
NAMED_ENUMS = {"activations": list(ACTIVATIONS)}


def _expand_placeholders(schema: Any) -> Any:
    """The schema with its two shorthands written out, so that no list is kept twice.

    - ``x-enum: NAME`` becomes ``enum`` of :data:`NAMED_ENUMS` [NAME];
    - an object whose ``allOf`` has one branch per ``kind`` (``if: {properties: {kind:
      {const: K}}}``) gets ``enum`` of those K on its ``kind`` property: a new kind is its
      branch alone.
    """
    if isinstance(schema, list):
        return [_expand_placeholders(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    expanded = {key: _expand_placeholders(value) for key, value in schema.items()}
    if "x-enum" in expanded:
        expanded["enum"] = NAMED_ENUMS[expanded.pop("x-enum")]
    kinds = [
        branch["if"]["properties"]["kind"]["const"]
        for branch in expanded.get("allOf", [])
        if "const" in branch.get("if", {}).get("properties", {}).get("kind", {})
    ]
    if kinds and "kind" in expanded.get("properties", {}):
        expanded["properties"]["kind"] = {**expanded["properties"]["kind"], "enum": kinds}
    return expanded


def schema_problems(plain: Mapping) -> list[str]:
    """Messages for every schema violation of a plain run config.

    The top level is checked alone (unknown sections, missing groups), then each section
    against its own schema, memoised on the section's content: a sweep's runs share most of
    their sections, and a parse of the workflow validates every run.
    """
    problems = [describe_schema_error(e) for e in _validator("").iter_errors(plain)]
    sections = run_config_schema()["properties"]
    for section, value in plain.items():
        if section in sections:
            problems += _section_problems(section, json.dumps(value, sort_keys=True))
    return problems


@functools.lru_cache(maxsize=4096)
def _section_problems(section: str, value_json: str) -> tuple[str, ...]:
    problems = []
    for error in _validator(section).iter_errors(json.loads(value_json)):
        error.path.appendleft(section)
        problems.append(describe_schema_error(error))
    return tuple(problems)


@functools.cache
def _validator(section: str):
    """The validator of one section's schema; of the top level alone for ``""``."""
    import jsonschema

    schema = run_config_schema()
    if section:
        return jsonschema.Draft202012Validator(schema["properties"][section])
    shallow = {**schema, "properties": dict.fromkeys(schema["properties"], {})}
    return jsonschema.Draft202012Validator(shallow)


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


def describe_schema_error(error) -> str:
    """``key: got VALUE; allowed: ...`` for one JSON-schema violation."""
    key = ".".join(str(part) for part in error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "additionalProperties":
        known = schema.get("properties", {})
        unknown = sorted(set(error.instance) - set(known))
        return _unknown_key_message(".".join(filter(None, [key, *unknown[:1]])), known)
    allowed = _allowed_values(schema)
    description = f" ({schema['description']})" if schema.get("description") else ""
    if allowed and error.validator != "required":
        got = json.dumps(error.instance, default=str)
        return f"{key or 'config'}: got {got}; allowed: {allowed}{description}"
    return f"{key or 'config'}: {error.message}{description}"


def _allowed_values(schema: Mapping) -> str:
    """What a property schema accepts, in words: ``one of a, b`` or ``integer >= 1``."""
    if "enum" in schema:
        return "one of " + ", ".join(str(value) for value in schema["enum"])
    types = schema.get("type")
    if not types:
        return ""
    words = [" or ".join(types) if isinstance(types, list) else types]
    bounds = (
        ("minimum", ">="),
        ("exclusiveMinimum", ">"),
        ("maximum", "<="),
        ("exclusiveMaximum", "<"),
    )
    words.append(" and ".join(f"{sym} {schema[name]}" for name, sym in bounds if name in schema))
    if "pattern" in schema:
        words.append(f"matching {schema['pattern']}")
    if isinstance(schema.get("items"), Mapping) and _allowed_values(schema["items"]):
        words.append(f"of {_allowed_values(schema['items'])}")
    return " ".join(filter(None, words))


def _unknown_key_message(key: str, known: Iterable[str]) -> str:
    section = key.rpartition(".")[0] or "the config"
    allowed = ", ".join(sorted(set(known) - {"hydra"}))  # hydra: Hydra's own, not ours to set
    return f"{key}: unknown key; allowed keys of {section}: {allowed}"


def explain_hydra_error(error: Exception, overrides: list[str]) -> str:
    """One short message for a failed composition: the key or file, what is wrong, what is allowed.

    Hydra's own messages add a config search path dump and advice that does not apply here
    (``+key`` to append an unknown key); only their first paragraph is kept as a fallback.
    """
    from hydra.errors import MissingConfigException
    from omegaconf.errors import ConfigAttributeError, ConfigKeyError, InterpolationResolutionError

    cause = error.__cause__
    if isinstance(error, MissingConfigException) and error.options is not None:
        group, _, option = (error.missing_cfg_file or "").rpartition("/")
        return f"{group}: no option {option!r}; available: {', '.join(error.options)}"
    if isinstance(cause, ConfigAttributeError | ConfigKeyError) and cause.full_key:
        known = cause.parent_node.keys() if cause.parent_node is not None else ()
        return _unknown_key_message(str(cause.full_key), [str(k) for k in known])
    if isinstance(error, InterpolationResolutionError):
        return f"{error.full_key or 'config'}: {error.msg.splitlines()[0]}"
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        return f"{mark.name}:{mark.line + 1}: YAML syntax error: {error.problem}"
    paragraph = str(error).strip().split("\n\n")[0].split("\nConfig search path:")[0]
    message = ": ".join(line for line in paragraph.splitlines() if not line.startswith("See "))
    shown = " ".join(overrides) if overrides else "(no overrides)"
    return f"cannot compose config with overrides {shown}: {message}"
