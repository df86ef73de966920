"""Resolved run configs for a whole sweep, fast enough to compute at Snakemake parse time.

``hydra.compose`` costs about 100 ms a call, so composing 1000 runs one by one costs minutes,
and every Snakemake process (one per cluster job) parses the workflow again. Two measures keep
it cheap, both exact:

- Runs are grouped by their *group* overrides (``model=mlp``, ``phase1/tokenizer=vq``): Hydra
  composes each group once, then applies each run's *value* overrides (``trainer.lr=0.1``) to a
  copy with Hydra's own override application, which is what ``compose`` does after merging the
  defaults list. A test checks that the result equals a full ``compose`` call.
- Resolved configs are cached on disk in one JSON file named by a digest of every package
  config and schema file, so a later process (a cluster job, a no-op rerun) reads instead of
  composing, and an edit to any config file invalidates all entries at once.
"""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

from thesis_ml.config import (
    CONFIG_DIR,
    ConfigError,
    compose_unresolved,
    explain_hydra_error,
    group_options,
    validate,
)
from thesis_ml.config_schema import SCHEMA_DIR


@functools.cache
def config_tree_digest() -> str:
    """Digest of every file that composition and validation read."""
    digest = hashlib.sha256()
    for root in (CONFIG_DIR, SCHEMA_DIR):
        for path in sorted(root.rglob("*.yaml")):
            digest.update(path.relative_to(root.parent).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@functools.cache
def _parser():
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create()


@functools.cache
def _group_names() -> frozenset[str]:
    return frozenset(group_options(CONFIG_DIR))


@functools.cache
def _parse_override(text: str):
    """One override parsed by Hydra's grammar (memoised: sweeps repeat the same strings)."""
    from hydra.errors import HydraException

    try:
        return _parser().parse_overrides([text])[0]
    except HydraException as error:
        raise ConfigError(explain_hydra_error(error, [text])) from None


def split_overrides(overrides: Sequence[str]) -> tuple[tuple[str, ...], list]:
    """(group overrides as strings, value overrides as parsed Hydra ``Override`` objects)."""
    parsed = [_parse_override(text) for text in overrides]
    groups = tuple(
        text
        for text, item in zip(overrides, parsed, strict=True)
        if item.key_or_group in _group_names()
    )
    values = [item for item in parsed if item.key_or_group not in _group_names()]
    return groups, values


@functools.cache
def _composed_groups(group_overrides: tuple[str, ...]) -> tuple[dict, bool]:
    """The composed config for these group choices (unresolved) and whether it interpolates."""
    from omegaconf import OmegaConf

    container = OmegaConf.to_container(compose_unresolved(group_overrides), resolve=False)
    return container, "${" in json.dumps(container)


def compose_run(overrides: Sequence[str]) -> dict:
    """The validated, resolved config of one run, as a plain dict (equal to ``compose``).

    Hydra applies the value overrides, except the plainest kind: a new scalar or list for a key
    that exists, in a config without interpolations. For that, Hydra's ``OmegaConf.update``
    on an untyped node is a plain assignment, and building OmegaConf objects per run would cost
    more than the rest of the workflow's parsing. Anything else (``+key``, ``~key``, a missing
    key, a dict value, an interpolation) goes through Hydra on the sections it touches.
    """
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from omegaconf import OmegaConf

    group_overrides, value_overrides = split_overrides(overrides)
    composed, interpolates = _composed_groups(group_overrides)
    plain = _copied(composed)
    if interpolates:
        rest = value_overrides
    else:
        rest = [item for item in value_overrides if not _assigned(plain, item)]
    if rest:
        touched = {item.key_or_group.split(".")[0] for item in rest}
        if interpolates or any("${" in str(item.value()) for item in rest):
            touched = set(plain)
        cfg = OmegaConf.create({section: plain[section] for section in touched if section in plain})
        OmegaConf.set_struct(cfg, True)
        try:
            ConfigLoaderImpl._apply_overrides_to_config(rest, cfg)
            plain.update(OmegaConf.to_container(cfg, resolve=True))
        except Exception as error:  # Hydra and OmegaConf raise several unrelated types here
            raise ConfigError(explain_hydra_error(error, list(overrides))) from None
    return validate(plain)


def _copied(node):
    """A copy of a composed config's tree of dicts and lists (whose leaves are immutable
    scalars), 3x faster than copy.deepcopy, which a 10,000-run sweep composes 10,000 times."""
    if isinstance(node, dict):
        return {key: _copied(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_copied(value) for value in node]
    return node


def _assigned(config: dict, override) -> bool:
    """Apply a plain ``key=value`` change of an existing key in place; False if not plain."""
    from hydra.core.override_parser.types import OverrideType

    value = override.value()
    if override.type != OverrideType.CHANGE or isinstance(value, dict) or "${" in str(value):
        return False
    *parents, leaf = override.key_or_group.split(".")
    node = config
    for part in parents:
        node = node.get(part) if isinstance(node, dict) else None
    if not isinstance(node, dict) or leaf not in node or isinstance(node[leaf], dict):
        return False
    node[leaf] = value
    return True


class RunConfigCache:
    """Resolved configs by override list, memoised in memory and in one JSON file on disk.

    The file is named by :func:`config_tree_digest`, so an edit to any package config or schema
    file starts a new one (and :meth:`save` deletes the old). The main Snakemake process
    composes a whole sweep, then saves once: one file write instead of one per run, which on
    a slow file system costs more than composing. A process that only reads (a cluster job)
    never writes; a torn or foreign file is ignored and rewritten.
    """

    def __init__(self, cache_dir: Path | str) -> None:
        self.path = Path(cache_dir) / f"{config_tree_digest()}.json"
        self._entries: dict[str, dict] | None = None
        self._unsaved = False

    def get(self, overrides: Iterable[str]) -> dict:
        overrides = tuple(overrides)
        entries = self._loaded()
        key = json.dumps(overrides)
        if key not in entries:
            entries[key] = compose_run(overrides)
            self._unsaved = True
        return entries[key]

    def save(self) -> None:
        """Write the entries composed since loading, if any, and drop stale cache files."""
        if not self._unsaved:
            return
        from thesis_ml.utils.io import atomic_write_text

        atomic_write_text(self.path, json.dumps(self._entries), durable=False)
        self._unsaved = False
        # Other config trees' files and the older layout's directories go; names starting with
        # "." are atomic writes of other processes, still in flight.
        for stale in self.path.parent.iterdir():
            if stale == self.path or stale.name.startswith("."):
                continue
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
            else:
                stale.unlink(missing_ok=True)

    def _loaded(self) -> dict[str, dict]:
        if self._entries is None:
            try:
                entries = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                entries = None  # absent or torn: compose afresh, rewrite on save
            self._entries = entries if isinstance(entries, dict) else {}
        return self._entries
