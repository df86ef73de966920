# Opt-in copies of the sweep for TensorBoard and MLflow (`export:` in the sweep file), written
# from the facts after training: TensorBoard one job per run (a retrained run re-exports alone)
# plus the sweep's hparams table; MLflow one job over the sweep, since SQLite takes one writer.
from thesis_ml.export import HPARAMS_EVENT_FILE

TENSORBOARD = f"{RESULTS}/tensorboard"


localrules:
    export_tensorboard_run,
    export_tensorboard_hparams,
    export_mlflow,


# The table's file sits beside the run directories, where the {run} pattern matches it too.
ruleorder: export_tensorboard_hparams > export_tensorboard_run


rule export_tensorboard_run:
    input:
        trained=lambda wildcards: trained_file(wildcards.run),
        rendered=lambda wildcards: rendered_file(wildcards.run),
        sources=step_sources("tensorboard"),
    output:
        directory(f"{TENSORBOARD}/{{run}}"),
    log:
        f"{RESULTS}/logs/export/tensorboard/{{run}}.log",
    conda:
        "../envs/thesis-ml.yaml"
    params:
        run_dir=lambda wildcards: run_dir(wildcards.run),
        out=lambda wildcards, output: Path(output[0]).parent,
    shell:
        "python -m thesis_ml.reports export --to tensorboard --only runs"
        " --out {params.out:q} {params.run_dir:q} > {log:q} 2>&1"


# Its columns are the config keys that differ between the runs: it reads every run's config.
rule export_tensorboard_hparams:
    input:
        trained=sweep_trained(),
        sources=step_sources("tensorboard"),
    output:
        f"{TENSORBOARD}/{HPARAMS_EVENT_FILE}",
    log:
        f"{RESULTS}/logs/export/tensorboard_hparams.log",
    conda:
        "../envs/thesis-ml.yaml"
    params:
        run_dirs=[run_dir(name) for name in RUNS],
        out=lambda wildcards, output: Path(output[0]).parent,
    shell:
        "python -m thesis_ml.reports export --to tensorboard --only hparams"
        " --out {params.out:q} {params.run_dirs:q} > {log:q} 2>&1"


# Snakemake removes a job's outputs before it runs, the store and its artifacts here, so this
# job writes every run anew (by hand, the command keeps the records of unchanged runs).
rule export_mlflow:
    input:
        trained=sweep_trained(),
        rendered=sweep_rendered(),
        sources=step_sources("mlflow"),
    output:
        db=f"{RESULTS}/mlflow.db",
        artifacts=directory(f"{RESULTS}/mlflow-artifacts"),
    log:
        f"{RESULTS}/logs/export/mlflow.log",
    conda:
        "../envs/thesis-ml.yaml"
    params:
        run_dirs=[run_dir(name) for name in RUNS],
    shell:
        "python -m thesis_ml.reports export --to mlflow --out {output.db:q}"
        " {params.run_dirs:q} > {log:q} 2>&1"
