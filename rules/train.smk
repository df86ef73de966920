# One training run per config combination. The fully resolved config is the job's params, so
# Snakemake reruns a run exactly when its resolved config (or the training code) changed.
rule train:
    input:
        data=data_file,
        quantizer_references=quantizer_reference_files,
        sources=step_sources("train"),
    output:
        model=f"{RUN_DIR}/model.pt",
        selected=f"{RUN_DIR}/model_selected.pt",
        cfg=f"{RUN_DIR}/cfg.yaml",
        scalars=f"{RUN_DIR}/facts/scalars.csv",
        events=f"{RUN_DIR}/facts/events.jsonl",
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
        gpu=lambda wildcards: int(uses_gpu(wildcards)),
    params:
        run_config=run_config_json,
        run_dir=lambda wildcards, output: Path(output.cfg).parent,
        resume_from=[],  # a search trial's next rung: ["--resume-from", <the rung below>]
    shell:
        "python -m thesis_ml.pipeline train --config-json {params.run_config:q}"
        " --data {input.data:q} --quantizer-references {input.quantizer_references:q}"
        " --run-dir {params.run_dir:q} {params.resume_from:q} --threads {threads}"
        " > {log:q} 2>&1"
