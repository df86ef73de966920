#!/usr/bin/env bash
# The README's main command: set up .venv/, then run the default sweep to its report
# (results/default/report/). Extra arguments go to snakemake, e.g. `--cores 4` or `-n`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/bootstrap.sh
exec snakemake --cores "${CORES:-all}" "$@"
