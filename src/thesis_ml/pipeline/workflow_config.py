"""Checks of a workflow config, done once at parse time before any job starts.

Values given with ``snakemake --config`` arrive as strings inside lists and mappings (Snakemake
parses those with YAML's BaseLoader: ``seeds=[0,1]`` is ``["0", "1"]``), so strings are first
converted to the type the schema gives their key. ``snakemake.utils.validate`` then checks the
config against its JSON schema (and fills in the schema's defaults); its own failure message
prints the whole schema, so on failure this module says instead which key is wrong and why.
:func:`check_runs` then composes every run, so an unknown override key or a bad value fails the
workflow before any job starts, naming the key and the run. :func:`sweep_errors_exit` turns any
such error into one message naming the user's sweep file: raised in a rule file, Snakemake would
name that rule file instead and print stack frames.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from thesis_ml.config import ConfigError, to_struct_config
from thesis_ml.errors import EXIT_BAD_INPUT, UserError, exit_status
from thesis_ml.pipeline.sweep import SweepError, data_id
from thesis_ml.utils.io import atomic_write_text, why_not_a_file
from thesis_ml.utils.yaml_file import load_yaml_file

MAX_PROBLEMS_SHOWN = 10
_INTEGER = re.compile(r"^[-+]?[0-9]+$")


@contextmanager
def sweep_errors_exit(sweep_files: Sequence[Path | str], command_line_config: bool) -> Iterator:
    """Bad input raised inside ends the process: one ``error:`` message naming the sweep files
    (and ``--config`` where it set values too), exit status 2, no traceback."""
    try:
        yield
    except UserError as error:
        sources = [shown_path(path) for path in sweep_files]
        sources += ["--config"] if command_line_config else []
        print(f"error: {' + '.join(sources) or 'workflow config'}: {error}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT) from None


def shown_path(path: Path | str) -> str:
    """``path`` as a user would type it: relative to the working directory when inside it."""
    relative = os.path.relpath(path)
    return str(path) if relative.startswith("..") else relative


def check_sweep_files(sweep_files: Sequence[Path | str]) -> None:
    """Read each sweep file again with the key-checking loader, exiting with its one message:
    Snakemake's own loader keeps the last of a key given twice without a word."""
    for path in sweep_files:
        code = exit_status(lambda path=path: load_yaml_file(shown_path(path), SweepError))
        if code:
            raise SystemExit(code)


def validate_sweep_config(config: dict, schema_path: Path | str) -> None:
    """Validate ``config`` in place (strings coerced, defaults filled in); raise SweepError
    naming the key."""
    import yaml
    from snakemake.utils import validate

    schema = with_file_refs_inlined(
        yaml.safe_load(Path(schema_path).read_text(encoding="utf-8")), Path(schema_path).parent
    )
    config.update(coerce_to_schema(config, schema, schema))
    try:
        validate(config, str(schema_path))
    except Exception:
        raise SweepError(_schema_problems(config, schema, Path(schema_path).name)) from None


def with_file_refs_inlined(schema: dict, base: Path) -> dict:
    """The schema with each top-level property that refers to another schema file (the search
    section's, which lives beside its code) replaced by that file's content."""
    import yaml

    properties = {}
    for key, value in schema.get("properties", {}).items():
        reference = value.get("$ref", "") if isinstance(value, dict) else ""
        if reference and not reference.startswith("#"):
            value = yaml.safe_load((base / reference).read_text(encoding="utf-8"))
        properties[key] = value
    return {**schema, "properties": properties}


def coerce_to_schema(value: object, schema: dict, root: dict) -> object:
    """``value`` with every string that the (sub)schema types as integer, number or boolean
    converted to it, through objects and arrays; a string that is no such value stays, for
    validation to name its key."""
    if not isinstance(schema, dict):  # absent, or a boolean schema: nothing says a type
        return value
    while "$ref" in schema:  # the schema's own definitions: "#/$defs/<name>"
        schema = root["$defs"][schema["$ref"].rsplit("/", 1)[-1]]
    kind = schema.get("type")
    if isinstance(value, str):
        return _scalar(value, kind)
    if isinstance(value, dict) and kind == "object":
        properties, extra = schema.get("properties", {}), schema.get("additionalProperties")
        return {
            key: coerce_to_schema(item, properties.get(key, extra), root)
            for key, item in value.items()
        }
    if isinstance(value, list) and kind == "array":
        return [coerce_to_schema(item, schema.get("items"), root) for item in value]
    return value


def _scalar(text: str, kind: object) -> object:
    if kind == "integer" and _INTEGER.match(text):
        return int(text)
    if kind == "number":
        try:
            return int(text) if _INTEGER.match(text) else float(text)
        except ValueError:
            return text
    if kind == "boolean" and text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def _schema_problems(config: dict, schema: dict, schema_name: str) -> str:
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    lines = []
    for error in sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path)):
        key = ".".join(str(part) for part in error.absolute_path) or "(top level)"
        lines.append(f"{key}: {error.message}")
    return f"invalid workflow config ({schema_name}):\n  " + "\n  ".join(lines)


def check_runs(runs: Iterable, compose, checked_data: Path | None = None) -> None:
    """Compose every run with ``compose(overrides)`` and read each data file the runs name;
    raise SweepError listing the failures. ``checked_data``: a directory remembering the
    datasets (by id, so by content) already read without a problem."""
    problems = []
    files: dict[str, tuple[str, dict]] = {}  # dataset id -> (first run using it, data config)
    for run in runs:
        try:
            data = compose(run.overrides)["data"]
        except ConfigError as error:
            problems.append(f"run {run.name}: {error}")
            continue
        # the data step's input function reads the file (its digest names the dataset), and
        # an error raised there reaches the user as a traceback
        path = Path(data["path"]) if data.get("kind") == "file" else None
        if path is not None and (problem := why_not_a_file(path)):
            problems.append(f"run {run.name}: data.path={path}: {problem}")
        elif path is not None:
            files.setdefault(data_id(data), (run.name, data))
    problems += _data_file_problems(files, checked_data)
    if problems:
        shown = problems[:MAX_PROBLEMS_SHOWN]
        more = len(problems) - len(shown)
        tail = f"\n  ... and {more} more runs" if more else ""
        raise SweepError("invalid sweep:\n  " + "\n  ".join(shown) + tail)


def _data_file_problems(files: Mapping[str, tuple[str, dict]], checked: Path | None) -> list:
    """What is wrong with each data file, found now rather than by its data job, whose failure
    a user finds in a log file (and which would run after others have started)."""
    if not files:
        return []
    from thesis_ml.data.user_file import generate  # torch: only for sweeps of data files

    problems = []
    for identity, (name, data) in files.items():
        marker = checked / identity if checked is not None else None
        if marker is not None and marker.exists():
            continue
        try:
            generate(data)
        except UserError as error:
            problems.append(f"run {name}: {error}")
            continue
        if marker is not None:
            atomic_write_text(marker, "", durable=False)
    return problems


def check_stacks(config: Mapping, packs: Iterable, runs: Mapping, compose) -> None:
    """With ``stack_seeds: true``, every pack's runs (one configuration, its seeds) must train
    as one stack; raise SweepError naming the key that keeps them from it."""
    from thesis_ml.train.stacked_seeds import refuse_unstackable  # torch: only when stacking

    if config["pack"] > 1:
        raise SweepError(
            f"pack: {config['pack']} and stack_seeds: true; a stack is one job per "
            "configuration already: drop one of the two"
        )
    for pack in packs:
        try:
            refuse_unstackable(
                [to_struct_config(compose(runs[name].overrides)) for name in pack.runs]
            )
        except ConfigError as error:
            raise SweepError(f"stack_seeds: run {pack.runs[0]}: {error}") from None
