"""What a report says a run achieved: the test headline beside its validation number, the
yardsticks and the gaps to them, provenance, early-stopped runs as results, and figures that
tell a limit (optimum, lower bound) from a baseline (linear and quantizer reference)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.report_helpers import run_events, vq_config, write_fake_sweep
from thesis_ml.data.bounds import distortion_rate, pca_bound
from thesis_ml.facts import YARDSTICKS
from thesis_ml.reports import IncompleteRunsError, load_runs
from thesis_ml.reports.build import report_data
from thesis_ml.reports.figures import pareto, val_mse_vs_time
from thesis_ml.reports.figures.pareto import pareto_front
from thesis_ml.reports.runs import read_runs, resolve_sources
from thesis_ml.reports.summary import RESULT_COLUMNS
from thesis_ml.reports.synthetic import fake_config, write_fake_run


@pytest.fixture(scope="module")
def fake_sweep(tmp_path_factory) -> Path:
    return write_fake_sweep(tmp_path_factory.mktemp("fake") / "sweep")


def report_data_of(sources):
    """What the report figures draw from, for drawing one in memory."""
    return report_data(read_runs(resolve_sources(sources)), load_runs(sources))


def test_summary_of_a_vq_run_gives_test_headline_reference_gaps_and_provenance(tmp_path):
    judged = write_fake_run(tmp_path / "vq16", vq_config(codebook_size=16))
    too_many_levels = write_fake_run(tmp_path / "vq512", vq_config(codebook_size=512))
    continuous = write_fake_run(tmp_path / "ae", fake_config(0, "none"))
    summary = load_runs([judged, too_many_levels, continuous]).set_index("run_id")
    assert list(summary.columns[-len(RESULT_COLUMNS) :]) == list(RESULT_COLUMNS)
    row = summary.loc["vq16"]
    start, end = run_events(judged)[0], run_events(judged)[-1]
    best, yardsticks = end["best"], end["yardsticks"]
    assert row["best_test_loss"] == best["test_loss"] != best["val_loss"]
    assert row["best_val_loss"] == best["val_loss"]
    assert row["final_test_loss"] == end["final"]["test_loss"] != end["final"]["val_loss"]
    assert pd.isna(row["best_test_accuracy"]) and pd.isna(row["best_val_accuracy"])
    assert row["reference_kind"] == "quantizer_reference"
    quantizer = yardsticks["quantizer_reference"]["test_loss"]
    assert row["reference_test_loss"] == row["quantizer_reference"] == quantizer
    assert row["gap_best_rel"] == pytest.approx(best["test_loss"] / quantizer - 1, rel=1e-12)
    assert row["gap_best_rel"] != pytest.approx(
        end["gap"]["best"]["quantizer_reference"]["val_loss_rel"]
    )
    assert row["gap_final_rel"] == end["gap"]["final"]["quantizer_reference"]["test_loss_rel"]
    for name in YARDSTICKS:
        if name in yardsticks:
            assert row[name] == yardsticks[name]["test_loss"]
            assert row[f"gap_{name}_rel"] == end["gap"]["best"][name]["test_loss_rel"]
        else:
            assert pd.isna(row[name]) and pd.isna(row[f"gap_{name}_rel"]), name
    assert pd.isna(row["omitted_yardsticks"])
    provenance = start["provenance"]
    assert row[["git_commit", "git_dirty", "host"]].tolist() == [
        provenance["git_commit"],
        provenance["git_dirty"],
        provenance["host"],
    ]
    assert row["thesis_ml_version"] == provenance["thesis_ml"]
    assert row["torch_version"] == provenance["torch"]
    assert row["started_at"] == provenance["started_at"]

    fallback = summary.loc["vq512"]  # no k-means of 512 levels: judged by its linear reference
    reason = run_events(too_many_levels)[-1]["omitted_yardsticks"]["quantizer_reference"]
    assert fallback["reference_kind"] == "linear_reference"
    assert fallback["reference_test_loss"] == fallback["linear_reference"]
    assert pd.isna(fallback["quantizer_reference"])
    assert fallback["omitted_yardsticks"] == f"quantizer_reference: {reason}"
    omitted = run_events(continuous)[-1]["omitted_yardsticks"]
    assert summary.loc["ae", "omitted_yardsticks"] == "; ".join(
        f"{name}: {why}" for name, why in omitted.items()
    )
    assert len(omitted) == 2


def test_a_stopped_early_run_is_a_finished_result(tmp_path):
    sweep = tmp_path / "sweep"
    write_fake_run(sweep / "seed0", vq_config(0))
    write_fake_run(sweep / "seed1", vq_config(1), epochs=5, status="stopped_early")
    summary = load_runs(sweep)  # not refused as truncated: it trained fewer epochs than planned
    stopped = summary.set_index("run_id").loc["seed1"]
    assert stopped["status"] == "stopped_early" and stopped["epochs"] == 4
    assert stopped["best_epoch"] < stopped["epochs"]
    assert stopped["best_test_loss"] < stopped["final_test_loss"]
    data = report_data_of(sweep)
    for module in (pareto, val_mse_vs_time):
        fig = module.draw(data)
        labels = fig.axes[0].get_legend_handles_labels()[1]
        assert not any(label.endswith(("run", "(last finite value)")) for label in labels)
        legend = [text.get_text() for text in fig.legends[0].get_texts()]
        assert any(label.endswith("(n=2)") for label in legend), legend  # both seeds finished
    lines = {line.get_label(): line for line in pareto.draw(data).axes[0].get_lines()}
    mean_over_both = summary["best_test_loss"].mean()
    assert lines["Pareto front"].get_ydata().tolist() == pytest.approx([mean_over_both])


def test_a_stopped_early_run_cut_short_is_still_reported_truncated(tmp_path):
    run = write_fake_run(tmp_path / "run", vq_config(), status="stopped_early")
    scalars = run / "facts" / "scalars.csv"
    scalars.write_text("".join(scalars.read_text().splitlines(keepends=True)[:5]))  # 2 epochs
    with pytest.raises(IncompleteRunsError, match="val rows for 2 of 4 epochs.*stopped_early"):
        load_runs([run])


def test_pareto_tells_the_lower_bound_from_the_references(fake_sweep):
    ax = pareto.draw(report_data_of(fake_sweep)).axes[0]
    handles, labels = ax.get_legend_handles_labels()
    drawn = dict(zip(labels, handles, strict=True))
    lower_bound = "lower bound D(R) (Gaussian distortion-rate)"
    linear = "linear reference (PCA at the latent size)"
    quantizer = "quantizer reference (k-means, L levels)"
    assert {lower_bound, linear, quantizer} <= set(labels)
    for label in labels:
        if "reference" in label:
            assert "optimum" not in label and "bound" not in label, label
    assert "test" in ax.get_ylabel()
    bits, curve = drawn[lower_bound].get_data()
    eigenvalues = run_events(fake_sweep / "vq16" / "seed0")[0]["data"]["eigenvalues"]
    assert curve == pytest.approx(distortion_rate(eigenvalues, bits), rel=1e-12)
    expected_linear, expected_quantizer = set(), set()
    for run_dir in sorted(fake_sweep.glob("*/seed*")):
        start, end = run_events(run_dir)[0], run_events(run_dir)[-1]
        yardsticks = end["yardsticks"]
        bits_per_sample = start["compression"]["bits_per_sample"]
        expected_linear.add((bits_per_sample, yardsticks["linear_reference"]["test_loss"]))
        if "quantizer_reference" in yardsticks:
            reference = yardsticks["quantizer_reference"]
            expected_quantizer.add((math.log2(reference["levels"]), reference["test_loss"]))
    assert set(zip(*drawn[linear].get_data(), strict=True)) == expected_linear
    assert set(zip(*drawn[quantizer].get_data(), strict=True)) == expected_quantizer
    assert len(expected_linear) == 3 and len(expected_quantizer) == 2
    front = drawn["Pareto front"].get_ydata()
    summary = load_runs(fake_sweep)
    means = summary[summary["status"] == "completed"].groupby("group")["best_test_loss"].mean()
    assert set(front) <= set(means)


def test_pareto_of_continuous_runs_draws_d_r_from_their_data(fake_sweep):
    ax = pareto.draw(report_data_of(fake_sweep / "ae")).axes[0]
    labels = ax.get_legend_handles_labels()[1]
    assert "lower bound D(R) (Gaussian distortion-rate)" in labels
    assert "quantizer reference (k-means, L levels)" not in labels


def test_validation_curves_carry_yardsticks_named_for_what_they_are(fake_sweep):
    ax = val_mse_vs_time.draw(report_data_of(fake_sweep)).axes[0]
    assert "validation" in ax.get_ylabel()
    labels = ax.get_legend_handles_labels()[1]
    assert {
        "lower bound (Gaussian D(R), 4 bits)",
        "linear reference (PCA, latent 2)",
        "quantizer reference (k-means, 64 levels)",
    } <= set(labels)
    assert not any("optimum" in label for label in labels)


def test_distortion_rate_matches_closed_forms_and_bisection():
    assert distortion_rate([3.0], [0, 1, 2]) == pytest.approx([3.0, 0.75, 3 / 16])
    # equal eigenvalues share the rate: D = lam * 2**(-2R/n)
    assert distortion_rate([2.0] * 4, [4.0])[0] == pytest.approx(2.0 * 2 ** (-2.0))
    lam = np.array([4.0, 2.0, 1.0, 0.5, 0.01, 0.0])
    for rate in (0.3, 1.0, 2.5, 7.0, 30.0):
        lo, hi = 1e-300, lam.max()
        for _ in range(3000):  # bisection on the water level
            theta = (lo + hi) / 2
            spent = np.sum(np.maximum(0, 0.5 * np.log2(np.maximum(lam, 1e-300) / theta)))
            lo, hi = (theta, hi) if spent > rate else (lo, theta)
        expected = np.minimum(theta, lam).sum() / lam.size
        assert distortion_rate(lam, rate)[0] == pytest.approx(expected, rel=1e-6, abs=1e-12)
    assert pca_bound([1.0, 4.0, 2.0, 0.5], 2) == pytest.approx(1.5 / 4)
    with pytest.raises(ValueError):
        distortion_rate(lam, -1)


def test_pareto_front_keeps_only_undominated_points():
    front = pareto_front([1, 2, 2, 4, 8], [0.5, 0.6, 0.3, 0.3, 0.1])
    assert front.tolist() == [[1, 0.5], [2, 0.3], [8, 0.1]]


def test_distortion_rate_curve_equals_one_rate_at_a_time():
    """The report draws D(R) as one vectorised call; each point equals the single-rate value."""
    lam = [4.0, 2.0, 1.0, 0.5, 0.01, 0.0]
    rates = [0.0, 0.3, 1.0, 2.5, 7.0, 64.0]
    expected = [float(distortion_rate(lam, rate)[0]) for rate in rates]
    assert distortion_rate(lam, rates) == pytest.approx(expected, rel=1e-12, abs=1e-15)
