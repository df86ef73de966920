# One dataset per distinct data config, shared by every run that uses it.
rule generate_data:
    input:
        sources=step_sources("data"),
    output:
        "results/data/{data_id}.pt",
    log:
        "results/data/logs/{data_id}.log",
    conda:
        "../envs/thesis-ml.yaml"
    params:
        data_config=data_config_json,
    shell:
        "python -m thesis_ml.pipeline generate-data --config-json {params.data_config:q}"
        " --out {output:q} > {log:q} 2>&1"
