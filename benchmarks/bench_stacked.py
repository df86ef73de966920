"""Runs per hour of seeds trained as one stacked model against the same seeds one at a time.

    python benchmarks/bench_stacked.py [--quick] [--seeds K] [--json PATH]

On each device (the CPU, and CUDA where torch sees one), K seeds of the default run train once
one after another in this process (``train.run_loop``) and once as one stack
(``thesis_ml.train.stacked_seeds``), side by side after a warm-up of each, on one dataset
generated beforehand, figures off and no run directory kept: the training alone. Runs per hour
is K / wall seconds * 3600. No target: the figure the issue asks for is the GPU's
(scripts/gpu_check.sh runs this benchmark); on a CPU the stack gains what one batched product
saves over K small ones.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from thesis_ml.config import compose
from thesis_ml.data.registry import generate_dataset
from thesis_ml.train import run_loop
from thesis_ml.train.stacked_seeds import train_seeds
from thesis_ml.utils.io import atomic_write_text

QUIET = ["logging.quiet=true", "logging.make_plots=false", "logging.save_artifacts=false"]


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def measure(device: str, seeds: int, epochs: list[str]) -> dict:
    cfgs = [
        compose([*QUIET, *epochs, f"trainer.device={device}", f"trainer.seed={seed}"])
        for seed in range(seeds)
    ]
    dataset = generate_dataset(cfgs[0].data)
    warm = [compose([*QUIET, "trainer.epochs=1", f"trainer.device={device}"])]
    run_loop(warm[0], dataset=dataset, live_plots=False)
    train_seeds(warm, dataset, live_plots=False)
    solo_s = timed(lambda: [run_loop(cfg, dataset=dataset, live_plots=False) for cfg in cfgs])
    stacked_s = timed(lambda: train_seeds(cfgs, dataset, live_plots=False))
    return {"device": device, "seeds": seeds, "solo_s": solo_s, "stacked_s": stacked_s}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 epochs, 4 seeds")
    parser.add_argument("--seeds", type=int, help="seeds per configuration (default 8)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    seeds = args.seeds or (4 if args.quick else 8)
    epochs = ["trainer.epochs=2"] if args.quick else []
    devices = ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]
    rows = [measure(device, seeds, epochs) for device in devices]
    for r in rows:
        solo, stacked = (3600 * r["seeds"] / r[key] for key in ("solo_s", "stacked_s"))
        print(
            f"{r['device']}: {r['seeds']} seeds, one at a time {r['solo_s']:.2f} s "
            f"({solo:,.0f} runs/h), stacked {r['stacked_s']:.2f} s ({stacked:,.0f} runs/h): "
            f"{stacked / solo:.2f}x"
        )
    if args.json:
        atomic_write_text(args.json, json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
