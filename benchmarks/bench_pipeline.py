"""Workflow overhead against a bare Snakefile with the same number of trivial jobs.

Measured side by side in one run, medians of 3 interleaved repeats (targets from the pipeline
issue):
- dry run of a 1000-run sweep, config composition included (cold cache): <= 2x the bare dry run;
- no-op run of a complete 100-run sweep: <= 2x the bare no-op;
- per-job overhead of `train` (job wall time minus in-process training time): <= 1.5x the time
  of `python -c "import torch"`.

The dry run also times a second bare Snakefile with two trivial jobs per run, the shape every
sweep of this workflow has (`train`, then `render_run`): its ratio to the one-job bare Snakefile
is the floor under ours, before any config composition, logs, benchmarks or resources.

    python benchmarks/bench_pipeline.py [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.workflow_helpers import copy_workflow, snakemake, write_sweep  # noqa: E402
from thesis_ml.facts import final_event, read_events  # noqa: E402
from thesis_ml.pipeline.run_configs import compose_run  # noqa: E402
from thesis_ml.pipeline.sweep import data_id, expand_sweep  # noqa: E402

BARE_SNAKEFILE = """
N = int(config["n_jobs"])

rule all:
    input: expand("out/{i}.txt", i=range(N))

rule job:
    output: "out/{i}.txt"
    params: settings=lambda wildcards: {"i": int(wildcards.i), "lr": 0.001, "sizes": [64, 64]}
    shell: "echo {params.settings:q} > {output:q}"
"""

# The same jobs, each followed by a second trivial job that reads its output.
BARE_TWO_STEP_SNAKEFILE = (
    BARE_SNAKEFILE.replace('"out/{i}.txt", i=', '"figures/{i}.txt", i=')
    + """
rule render:
    input: "out/{i}.txt"
    output: "figures/{i}.txt"
    shell: "cp {input:q} {output:q}"
"""
)


def timed(workdir: Path, *args: str) -> float:
    start = time.perf_counter()
    snakemake(workdir, *args)
    return time.perf_counter() - start


def bare_workflow(root: Path, n: int, snakefile: str = BARE_SNAKEFILE, name: str = "bare") -> Path:
    workdir = root / f"{name}-{n}"
    workdir.mkdir()
    (workdir / "Snakefile").write_text(snakefile)
    return workdir


def sweep_of(n_runs: int) -> dict:
    activations = ["relu", "gelu", "tanh", "silu"]
    seeds = [0, 1]
    n_lrs = max(1, n_runs // (len(activations) * len(seeds)))
    return {
        "sweep": f"bench{n_runs}",
        "overrides": ["trainer.epochs=1", "data.n_samples=256", "logging=plots_minimal"],
        "grid": {
            "model.activation": activations,
            "trainer.lr": [round(0.001 * (i + 1), 6) for i in range(n_lrs)],
        },
        "seeds": seeds,
    }


def materialise_outputs(workdir: Path, sweep: dict) -> None:
    """Put placeholder outputs in place and let Snakemake record them as complete."""
    results = workdir / "results" / sweep["sweep"]
    for run in expand_sweep({"conditional": [], "runs": [], **sweep}):
        run_dir = results / "runs" / run.name
        (run_dir / "facts").mkdir(parents=True)
        (run_dir / "figures").mkdir()
        for name in ("model.pt", "cfg.yaml", "facts/scalars.csv", "facts/events.jsonl"):
            (run_dir / name).write_text("placeholder")
    (results / "report" / "figures").mkdir(parents=True)
    for name in ("summary.csv", "summary.json"):
        (results / "report" / name).write_text("placeholder")
    data_config = compose_run(run.overrides)["data"]
    (workdir / "results" / "data").mkdir(parents=True)
    (workdir / "results" / "data" / f"{data_id(data_config)}.pt").write_text("placeholder")
    snakemake(workdir, "--cores", "1", "--touch", "--configfile", "workflow_configs/bench.yaml")


def torch_import_s(repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import torch"], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def train_job_overhead_s(root: Path, n_jobs: int) -> float:
    """Median over jobs of (benchmark wall time - the run's own wall time)."""
    workdir = copy_workflow(root / "overhead")
    sweep = sweep_of(n_jobs)
    sweep["grid"] = {"trainer.lr": [0.001 * (i + 1) for i in range(n_jobs)]}
    sweep["seeds"] = [0]
    write_sweep(workdir, sweep, "bench.yaml")
    runs = expand_sweep({"conditional": [], "runs": [], **sweep})
    targets = [f"results/{sweep['sweep']}/runs/{run.name}/model.pt" for run in runs]
    snakemake(workdir, *targets, "--cores", "1", "--configfile", "workflow_configs/bench.yaml")
    overheads = []
    for run in runs:
        bench = workdir / f"results/{sweep['sweep']}/benchmarks/train/{run.name}.tsv"
        job_s = float(bench.read_text().splitlines()[1].split("\t")[0])
        end = final_event(read_events(workdir / f"results/{sweep['sweep']}/runs/{run.name}"))
        overheads.append(job_s - end["wall_time_s"])
    return statistics.median(overheads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sweeps, fewer repeats")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    n_dry, n_noop, n_jobs = (200, 40, 2) if args.quick else (1000, 100, 3)
    repeats = 1 if args.quick else 3

    rows = []
    root = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    try:
        bare_dry = bare_workflow(root, n_dry)
        two_step_dry = bare_workflow(root, n_dry, BARE_TWO_STEP_SNAKEFILE, "two-step")
        ours_dry = copy_workflow(root / "ours-dry")
        write_sweep(ours_dry, sweep_of(n_dry), "bench.yaml")
        bare_dry_s, two_step_dry_s, ours_dry_s = [], [], []
        for _ in range(repeats):  # interleaved; ours cold each time (no config cache)
            bare_dry_s.append(timed(bare_dry, "-n", "--config", f"n_jobs={n_dry}"))
            two_step_dry_s.append(timed(two_step_dry, "-n", "--config", f"n_jobs={n_dry}"))
            shutil.rmtree(ours_dry / ".snakemake", ignore_errors=True)
            ours_dry_s.append(timed(ours_dry, "-n", "--configfile", "workflow_configs/bench.yaml"))
        bare_dry_median = statistics.median(bare_dry_s)
        rows.append(("dry run", n_dry, bare_dry_median, statistics.median(ours_dry_s), 2.0))
        rows.append(
            (
                "dry run, bare two-step floor",
                n_dry,
                bare_dry_median,
                statistics.median(two_step_dry_s),
                None,
            )
        )

        bare_noop = bare_workflow(root, n_noop)
        snakemake(bare_noop, "--cores", "2", "--config", f"n_jobs={n_noop}")
        ours_noop = copy_workflow(root / "ours-noop")
        write_sweep(ours_noop, sweep_of(n_noop), "bench.yaml")
        materialise_outputs(ours_noop, sweep_of(n_noop))
        bare_noop_s, ours_noop_s = [], []
        for _ in range(repeats):
            bare_noop_s.append(timed(bare_noop, "--cores", "2", "--config", f"n_jobs={n_noop}"))
            ours_noop_s.append(
                timed(ours_noop, "--cores", "2", "--configfile", "workflow_configs/bench.yaml")
            )
        noop = (statistics.median(bare_noop_s), statistics.median(ours_noop_s))
        rows.append(("no-op run", n_noop, *noop, 2.0))

        import_s = torch_import_s(3)
        overhead_s = train_job_overhead_s(root, n_jobs)
        rows.append(("train job overhead", n_jobs, import_s, overhead_s, 1.5))
    finally:
        shutil.rmtree(root, ignore_errors=True)

    print(f"{'measure':<28} {'N':>5} {'reference s':>12} {'ours s':>8} {'ratio':>6} {'target':>7}")
    results = []
    for name, n, reference, ours, target in rows:
        ratio = ours / reference
        met = None if target is None else ratio <= target
        verdict = {None: "reference", True: "met", False: "MISSED"}[met]
        limit = "-" if target is None else f"<={target}"
        print(
            f"{name:<28} {n:>5} {reference:>12.2f} {ours:>8.2f} {ratio:>6.2f} {limit:>7} {verdict}"
        )
        results.append(
            {
                "name": f"pipeline {name}",
                "n": n,
                "reference_s": reference,
                "ours_s": ours,
                "ratio": ratio,
                "target": "" if target is None else f"<= {target}x",
                "met": met,
            }
        )
    print(
        "reference: bare Snakefile with N trivial shell jobs (dry run, no-op), "
        "or `python -c 'import torch'` (train job overhead); the two-step floor is a bare "
        "Snakefile with two trivial jobs per run"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
