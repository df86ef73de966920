"""Composing and validating run configs.

Composition and the override grammar (``a.b=v``, ``group=option``, ``group/sub=option``,
``'[a,b]'``) are hydra-core's compose API; this module only adds validation against the JSON
schemas in ``thesis_ml/schemas/`` and turns every failure into one :class:`ConfigError` that
names the key. The CLI, the pipeline and notebooks all go through :func:`compose`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import yaml
from omegaconf import MISSING, DictConfig, OmegaConf

from thesis_ml.config_schema import schema_problems, unknown_key_message
from thesis_ml.data.splits import split_problem
from thesis_ml.errors import UserError
from thesis_ml.utils.yaml_file import yaml_problem

PACKAGE_DIR = Path(__file__).resolve().parent
CONFIG_DIR = PACKAGE_DIR / "configs"

# Checks that JSON Schema cannot express (relations between keys). Each takes the plain
# config dict and returns messages of the form "key: what is wrong".
SEMANTIC_CHECKS: list[Callable[[dict], list[str]]] = []


MAX_CODES = 2**24  # as phase1.tokenizer.codebook_size's maximum in schemas/phase1.yaml


def _check_phase1_shapes(cfg: dict) -> list[str]:
    """VQ tokens must split the latent evenly (and be at least codebook_dim); reconstruction
    factors must fit the features."""
    problems = []
    phase1, data = cfg.get("phase1") or {}, cfg.get("data") or {}
    tokenizer, encoder = phase1.get("tokenizer") or {}, phase1.get("encoder") or {}
    n_tokens, latent_dim = tokenizer.get("n_tokens"), encoder.get("latent_dim")
    if n_tokens and latent_dim and latent_dim % n_tokens:
        problems.append(
            f"phase1.tokenizer.n_tokens: {n_tokens} does not divide "
            f"phase1.encoder.latent_dim={latent_dim}"
        )
    codebook_dim = tokenizer.get("codebook_dim")
    if codebook_dim and latent_dim and codebook_dim > latent_dim // (n_tokens or 1):
        per_token = f"/ n_tokens = {latent_dim // n_tokens}" if n_tokens else f"= {latent_dim}"
        problems.append(
            f"phase1.tokenizer.codebook_dim: {codebook_dim} exceeds the size of a token, "
            f"phase1.encoder.latent_dim {per_token}"
        )
    if tokenizer.get("kind") == "fsq" and (tokenizer.get("levels") is None) == (
        tokenizer.get("bits") is None
    ):
        problems.append(
            "phase1.tokenizer.levels / phase1.tokenizer.bits: give exactly one of them "
            "(the other null)"
        )
    levels = tokenizer.get("levels") if tokenizer.get("kind") == "fsq" else None
    if levels and math.prod(levels) > MAX_CODES:  # code counts are tallied per code
        problems.append(
            f"phase1.tokenizer.levels: {levels} make {math.prod(levels)} codes; at most "
            f"{MAX_CODES} (2**24, the VQ codebook's limit too)"
        )
    n_factors, n_features = data.get("n_factors"), data.get("n_features")
    if n_factors and n_features and n_factors > n_features:
        problems.append(f"data.n_factors: {n_factors} exceeds data.n_features={n_features}")
    return problems


SEMANTIC_CHECKS.append(_check_phase1_shapes)


def _check_vq_options(cfg: dict) -> list[str]:
    """SimVQ's codebook learns by gradient, through its map: an EMA update has nothing to move."""
    tokenizer = (cfg.get("phase1") or {}).get("tokenizer") or {}
    if tokenizer.get("simvq") and tokenizer.get("ema"):
        return [
            "phase1.tokenizer.simvq / phase1.tokenizer.ema: SimVQ learns its codebook by "
            "gradient; set phase1.tokenizer.ema=false"
        ]
    return []


SEMANTIC_CHECKS.append(_check_vq_options)


def _check_split(cfg: dict) -> list[str]:
    problem = split_problem(cfg.get("data") or {})
    return [problem] if problem else []


SEMANTIC_CHECKS.append(_check_split)


def _check_phase1_loop(cfg: dict) -> list[str]:
    """Autoencoder parts with the supervised loop would be ignored: say what selects them."""
    parts = sorted((cfg.get("phase1") or {}).keys())
    if parts and (cfg.get("trainer") or {}).get("loop") == "supervised":
        chosen = ", ".join(f"phase1/{part}" for part in parts)
        return [
            f"trainer.loop: supervised trains the MLP of `model` and ignores {chosen}; add "
            "phase1/trainer=ae to train the autoencoder (it also selects its loop and data)"
        ]
    return []


SEMANTIC_CHECKS.append(_check_phase1_loop)


def unusable_values(cfg: dict, prefix: str = "") -> list[str]:
    """Values every schema lets through: NaN and infinity pass every bound (each comparison
    with them is false), and Hydra's ``???`` (a value the config requires from the command
    line) is a string. Refused before any check that computes with them."""
    problems = []
    for key, value in cfg.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            problems += unusable_values(value, f"{name}.")
        elif isinstance(value, float) and not math.isfinite(value):
            problems.append(f"{name}: got {value}; allowed: a finite number")
        elif value == MISSING:
            problems.append(f"{name}: required; give it on the command line: {name}=...")
    return problems


# Where to go for several runs at once (Hydra's --multirun is not supported: sweeps are
# Snakemake's).
SWEEP_HINT = (
    "write the values under grid: in a sweep file and run "
    '`snakemake --cores N --configfile workflow_configs/<sweep>.yaml` (README "Sweeps")'
)


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
    check_override_syntax(overrides)
    try:
        with initialize_config_dir(config_dir=str(config_dir), version_base=None):
            return hydra_compose(config_name=config_name, overrides=overrides)
    except _hydra_errors() as error:
        raise ConfigError(explain_hydra_error(error, overrides)) from None


OVERRIDE_GRAMMAR = (
    "write key=value (trainer.lr=0.01), group=option (model=mlp), +key=value to add a key "
    "or ~key to delete one"
)


def check_override_syntax(overrides: list[str]) -> None:
    """Each override parsed by Hydra's own grammar before composing, so that a malformed one
    (a space in its key, no ``=``, an empty key that Hydra would take for a config group) is
    one message naming it rather than a parser dump or a ValueError from deep in Hydra."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    parser = OverridesParser.create()
    for override in overrides:
        try:
            (parsed,) = parser.parse_overrides([override])
        except OverrideParseException as error:
            raise ConfigError(
                f"override {override!r}: {_parse_failure(str(error), override)}; {OVERRIDE_GRAMMAR}"
            ) from None
        key = parsed.key_or_group
        if not key:
            raise ConfigError(f"override {override!r}: no key before '='; {OVERRIDE_GRAMMAR}")
        if key == "hydra" or key.startswith(("hydra.", "hydra/")):
            # composed configs drop Hydra's own node: the override would do nothing, silently
            raise ConfigError(
                f"{key}: Hydra's own settings do not apply here (configs are composed with its "
                "compose API, no Hydra app runs); a run's directory is run_dir=DIR, a report's "
                "outputs.out_dir=DIR"
            )


def _parse_failure(message: str, override: str) -> str:
    """What Hydra's override parser found, without its caret drawing and documentation link:
    the lexer's column, or the parser's one-line reason (``missing EQUAL at '<EOF>'``)."""
    lexer = "LexerNoViableAltException: "
    lines = [line for line in message.splitlines() if line.strip() and not line.startswith("See ")]
    if lines[0].startswith(lexer) and len(lines) > 1 and "^" in lines[1]:
        column = lines[1].index("^") - len(lexer)
        if 0 <= column < len(override):
            return f"unexpected {override[column]!r} at column {column + 1}"
    reasons = [line for line in lines if not line.startswith(("Error parsing override", lexer))]
    return reasons[0] if reasons else "not an override"


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
    problems = unusable_values(plain) or schema_problems(plain)
    if not problems:
        problems = [msg for check in SEMANTIC_CHECKS for msg in check(plain)]
    if len(problems) == 1:
        raise ConfigError(f"invalid config: {problems[0]}")
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(sorted(problems)))
    return plain


def group_options(config_dir: Path | str = CONFIG_DIR) -> dict[str, list[str]]:
    """Every config group below ``config_dir`` and its options, for ``--help``."""
    config_dir = Path(config_dir)
    groups: dict[str, list[str]] = {}
    for option in sorted(config_dir.rglob("*.yaml")):
        group = option.parent.relative_to(config_dir).as_posix()
        if group != ".":
            groups.setdefault(group, []).append(option.stem)
    return groups


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
        return unknown_key_message(str(cause.full_key), [str(k) for k in known])
    if isinstance(error, InterpolationResolutionError):
        return f"{error.full_key or 'config'}: {error.msg.splitlines()[0]}"
    ambiguous = re.search(r"Ambiguous value for argument '([^=']+)=([^']*)'", str(error))
    if ambiguous:
        key, value = ambiguous.groups()
        return (
            f"{key}={value}: a run takes one value; for a list write {key}=[{value}], for text "
            f"with commas quote it: {key}='{value}'. Several runs, one per value, are a sweep: "
            f"{SWEEP_HINT}"
        )
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        return yaml_problem(error.problem_mark.name, error)
    paragraph = str(error).strip().split("\n\n")[0].split("\nConfig search path:")[0]
    message = ": ".join(line for line in paragraph.splitlines() if not line.startswith("See "))
    shown = " ".join(overrides) if overrides else "(no overrides)"
    return f"cannot compose config with overrides {shown}: {message}"
