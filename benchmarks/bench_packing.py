"""Many small runs: a packed sweep (pack: N) against the same runs unpacked and against a plain
Python loop, measured side by side in one run (targets from the packing issue).

- Sweep efficiency, (wall time of a one-process sequential loop over the same runs / cores) /
  sweep wall time, for a 48-run sweep of short runs at 2 cores: >= 60% packed. The loop trains
  every run in one process on one thread with figures off, imports and data included; the
  sweeps are `snakemake --cores 2` from nothing to the report, figures included.
- Dry run of a 10,000-run sweep (config composition included, cold cache): <= 2x a bare
  Snakefile with two trivial jobs per run, packed and unpacked; medians of 3 interleaved rounds.
- Through the local SLURM (scripts/local_slurm.sh), when there is one: a 200-run sweep packed
  10 to a job submits at most 20 sbatch jobs; its wall time is printed against the unpacked
  submission of the same sweep.

    python benchmarks/bench_packing.py [--quick] [--json PATH]

--quick: 8 runs, a 1,000-run dry run and 4 runs on SLURM packed 2, unpacked and packed only
(the target scales). The SLURM sweeps have one seed, so that their packs divide evenly.
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

from benchmarks.bench_pipeline import BARE_TWO_STEP_SNAKEFILE, bare_workflow, timed  # noqa: E402
from tests.slurm_helpers import jobcomp_records, run_slurm_snakemake  # noqa: E402
from tests.workflow_helpers import copy_workflow, write_sweep  # noqa: E402
from thesis_ml.pipeline.sweep import expand_sweep  # noqa: E402

CORES = 2
SWEEP_FILE = ("--configfile", "workflow_configs/bench.yaml")
# A run trains about a second here: the scale of the default sweep's runs.
SHORT_RUN = ["trainer.epochs=40", "data.n_samples=2048", "logging=plots_minimal"]


def sweep_of(n_runs: int, name: str, pack: int = 1, seeds: tuple[int, ...] = (0, 1)) -> dict:
    """About ``n_runs`` runs (4 activations x learning rates x ``seeds``, at least 4 each)."""
    activations = ["relu", "gelu", "tanh", "silu"]
    seeds = list(seeds)
    n_lrs = max(1, n_runs // (len(activations) * len(seeds)))
    return {
        "sweep": name,
        "overrides": SHORT_RUN,
        "grid": {
            "model.activation": activations,
            "trainer.lr": [round(0.001 * (i + 1), 6) for i in range(n_lrs)],
        },
        "seeds": seeds,
        "pack": pack,
    }


LOOP = """
import json, sys, tempfile, time
start = time.perf_counter()
from thesis_ml.config import to_struct_config
from thesis_ml.data.registry import generate_dataset
from thesis_ml.pipeline.run_configs import compose_run
from thesis_ml.pipeline.sweep import data_id, expand_sweep
from thesis_ml.train import run_loop

sweep = json.loads(sys.argv[1])
datasets = {}
with tempfile.TemporaryDirectory() as root:
    for run in expand_sweep({"conditional": [], "runs": [], **sweep}):
        config = compose_run(run.overrides)
        config["logging"]["make_plots"] = False
        config["trainer"]["num_threads"] = 1
        config["run_dir"] = f"{root}/{run.name}"
        key = data_id(config["data"])
        if key not in datasets:
            datasets[key] = generate_dataset(to_struct_config(config).data)
        run_loop(to_struct_config(config), dataset=datasets[key], live_plots=False)
print(time.perf_counter() - start)
"""


def loop_s(sweep: dict) -> float:
    """Wall time of the one-process loop, the interpreter's start included."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", LOOP, json.dumps(sweep)], check=True, capture_output=True)
    return time.perf_counter() - start


def sweep_s(root: Path, sweep: dict) -> float:
    workdir = copy_workflow(root / sweep["sweep"])
    write_sweep(workdir, sweep, "bench.yaml")
    return timed(workdir, "--cores", str(CORES), *SWEEP_FILE)


def dry_run_rows(root: Path, n_dry: int, repeats: int) -> list[dict]:
    """Dry runs of ``n_dry`` runs, unpacked and packed, against the bare two-step Snakefile:
    medians of ``repeats`` interleaved rounds (one dry run takes tens of seconds, long enough
    for a shared machine's load to change between two of them)."""
    bare = bare_workflow(root, n_dry, BARE_TWO_STEP_SNAKEFILE, "two-step")
    ways = {}
    for label, dry_pack in (("unpacked", 1), ("pack 10", 10)):
        ways[label] = copy_workflow(root / f"dry{dry_pack}")
        write_sweep(ways[label], sweep_of(n_dry, f"dry{dry_pack}", dry_pack), "bench.yaml")
    times = {label: [] for label in ("bare", *ways)}
    for _ in range(repeats):
        times["bare"].append(timed(bare, "-n", "--config", f"n_jobs={n_dry}"))
        for label, workdir in ways.items():
            shutil.rmtree(workdir / ".snakemake", ignore_errors=True)  # a cold cache each time
            times[label].append(timed(workdir, "-n", *SWEEP_FILE))
    bare_s = statistics.median(times["bare"])
    rows = []
    for label in ways:
        ours = statistics.median(times[label])
        rows.append(
            _row(
                f"dry run {n_dry} runs {label} / bare two-step ({bare_s:.1f} s)",
                round(ours / bare_s, 3),
                "<= 2.0",
                ours / bare_s <= 2.0,
                n_dry,
                ours,
            )
        )
    return rows


DRY_REPEATS = 3  # interleaved rounds of the dry runs (full mode)


# How a sweep's train jobs can reach SLURM in fewer submissions: packs (one process trains N
# runs), Snakemake job groups (one sbatch runs N jobs, each its own process) and the plugin's
# array jobs (one sbatch per up to N tasks, each task its own job).
SLURM_WAYS = {
    "unpacked": (1, ()),
    "packed": (None, ()),
    "job groups": (1, ("--groups", "train=runs", "--group-components", "runs={n}")),
    "array jobs": (1, ("--slurm-array-jobs", "train", "--slurm-array-limit", "{n}")),
}


def submissions(workdir: Path) -> int:
    """sbatch calls that ran in ``workdir``: SLURM's job records, an array's tasks as one."""
    records = jobcomp_records(workdir).values()
    return len({record.get("ArrayJobId") or record["JobId"].split("_")[0] for record in records})


def slurm_rows(root: Path, n_runs: int, per_job: int, ways: tuple[str, ...]) -> list[dict]:
    rows, seconds = [], {}
    for way in ways:
        pack, extra = SLURM_WAYS[way]
        sweep = sweep_of(n_runs, f"slurm-{way.replace(' ', '-')}", pack or per_job, seeds=(0,))
        sweep["overrides"] = ["trainer.epochs=2", "data.n_samples=512", "logging=plots_minimal"]
        runs = len(expand_sweep({"conditional": [], "runs": [], **sweep}))
        workdir = copy_workflow(root / sweep["sweep"])
        write_sweep(workdir, sweep, "bench.yaml")
        args = [arg.replace("{n}", str(per_job)) for arg in extra]
        start = time.perf_counter()
        result = run_slurm_snakemake(workdir, *SWEEP_FILE, *args, "--retries", "0", timeout=3600)
        seconds[way] = time.perf_counter() - start
        if result.returncode != 0:
            raise RuntimeError(f"{way}: {result.log[-3000:]}")
        count = submissions(workdir)
        limit = -(-runs // per_job)
        target, met = (f"<= {limit}", count <= limit) if way == "packed" else ("", None)
        rows.append(_row(f"SLURM sbatch submissions, {way}", count, target, met, runs))
        rows.append(
            _row(
                f"SLURM wall s per run, {way}",
                round(seconds[way] / runs, 2),
                "",
                None,
                runs,
                seconds[way],
            )
        )
    ratio = round(seconds["packed"] / seconds["unpacked"], 3)
    rows.append(_row("SLURM wall, packed / unpacked", ratio, "", None, runs))
    return rows


class PublishedRows(list):
    """The rows measured so far, rewritten to the --json file whenever rows are added: the
    SLURM phases take most of the hour, and a run stopped by a timeout keeps the rest."""

    def __init__(self, path: Path | None) -> None:
        super().__init__()
        self.path = path

    def append(self, row: dict) -> None:
        super().append(row)
        self._publish()

    def __iadd__(self, rows):
        super().__iadd__(rows)
        self._publish()
        return self

    def _publish(self) -> None:
        if self.path is not None:
            partial = self.path.with_name(f".{self.path.name}.tmp")
            partial.write_text(json.dumps(list(self), indent=2))
            partial.replace(self.path)  # a reader sees the last complete list


def _row(name, value, target, met, n, ours_s=None) -> dict:
    return {"name": name, "n": n, "value": value, "ours_s": ours_s, "target": target, "met": met}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sweeps")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--no-slurm", action="store_true", help="leave out the SLURM figures")
    parser.add_argument("--slurm-runs", type=int, help="runs of the SLURM sweeps (default 200)")
    args = parser.parse_args()
    n_runs, n_dry, n_slurm = (8, 1000, 4) if args.quick else (48, 10000, 200)
    pack = n_runs // CORES  # here a pack per seed, as many as cores: every core busy, 2 starts
    root = Path(tempfile.mkdtemp(prefix="bench-packing-"))
    rows = PublishedRows(args.json)
    try:
        loop = loop_s(sweep_of(n_runs, "loop"))
        unpacked = sweep_s(root, sweep_of(n_runs, "unpacked"))
        packed = sweep_s(root, sweep_of(n_runs, "packed", pack))
        floor = loop / CORES
        rows.append(
            _row(f"loop over {n_runs} runs, 1 process, s", round(loop, 2), "", None, n_runs, loop)
        )
        rows.append(
            _row(
                "sweep efficiency, unpacked", round(floor / unpacked, 3), "", None, n_runs, unpacked
            )
        )
        rows.append(
            _row(
                f"sweep efficiency, pack {pack}",
                round(floor / packed, 3),
                ">= 0.6",
                floor / packed >= 0.6,
                n_runs,
                packed,
            )
        )
        # the loop's own terms: no figures (the render jobs still start, to draw nothing)
        unplotted = sweep_of(n_runs, "packed-no-figures", pack)
        unplotted["overrides"] = [*SHORT_RUN, "logging.make_plots=false"]
        bare_packed = sweep_s(root, unplotted)
        rows.append(
            _row(
                f"sweep efficiency, pack {pack}, figures off",
                round(floor / bare_packed, 3),
                "",
                None,
                n_runs,
                bare_packed,
            )
        )

        rows += dry_run_rows(root, n_dry, 1 if args.quick else DRY_REPEATS)
        if shutil.which("sbatch") and not args.no_slurm:
            # quick: the two ways with targets; the others take minutes on a 2-core cluster
            ways = ("unpacked", "packed") if args.quick else tuple(SLURM_WAYS)
            rows += slurm_rows(root, args.slurm_runs or n_slurm, 2 if args.quick else 10, ways)
        else:
            why = "--no-slurm" if args.no_slurm else "no sbatch here; see scripts/local_slurm.sh"
            print(f"the SLURM figures are left out ({why})")
    finally:
        shutil.rmtree(root, ignore_errors=True)

    for row in rows:
        verdict = {None: "info", True: "met", False: "MISSED"}[row["met"]]
        print(f"{row['name']:<60} {row['value']:>10} {row['target']:>8} {verdict}")


if __name__ == "__main__":
    main()
