# A run's figures, drawn from its facts alone: editing plotting code never retrains.
rule render_run:
    input:
        # events.jsonl is written last by its train job, so it stands for all of that job's
        # outputs; the figures also read cfg.yaml and scalars.csv.
        events=rules.train.output.events,
        sources=step_sources("render"),
    output:
        report(
            directory(f"{RUN_DIR}/figures"),
            patterns=["{name}.png"],
            caption="../report/run_figures.rst",
            category="Runs",
            labels=run_figure_label,
        ),
    log:
        f"{RESULTS}/logs/render/{{run}}.log",
    conda:
        "../envs/thesis-ml.yaml"
    threads: 1  # python -m thesis_ml.plots draws its figures in one process
    params:
        run_dir=lambda wildcards, input: Path(input.events).parent.parent,
    shell:
        "python -m thesis_ml.plots {params.run_dir:q} > {log:q} 2>&1"


# `pack: N`: a pack's figures, drawn in one process once its train job has run.
rule render_pack:
    input:
        trained=PACK_TRAINED,
        sources=step_sources("render"),
    output:
        touch(PACK_RENDERED),
    log:
        f"{RESULTS}/logs/render/{{pack}}.log",
    conda:
        "../envs/thesis-ml.yaml"
    threads: 1
    params:
        first=lambda wildcards: run_dir(PACKS[wildcards.pack].runs[0]),
        more=lambda wildcards: [run_dir(name) for name in PACKS[wildcards.pack].runs[1:]],
    shell:
        "python -m thesis_ml.plots {params.first:q} --more-runs {params.more:q} > {log:q} 2>&1"
