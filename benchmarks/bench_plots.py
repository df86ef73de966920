"""Cost of figures: training overhead of plots_minimal, and re-rendering plots_full from disk.

    python benchmarks/bench_plots.py [--quick]

1. The default 20-epoch run (`trainer.epochs=20`, a kept run directory) trained with
   `logging.make_plots=false` and with `logging=plots_minimal`, alternating, each in a fresh
   process (so matplotlib imports count); prints median train() seconds and the ratio.
   Target: ratio <= 1.05. Also prints what the training waits for at its end: drawing the
   final figure of plots_minimal in a process that has matplotlib imported already, as the
   helper process has, as a share of the training time without figures.
2. A finished 100-epoch run re-rendered with `python -m thesis_ml.plots RUN_DIR
   logging=plots_full` in a fresh process; prints the wall time and the per-figure cost.
   Target: < 3 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TRAIN = """
import sys, time
from thesis_ml.config import compose
from thesis_ml.train.train_test import train
cfg = compose(sys.argv[1:])
start = time.perf_counter()
train(cfg)
print(time.perf_counter() - start)
"""


FINAL_DRAW = """
import sys, time
from pathlib import Path
import yaml
import matplotlib.backends.backend_agg, matplotlib.figure  # preloaded, as in the helper
from thesis_ml.plots.render import render_run
run_dir = Path(sys.argv[1])
logging_cfg = yaml.safe_load((run_dir / "cfg.yaml").read_text())["logging"]
start = time.perf_counter()
render_run(run_dir, logging_cfg, moments=["train_end"])
print(time.perf_counter() - start)
"""


def train_seconds(run_dir: Path, overrides: list[str]) -> float:
    args = [
        f"run_dir={run_dir}",
        "trainer.epochs=20",
        "logging.quiet=true",
        "trainer.num_threads=1",
        *overrides,
    ]
    out = subprocess.run(
        [sys.executable, "-c", TRAIN, *args], check=True, capture_output=True, text=True
    ).stdout
    return float(out.strip().splitlines()[-1])


def bench_training(repeats: int, root: Path) -> None:
    variants = {
        "make_plots=false": ["logging.make_plots=false"],
        "plots_minimal": ["logging=plots_minimal"],
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    last_run: dict[str, Path] = {}
    for repeat in range(repeats):
        for name, overrides in variants.items():
            last_run[name] = root / f"{name.replace('=', '_')}-{repeat}"
            times[name].append(train_seconds(last_run[name], overrides))
    base, plots = (statistics.median(times[name]) for name in variants)
    for name in variants:
        print(
            f"train 20 epochs, {name:>16}: median {statistics.median(times[name]):.3f} s "
            f"over {repeats} ({', '.join(f'{t:.2f}' for t in times[name])})"
        )
    print(f"plots_minimal / make_plots=false = {plots / base:.3f}  (target <= 1.05)")
    final_draw = float(
        subprocess.run(
            [sys.executable, "-c", FINAL_DRAW, str(last_run["plots_minimal"])],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()[-1]
    )
    print(
        f"  of which the final plots_minimal figure: {final_draw:.3f} s to draw with matplotlib "
        f"loaded = {100 * final_draw / base:.1f}% of the training time"
    )


def bench_render(epochs: int, root: Path) -> None:
    run_dir = root / "finished"
    train_seconds_args = [
        f"trainer.epochs={epochs}",
        "data.task=binary",
        "logging.make_plots=false",
    ]
    subprocess.run(
        [
            sys.executable,
            "-c",
            TRAIN,
            f"run_dir={run_dir}",
            "logging.quiet=true",
            *train_seconds_args,
        ],
        check=True,
        capture_output=True,
    )
    report_path = root / "render.json"
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "thesis_ml.plots",
            str(run_dir),
            "logging=plots_full",
            "--json",
            str(report_path),
        ],
        check=True,
        capture_output=True,
    )
    wall = time.perf_counter() - start
    report = json.loads(report_path.read_text())
    print(
        f"re-render plots_full of a {epochs}-epoch run: {wall:.2f} s wall (fresh process, "
        f"target < 3 s); inside: load facts {report['load_s']:.3f} s, import matplotlib "
        f"{report['import_s']:.3f} s, total {report['total_s']:.3f} s"
    )
    for figure in report["figures"]:
        print(f"  {figure['family']:>9} {figure['moment']:>9}: {figure['seconds']:.3f} s")
    print(f"  skipped: {report['skipped']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 repeat, 20-epoch render")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench_training(1 if args.quick else 5, Path(tmp))
        bench_render(20 if args.quick else 100, Path(tmp))


if __name__ == "__main__":
    main()
