"""The searched keys against the run config: each must be an override key of it, and every
value at the edges of its space one the run config takes.

Hydra and OmegaConf are imported only here, when a config is composed: tell and status, which
compose nothing, start a quarter second sooner.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from thesis_ml.search import SearchError
from thesis_ml.search.section import EPOCHS_KEY, SearchConfig

STOP_KEY = "trainer.stop_after_epochs"

Compose = Callable[[Sequence[str]], Mapping]


def compose_keys(overrides: Sequence[str]) -> Mapping:
    """The run config as composed and validated."""
    from thesis_ml.config import compose

    return compose(list(overrides))


def check_run_config(
    search: SearchConfig, overrides: Sequence[str] = (), compose: Compose = compose_keys
) -> Mapping:
    """Compose the run config with the sweep's ``overrides`` and the searched keys, each at
    every edge of its space (a range's low and high, every choice), so that a key that is no
    override key, or a value the run config refuses, fails now, named, before any job.
    Returns the config at the first values (the pruner's last rung is its trainer.epochs)."""
    from thesis_ml.config import ConfigError

    for key in (override.split("=", 1)[0].lstrip("+~") for override in overrides):
        if key == STOP_KEY:
            raise SearchError(f"overrides: {STOP_KEY} is the search's to set (its rungs)")
    for parameter in search.space:
        if parameter.key == STOP_KEY:
            raise SearchError(f"search.space.{STOP_KEY}: the search's rungs set it")
    first = {parameter.key: parameter.first_value() for parameter in search.space}
    try:
        config = compose([*overrides, *_assigned(search, first)])
    except ConfigError as error:
        raise SearchError(_culprit(search, overrides, compose, error)) from None
    for parameter in search.space:
        for value in parameter.extreme_values():
            try:
                compose([*overrides, *_assigned(search, {**first, parameter.key: value})])
            except ConfigError as error:
                detail = str(error).removeprefix(f"{parameter.key}: ")
                raise SearchError(
                    f"search.space.{parameter.key}: the run config refuses its value "
                    f"{value!r}: {detail}"
                ) from None
    if search.pruner.kind != "none":
        epochs = config["trainer"]["epochs"]
        if search.pruner.min_epochs >= epochs:
            raise SearchError(
                f"search.pruner.min_epochs: {search.pruner.min_epochs} is not below "
                f"{EPOCHS_KEY}={epochs}, so there is one rung and nothing to prune"
            )
    return config


def _assigned(search: SearchConfig, values: Mapping) -> list[str]:
    return [parameter.override(values[parameter.key]) for parameter in search.space]


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
