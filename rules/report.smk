# The sweep's cross-run comparison: summary table and figures over every run.
rule build_report:
    input:
        trained=sweep_trained(),
        rendered=sweep_rendered(),
        search=search_outputs(),
        trials=lambda wildcards: [f"{d}/facts/events.jsonl" for d in trial_run_dirs()],
        sources=step_sources("report"),
    output:
        summary=report(
            f"{RESULTS}/report/summary.csv",
            caption="../report/summary.rst",
            category="Sweep",
        ),
        summary_json=f"{RESULTS}/report/summary.json",
        ranking=f"{RESULTS}/report/tokenizer_ranking.csv",
        figures=report(
            directory(f"{RESULTS}/report/figures"),
            patterns=["{name}.png"],
            caption="../report/sweep_figures.rst",
            category="Sweep",
        ),
    log:
        f"{RESULTS}/logs/build_report.log",
    conda:
        "../envs/thesis-ml.yaml"
    params:
        run_dirs=lambda wildcards: [run_dir(name) for name in RUNS] + trial_run_dirs(),
        search=["--search-dir", SEARCH_DIR] if SEARCH else [],
        overrides=json.dumps(config["report"]["overrides"]),
        out=lambda wildcards, output: Path(output.summary).parent,
    shell:
        "python -m thesis_ml.pipeline report --out {params.out:q}"
        " --overrides-json {params.overrides:q} {params.search:q} {params.run_dirs:q}"
        " > {log:q} 2>&1"
