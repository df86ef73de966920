"""Per-job overhead of profiles/slurm on the local SLURM (scripts/local_slurm.sh), side by side.

A workflow of one trivial job runs three ways, in fresh directories:
- locally (`snakemake --cores 1`): what the job costs without a cluster;
- with `--profile profiles/slurm` and the test suite's fast polling (first status check after
  1 s): wall time of the whole `snakemake` call, and the job's own submit-to-end time from
  SLURM's job completion log (1 s resolution), which excludes the plugin's polling delay;
- with the profile as written (first status check after 40 s), which is what a user waits.

Then the scheduler choice: N trivial jobs with `--executor touch` (no job runs, so only the
scheduling is timed) under `--scheduler greedy` and `--scheduler ilp`.

    python benchmarks/slurm_overhead.py            # 3 repetitions, 1000 jobs for the schedulers
    python benchmarks/slurm_overhead.py --quick    # 1 repetition, 200 jobs, no default polling
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.slurm_helpers import FAST_POLLING, PROFILE, jobcomp_records  # noqa: E402

TRIVIAL = """
localrules: all

rule all:
    input: expand("out/{i}.txt", i=range(N))

rule trivial:
    output: "out/{i}.txt"
    shell: "echo ok > {output}"
"""


def workflow(root: Path, n_jobs: int) -> Path:
    workdir = Path(tempfile.mkdtemp(dir=root))
    (workdir / "Snakefile").write_text(TRIVIAL.replace("N", str(n_jobs)))
    return workdir


def timed_snakemake(workdir: Path, *args: str) -> float:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "snakemake", *args],
        cwd=workdir,
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def submit_to_end_s(workdir: Path) -> float:
    """Submit-to-end time of the job that ran in ``workdir``, from the job completion log."""
    deadline = time.monotonic() + 10
    while not (records := jobcomp_records(workdir)) and time.monotonic() < deadline:
        time.sleep(0.5)
    (record,) = records.values()
    times = [dt.datetime.fromisoformat(record[key]) for key in ("SubmitTime", "EndTime")]
    return (times[1] - times[0]).total_seconds()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 repetition, 200 jobs")
    args = parser.parse_args()
    if shutil.which("sbatch") is None:
        sys.exit(
            "error: no sbatch on PATH; start the local cluster: sudo bash scripts/local_slurm.sh"
        )
    repeats = 1 if args.quick else 3
    n_sched = 200 if args.quick else 1000
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        local, fast, fast_cluster, default = [], [], [], []
        for _ in range(repeats):
            local.append(timed_snakemake(workflow(root, 1), "--profile", "none", "--cores", "1"))
            workdir = workflow(root, 1)
            fast.append(timed_snakemake(workdir, "--profile", str(PROFILE), *FAST_POLLING))
            fast_cluster.append(submit_to_end_s(workdir))
            if not args.quick:
                default.append(timed_snakemake(workflow(root, 1), "--profile", str(PROFILE)))
        print(f"one trivial job, median of {repeats}:")
        print(f"  local run (snakemake --cores 1)        {statistics.median(local):6.1f} s")
        print(f"  slurm, whole snakemake call (1 s poll) {statistics.median(fast):6.1f} s")
        print(f"  slurm, submit-to-end in SLURM          {statistics.median(fast_cluster):6.1f} s")
        if default:
            print(f"  slurm, profile as written (40 s poll)  {statistics.median(default):6.1f} s")
        ratio = statistics.median(fast) / statistics.median(local)
        print(f"  ratio slurm (1 s poll) / local         {ratio:6.1f}x")

        print(f"{n_sched} trivial jobs, scheduling only (--executor touch --cores 2):")
        times = {}
        for scheduler in ("greedy", "ilp"):
            workdir = workflow(root, n_sched)
            times[scheduler] = timed_snakemake(
                workdir,
                "--profile",
                "none",
                "--executor",
                "touch",
                "--cores",
                "2",
                "--scheduler",
                scheduler,
            )
            print(f"  --scheduler {scheduler:6s} {times[scheduler]:6.1f} s")
        print(f"  ratio ilp / greedy {times['ilp'] / times['greedy']:6.1f}x")


if __name__ == "__main__":
    main()
