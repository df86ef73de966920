#!/usr/bin/env bash
# Creates .venv/ at the repository root and installs the project into it (editable, with the
# dev, workflow and tracking extras). Idempotent: it reinstalls only when pyproject.toml changed
# since the last run.
# Sourced by scripts/sweep.sh and scripts/test.sh, so each README command sets itself up.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo_root/.venv"
# A CPU wheel of this release is what these machines carry; override for a CUDA build, e.g.
# TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128".
torch_spec="${TORCH_SPEC:-torch==2.13.0}"
python_bin="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    if ! "$python_bin" -m venv "$venv" 2>/dev/null; then
        rm -rf "$venv"
        echo "error: '$python_bin -m venv' failed; on Debian/Ubuntu install it with: sudo apt-get install python3-venv" >&2
        exit 1
    fi
fi
stamp="$venv/.installed-$(sha256sum "$repo_root/pyproject.toml" | cut -c1-16)"
if [ ! -f "$stamp" ]; then
    echo "bootstrap: installing the project into $venv (log: $venv/install.log)" >&2
    # shellcheck disable=SC2086  # torch_spec may carry pip options on purpose
    if ! { "$venv/bin/python" -m pip install --upgrade pip &&
        "$venv/bin/python" -m pip install $torch_spec &&
        "$venv/bin/python" -m pip install -e "$repo_root[dev,workflow,tracking]"; } >"$venv/install.log" 2>&1; then
        tail -n 30 "$venv/install.log" >&2
        echo "error: installing into $venv failed; the whole log is $venv/install.log" >&2
        exit 1
    fi
    rm -f "$venv"/.installed-*
    touch "$stamp"
fi
export PATH="$venv/bin:$PATH"
export VIRTUAL_ENV="$venv"
