#!/usr/bin/env bash
# The GPU check, for a machine with a CUDA device (about 4 minutes): the tests marked `gpu`
# (cuda and bf16 training, auto device, one GPU job at a time in the pipeline), then training
# throughput on the GPU against the CPU for the default run and batch size 1024, and runs per
# hour of seeds trained as one stacked model against one at a time (benchmarks/bench_stacked.py).
#
#   bash scripts/gpu_check.sh            # uses .venv/ if present, else the python on PATH
#
# torch must be a CUDA build (scripts/bootstrap.sh installs a CPU wheel unless TORCH_SPEC says
# otherwise); the script stops with a message when torch sees no GPU.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ -x .venv/bin/python ]; then
    export PATH="$PWD/.venv/bin:$PATH"
fi
# Import the project from this checkout even where it is not installed.
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
python - <<'PY'
import importlib.util
import sys

needed = ["torch", "hydra", "omegaconf", "jsonschema", "yaml", "pandas", "matplotlib",
          "snakemake", "pytest"]
missing = [name for name in needed if importlib.util.find_spec(name) is None]
if missing:
    sys.exit(f"error: {sys.executable} lacks {', '.join(missing)}: install the project first "
             "(pip install -e '.[dev]' with a CUDA build of torch)")

import torch

if not torch.cuda.is_available():
    sys.exit(f"error: torch {torch.__version__} sees no CUDA device (a CPU build, or no driver)")
name = torch.cuda.get_device_name(0)
print(f"gpu_check: {name}, torch {torch.__version__}, CUDA {torch.version.cuda}")
PY
echo "gpu_check: tests marked gpu"
timeout 180 python -m pytest -q -p no:cacheprovider -m gpu tests/test_gpu.py
echo "gpu_check: throughput, cpu vs cuda (training samples/s)"
timeout 150 python benchmarks/bench_gpu.py --json "${GPU_CHECK_JSON:-/tmp/bench_gpu.json}"
echo "gpu_check: runs per hour, stacked seeds vs one at a time"
timeout 240 python benchmarks/bench_stacked.py --json "${GPU_CHECK_STACKED_JSON:-/tmp/bench_stacked.json}"
