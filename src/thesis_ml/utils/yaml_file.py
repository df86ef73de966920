"""YAML files a user writes (sweep files, a run's ``cfg.yaml``): safe loading only, every problem
one line naming the file, line and column, and a key given twice refused (PyYAML keeps the last
one silently, so a sweep that lists ``grid:`` twice would run half of what its file says)."""

from __future__ import annotations

from pathlib import Path

import yaml

from thesis_ml.errors import UserError
from thesis_ml.utils.io import read_user_text


class _UniqueKeyLoader(yaml.SafeLoader):
    """The safe loader, refusing a mapping that names a key twice."""


def _unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    first_line: dict = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in first_line:
            raise yaml.constructor.ConstructorError(
                problem=f"key {key!r} given twice (first on line {first_line[key]})",
                problem_mark=key_node.start_mark,
            )
        first_line[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def load_yaml_file(
    path: Path | str, error: type[UserError] = UserError, loader: type | None = None
) -> object:
    """The document of ``path``; ``error`` names what is wrong with it. ``loader`` replaces the
    key-checking loader where speed matters more (files this package wrote itself)."""
    text = read_user_text(path, error)
    try:
        return yaml.load(text, Loader=loader or _UniqueKeyLoader)  # noqa: S506 (safe loaders only)
    except yaml.YAMLError as problem:
        raise error(yaml_problem(path, problem)) from None


def yaml_problem(path: Path | str, error: yaml.YAMLError) -> str:
    """One line: ``path:line:column: YAML syntax error: what`` (line and column 1-based)."""
    mark = getattr(error, "problem_mark", None)
    what = getattr(error, "problem", None) or str(error).splitlines()[0]
    if not isinstance(error, yaml.constructor.ConstructorError):  # a duplicate key is no typo
        what = f"YAML syntax error: {what}"
    if mark is None:
        return f"{path}: {what}"
    return f"{path}:{mark.line + 1}:{mark.column + 1}: {what}"
