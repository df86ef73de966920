"""The JSON schema of a run config, assembled from ``schemas/*.yaml``, and its errors in words.

Each config group has its own schema file; :func:`run_config_schema` puts them together and
writes out two shorthands (``x-enum: activations`` and the ``kind`` enum of a section with one
branch per kind), so that no list is kept twice. :func:`schema_problems` validates a plain
config section by section and describes each violation as ``key: got VALUE; allowed: ...``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from thesis_ml.models.activations import ACTIVATIONS

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"


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
    problems = list(_top_level_problems(tuple(plain)))
    sections = run_config_schema()["properties"]
    for section, value in plain.items():
        if section in sections:
            problems += _section_problems(section, json.dumps(value, sort_keys=True))
    return problems


@functools.lru_cache(maxsize=64)
def _top_level_problems(sections: tuple[str, ...]) -> tuple[str, ...]:
    """The top level's problems, which depend on its keys alone (its values are the sections')."""
    top_level = dict.fromkeys(sections, {})
    return tuple(describe_schema_error(e) for e in _validator("").iter_errors(top_level))


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
        return unknown_key_message(".".join(filter(None, [key, *unknown[:1]])), known)
    allowed = allowed_values(schema)
    description = f" ({schema['description']})" if schema.get("description") else ""
    if error.validator == "uniqueItems":
        twice = json.dumps(_first_repeat(error.instance), default=str)
        return f"{key}: {twice} is listed twice; list each once"
    if allowed and error.validator != "required":
        got = json.dumps(error.instance, default=str)
        return f"{key or 'config'}: got {got}; allowed: {allowed}{description}"
    return f"{key or 'config'}: {error.message}{description}"


def _first_repeat(items: list) -> object:
    """The first item equal to an earlier one (items may be unhashable: lists, mappings)."""
    for index, item in enumerate(items):
        if item in items[:index]:
            return item
    return None


def allowed_values(schema: Mapping) -> str:
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
    if isinstance(schema.get("items"), Mapping) and allowed_values(schema["items"]):
        words.append(f"of {allowed_values(schema['items'])}")
    least, most = schema.get("minItems"), schema.get("maxItems")
    if least is not None and least == most:
        words.append(f"(exactly {least})")
    elif least is not None or most is not None:
        counts = [f"at least {least}" if least else "", f"at most {most}" if most else ""]
        words.append(f"({' and '.join(filter(None, counts))})")
    if schema.get("uniqueItems"):
        words.append("(each once)")
    return " ".join(filter(None, words))


def unknown_key_message(key: str, known: Iterable[str]) -> str:
    section = key.rpartition(".")[0] or "the config"
    allowed = ", ".join(sorted(set(known) - {"hydra"}))  # hydra: Hydra's own, not ours to set
    return f"{key}: unknown key; allowed keys of {section}: {allowed}"
