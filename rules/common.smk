# Sweep expansion and the helpers every rule uses. Nothing here composes a config until a
# rule asks for one (cluster jobs parse this file again and need only their own run).
import functools
import json
import re
from pathlib import Path

from thesis_ml.pipeline.import_graph import import_graph
from thesis_ml.pipeline.run_configs import RunConfigCache
from thesis_ml.pipeline.status import write_plan
from thesis_ml.pipeline.sweep import data_id, expand_sweep
from thesis_ml.pipeline.workflow_config import (
    check_runs,
    sweep_errors_exit,
    validate_sweep_config,
)
from thesis_ml.tokenizers.codes import code_levels

with sweep_errors_exit(workflow.configfiles, bool(workflow.config_settings.config)):
    validate_sweep_config(
        config, Path(workflow.basedir) / "workflow_configs/schemas/sweep.schema.yaml"
    )
    RUNS = {run.name: run for run in expand_sweep(config)}
    RUN_CONFIGS = RunConfigCache(".snakemake/thesis_ml/run-configs")
    if not workflow.remote_exec:  # a cluster job needs only its own run's config
        check_runs(RUNS.values(), RUN_CONFIGS.get)
        RUN_CONFIGS.save()
SWEEP = config["sweep"]
RESULTS = f"results/{SWEEP}"
RUN_DIR = f"{RESULTS}/runs/{{run}}"  # every per-run path hangs off this pattern
if not workflow.remote_exec:  # for `python -m thesis_ml.pipeline status`, even after a Ctrl-C
    write_plan(RESULTS, RUNS)
SOURCE = Path(workflow.basedir) / "src" / "thesis_ml"


# The modules each pipeline step's command runs first (`python -m pkg` runs pkg/__main__.py);
# the library sources the step depends on are their import closure (rules/sources.smk).
STEP_ENTRIES = {
    "data": ["thesis_ml.pipeline.__main__", "thesis_ml.pipeline.generate_data"],
    "reference": ["thesis_ml.pipeline.__main__", "thesis_ml.pipeline.reference_step"],
    "train": ["thesis_ml.pipeline.__main__", "thesis_ml.pipeline.train_step"],
    "render": ["thesis_ml.plots.__main__"],
    "report": ["thesis_ml.pipeline.__main__", "thesis_ml.pipeline.report_step"],
}


wildcard_constraints:
    run=r"[A-Za-z0-9.+_-]+",
    step="|".join(STEP_ENTRIES),
    data_id=r"[a-z]+-[0-9a-f]{12}",
    levels=r"[0-9]+",


def run_config(run_name):
    """The resolved config of one run, as plain builtin types in composition order."""
    if run_name not in RUNS:
        raise ValueError(f"{run_name!r} is not a run of sweep {SWEEP!r}")
    return RUN_CONFIGS.get(RUNS[run_name].overrides)


def uses_gpu(run_name):
    """A run asks for a GPU when its device is cuda; `--resources gpu=N` caps such jobs."""
    return run_config(run_name)["trainer"]["device"].startswith("cuda")


def run_config_json(wildcards):
    return _run_config_json(wildcards.run)


@functools.cache  # Snakemake evaluates a job's params several times
def _run_config_json(run_name):
    return json.dumps(run_config(run_name))


def data_file(wildcards):
    return f"results/data/{data_id(run_config(wildcards.run)['data'])}.pt"


def quantizer_reference_files(wildcards):
    """The quantizer reference a run's code needs: none for a continuous latent (or a loop that
    picks its tokenizer itself; such a run computes its own)."""
    config = run_config(wildcards.run)
    phase1 = config.get("phase1") or {}
    if "tokenizer" not in phase1 or "encoder" not in phase1:
        return []
    levels = code_levels(phase1["tokenizer"], phase1["encoder"]["latent_dim"])
    if levels is None:
        return []
    return [f"results/data/{data_id(config['data'])}/quantizer-{levels}.json"]


def data_config_json(wildcards):
    for name in RUNS:
        data_config = run_config(name)["data"]
        if data_id(data_config) == wildcards.data_id:
            return json.dumps(data_config)
    raise ValueError(f"no run of sweep {SWEEP!r} uses dataset {wildcards.data_id}")


@functools.cache  # read once per process, and only by a process that checks the sources
def source_graph():
    """The library's import graph, from its source (statements cached by file checksum)."""
    return import_graph(SOURCE, cache=".snakemake/thesis_ml/import-graph.json")


def library_sources(step):
    """The library's Python files a step runs, so that editing one reruns the step: the files
    of the step's entry modules, of their parent packages and of all they import, transitively.
    """
    return [str(path) for path in source_graph().closure_files(STEP_ENTRIES[step])]


def step_sources(step):
    return f"results/.sources/{step}.sha256"


def run_dir(run_name):
    return RUN_DIR.format(run=run_name)


def run_figure_label(wildcards):
    """Labels of one run figure in Snakemake's HTML report: the run's swept values and the
    figure's file stem (``wildcards.name``, from the output's ``patterns``). The report shows one
    entry per distinct label set, so without the figure a run's figures hide all but one."""
    swept = {key: str(value) for key, value in RUNS[wildcards.run].swept}
    return {**swept, "figure": wildcards.name}


def report_outputs():
    return [f"{RESULTS}/report/summary.csv", f"{RESULTS}/report/summary.json"]
