# A run's figures, drawn from its facts alone: editing plotting code never retrains.
rule render_run:
    input:
        cfg=rules.train.output.cfg,
        scalars=rules.train.output.scalars,
        events=rules.train.output.events,
        code=library_sources("plots", "facts.py", "config.py"),
    output:
        report(
            directory(f"{RESULTS}/runs/{{run}}/figures"),
            patterns=["{name}.png"],
            caption="../report/run_figures.rst",
            category="Runs",
            labels=run_label,
        ),
    log:
        f"{RESULTS}/logs/render/{{run}}.log",
    conda:
        "../envs/thesis-ml.yaml"
    params:
        run_dir=lambda wildcards: run_dir(wildcards.run),
    shell:
        "python -m thesis_ml.plots {params.run_dir:q} > {log:q} 2>&1"
