# One checksum file per pipeline step over the library sources that step runs: the import
# closure of its entry modules (STEP_ENTRIES and library_sources in common.smk). Editing a source
# file reruns the checksum jobs of the steps that import it, which makes exactly the dependent
# steps stale. (Listing every source file as an input of every job instead costs Snakemake a
# lookup per file per job.)
rule source_checksums:
    input:
        lambda wildcards: library_sources(wildcards.step),
    output:
        "results/.sources/{step}.sha256",
    log:
        "results/.sources/logs/{step}.log",
    conda:
        "../envs/thesis-ml.yaml"
    shell:
        "sha256sum {input:q} > {output:q} 2> {log:q}"
