"""The searched keys against the run config: each must be an override key of it.

Hydra and OmegaConf are imported only here, when a config is composed: tell and status, which
compose nothing, start a quarter second sooner.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from thesis_ml.search import SearchError
from thesis_ml.search.section import EPOCHS_KEY, SearchConfig

Compose = Callable[[Sequence[str]], Mapping]


def compose_keys(overrides: Sequence[str]) -> Mapping:
    """The run config as composed (values unchecked: each trial's run validates its own)."""
    from thesis_ml.config import CONFIG_DIR, compose_unvalidated

    return compose_unvalidated(overrides, "config", CONFIG_DIR)


def check_run_config(
    search: SearchConfig, overrides: Sequence[str] = (), compose: Compose = compose_keys
) -> Mapping:
    """Compose the run config with the sweep's ``overrides`` and every searched key at a value
    of its space, so that a key that is no override key fails now, named, before any job.
    Returns that config (the pruner's last rung is its trainer.epochs)."""
    from thesis_ml.config import ConfigError

    assigned = [parameter.override(parameter.first_value()) for parameter in search.space]
    try:
        config = compose([*overrides, *assigned])
    except ConfigError as error:
        raise SearchError(_culprit(search, overrides, compose, error)) from None
    if search.pruner.kind != "none":
        epochs = config["trainer"]["epochs"]
        if search.pruner.min_epochs >= epochs:
            raise SearchError(
                f"search.pruner.min_epochs: {search.pruner.min_epochs} is not below "
                f"{EPOCHS_KEY}={epochs}, so there is one rung and nothing to prune"
            )
    return config


def _culprit(search: SearchConfig, overrides, compose: Compose, error: Exception) -> str:
    """The message of the first searched key that fails to compose on its own."""
    from thesis_ml.config import ConfigError

    try:
        compose(list(overrides))
    except ConfigError as base_error:
        return f"overrides: {base_error}"
    for parameter in search.space:
        try:
            compose([*overrides, parameter.override(parameter.first_value())])
        except ConfigError as key_error:
            detail = str(key_error).removeprefix(f"{parameter.key}: ")
            return f"search.space.{parameter.key}: {detail}"
    return f"search.space: {error}"
