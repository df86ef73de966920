"""Sweep expansion: a workflow config becomes a list of runs, each a name and Hydra overrides.

A sweep (``workflow_configs/*.yaml``, schema in ``workflow_configs/schemas/``) has base
overrides for every run, a grid (Cartesian product of override values), conditional grids that
apply only where their ``when`` matches the grid point (so a VQ-only axis never multiplies the
continuous runs), explicit extra runs, and seeds. Expansion is pure Python on the workflow
config: nothing is composed here, so every Snakemake process can afford it at parse time.

Run names are made from the swept values only, e.g. ``tokenizer-vq__latent-8__seed-0``:
readable, deterministic, a single safe path component, and at most :data:`MAX_NAME_LENGTH`
characters (longer ones end in a hash of the full name).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from thesis_ml.errors import UserError
from thesis_ml.utils.io import file_digest, why_not_a_file

SEED_KEY = "trainer.seed"
MAX_NAME_LENGTH = 120
_SAFE_VALUE = re.compile(r"[^A-Za-z0-9.+-]")
_BARE_STRING = re.compile(r"^[A-Za-z_][A-Za-z0-9_./-]*$")
_HYDRA_KEYWORDS = {"true", "false", "null", "nan", "inf", "none"}


class SweepError(UserError):
    """A workflow config whose sweep cannot be expanded; the message names the key."""


@dataclass(frozen=True)
class Run:
    """One run of a sweep: its directory name, swept values and all its overrides."""

    name: str
    swept: tuple[tuple[str, object], ...]
    overrides: tuple[str, ...]


def expand_sweep(workflow_cfg: Mapping) -> list[Run]:
    """All runs of the sweep, in a stable order, each with a unique name."""
    _refuse_pipeline_set_keys(workflow_cfg)
    if "grid" not in workflow_cfg and "search" not in workflow_cfg:
        raise SweepError(
            "grid: required (override key -> list of values), unless a search: section "
            "says what to run"
        )
    base = tuple(workflow_cfg.get("overrides") or ())
    grid = workflow_cfg.get("grid") or {}
    # a search alone has no grid runs (an empty grid is otherwise the one run of the overrides)
    grid_points = [] if not grid and "search" in workflow_cfg else _grid_points(grid)
    for index, branch in enumerate(workflow_cfg.get("conditional") or ()):
        _check_when(f"conditional.{index}.when", branch["when"], grid)
    points = []
    for point in grid_points:
        extended = [point]
        for branch in workflow_cfg.get("conditional") or ():
            if _matches(branch["when"], point):
                extended = [
                    {**p, **extra} for p in extended for extra in _grid_points(branch["grid"])
                ]
        points.extend(extended)
    points.extend(dict(extra) for extra in workflow_cfg.get("runs") or ())
    seeds = workflow_cfg.get("seeds") or [0]
    labels = _labels([*{key for point in points for key in point}, SEED_KEY])

    runs: dict[str, Run] = {}
    for point in _unique(points):
        for seed in seeds:
            swept = (*point.items(), (SEED_KEY, seed))
            name = run_name(swept, labels)
            overrides = (*base, *(format_override(key, value) for key, value in swept))
            if name in runs:
                raise SweepError(
                    f"runs {dict(runs[name].swept)} and {dict(swept)} get the same name {name!r}"
                )
            runs[name] = Run(name=name, swept=swept, overrides=overrides)
    if not runs and "search" not in workflow_cfg:
        raise SweepError("grid: the sweep has no runs; give at least one grid value or run")
    return list(runs.values())


def data_id(data_config: Mapping) -> str:
    """Deterministic id of a dataset: every run with the same data config shares it.

    Data read from a file (``data=file``) is identified by the file's content too: editing the
    file gives the dataset a new id, hence reruns exactly the runs that use it, while touching
    it changes nothing.
    """
    identity = dict(data_config)
    if data_config.get("kind") == "file":
        path = Path(data_config["path"])
        if problem := why_not_a_file(path):
            raise SweepError(f"data.path={path}: {problem}")
        identity["content_sha256"] = file_digest(path)
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
    return f"{data_config['task']}-{digest[:12]}"


def _grid_points(grid: Mapping[str, Iterable]) -> list[dict]:
    keys = list(grid)
    for key in keys:
        if not isinstance(grid[key], list) or not grid[key]:
            raise SweepError(f"grid.{key}: expected a non-empty list of values")
    return [
        dict(zip(keys, values, strict=True))
        for values in itertools.product(*(grid[k] for k in keys))
    ]


# Run-config keys the pipeline sets itself, so a value given in the sweep would be replaced
# silently: a seed anywhere but ``seeds:`` (its runs would repeat one another), a run_dir.
PIPELINE_SET_KEYS = {
    SEED_KEY: (
        "seeds go in `seeds: [...]`; every combination runs once per seed listed there, and "
        "that seed replaces this one"
    ),
    "run_dir": (
        "the pipeline puts each run in results/<sweep>/runs/<run name>; name the sweep with "
        "`sweep:`"
    ),
    "trainer.num_threads": "`threads_per_run: N` sets the torch threads of each train job",
}


def _refuse_pipeline_set_keys(workflow_cfg: Mapping) -> None:
    """Keys of :data:`PIPELINE_SET_KEYS` anywhere in the sweep's grids, runs or overrides."""
    places = [("grid", workflow_cfg.get("grid") or {})]
    places += [
        (f"conditional.{i}.grid", branch.get("grid") or {})
        for i, branch in enumerate(workflow_cfg.get("conditional") or ())
    ]
    places += [(f"runs.{i}", run) for i, run in enumerate(workflow_cfg.get("runs") or ())]
    places += [("overrides", [o.split("=", 1)[0] for o in workflow_cfg.get("overrides") or ()])]
    for where, keys in places:
        for key in keys:
            if not isinstance(key, str):  # YAML reads `1:`, `null:` and `on:` as no text
                raise SweepError(f"{where}: the key {key!r} is no override key; quote it")
            if key.lstrip("+~") in PIPELINE_SET_KEYS:
                raise SweepError(f"{where}.{key}: {PIPELINE_SET_KEYS[key.lstrip('+~')]}")


def _check_when(where: str, condition: Mapping, grid: Mapping) -> None:
    """``when`` matches grid points, so each key must be a grid key and each value one of its
    values: anything else matches nothing and would silently drop the conditional axis."""
    for key, value in condition.items():
        if key not in grid:
            raise SweepError(f"{where}.{key}: not a grid key; grid keys: {', '.join(grid)}")
        if value not in grid[key]:
            raise SweepError(
                f"{where}.{key}: {value!r} is not one of its grid values"
                f" ({', '.join(map(repr, grid[key]))})"
            )


def _matches(condition: Mapping, point: Mapping) -> bool:
    return all(point.get(key) == value for key, value in condition.items())


def _unique(points: list[dict]) -> list[dict]:
    seen, unique = set(), []
    for point in points:
        marker = repr(sorted(point.items(), key=lambda item: item[0]))
        if marker not in seen:
            seen.add(marker)
            unique.append(point)
    return unique


def _labels(keys: Iterable[str]) -> dict[str, str]:
    """Shortest unambiguous label of each key: its last component, or more where two collide."""
    keys = sorted(set(keys))
    parts = {key: re.split(r"[./]", key) for key in keys}
    depth = dict.fromkeys(keys, 1)
    while True:
        labels = {key: "_".join(parts[key][-depth[key] :]) for key in keys}
        clashes = {k for k in keys if sum(v == labels[k] for v in labels.values()) > 1}
        growable = {k for k in clashes if depth[k] < len(parts[k])}
        if not growable:
            return labels
        for key in growable:
            depth[key] += 1


def run_name(swept: Iterable[tuple[str, object]], labels: Mapping[str, str]) -> str:
    pieces, exact = [], True
    for key, value in swept:
        text = _value_text(value)
        safe = _SAFE_VALUE.sub("_", text)
        exact &= safe == text
        pieces.append(f"{labels[key]}-{safe}")
    name = "__".join(pieces)
    digest = hashlib.sha256(repr(list(swept)).encode()).hexdigest()[:8]
    # Two values that sanitise alike, or two long names that truncate alike, stay distinct.
    if not exact or len(name) > MAX_NAME_LENGTH:
        name = f"{name[: MAX_NAME_LENGTH - 9]}-{digest}"
    return name


def _value_text(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return str(value).lower()
    if isinstance(value, list | tuple):
        return "-".join(_value_text(v) for v in value)
    return str(value)


def format_value(value: object) -> str:
    """``value`` in Hydra's override grammar (strings quoted whenever they need it)."""
    if isinstance(value, bool) or value is None:
        return "null" if value is None else str(value).lower()
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ",".join(format_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{k}:{format_value(v)}" for k, v in value.items()) + "}"
    text = str(value)
    if _BARE_STRING.match(text) and text.lower() not in _HYDRA_KEYWORDS:
        return text
    return "'" + text.replace("'", "\\'") + "'"


def format_override(key: str, value: object) -> str:
    """``key=value`` that Hydra parses back to exactly ``value``.

    Values written by :func:`format_value` from numbers, booleans, lists and bare words are
    exact by construction; a quoted string (spaces, quotes, ``$()``, newlines...) is parsed
    back with Hydra's grammar and refused if it does not survive intact.
    """
    text = f"{key}={format_value(value)}"
    if "'" in text:
        _check_round_trip(key, value, text)
    return text


def _check_round_trip(key: str, value: object, text: str) -> None:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        parsed = OverridesParser.create().parse_override(text).value()
    except Exception as error:
        raise SweepError(
            f"{key}: value {value!r} cannot be written as an override: {error}"
        ) from None
    if parsed != value and not (isinstance(value, tuple) and list(value) == parsed):
        raise SweepError(f"{key}: value {value!r} does not survive Hydra's override grammar")
