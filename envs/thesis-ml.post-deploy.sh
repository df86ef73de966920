#!/usr/bin/env bash
# Run by Snakemake once, right after it created the environment of envs/thesis-ml.yaml, inside
# that environment (its python and pip first on PATH), from Snakemake's working directory, which
# for this workflow is the repository root. Snakemake runs a copy from .snakemake/conda/, so the
# repository is found from the working directory, never from this file's location.
set -euo pipefail
if ! grep -q '^name = "thesis_ml"' pyproject.toml 2>/dev/null; then
    echo "error: $PWD is not the thesis-ml repository root; run snakemake --use-conda from there" >&2
    exit 2
fi
# Editable, so that jobs run this checkout's code, which is what the workflow's source checksums
# (rules/sources.smk) track; with the workflow extra, like every install of the project, and the
# tracking extra, which the opt-in export rules (rules/export.smk) run in this environment.
python -m pip install --no-input -e "$PWD[workflow,tracking]"
