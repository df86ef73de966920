# One checksum file per pipeline step over the library sources that step runs. Editing a source
# file reruns its checksum job, which makes exactly the dependent steps stale. (Listing every
# source file as an input of every job instead costs Snakemake a lookup per file per job.)
STEP_SOURCES = {
    "data": ["data", "utils"],
    "train": ["data", "models", "tokenizers", "train", "utils", "config.py", "facts.py"],
    "render": ["plots", "utils", "facts.py", "config.py"],
    "report": ["reports", "plots", "utils", "facts.py", "config.py"],
}


wildcard_constraints:
    step="|".join(STEP_SOURCES),


def step_sources(step):
    return f"results/.sources/{step}.sha256"


rule source_checksums:
    input:
        lambda wildcards: library_sources(*STEP_SOURCES[wildcards.step]),
    output:
        "results/.sources/{step}.sha256",
    log:
        "results/.sources/logs/{step}.log",
    shell:
        "sha256sum {input:q} > {output:q} 2> {log:q}"
