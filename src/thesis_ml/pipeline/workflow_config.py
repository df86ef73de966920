"""Checks of a workflow config, done once at parse time before any job starts.

``snakemake.utils.validate`` checks the config against its JSON schema (and fills in the
schema's defaults); its own failure message prints the whole schema, so on failure this module
says instead which key is wrong and why. :func:`check_runs` then composes every run, so an
unknown override key or a bad value fails the workflow before any job starts, naming the key
and the run.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from thesis_ml.config import ConfigError
from thesis_ml.pipeline.sweep import SweepError

MAX_PROBLEMS_SHOWN = 10


def validate_sweep_config(config: dict, schema_path: Path | str) -> None:
    """Validate ``config`` in place (defaults filled in); raise SweepError naming the key."""
    from snakemake.utils import validate

    try:
        validate(config, str(schema_path))
    except Exception:
        raise SweepError(_schema_problems(config, Path(schema_path))) from None


def _schema_problems(config: dict, schema_path: Path) -> str:
    import jsonschema
    import yaml

    schema = yaml.safe_load(schema_path.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    lines = []
    for error in sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path)):
        key = ".".join(str(part) for part in error.absolute_path) or "(top level)"
        lines.append(f"{key}: {error.message}")
    return f"invalid workflow config ({schema_path.name}):\n  " + "\n  ".join(lines)


def check_runs(runs: Iterable, compose) -> None:
    """Compose every run with ``compose(overrides)``; raise SweepError listing the failures."""
    problems = []
    for run in runs:
        try:
            compose(run.overrides)
        except ConfigError as error:
            problems.append(f"run {run.name}: {error}")
    if problems:
        shown = problems[:MAX_PROBLEMS_SHOWN]
        more = len(problems) - len(shown)
        tail = f"\n  ... and {more} more runs" if more else ""
        raise SweepError("invalid sweep:\n  " + "\n  ".join(shown) + tail)
