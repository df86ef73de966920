"""Cross-run report speed: 1000 synthetic runs of 50 epochs -> full report, target < 10 s.

Prints the split between loading (reading and checking every run's facts) and plotting, and,
side by side on the same files, the report's stdlib loader against a pandas one
(``read_csv`` + ``read_json(lines=True)``).

    python benchmarks/bench_reports.py [--quick] [--json PATH] [--keep DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

from thesis_ml.facts import FactsWriter
from thesis_ml.reports import build_report
from thesis_ml.reports.runs import find_run_dirs, read_runs
from thesis_ml.reports.synthetic import fake_config, write_fake_run
from thesis_ml.utils.io import atomic_write_text

TARGET_S = 10.0
SEEDS = 5


def configurations(n_configs: int):
    """VQ (codebook size x latent size x lr) and continuous (latent size x lr) configurations."""
    lrs = [1e-4 * 2**i for i in range(8)]
    vq = (
        ("vq", latent, size, lr)
        for size in (16, 32, 64, 128, 256)
        for latent in (1, 2, 3, 4)
        for lr in lrs
    )
    ae = (("none", latent, None, lr) for latent in (1, 2, 3, 4, 6) for lr in lrs)
    return list(itertools.islice(itertools.chain(vq, ae), n_configs))


def make_sweep(root: Path, n_runs: int, epochs: int) -> None:
    """Synthetic run directories; fsync is skipped while writing them (reading is measured)."""
    combos = itertools.cycle(configurations(max(1, n_runs // SEEDS)))
    with mock.patch.object(FactsWriter, "_sync", staticmethod(lambda handle: handle.flush())):
        for index in range(n_runs):
            tokenizer, latent, size, lr = next(combos)
            config = fake_config(index // max(1, n_runs // SEEDS), tokenizer, latent)
            config["trainer"]["lr"] = lr
            if size:
                config["phase1"]["tokenizer"]["codebook_size"] = size
            status = "diverged" if index % 97 == 0 else "completed"
            write_fake_run(root / f"run{index:05d}", config, epochs=epochs, status=status)


def pandas_load_s(run_dirs: list[Path]) -> float:
    import pandas as pd

    start = time.perf_counter()
    for run_dir in run_dirs:
        pd.read_csv(run_dir / "facts" / "scalars.csv")
        pd.read_json(run_dir / "facts" / "events.jsonl", lines=True)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 runs of 20 epochs")
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    parser.add_argument("--keep", type=Path, help="generate the runs here and keep them")
    args = parser.parse_args(argv)
    n_runs, epochs = (100, 20) if args.quick else (1000, 50)

    with contextlib.ExitStack() as stack:
        root = args.keep or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        sweep = root / "sweep"
        start = time.perf_counter()
        make_sweep(sweep, n_runs, epochs)
        print(f"generated {n_runs} runs x {epochs} epochs in {time.perf_counter() - start:.1f} s")

        start = time.perf_counter()
        report = build_report(sweep, root / "report")
        total_s = time.perf_counter() - start
        run_dirs = find_run_dirs(sweep)
        start = time.perf_counter()
        read_runs(run_dirs)
        stdlib_s = time.perf_counter() - start
        pandas_s = pandas_load_s(run_dirs)

    timings = report.timings_s
    result = {
        "runs": n_runs,
        "epochs": epochs,
        "total_s": total_s,
        **timings,
        "target_s": TARGET_S,
        "stdlib_load_s": stdlib_s,
        "pandas_load_s": pandas_s,
    }
    print(f"full report, imports included: {total_s:.2f} s (target < {TARGET_S:.0f} s at 1000x50)")
    print("  " + "  ".join(f"{name}={seconds:.2f}" for name, seconds in timings.items()))
    shares = {name: timings[f"{name}_s"] / total_s for name in ("load", "plot")}
    print("  " + ", ".join(f"{name} {share:.0%}" for name, share in shares.items()))
    print(
        f"loading the same runs: stdlib {stdlib_s:.2f} s vs pandas {pandas_s:.2f} s "
        f"(pandas / stdlib = {pandas_s / stdlib_s:.1f}x)"
    )
    if args.json:
        atomic_write_text(args.json, json.dumps(result, indent=1) + "\n")
    met = args.quick or total_s < TARGET_S
    print("target met" if met else "TARGET MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
