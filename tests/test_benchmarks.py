"""`make bench` keeps working: the benchmarks run and every figure reaches the results table.

Timings are not checked here (shared machines are noisy; the targets live in the table). What
is checked is that each benchmark runs to the end, that its reader in benchmarks/run_all.py
finds every figure in its output, and that the reference floors printed beside the missed
targets are there.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from tests.workflow_helpers import REPO, env_with_this_python

pytestmark = pytest.mark.slow

# Benchmark -> figures (row names, by prefix) its rows must hold.
EXPECTED = {
    "bench_vq": [
        "VQ-AE step / plain AE step",
        "VQ-AE step / vector-quantize-pytorch step",
        "plainest VQ-AE step",
        "codes equal to vector-quantize-pytorch's",
    ],
    "bench_tokenizers": [
        f"{name} step / vector-quantize-pytorch step" for name in ("fsq", "rvq", "vq")
    ],
    "bench_plots": [
        "training time, logging=plots_minimal / make_plots=false",
        "drawing the final plots_minimal figure",
        "re-render plots_full",
    ],
    "bench_pipeline": [
        "pipeline dry run (N=",
        "pipeline dry run, bare two-step floor",
        "pipeline no-op run",
        "pipeline train job overhead",
    ],
    "bench_search": [
        f"{task} search: {figure}"
        for task in ("regression", "vq-autoencoder")
        for figure in ("best value / grid's best", "training epochs", "round overhead")
    ],
    "bench_packing": [
        "loop over",
        "sweep efficiency, unpacked",
        "sweep efficiency, pack",
        "dry run",
        # through the local SLURM, where there is one (CI starts it: tests/ci_guard.py)
        *(
            [
                f"SLURM {figure}, {way}"
                for figure in ("sbatch submissions", "wall s per run")
                for way in ("unpacked", "packed")
            ]
            if shutil.which("sbatch")
            else []
        ),
    ],
    "bench_stacked": ["stacked seeds / one at a time, runs per hour (cpu)"],
    "bench_references": [
        "default sweep, data to report",
        *(
            f"tokenizer-vq__latent_dim-{m}__codebook_size-{k}: mean test MSE"
            for m in (2, 4)
            for k in (16, 256)
        ),
    ],
}


@pytest.mark.parametrize(
    "benchmark",
    # bench_packing submits to the local SLURM when there is one: it queues with the SLURM tests
    [
        pytest.param(name, marks=pytest.mark.slurm) if name == "bench_packing" else name
        for name in EXPECTED
    ],
)
def test_quick_benchmark_fills_its_rows_of_the_results_table(benchmark, tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "run_all.py"),
            "--quick",
            "--only",
            benchmark,
            "--out",
            str(tmp_path),
        ],
        cwd=REPO,
        env=env_with_this_python(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    entries = json.loads((tmp_path / "results.json").read_text())["benchmarks"]
    assert [entry["benchmark"] for entry in entries] == [benchmark]
    rows = entries[0]["rows"]
    names = [row["figure"] for row in rows]
    for figure in EXPECTED[benchmark]:
        assert any(n.startswith(figure) for n in names), (figure, names)
    for row in rows:
        assert row["status"] in {"met", "MISSED", "info"}, row
        assert row["value"] not in {"", "-"}, row
    table = (tmp_path / "RESULTS.md").read_text()
    assert all(name in table for name in names), table


def test_a_merged_rerun_replaces_only_its_benchmark(tmp_path):
    figure = {"figure": "f", "value": "1x", "target": "", "status": "info", "note": ""}
    kept = {"benchmark": "bench_vq", "quick": False, "seconds": 9.0, "rows": [figure]}
    stale = {"benchmark": "bench_gpu", "quick": False, "seconds": 1.0, "rows": []}
    machine = {"cpu": "c", "cores": 2, "gpu": "none", "os": "o", "python": "3", "torch": "t"}
    earlier = {"machine": {**machine, "date": "earlier"}, "total_s": 10.0}
    (tmp_path / "results.json").write_text(json.dumps({**earlier, "benchmarks": [stale, kept]}))
    command = [sys.executable, str(REPO / "benchmarks" / "run_all.py"), "--quick"]
    command += ["--only", "bench_gpu", "--merge", "--out", str(tmp_path)]
    result = subprocess.run(
        command, cwd=REPO, env=env_with_this_python(), capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["machine"]["date"] == "earlier"
    rerun, unchanged = results["benchmarks"]
    assert unchanged == kept
    assert rerun["benchmark"] == "bench_gpu" and rerun["rows"] and rerun["rerun"] != "earlier"
    assert f"rerun {rerun['rerun']}" in (tmp_path / "RESULTS.md").read_text()


def test_merge_without_an_earlier_table_is_refused(tmp_path):
    command = [sys.executable, str(REPO / "benchmarks" / "run_all.py"), "--only", "bench_gpu"]
    result = subprocess.run(
        [*command, "--merge", "--out", str(tmp_path)],
        cwd=REPO,
        env=env_with_this_python(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "--merge needs" in result.stderr, result.stderr
    assert not (tmp_path / "results.json").exists()


FAKE_PACKING = """
import json, sys, time
out = sys.argv[sys.argv.index("--json") + 1]
row = {"name": "sweep efficiency, pack 4", "n": 8, "value": 0.5, "ours_s": 3.0,
       "target": ">= 0.6", "met": False}
open(out, "w").write(json.dumps([row]))
time.sleep(60)  # the SLURM phases, past the timeout
"""


def test_a_timed_out_benchmark_keeps_the_rows_it_published(tmp_path, monkeypatch):
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import run_all
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    (tmp_path / "bench_packing.py").write_text(FAKE_PACKING)
    monkeypatch.setattr(run_all, "BENCH_DIR", tmp_path)
    monkeypatch.setattr(run_all, "LONG_TIMEOUT_S", {"bench_packing": 5})
    monkeypatch.setattr(run_all, "skip_reason", lambda name: None)
    entry = run_all.run_benchmark("bench_packing", True, tmp_path)
    kept, stopped = entry["rows"]
    assert (kept["figure"], kept["value"], kept["status"]) == (
        "sweep efficiency, pack 4 (N=8)",
        "0.5",
        "MISSED",
    )
    assert stopped["figure"] == "(timed out)" and stopped["note"] == "after 5 s"
