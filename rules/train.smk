# One training run per config combination. The fully resolved config is the job's params, so
# Snakemake reruns a run exactly when its resolved config (or the training code) changed.
rule train:
    input:
        data=data_file,
        code=library_sources(
            "data", "models", "tokenizers", "train", "utils", "config.py", "facts.py"
        ),
    output:
        model=f"{RESULTS}/runs/{{run}}/model.pt",
        cfg=f"{RESULTS}/runs/{{run}}/cfg.yaml",
        scalars=f"{RESULTS}/runs/{{run}}/facts/scalars.csv",
        events=f"{RESULTS}/runs/{{run}}/facts/events.jsonl",
    log:
        f"{RESULTS}/logs/train/{{run}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/{{run}}.tsv"
    retries: config["resources"]["retries"]
    conda:
        "../envs/thesis-ml.yaml"
    threads: config["threads_per_run"]
    resources:
        mem_mb=config["resources"]["mem_mb"],
        runtime=lambda wildcards, attempt: config["resources"]["runtime_min"] * attempt,
    params:
        run_config=run_config_json,
        run_dir=lambda wildcards: run_dir(wildcards.run),
    shell:
        "python -m thesis_ml.pipeline train --config-json {params.run_config:q}"
        " --data {input.data:q} --run-dir {params.run_dir:q} --threads {threads} > {log:q} 2>&1"
