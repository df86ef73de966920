#!/usr/bin/env bash
# The README's test command: set up .venv/, then run the whole test suite, one worker per core
# (pytest-xdist; tests that share the local SLURM cluster or one repository copy keep to one
# worker: tests/conftest.py). Extra arguments go to pytest, e.g. `bash scripts/test.sh -k config
# -x`; `-n 0` runs everything in this one process.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/bootstrap.sh
exec python -m pytest -n auto --dist loadgroup "$@"
