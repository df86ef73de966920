# Sweep expansion and the helpers every rule uses. Nothing here composes a config until a
# rule asks for one (cluster jobs parse this file again and need only their own run).
import functools
import json
import re
from pathlib import Path

from thesis_ml.pipeline.import_graph import import_graph
from thesis_ml.pipeline.packs import plan_packs, write_members
from thesis_ml.pipeline.run_configs import RunConfigCache
from thesis_ml.pipeline.status import write_plan
from thesis_ml.pipeline.sweep import data_id, expand_sweep
from thesis_ml.search.plan import plan_search
from thesis_ml.pipeline.workflow_config import (
    check_runs,
    check_stacks,
    check_sweep_files,
    sweep_errors_exit,
    validate_sweep_config,
)
from thesis_ml.tokenizers.codes import code_levels

check_sweep_files(workflow.configfiles)
with sweep_errors_exit(workflow.configfiles, bool(workflow.config_settings.config)):
    validate_sweep_config(
        config, Path(workflow.basedir) / "workflow_configs/schemas/sweep.schema.yaml"
    )
    RUNS = {run.name: run for run in expand_sweep(config)}
    RUN_CONFIGS = RunConfigCache(".snakemake/thesis_ml/run-configs")
    # the sweep's adaptive search (rules/search.smk); its keys are checked before any job
    SEARCH = (
        plan_search(config, "results", check_keys=not workflow.remote_exec)
        if "search" in config
        else None
    )
    if not workflow.remote_exec:  # a cluster job needs only its own run's config
        check_runs(RUNS.values(), RUN_CONFIGS.get, Path(".snakemake/thesis_ml/checked-data"))
        RUN_CONFIGS.save()
    if config["report"]["overrides"] and not workflow.remote_exec:
        # checked now: a failing report job would lose the previous report (importing the
        # report package costs most of a second, so only when there is something to check)
        from thesis_ml.reports.settings import check_pipeline_overrides

        check_pipeline_overrides(config["report"]["overrides"])
SWEEP = config["sweep"]
RESULTS = f"results/{SWEEP}"
RUN_DIR = f"{RESULTS}/runs/{{run}}"  # every per-run path hangs off this pattern
if not workflow.remote_exec:  # for `python -m thesis_ml.pipeline status`, even after a Ctrl-C
    write_plan(RESULTS, RUNS)
SOURCE = Path(workflow.basedir) / "src" / "thesis_ml"
# `pack: N` (rules/train.smk): the runs' train and render jobs come N runs to a job; with
# `stack_seeds: true`, a job per configuration, its seeds trained as one stacked model
with sweep_errors_exit(workflow.configfiles, bool(workflow.config_settings.config)):
    PACKS = (
        {
            pack.name: pack
            for pack in plan_packs(RUNS.values(), config["pack"], config["stack_seeds"])
        }
        if config["pack"] > 1 or config["stack_seeds"]
        else {}
    )
    if config["stack_seeds"] and not workflow.remote_exec:
        check_stacks(config, PACKS.values(), RUNS, RUN_CONFIGS.get)
PACK_OF = {name: pack.name for pack in PACKS.values() for name in pack.runs}
PACK_TRAINED = f"{RESULTS}/packs/train/{{pack}}.json"
PACK_RENDERED = f"{RESULTS}/packs/render/{{pack}}.done"


# The modules each pipeline step's command runs first (`python -m pkg` runs pkg/__main__.py);
# the library sources the step depends on are their import closure (rules/sources.smk).
STEP_ENTRIES = {
    "data": ["thesis_ml.pipeline.__main__", "thesis_ml.pipeline.generate_data"],
    "reference": ["thesis_ml.pipeline.__main__", "thesis_ml.pipeline.reference_step"],
    "train": ["thesis_ml.pipeline.__main__", "thesis_ml.pipeline.train_step"],
    "render": ["thesis_ml.plots.__main__"],
    "report": ["thesis_ml.pipeline.__main__", "thesis_ml.pipeline.report_step"],
    "search": ["thesis_ml.search.__main__"],
    "tensorboard": ["thesis_ml.reports.__main__", "thesis_ml.export.tensorboard"],
    "mlflow": ["thesis_ml.reports.__main__", "thesis_ml.export.mlflow_store"],
}


wildcard_constraints:
    run=r"[A-Za-z0-9.+_-]+",
    step="|".join(STEP_ENTRIES),
    data_id=r"[a-z]+-[0-9a-f]{12}",
    levels=r"[0-9]+",
    round=r"[0-9][0-9][0-9]+",  # no {n,} counts: Snakemake reads braces as wildcards
    rung=r"[0-9]+",
    trial=r"trial-[0-9][0-9][0-9][0-9]+",
    pack=r"pack-[0-9a-f]+",


def run_config(run_name):
    """The resolved config of one run, as plain builtin types in composition order."""
    if run_name not in RUNS:
        raise ValueError(f"{run_name!r} is not a run of sweep {SWEEP!r}")
    return RUN_CONFIGS.get(RUNS[run_name].overrides)


def trial_config(trial_name, rung):
    """The resolved config of a search trial at a successive-halving rung."""
    return RUN_CONFIGS.get(SEARCH.trial_overrides(SEARCH.trial(trial_name), rung))


def job_config(wildcards):
    """The config of a train job: a sweep run's, or a search trial's at its rung."""
    return _job_config(dict(wildcards.items()))


def _job_config(values):
    if "trial" in values:
        return trial_config(values["trial"], int(values["rung"]))
    return run_config(values["run"])


def uses_gpu(wildcards):
    """A run asks for a GPU when its device is cuda; `--resources gpu=N` caps such jobs."""
    return job_config(wildcards)["trainer"]["device"].startswith("cuda")


def run_config_json(wildcards):
    return _config_json(tuple(wildcards.items()))


@functools.cache  # Snakemake evaluates a job's params several times
def _config_json(wildcard_items):
    return json.dumps(_job_config(dict(wildcard_items)))


def data_file(wildcards):
    return dataset_file(job_config(wildcards))


def dataset_file(config):
    return f"results/data/{data_id(config['data'])}.pt"


def quantizer_reference_files(wildcards):
    return run_quantizer_references(job_config(wildcards))


def run_quantizer_references(config):
    """The quantizer reference a run's code needs: none for a continuous latent (or a loop that
    picks its tokenizer itself; such a run computes its own)."""
    phase1 = config.get("phase1") or {}
    if "tokenizer" not in phase1 or "encoder" not in phase1:
        return []
    levels = code_levels(phase1["tokenizer"], phase1["encoder"]["latent_dim"])
    if levels is None:
        return []
    return [f"results/data/{data_id(config['data'])}/quantizer-{levels}.json"]


def data_config_json(wildcards):
    for data_config in _data_configs():
        if data_id(data_config) == wildcards.data_id:
            return json.dumps(data_config)
    raise ValueError(f"no run of sweep {SWEEP!r} uses dataset {wildcards.data_id}")


def _data_configs():
    """The data config of every run, then of every trial proposed so far."""
    for name in RUNS:
        yield run_config(name)["data"]
    for trial in SEARCH.proposed_trials() if SEARCH else ():
        yield trial_config(trial.name, 0)["data"]


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


def trained_file(run_name):
    """The file that stands for a run's trained outputs: its events.jsonl (written last by its
    train job), or its pack's record when the run is packed."""
    if run_name in PACK_OF:
        return PACK_TRAINED.format(pack=PACK_OF[run_name])
    return f"{run_dir(run_name)}/facts/events.jsonl"


def rendered_file(run_name):
    """The figures directory of a run, or its pack's render record when the run is packed."""
    if run_name in PACK_OF:
        return PACK_RENDERED.format(pack=PACK_OF[run_name])
    return f"{run_dir(run_name)}/figures"


def sweep_trained():
    return sorted({trained_file(name) for name in RUNS})


def sweep_rendered():
    return sorted({rendered_file(name) for name in RUNS})


def pack_configs(wildcards):
    return [run_config(name) for name in PACKS[wildcards.pack].runs]


def pack_members(wildcards):
    return _members_file(wildcards.pack)


@functools.cache  # Snakemake evaluates a job's params several times
def _members_file(pack):
    """The members file of a pack's train job (thesis_ml.pipeline.packs.write_members)."""
    members = [
        {
            "run": name,
            "run_dir": run_dir(name),
            "config": config,
            "data": dataset_file(config),
            "quantizer_references": run_quantizer_references(config),
            "log": f"{RESULTS}/logs/train/{name}.log",
        }
        for name, config in zip(PACKS[pack].runs, map(run_config, PACKS[pack].runs))
    ]
    return str(write_members(".snakemake/thesis_ml/packs", members))


def run_figure_label(wildcards):
    """Labels of one run figure in Snakemake's HTML report: the run's swept values and the
    figure's file stem (``wildcards.name``, from the output's ``patterns``). The report shows one
    entry per distinct label set, so without the figure a run's figures hide all but one."""
    swept = {key: str(value) for key, value in RUNS[wildcards.run].swept}
    return {**swept, "figure": wildcards.name}


def report_outputs():
    return [f"{RESULTS}/report/summary.csv", f"{RESULTS}/report/summary.json"]


def export_outputs():
    """What the sweep's `export:` viewers want (rules/export.smk); nothing by default."""
    outputs = []
    if "tensorboard" in config["export"]:
        outputs += expand(rules.export_tensorboard_run.output[0], run=RUNS)
        outputs += rules.export_tensorboard_hparams.output
    if "mlflow" in config["export"]:
        outputs.append(rules.export_mlflow.output.db)
    return outputs


# --- the adaptive search (rules/search.smk) ------------------------------------------------
SEARCH_DIR = str(SEARCH.directory) if SEARCH else f"{RESULTS}/search/none"
TRIAL_DIR = f"{SEARCH_DIR}/runs/{{trial}}/rung-{{rung}}"


def search_workflow_json(round_index):
    """What a round's search jobs get: the workflow config that concerns its trials, with the
    rungs (so that the jobs need not compose the run config again). It holds only what the round
    depends on, so that raising n_trials or adding seeds reruns none of the rounds before."""
    search = {
        **config["search"],
        "n_trials": min(SEARCH.search.n_trials, (round_index + 1) * SEARCH.search.batch),
    }
    workflow_config = {
        "sweep": config["sweep"],
        "overrides": config["overrides"],
        "seeds": config["seeds"][:1],
        "search": search,
        "rungs": list(SEARCH.rungs),
    }
    return json.dumps(workflow_config)


def told_file(round_index):
    return f"{SEARCH_DIR}/told-{round_index:03d}.json"


def rung_trials(round_index, rung):
    """The round's trials at a rung, once the checkpoint that decides them has run."""
    if rung == 0:
        checkpoints.search_propose.get(round=f"{round_index:03d}")
    else:
        checkpoints.search_promote.get(round=f"{round_index:03d}", rung=rung - 1)
    return SEARCH.rung_trials(round_index, rung)


def trial_outputs(names, rung):
    """Every output of the trials' train jobs at a rung. All of them, not just their facts:
    a killed job's facts exist, and only its missing weights make Snakemake rerun it once a
    checkpoint has added it to the DAG (where --rerun-incomplete does not look)."""
    return expand(list(rules.train_trial.output), trial=names, rung=rung)


def round_results(round_index):
    """(trial, the rung it ends at) for each trial of the round, in trial order."""
    return sorted(SEARCH.final_rungs(round_index, rung_trials).items())


def search_outputs():
    return [told_file(SEARCH.n_rounds - 1)] if SEARCH else []


def trial_run_dirs():
    """Every trial's run directory at its last rung, once the whole search is told."""
    if not SEARCH:
        return []
    return [
        str(SEARCH.trial_dir(name, rung))
        for round_index in range(SEARCH.n_rounds)
        for name, rung in round_results(round_index)
    ]
