"""Where a report is written: never by default inside a run directory, among the runs or over
the pipeline's own report; an explicit outputs.out_dir writes where it says."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.report_helpers import vq_config
from tests.workflow_helpers import (
    CONFIGFILE,
    TINY_SWEEP,
    copy_workflow,
    planned_jobs,
    snakemake,
    write_sweep,
)
from thesis_ml.reports import WRITTEN_BY_PIPELINE, build_report
from thesis_ml.reports.__main__ import main as report_main
from thesis_ml.reports.synthetic import fake_config, write_fake_run


@pytest.fixture
def sweep(tmp_path) -> Path:
    """The pipeline's layout: results/default/runs/<run>, two runs."""
    results = tmp_path / "results" / "default"
    write_fake_run(results / "runs" / "vq", vq_config())
    write_fake_run(results / "runs" / "ae", fake_config(0, "none", latent_dim=2))
    return results


def _tree(path: Path) -> dict[str, bytes]:
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in path.rglob("*") if p.is_file()}


def _report(*overrides: str) -> subprocess.CompletedProcess:
    """The CLI as the README's shell runs it."""
    command = f"{shlex.quote(sys.executable)} -m thesis_ml.reports "
    command += "--config-name compare_tokenizers " + " ".join(overrides)
    return subprocess.run(["bash", "-c", command], capture_output=True, text=True, check=False)


def test_run_dirs_form_refuses_to_write_among_the_runs(sweep):
    runs = sweep / "runs"
    before = _tree(sweep)
    done = _report(
        f"inputs.run_dirs='[{runs / 'vq'},{runs / 'ae'}]'", "outputs.report_subdir=report"
    )
    assert done.returncode == 2, done.stderr
    error = done.stderr.strip()
    assert error.count("\n") == 0 and "Traceback" not in error
    assert f"{runs / 'report'}, among the run directories of {runs}" in error
    assert "outputs.out_dir=DIR" in error and f"outputs.out_dir={runs / 'report'}" in error
    assert _tree(sweep) == before


def test_sweep_dir_of_one_run_refuses_to_write_into_it(sweep):
    run = sweep / "runs" / "vq"
    before = _tree(run)
    assert report_main([f"inputs.sweep_dir={run}"]) == 2
    assert _tree(run) == before


def test_sweep_dir_form_never_replaces_the_pipelines_report(sweep, capsys):
    build_report(sweep / "runs", sweep / "report", written_by=WRITTEN_BY_PIPELINE)
    before = _tree(sweep)
    argv = [f"inputs.sweep_dir={sweep}", "outputs.report_subdir=report"]
    assert report_main([*argv, "outputs.which_figures=[val_mse_vs_time]"]) == 2
    error = capsys.readouterr().err
    assert f"{sweep / 'report'}, over the pipeline's own report" in error
    assert f"outputs.out_dir={sweep / 'report'} writes there anyway" in error
    assert _tree(sweep) == before  # every figure still there


def test_an_explicit_out_dir_writes_where_it_says_and_records_who_wrote_it(sweep):
    build_report(sweep / "runs", sweep / "report", written_by=WRITTEN_BY_PIPELINE)
    assert report_main([f"inputs.sweep_dir={sweep}", f"outputs.out_dir={sweep / 'report'}"]) == 0
    document = json.loads((sweep / "report" / "summary.json").read_text())
    assert document["written_by"] == "user"


@pytest.mark.parametrize("where", ["the out_dir", "a parent of it"])
def test_an_out_dir_taken_by_a_file_is_named_and_nothing_written(sweep, capsys, where):
    taken = sweep.parent / "taken"
    taken.write_text("notes\n")
    out_dir = taken if where == "the out_dir" else taken / "report"
    before = _tree(sweep.parent)
    assert report_main([f"inputs.sweep_dir={sweep}", f"outputs.out_dir={out_dir}"]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"error: {taken}: a file, where the directory {out_dir} is to be made; move it or "
        "choose another path\n"
    )
    assert _tree(sweep.parent) == before


def test_corrected_readme_commands_write_beside_the_pipelines_report(sweep):
    runs = sweep / "runs"
    build_report(runs, sweep / "report", written_by=WRITTEN_BY_PIPELINE)
    pipeline_report = _tree(sweep / "report")
    by_run_dirs = _report(
        f"inputs.run_dirs='[{runs / 'vq'},{runs / 'ae'}]'",
        f"outputs.out_dir={sweep / 'compare_runs'}",
        "outputs.which_figures='[val_mse_vs_time,throughput_vs_best_val]'",
    )
    assert by_run_dirs.returncode == 0, by_run_dirs.stderr
    by_sweep = _report(
        f"inputs.sweep_dir={sweep}",
        "outputs.report_subdir=compare_tokenizers",
        "outputs.which_figures='[val_mse_vs_time,pareto_error_vs_compression]'",
    )
    assert by_sweep.returncode == 0, by_sweep.stderr
    assert (sweep / "compare_runs" / "figures" / "throughput_vs_best_val.png").is_file()
    assert (sweep / "compare_tokenizers" / "figures" / "pareto_error_vs_compression.png").is_file()
    assert _tree(sweep / "report") == pipeline_report
    # A user's own report at a default destination is theirs to redraw.
    again = _report(f"inputs.sweep_dir={sweep}", "outputs.report_subdir=compare_tokenizers")
    assert again.returncode == 0, again.stderr


def test_pipeline_report_of_a_supervised_sweep_leaves_out_the_autoencoder_figures(tmp_path):
    """Snakemake's report rule declares a figures directory: figures left out break nothing."""
    workdir = copy_workflow(tmp_path / "workflow")
    write_sweep(workdir, TINY_SWEEP)
    snakemake(workdir, "--cores", "2", *CONFIGFILE)
    report = workdir / "results" / TINY_SWEEP["sweep"] / "report"
    figures = {path.name for path in (report / "figures").glob("*.png")}
    assert figures == {"val_mse_vs_time.png", "throughput_vs_best_val.png"}
    document = json.loads((report / "summary.json").read_text())
    assert set(document["figures_left_out"]) == {
        "pareto_error_vs_compression",
        "vq_perplexity_boxplot",
        "rate_distortion",
        "code_utilization",
    }
    assert planned_jobs(workdir, *CONFIGFILE) == {}
