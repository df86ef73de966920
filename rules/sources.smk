# One checksum file per pipeline step over the library sources that step runs (STEP_SOURCES in
# common.smk). Editing a source file reruns its checksum job, which makes exactly the dependent
# steps stale. (Listing every source file as an input of every job instead costs Snakemake a
# lookup per file per job.)
rule source_checksums:
    input:
        lambda wildcards: library_sources(*STEP_SOURCES[wildcards.step]),
    output:
        "results/.sources/{step}.sha256",
    log:
        "results/.sources/logs/{step}.log",
    conda:
        "../envs/thesis-ml.yaml"
    shell:
        "sha256sum {input:q} > {output:q} 2> {log:q}"
