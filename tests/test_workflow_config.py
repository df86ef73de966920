"""The sweep config as the workflow receives it: from a sweep file and from ``--config``."""

from __future__ import annotations

import pytest

from tests.workflow_helpers import (
    CONFIGFILE,
    REPO,
    TINY_SWEEP,
    copy_workflow,
    planned_jobs,
    write_sweep,
)
from thesis_ml.pipeline.sweep import SweepError
from thesis_ml.pipeline.workflow_config import validate_sweep_config

SWEEP_SCHEMA = REPO / "workflow_configs" / "schemas" / "sweep.schema.yaml"


@pytest.mark.slow
def test_config_values_from_the_command_line_are_taken_as_the_schema_types_them(tmp_path):
    """``--config`` passes list and mapping items as strings (Snakemake parses them with YAML's
    BaseLoader); the README promises ``--config sweep=trial seeds=[0,1,2]`` works."""
    workdir = copy_workflow(tmp_path / "wf")
    write_sweep(workdir, TINY_SWEEP)
    jobs = planned_jobs(
        workdir, *CONFIGFILE, "--config", "sweep=trial", "seeds=[0,1,2]", "resources={retries: 0}"
    )
    assert jobs["train"] == 2 * 3


def test_strings_are_coerced_to_the_schema_type_everywhere_it_types_them():
    config = {
        **TINY_SWEEP,
        "seeds": ["0", "1"],
        "threads_per_run": "2",
        "resources": {"mem_mb": "3000", "retries": "0"},
        "grid": {"model.activation": ["relu", "8"]},  # untyped by the schema: kept as given
    }
    validate_sweep_config(config, SWEEP_SCHEMA)
    assert config["seeds"] == [0, 1]
    assert config["threads_per_run"] == 2
    assert config["resources"] == {"mem_mb": 3000, "runtime_min": 30, "retries": 0}
    assert config["grid"] == {"model.activation": ["relu", "8"]}


def test_a_string_that_is_no_value_of_the_schema_type_is_refused_naming_the_key():
    with pytest.raises(SweepError, match=r"seeds\.1: 'one' is not of type 'integer'"):
        validate_sweep_config({**TINY_SWEEP, "seeds": ["0", "one"]}, SWEEP_SCHEMA)
