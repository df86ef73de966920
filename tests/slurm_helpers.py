"""Running Snakemake with profiles/slurm against a real SLURM (scripts/local_slurm.sh), for tests.

``require_slurm()`` skips a test where SLURM is absent, except in CI (env ``CI`` set), where a
missing or stopped cluster fails the test instead: there the SLURM tests must run.
``run_slurm_snakemake(workdir, ...)`` runs a workflow through the profile with fast status
polling and returns the log, the submitted SLURM jobs, and their records in SLURM's job
completion log, so a test can check that jobs went through ``sbatch`` and how they ended.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.ci_guard import in_ci
from tests.workflow_helpers import env_with_this_python

REPO = Path(__file__).resolve().parents[1]
PROFILE = REPO / "profiles" / "slurm"
JOBCOMP_LOG = Path(os.environ.get("SLURM_JOBCOMP_LOG", "/var/log/slurm/jobcomp.log"))
START_HINT = "start it with: sudo bash scripts/local_slurm.sh"
# The profile's polling (40 s before the first check) suits real clusters; tests want seconds.
# The plugin adds 10 s to the interval after each poll in which no job finished.
FAST_POLLING = (
    "--slurm-init-seconds-before-status-checks",
    "1",
    "--seconds-between-status-checks",
    "1",
)
_SUBMITTED = re.compile(r"submitted with SLURM jobid (\d+) \(log: (\S+)\)")
_FIELD = re.compile(r"(\w+)=(\S*)")


def require_slurm() -> None:
    """Skip (outside CI) or fail (in CI) unless sbatch exists and the cluster answers."""
    if shutil.which("sbatch") is None:
        if in_ci():
            pytest.fail(f"sbatch is not on PATH in CI; {START_HINT}")
        pytest.skip(f"no SLURM here (sbatch not on PATH); {START_HINT}")
    probe = subprocess.run(
        ["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, timeout=30, check=False
    )
    states = probe.stdout.split()
    if probe.returncode != 0 or not {"idle", "mix", "alloc"} & set(states):
        reason = f"no usable SLURM node (sinfo: {probe.stdout.strip() or probe.stderr.strip()})"
        if in_ci():
            pytest.fail(f"{reason}; {START_HINT}")
        pytest.skip(f"{reason}; {START_HINT}")


@dataclass(frozen=True)
class SlurmJob:
    """One sbatch submission: its SLURM job id, rule and job completion record (or None)."""

    job_id: str
    rule: str
    record: dict[str, str] | None

    @property
    def state(self) -> str | None:
        return self.record["JobState"] if self.record else None

    @property
    def time_limit_min(self) -> int | None:
        return int(self.record["TimeLimit"]) if self.record else None


@dataclass(frozen=True)
class SlurmRun:
    returncode: int
    log: str
    jobs: list[SlurmJob]

    def jobs_of(self, rule: str) -> list[SlurmJob]:
        return [job for job in self.jobs if job.rule == rule]


def jobcomp_records(workdir: Path) -> dict[str, dict[str, str]]:
    """SLURM's job completion records of jobs that ran in ``workdir``, by job id."""
    if not JOBCOMP_LOG.exists():
        return {}
    records = {}
    for line in JOBCOMP_LOG.read_text().splitlines():
        record = dict(_FIELD.findall(line))
        if record.get("WorkDir") == str(workdir):
            records[record["JobId"]] = record
    return records


def _rule_of(slurm_log: str, workdir: Path) -> str:
    # The plugin writes .snakemake/slurm_logs/rule_<rule>/[<wildcards>/]<jobid>.log
    relative = Path(slurm_log).relative_to(workdir / ".snakemake" / "slurm_logs")
    return relative.parts[0].removeprefix("rule_")


def run_slurm_snakemake(
    workdir: Path, *args: str, timeout: float = 600, env: dict[str, str] | None = None
) -> SlurmRun:
    """``snakemake --profile profiles/slurm *args`` in ``workdir``, with this venv on PATH.

    Jobs get ``--export=ALL``, so the PATH set here is what runs inside each job.
    """
    run_env = env_with_this_python(env)
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "--profile", str(PROFILE), *FAST_POLLING, *args],
        cwd=workdir,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    log = proc.stdout + proc.stderr
    submitted = [
        (job_id, _rule_of(slurm_log, workdir)) for job_id, slurm_log in _SUBMITTED.findall(log)
    ]
    records = _wait_for_records(workdir, {job_id for job_id, _ in submitted})
    jobs = [SlurmJob(job_id, rule, records.get(job_id)) for job_id, rule in submitted]
    return SlurmRun(proc.returncode, log, jobs)


def _wait_for_records(workdir: Path, job_ids: set[str], patience_s: float = 10):
    # slurmctld appends a record when a job ends; the plugin may see the end a moment before.
    deadline = time.monotonic() + patience_s
    while True:
        records = jobcomp_records(workdir)
        if job_ids <= records.keys() or time.monotonic() > deadline:
            return records
        time.sleep(0.5)
