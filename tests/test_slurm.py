"""profiles/slurm against a real SLURM: jobs go through sbatch, failures and time limits.

Tiny workflows written into tmp_path, so these tests check the profile and the local cluster
(scripts/local_slurm.sh) independently of the project's pipeline.
"""

from __future__ import annotations

import textwrap

import pytest

from tests.slurm_helpers import require_slurm, run_slurm_snakemake

# Each test waits for SLURM jobs and the plugin's polling: tens of seconds.
pytestmark = [pytest.mark.slurm, pytest.mark.slow]


@pytest.fixture
def slurm_workdir(tmp_path):
    require_slurm()
    return tmp_path


def write_snakefile(workdir, body: str) -> None:
    (workdir / "Snakefile").write_text(textwrap.dedent(body))


def test_every_job_goes_through_sbatch(slurm_workdir):
    write_snakefile(
        slurm_workdir,
        """
        localrules: all

        rule all:
            input: expand("out/{i}.txt", i=range(3))

        rule make:
            output: "out/{i}.txt"
            shell: "echo $SLURM_JOB_ID > {output}"
        """,
    )
    run = run_slurm_snakemake(slurm_workdir)
    assert run.returncode == 0, run.log
    jobs = run.jobs_of("make")
    assert len(jobs) == 3 and len(run.jobs) == 3, run.log  # `all` stays local
    assert all(job.state == "COMPLETED" for job in jobs), jobs
    written = {(slurm_workdir / f"out/{i}.txt").read_text().strip() for i in range(3)}
    assert written == {job.job_id for job in jobs}


def test_failed_job_is_reported_as_failed(slurm_workdir):
    write_snakefile(
        slurm_workdir,
        """
        rule broken:
            output: "broken.txt"
            shell: "exit 3"
        """,
    )
    run = run_slurm_snakemake(slurm_workdir, "--retries", "0")
    assert run.returncode != 0
    assert "Error in rule broken" in run.log
    assert [job.state for job in run.jobs_of("broken")] == ["FAILED"], run.log
    assert not (slurm_workdir / "broken.txt").exists()


def test_time_limit_is_resubmitted_with_more_time(slurm_workdir):
    # The first attempt outlives its 1-minute limit; the profile's retries resubmit it, and the
    # runtime expression (the same kind as the profile's `30 * attempt`) gives it 2 minutes.
    write_snakefile(
        slurm_workdir,
        """
        rule slow:
            output: "slow.txt"
            shell:
                "if [ {resources.runtime} -lt 2 ]; then sleep 600; fi; "
                "echo {resources.runtime} > {output}"
        """,
    )
    run = run_slurm_snakemake(slurm_workdir, "--set-resources", "slow:runtime=attempt")
    assert run.returncode == 0, run.log
    attempts = [(job.state, job.time_limit_min) for job in run.jobs_of("slow")]
    assert attempts == [("TIMEOUT", 1), ("COMPLETED", 2)], run.log
    assert (slurm_workdir / "slow.txt").read_text().strip() == "2"
