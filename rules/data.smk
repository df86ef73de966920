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


# One k-means quantizer reference per dataset and level count, shared by every run whose code
# has that many levels (thesis_ml.data.references).
rule quantizer_reference:
    input:
        data="results/data/{data_id}.pt",
        sources=step_sources("reference"),
    output:
        "results/data/{data_id}/quantizer-{levels}.json",
    log:
        "results/data/logs/{data_id}-quantizer-{levels}.log",
    conda:
        "../envs/thesis-ml.yaml"
    threads: 1
    shell:
        "python -m thesis_ml.pipeline quantizer-reference --data {input.data:q}"
        " --levels {wildcards.levels} --threads {threads} --out {output:q} > {log:q} 2>&1"
