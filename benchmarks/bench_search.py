"""Adaptive search against the full grid over the same discretised space, on two tasks with a
known yardstick (the regression task's noise floor; the VQ autoencoder's quantizer reference).

For each task the benchmark runs, with real Snakemake in a copy of the workflow, the grid sweep
(every point trained to trainer.epochs) and a TPE search with synchronous successive halving
over the same points (the space's keys are categorical with the grid's values). Targets:
- the search's best validation value within 2% of the grid's best;
- the search's training epochs at most 25% of the grid's (epochs actually trained: a promoted
  trial's rungs count once, from its checkpoint on);
- a round's overhead (propose, promote and tell, as the workflow's jobs run them: separate
  processes) under 2 s.

    python benchmarks/bench_search.py [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.workflow_helpers import copy_workflow, snakemake, write_sweep  # noqa: E402
from thesis_ml.facts import final_event, read_events  # noqa: E402
from thesis_ml.search.plan import plan_search  # noqa: E402
from thesis_ml.search.table import trial_rows  # noqa: E402

TARGET_VALUE_RATIO = 1.02
TARGET_EPOCH_SHARE = 0.25
TARGET_ROUND_S = 2.0
TASKS = {
    "regression": {
        "overrides": ["data.n_samples=2000", "logging=plots_minimal"],
        "grid": {
            "trainer.lr": [0.001, 0.003, 0.01, 0.03],
            "model.hidden_sizes": [[16], [64], [64, 64]],
            "model.dropout": [0.0, 0.2],
        },
    },
    "vq-autoencoder": {
        "overrides": [
            "phase1/trainer=ae",
            "phase1/tokenizer=vq",
            "phase1.tokenizer.codebook_size=16",
            "phase1.encoder.latent_dim=2",
            "data.n_samples=4000",
            "logging=plots_minimal",
        ],
        "grid": {
            "trainer.lr": [0.001, 0.003, 0.01, 0.03],
            "phase1.encoder.hidden_sizes": [[32], [64], [64, 64]],
            "phase1.tokenizer.beta": [0.1, 0.5],
        },
    },
}
# epochs, trials, batch, the pruner's min_epochs: rungs of 3, 9 and 27 epochs (quick: 1 and 3,
# over a grid of two learning rates, for tests/test_benchmarks.py: the figures, not the targets)
FULL, QUICK = (27, 18, 6, 3), (3, 2, 2, 1)


def sweeps(task: str, quick: bool) -> tuple[dict, dict]:
    epochs, n_trials, batch, min_epochs = QUICK if quick else FULL
    spec = TASKS[task]
    grid = spec["grid"]
    if quick:
        grid = {
            key: values[:2] if key == "trainer.lr" else values[:1] for key, values in grid.items()
        }
    overrides = [*spec["overrides"], f"trainer.epochs={epochs}"]
    grid_sweep = {"sweep": f"{task}-grid", "overrides": overrides, "grid": grid}
    search = {
        "sampler": "tpe",
        "n_trials": n_trials,
        "batch": batch,
        "space": {key: {"type": "categorical", "choices": values} for key, values in grid.items()},
        "pruner": {"kind": "successive_halving", "min_epochs": min_epochs, "reduction_factor": 3},
    }
    return grid_sweep, {"sweep": f"{task}-search", "overrides": overrides, "search": search}


def trained_epochs(run_dirs: list[Path]) -> int:
    """Epochs trained by these run directories; a rung started from the rung below's checkpoint
    counts only its own epochs."""
    total = 0
    for run_dir in run_dirs:
        end = final_event(read_events(run_dir))
        below = run_dir.parent / f"rung-{int(run_dir.name.split('-')[1]) - 1}"
        start = final_event(read_events(below))["epochs"] if run_dir.name != "rung-0" else 0
        total += end["epochs"] - start
    return total


def run_task(task: str, quick: bool, root: Path) -> dict:
    grid_sweep, search_sweep = sweeps(task, quick)
    results = {}
    for kind, sweep in (("grid", grid_sweep), ("search", search_sweep)):
        workdir = copy_workflow(root / f"{task}-{kind}")
        path = write_sweep(workdir, sweep, "bench.yaml")
        start = time.perf_counter()
        snakemake(workdir, "--cores", "2", "--configfile", str(path), timeout=3000)
        results[f"{kind}_wall_s"] = time.perf_counter() - start
        if kind == "grid":
            ends = [
                final_event(read_events(d))
                for d in (workdir / "results" / sweep["sweep"] / "runs").iterdir()
            ]
            results["grid_best"] = min(end["best"]["val_loss"] for end in ends)
            results["grid_epochs"] = sum(end["epochs"] for end in ends)
            results["grid_runs"] = len(ends)
        else:
            directory = plan_search(sweep, workdir / "results").directory
            rows = trial_rows(directory)
            results["search_best"] = min(r["value"] for r in rows if r["state"] == "complete")
            results["search_epochs"] = trained_epochs(sorted(directory.glob("runs/*/rung-*")))
            results["search_trials"] = len(rows)
            results["round_overhead_s"] = round_overhead(workdir, sweep)
    results["value_ratio"] = results["search_best"] / results["grid_best"]
    results["epoch_share"] = results["search_epochs"] / results["grid_epochs"]
    return results


def round_overhead(workdir: Path, sweep: dict) -> float:
    """Seconds of one round's propose, promote and tell, each in its own process with the
    arguments the workflow's jobs get, on a copy of the finished search with its last round's
    proposal removed: propose asks the sampler again (with the earlier rounds' history), promote
    reads the rung's facts, tell checks every trial against the study and rewrites the table.
    What a round costs beyond training, less Snakemake's own scheduling."""
    plan = plan_search(sweep, workdir / "results", check_keys=True)
    last = plan.n_rounds - 1
    copy = workdir / "overhead" / plan.directory.relative_to(workdir)
    shutil.copytree(plan.directory, copy)
    (copy / f"round-{last:03d}.json").unlink()
    workflow_json = json.dumps({**sweep, "rungs": list(plan.rungs)})
    steps = [("propose", str(last)), ("promote", str(last), "0"), ("tell", str(last))]
    start = time.perf_counter()
    for step in steps:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "thesis_ml.search",
                step[0],
                "--workflow-json",
                workflow_json,
                *step[1:],
            ],
            cwd=workdir / "overhead",
            check=True,
            capture_output=True,
        )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="2 runs against 2 trials, 3 epochs")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        results = {task: run_task(task, args.quick, Path(root)) for task in TASKS}
    for task, result in results.items():
        print(
            f"{task}: search best {result['search_best']:.4f} vs grid best "
            f"{result['grid_best']:.4f} ({result['value_ratio']:.3f}x, target <= "
            f"{TARGET_VALUE_RATIO}x); epochs {result['search_epochs']} vs "
            f"{result['grid_epochs']} ({result['epoch_share']:.1%}, target <= "
            f"{TARGET_EPOCH_SHARE:.0%}); round overhead {result['round_overhead_s']:.2f} s"
        )
    targets = {
        "value_ratio": TARGET_VALUE_RATIO,
        "epoch_share": TARGET_EPOCH_SHARE,
        "round_overhead_s": TARGET_ROUND_S,
    }
    if args.json:
        Path(args.json).write_text(json.dumps({"tasks": results, "targets": targets}, indent=1))


if __name__ == "__main__":
    main()
