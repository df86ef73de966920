"""Cross-run reports: CLI forms, summary values against the files, broken runs, figures.

What a report says a run achieved against its yardsticks: tests/test_report_yardsticks.py."""

from __future__ import annotations

import csv
import json
import math
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.report_helpers import run_events, write_fake_sweep
from thesis_ml.reports import build_report, load_runs, load_scalars
from thesis_ml.reports.__main__ import main as report_main
from thesis_ml.reports.figures import FIGURES
from thesis_ml.reports.synthetic import fake_config, write_fake_run
from thesis_ml.train.__main__ import main as train_main

NO_DISCRETE_CODE = "no run has a discrete code (no autoencoder runs, or only continuous ones)"
QUICK_TRAINING = ["trainer.epochs=2", "data.n_samples=512", "logging.quiet=true"]
QUICK_TRAINING += ["logging.make_plots=false", "trainer.num_threads=1"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> list[Path]:
    """Three real supervised runs: two seeds of one config, one other width."""
    root = tmp_path_factory.mktemp("trained")
    variants = {"s0": ["trainer.seed=0"], "s1": ["trainer.seed=1"]}
    variants["narrow"] = ["trainer.seed=0", "model.hidden_sizes=[16]"]
    for name, overrides in variants.items():
        assert train_main([f"run_dir={root / name}", *QUICK_TRAINING, *overrides]) == 0
    return [root / name for name in variants]


@pytest.fixture(scope="module")
def fake_sweep(tmp_path_factory) -> Path:
    return write_fake_sweep(tmp_path_factory.mktemp("fake") / "sweep")


def _broken_sweep(root: Path) -> dict[str, Path]:
    runs = {name: root / "runs" / name for name in ("good", "training", "truncated", "no_cfg")}
    write_fake_run(runs["good"], fake_config(0, "vq"))
    write_fake_run(runs["training"], fake_config(1, "vq"), status=None)
    write_fake_run(runs["truncated"], fake_config(2, "vq"))
    scalars = runs["truncated"] / "facts" / "scalars.csv"
    text = scalars.read_text()
    scalars.write_text(text[: len(text) * 2 // 3])  # cut mid-line, as a full disk would
    write_fake_run(runs["no_cfg"], fake_config(3, "vq"), write_config=False)
    return runs


def _read_csv(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _figures(out_dir: Path) -> set[str]:
    return {path.name for path in (out_dir / "figures").iterdir()}


def test_cli_run_dirs_form_as_the_readme_writes_it(trained, tmp_path):
    run_dirs = ",".join(str(path) for path in trained[:2])
    out_dir = tmp_path / "compare"
    command = (
        f"{shlex.quote(sys.executable)} -m thesis_ml.reports --config-name compare_tokenizers "
        f"inputs.run_dirs='[{run_dirs}]' outputs.out_dir={out_dir} "
        "outputs.which_figures='[val_mse_vs_time,throughput_vs_best_val]'"
    )
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert (out_dir / "summary.csv").is_file() and (out_dir / "summary.json").is_file()
    assert _figures(out_dir) == {"val_mse_vs_time.png", "throughput_vs_best_val.png"}
    assert len(_read_csv(out_dir / "summary.csv")) == 2


def test_cli_sweep_dir_form(fake_sweep):
    asked = ["val_mse_vs_time", "pareto_error_vs_compression", "vq_perplexity_boxplot"]
    argv = ["--config-name", "compare_tokenizers", f"inputs.sweep_dir={fake_sweep}"]
    argv += ["outputs.report_subdir=rep", f"outputs.which_figures=[{','.join(asked)}]"]
    argv += ["outputs.fig_format=svg"]
    assert report_main(argv) == 0
    out_dir = fake_sweep / "rep"
    assert _figures(out_dir) == {f"{name}.svg" for name in asked}
    document = json.loads((out_dir / "summary.json").read_text())
    assert document["config"]["outputs"]["which_figures"] == asked
    assert len(document["runs"]) == 6 and document["skipped"] == []


def test_summary_of_trained_runs_matches_their_files(trained, tmp_path):
    report = build_report(trained, tmp_path / "report", ["outputs.which_figures=[]"])
    rows = {row["run_dir"]: row for row in _read_csv(report.out_dir / "summary.csv")}
    for run_dir in trained:
        row = rows[str(run_dir)]
        val = [r for r in _read_csv(run_dir / "facts" / "scalars.csv") if r["split"] == "val"]
        start, end = run_events(run_dir)[0], run_events(run_dir)[-1]
        losses = [float(r["val_loss"]) for r in val]
        assert row["status"] == "completed" and int(row["epochs"]) == len(val) == 2
        assert float(row["best_val_loss"]) == pytest.approx(min(losses), rel=1e-12)
        assert int(row["best_epoch"]) == 1 + losses.index(min(losses))
        assert float(row["final_val_loss"]) == pytest.approx(losses[-1], rel=1e-12)
        assert float(row["best_test_loss"]) == end["best"]["test_loss"]
        assert float(row["final_test_loss"]) == end["final"]["test_loss"]
        mean_epoch = sum(float(r["epoch_time_s"]) for r in val) / len(val)
        assert float(row["epoch_time_s"]) == pytest.approx(mean_epoch, rel=1e-9)
        assert float(row["total_time_s"]) == pytest.approx(end["wall_time_s"])
        assert float(row["samples_per_s"]) == pytest.approx(end["samples_per_s"])
        assert int(row["n_params"]) == end["n_params"]
        assert row["reference_kind"] == "optimum"
        optimum = end["yardsticks"]["optimum"]["test_loss"]
        assert float(row["optimum"]) == float(row["reference_test_loss"]) == optimum
        gap = end["best"]["test_loss"] / optimum - 1
        assert float(row["gap_best_rel"]) == pytest.approx(gap, rel=1e-9)
        assert float(row["gap_optimum_rel"]) == pytest.approx(gap, rel=1e-9)
        assert row["bits_per_sample"] == "" and row["final_perplexity"] == ""
        assert row["git_commit"] == str(start["provenance"]["git_commit"] or "")
        assert row["torch_version"] == start["provenance"]["torch"]


def test_config_differences_and_seed_groups(trained):
    summary = load_runs(trained)
    differing = [c for c in summary.columns if "." in c]
    assert differing == ["model.hidden_sizes", "trainer.seed"]
    by_dir = summary.set_index("run_dir")
    assert by_dir.loc[str(trained[0]), "group"] == by_dir.loc[str(trained[1]), "group"]
    assert by_dir.loc[str(trained[0]), "n_seeds"] == 2
    assert by_dir.loc[str(trained[2]), "n_seeds"] == 1
    assert by_dir.loc[str(trained[2]), "model.hidden_sizes"] == [16]


def test_summary_of_vq_and_ae_runs_matches_their_files(fake_sweep):
    summary = load_runs(fake_sweep).set_index("run_id")
    assert len(summary) == 6
    for run_id, row in summary.iterrows():
        run_dir = fake_sweep / run_id
        last_val = [r for r in _read_csv(run_dir / "facts" / "scalars.csv") if r["split"] == "val"]
        last_val = last_val[-1]
        events = run_events(run_dir)
        compression = events[0].get("compression")
        assert row["bits_per_sample"] == compression["bits_per_sample"]
        assert row["compression_ratio"] == compression["ratio"]
        assert row["status"] == events[-1]["status"]
        if events[0]["tokenizer"] == "vq":
            assert row["final_perplexity"] == float(last_val["perplexity"])
            assert row["final_code_usage"] == float(last_val["code_usage"])
            assert row["final_dead_codes"] == int(last_val["dead_codes"])
        else:
            assert math.isnan(row["final_perplexity"])
    assert summary.loc["vq64/seed1", "status"] == "diverged"  # marked, not dropped
    assert summary.loc["vq16/seed0", "group"] == summary.loc["vq16/seed1", "group"]


def test_load_scalars_is_long_form(fake_sweep):
    scalars = load_scalars(fake_sweep)
    assert len(scalars) == 6 * 5 * 2 and scalars["run_id"].nunique() == 6
    assert set(load_scalars(fake_sweep, split="val")["split"]) == {"val"}


def test_incomplete_runs_fail_naming_every_one(tmp_path, capsys):
    runs = _broken_sweep(tmp_path / "sweep")
    assert report_main([f"inputs.sweep_dir={tmp_path / 'sweep'}"]) == 2
    error = capsys.readouterr().err
    assert str(runs["training"]) in error and "no on_train_end record" in error
    assert str(runs["truncated"]) in error and "truncated" in error
    assert str(runs["no_cfg"] / "cfg.yaml") in error and "missing" in error
    assert str(runs["good"]) + ":" not in error
    assert not (tmp_path / "sweep" / "report").exists()  # nothing written


def test_allow_incomplete_reports_the_rest(tmp_path, capsys):
    runs = _broken_sweep(tmp_path / "sweep")
    argv = [f"inputs.sweep_dir={tmp_path / 'sweep'}", "inputs.allow_incomplete=true"]
    argv += ["outputs.which_figures=[val_mse_vs_time]"]
    assert report_main(argv) == 0
    assert capsys.readouterr().err.count("warning: skipping") == 3
    document = json.loads((tmp_path / "sweep" / "report" / "summary.json").read_text())
    assert [run["run_dir"] for run in document["runs"]] == [str(runs["good"])]
    skipped = {entry["run_dir"]: entry["problems"] for entry in document["skipped"]}
    assert set(skipped) == {str(runs[name]) for name in ("training", "truncated", "no_cfg")}


def test_bad_jsonl_record_is_named_with_its_line(tmp_path):
    run = write_fake_run(tmp_path / "run", fake_config())
    events = run / "facts" / "events.jsonl"
    lines = events.read_text().splitlines(keepends=True)
    lines[2] = "{not json\n"
    events.write_text("".join(lines))
    with pytest.raises(Exception, match=r"events\.jsonl:3: not a JSON object"):
        load_runs([run])


def test_a_seed_key_of_no_run_is_named_and_no_report_written(fake_sweep, tmp_path, capsys):
    # a typo would make every seed a configuration of its own, each with n_seeds 1
    out = tmp_path / "report"
    argv = [f"inputs.sweep_dir={fake_sweep}", f"outputs.out_dir={out}"]
    assert report_main([*argv, "summary.seed_keys=[trainer.sed]"]) == 2
    assert capsys.readouterr().err == (
        "error: summary.seed_keys: trainer.sed is a key of no run's config\n"
    )
    assert not out.exists()


def test_unknown_figure_fails_before_any_work(tmp_path, capsys):
    argv = [f"inputs.sweep_dir={tmp_path / 'absent'}", "outputs.which_figures=[val_mse,nope]"]
    assert report_main(argv) == 2
    error = capsys.readouterr().err
    assert "outputs.which_figures.1" in error and "nope" in error
    assert all(name in error for name in FIGURES)
    assert "absent" not in error  # the runs were never looked at


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ([], "no runs given"),
        (["inputs.sweep_dir=a", "inputs.run_dirs=[b]"], "not both"),
        (["inputs.sweep_dir=a", "outputs.dpi=0"], "outputs.dpi"),
        (["inputs.sweep_dir=a", "+outputs.colour=red"], "colour"),
        # one run twice would weigh twice in every mean over seeds
        (["inputs.run_dirs=[runs/a,./runs/a/]"], "inputs.run_dirs: ./runs/a/ is runs/a again"),
        (
            ["inputs.sweep_dir=a", "outputs.which_figures=[rate_distortion,rate_distortion]"],
            'outputs.which_figures: "rate_distortion" is listed twice; list each once',
        ),
    ],
)
def test_bad_report_config_is_named(overrides, message, capsys):
    assert report_main(overrides) == 2
    assert message in capsys.readouterr().err


def test_build_report_writes_exactly_the_figures_asked_for(fake_sweep, tmp_path):
    out_dir = tmp_path / "results" / "report"
    build_report(fake_sweep, out_dir)
    assert _figures(out_dir) == {f"{name}.png" for name in FIGURES}
    report = build_report(fake_sweep, out_dir, ["outputs.which_figures=[vq_perplexity_boxplot]"])
    assert _figures(out_dir) == {"vq_perplexity_boxplot.png"}
    assert set(report.timings_s) >= {"load_s", "plot_s"}


def test_figures_that_apply_to_no_run_are_left_out_saying_why(trained, tmp_path, capsys):
    out_dir = tmp_path / "r"
    argv = [f"inputs.run_dirs=[{','.join(map(str, trained))}]", f"outputs.out_dir={out_dir}"]
    assert report_main(argv) == 0  # supervised runs: no bits, no perplexity
    assert _figures(out_dir) == {"val_mse_vs_time.png", "throughput_vs_best_val.png"}
    left_out = json.loads((out_dir / "summary.json").read_text())["figures_left_out"]
    assert left_out == {
        "pareto_error_vs_compression": (
            "no run records its compression (bits_per_sample): no autoencoder runs"
        ),
        "vq_perplexity_boxplot": "no VQ run (no run records a perplexity)",
        "rate_distortion": NO_DISCRETE_CODE,
        "code_utilization": NO_DISCRETE_CODE,
    }
    stdout = capsys.readouterr().out
    assert all(f"left out {name}: {why}" in stdout for name, why in left_out.items())


def test_a_figures_directory_is_written_even_when_no_figure_applies(trained, tmp_path):
    asked = "outputs.which_figures=[pareto_error_vs_compression]"
    report = build_report(trained, tmp_path / "r", [asked])
    assert _figures(tmp_path / "r") == set() and set(report.left_out) == {
        "pareto_error_vs_compression"
    }
