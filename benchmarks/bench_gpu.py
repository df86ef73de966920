"""Training throughput on the GPU against the CPU: the default run, and at batch size 1024.

    python benchmarks/bench_gpu.py [--quick] [--json PATH]

Each row trains the same config on ``trainer.device=cpu`` (with its default
``trainer.num_threads``) and on ``cuda`` (fp32, then ``trainer.precision=bf16``), side by side
in one process after a warm-up run per device, and reports training samples per second
(validation excluded) and the cuda / cpu ratio. Without CUDA it prints why and writes no rows.
No target: the figures are for the README (small MLPs gain little from a GPU).
"""

from __future__ import annotations

import argparse
import json
import sys

import torch

from thesis_ml.config import compose
from thesis_ml.train import run_loop
from thesis_ml.utils.io import atomic_write_text

QUIET = ["logging.quiet=true", "logging.make_plots=false"]
CASES = {
    "default run": [],
    "batch 1024": ["trainer.batch_size=1024"],
    "autoencoder": ["phase1/trainer=ae"],
}
VARIANTS = {
    "cpu": ["trainer.device=cpu"],
    "cuda": ["trainer.device=cuda"],
    "cuda bf16": ["trainer.device=cuda", "trainer.precision=bf16"],
}


def samples_per_s(overrides: list[str]) -> float:
    return run_loop(compose([*QUIET, *overrides]))["samples_per_s"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 epochs instead of the default")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    epochs = ["trainer.epochs=5"] if args.quick else []
    rows = []
    if not torch.cuda.is_available():
        note = f"skipped: torch {torch.__version__} sees no CUDA device"
        print(note)
    else:
        note = f"{torch.cuda.get_device_name(0)}, torch {torch.__version__}"
        print(note)
        for variant in VARIANTS.values():  # warm-up: CUDA context, kernels, allocator
            samples_per_s([*variant, "trainer.epochs=1"])
        for case, overrides in CASES.items():
            rates = {
                name: samples_per_s([*overrides, *epochs, *variant])
                for name, variant in VARIANTS.items()
            }
            row = {"case": case, "samples_per_s": rates}
            row["cuda_over_cpu"] = rates["cuda"] / rates["cpu"]
            row["bf16_over_cpu"] = rates["cuda bf16"] / rates["cpu"]
            rows.append(row)
            print(
                f"{case:<18} cpu {rates['cpu']:>10,.0f}/s  cuda {rates['cuda']:>10,.0f}/s  "
                f"cuda bf16 {rates['cuda bf16']:>10,.0f}/s  cuda/cpu {row['cuda_over_cpu']:.2f}x"
            )
    if args.json:
        result = {"benchmark": "gpu", "note": note, "quick": args.quick, "rows": rows}
        atomic_write_text(args.json, json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
