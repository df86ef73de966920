"""Nested configs as dotted keys (``{"a": {"b": 1}}`` is ``{"a.b": 1}``), and the keys in
which configs differ: what labels a report's runs and what tells a stack's members apart."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any


def flatten(config: Mapping, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``; lists become tuples so values compare and hash."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = tuple(value) if isinstance(value, list) else value
    return flat


def differing_keys(configs: Sequence[Mapping], ignore: Iterable[str]) -> list[str]:
    """Flattened keys whose value is not the same in every config (absent counts as a value)."""
    ignore = tuple(ignore)
    keys: dict[str, None] = {}
    for config in configs:
        keys.update(dict.fromkeys(config))
    return [
        key
        for key in keys
        if not is_under(key, ignore) and len({hashable(c.get(key)) for c in configs}) > 1
    ]


def is_under(key: str, ignore: tuple[str, ...]) -> bool:
    """``key`` is one of the ``ignore`` keys or lies below one."""
    return any(key == prefix or key.startswith(f"{prefix}.") for prefix in ignore)


def hashable(value: Any) -> Any:
    """``value`` as something a set holds (a mapping by its repr)."""
    return repr(value) if isinstance(value, dict) else value
