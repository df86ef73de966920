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
        " --sources {input.sources:q} > {log:q} 2>&1"


# `pack: N`: up to N runs trained one after another by one job (thesis_ml.pipeline.packs says
# how runs are packed). Its record lists the members it trained; each run keeps its own run
# directory and log. A member whose inputs did not change is kept when its pack reruns.
rule train_pack:
    input:
        data=lambda wildcards: sorted(set(map(dataset_file, pack_configs(wildcards)))),
        quantizer_references=lambda wildcards: sorted(
            {path for c in pack_configs(wildcards) for path in run_quantizer_references(c)}
        ),
        sources=step_sources("train"),
    output:
        PACK_TRAINED,
    log:
        f"{RESULTS}/logs/train/{{pack}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/{{pack}}.tsv"
    retries: config["resources"]["retries"]
    conda:
        "../envs/thesis-ml.yaml"
    threads: config["threads_per_run"]
    resources:
        mem_mb=config["resources"]["mem_mb"],
        runtime=lambda wildcards, attempt: (
            config["resources"]["runtime_min"] * len(PACKS[wildcards.pack].runs) * attempt
        ),
        gpu=lambda wildcards: int(
            any(c["trainer"]["device"].startswith("cuda") for c in pack_configs(wildcards))
        ),
    params:
        members=pack_members,
        stacked=["--stacked"] if config["stack_seeds"] else [],  # README "Many small runs"
    shell:
        "python -m thesis_ml.pipeline train-pack --members {params.members:q} {params.stacked:q}"
        " --sources {input.sources:q} --threads {threads} --out {output:q} > {log:q} 2>&1"
