#!/usr/bin/env bash
# The README's test command: set up .venv/, then run the whole test suite, one worker per core
# (pytest-xdist; tests that share the local SLURM cluster, one repository copy or a module's
# trained sweep keep to one worker, longest first: tests/conftest.py). Extra arguments go to
# pytest, e.g. `bash scripts/test.sh -k config -x`; `-n 0` runs everything in one process.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/bootstrap.sh
exec python -m pytest -n auto --dist loadgroup --no-loadscope-reorder "$@"
