"""Report configs: composed by Hydra from ``reports/configs/``, checked by ``reports/schema.yaml``.

They live apart from the run configs, so that they never show up as run-config groups.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from pathlib import Path

import yaml
from omegaconf import DictConfig

from thesis_ml.config import (
    ConfigError,
    compose_unvalidated,
    to_plain_dict,
    to_struct_config,
)
from thesis_ml.config_schema import describe_schema_error
from thesis_ml.reports.figures import FIGURES

REPORT_CONFIG_DIR = Path(__file__).resolve().parent / "configs"
DEFAULT_REPORT_CONFIG = "compare_tokenizers"
SCHEMA_FILE = Path(__file__).resolve().parent / "schema.yaml"


def compose_report_config(
    overrides: Iterable[str] = (),
    config_name: str = DEFAULT_REPORT_CONFIG,
    config_dir: Path | str = REPORT_CONFIG_DIR,
) -> DictConfig:
    """Compose a report config with Hydra overrides and validate it (before any run is read)."""
    cfg = compose_unvalidated(overrides, config_name, config_dir)
    validate_report_config(cfg)
    return cfg


def validate_report_config(cfg: DictConfig | Mapping) -> dict:
    """Check a report config against the schema; one :class:`ConfigError` lists all problems."""
    import jsonschema

    plain = to_plain_dict(cfg)
    validator = jsonschema.Draft202012Validator(report_schema())
    problems = [describe_schema_error(error) for error in validator.iter_errors(plain)]
    if not problems:
        problems = _check_inputs(plain["inputs"])
    if problems:
        raise ConfigError("invalid report config:\n  " + "\n  ".join(sorted(problems)))
    return plain


def with_inputs(cfg: DictConfig, run_dirs, out_dir) -> DictConfig:
    """``cfg`` with the run directories (a list, or one sweep directory) and out_dir set."""
    plain = to_plain_dict(cfg)
    if run_dirs is not None:
        if isinstance(run_dirs, str | Path):
            plain["inputs"].update(run_dirs=[], sweep_dir=str(run_dirs))
        else:
            plain["inputs"].update(run_dirs=[str(p) for p in run_dirs], sweep_dir=None)
    if out_dir is not None:
        plain["outputs"]["out_dir"] = str(out_dir)
    return to_struct_config(plain)


# What the pipeline's report step sets itself: the sweep's runs and results/<sweep>/report.
PIPELINE_SET_KEYS = ("inputs", "outputs.out_dir", "outputs.report_subdir")


def check_pipeline_overrides(overrides: Iterable[str]) -> None:
    """A sweep's ``report.overrides``, checked when the workflow is parsed: found by the report
    job, a mistake would fail it after Snakemake has removed the previous report."""
    overrides = list(overrides)
    for override in overrides:
        key = override.lstrip("+~").split("=", 1)[0]
        if any(key == set_key or key.startswith(f"{set_key}.") for set_key in PIPELINE_SET_KEYS):
            raise ConfigError(
                f"report.overrides: {key}: the pipeline sets it (the sweep's runs, written to "
                "results/<sweep>/report); leave it out"
            )
    try:
        cfg = compose_unvalidated(overrides, DEFAULT_REPORT_CONFIG, REPORT_CONFIG_DIR)
        validate_report_config(with_inputs(cfg, ["runs"], "report"))
    except ConfigError as error:
        raise ConfigError(f"report.overrides: {error}") from None


def _check_inputs(inputs: Mapping) -> list[str]:
    if inputs["run_dirs"] and inputs["sweep_dir"]:
        return ["inputs: set inputs.run_dirs or inputs.sweep_dir, not both"]
    if not inputs["run_dirs"] and not inputs["sweep_dir"]:
        return ["inputs: no runs given; set inputs.run_dirs='[DIR,...]' or inputs.sweep_dir=DIR"]
    seen: dict[Path, str] = {}
    for given in inputs["run_dirs"]:  # one run twice would count twice in every mean
        resolved = Path(given).resolve()
        if resolved in seen:
            return [f"inputs.run_dirs: {given} is {seen[resolved]} again; give each run once"]
        seen[resolved] = given
    return []


@functools.cache
def report_schema() -> dict:
    """The schema file, with the figure names of :data:`FIGURES` as the only valid ones."""
    with SCHEMA_FILE.open(encoding="utf-8") as handle:
        schema = yaml.safe_load(handle)
    schema["properties"]["outputs"]["properties"]["which_figures"]["items"]["enum"] = list(FIGURES)
    return schema


@functools.cache
def default_summary_settings() -> dict:
    """The ``summary`` section of the default report config (for notebook loaders)."""
    with (REPORT_CONFIG_DIR / f"{DEFAULT_REPORT_CONFIG}.yaml").open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)["summary"]
