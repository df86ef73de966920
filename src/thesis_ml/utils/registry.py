"""Looking up what a config's ``kind`` (or ``trainer.loop``, ``data.task``) selects."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TypeVar

from thesis_ml.config import ConfigError

Entry = TypeVar("Entry")


def select(registry: Mapping[str, Entry], key: str, name: str) -> Entry:
    """``registry[name]``; a ConfigError naming ``key`` and the known names otherwise."""
    return registry[check_known(registry, key, name)]


def check_known(names: Collection[str], key: str, name: str) -> str:
    """``name`` when it is one of ``names``; a ConfigError naming ``key`` and them otherwise."""
    if name not in names:
        raise ConfigError(f"{key}: {name!r} is not known; valid: {', '.join(sorted(names))}")
    return name
