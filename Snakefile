# thesis-ml workflow: synthetic data -> one training run per config combination (and the
# trials of an adaptive search) -> per-run figures -> the sweep's cross-run report. See
# README.md ("The pipeline") for the layout.
import sys
from pathlib import Path

from snakemake.utils import min_version

min_version("9.0")

# Parse-time helpers import the library from src/, installed or not.
sys.path.insert(0, str(Path(workflow.basedir) / "src"))


# The embedded default sweep, unless --configfile names another (which then replaces it
# whole: merging two sweeps' grids would run a sweep nobody wrote).
if not workflow.overwrite_configfiles:

    configfile: "workflow_configs/default.yaml"


include: "rules/common.smk"
include: "rules/sources.smk"
include: "rules/data.smk"
include: "rules/train.smk"
include: "rules/search.smk"
include: "rules/render.smk"
include: "rules/report.smk"
include: "rules/export.smk"


localrules:
    all,
    source_checksums,
    generate_data,
    quantizer_reference,
    search_propose,
    search_promote,
    search_tell,
    render_run,
    render_pack,
    build_report,


# Trial configs are composed after parse time, once the search's checkpoints have proposed them:
# the next invocation reads them from the cache instead of composing them again.
onsuccess:
    RUN_CONFIGS.save()


onerror:
    RUN_CONFIGS.save()


rule all:
    default_target: True
    input:
        report_outputs(),
        export_outputs(),
