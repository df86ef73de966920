"""The report's tokenizer comparison, from real tiny runs of each tokenizer: the rate-distortion
and code-utilization figures read as matplotlib objects, and the ranking per bit budget checked
against numbers taken from the runs' facts independently of the report's code."""

from __future__ import annotations

import csv
import dataclasses
import json
import statistics
from collections import defaultdict
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest

from tests.report_helpers import overlapping_tick_labels, run_events, texts_outside
from thesis_ml.config import ConfigError, compose
from thesis_ml.data.bounds import distortion_rate
from thesis_ml.reports import build_report, load_runs
from thesis_ml.reports.build import report_data
from thesis_ml.reports.figures import code_utilization, rate_distortion
from thesis_ml.reports.figures.common import LOWER_BOUND_LABEL, QUANTIZER_REFERENCE_LABEL
from thesis_ml.reports.runs import read_runs
from thesis_ml.reports.settings import compose_report_config
from thesis_ml.reports.synthetic import fake_config, write_fake_run
from thesis_ml.reports.tokenizer_runs import tokenizer_label
from thesis_ml.train import run_loop

QUICK = (
    "phase1/trainer=ae",
    "trainer.epochs=2",
    "data.n_samples=512",  # 358 training samples: k-means of 16 levels, none of 240 or 256
    "logging.quiet=true",
    "logging.make_plots=false",
)
RUNS = {  # configuration/seed -> overrides
    "vq16/seed0": ["phase1/tokenizer=vq", "phase1.tokenizer.codebook_size=16"],
    "vq16/seed1": ["phase1/tokenizer=vq", "phase1.tokenizer.codebook_size=16", "trainer.seed=1"],
    # 4 bits too: VQ has two configurations at that budget, the ranking takes one
    "vq16_latent2/seed0": [
        "phase1/tokenizer=vq",
        "phase1.tokenizer.codebook_size=16",
        "phase1.encoder.latent_dim=2",
    ],
    "rvq16/seed0": ["phase1/tokenizer=rvq", "phase1.tokenizer.n_quantizers=1"],
    "vq256/seed0": ["phase1/tokenizer=vq"],
    "rvq2x16/seed0": ["phase1/tokenizer=rvq"],
    "fsq8/seed0": ["phase1/tokenizer=fsq"],  # 8-bit levels [8, 6, 5]: 7.91 bits
    "ae/seed0": ["phase1/tokenizer=none"],
}
CONTINUOUS = ["ae/seed0"]
FIGURES = "rate_distortion,code_utilization"


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tokenizers")
    for name, overrides in RUNS.items():
        run_loop(compose([*QUICK, *overrides, f"run_dir={root / name}"]))
    return {name: root / name for name in RUNS}


@pytest.fixture(scope="module")
def report(runs, tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("report") / "report"
    return build_report(list(runs.values()), out_dir, [f"outputs.which_figures=[{FIGURES}]"])


@pytest.fixture(scope="module")
def data(runs):
    run_dirs = list(runs.values())
    return report_data(read_runs(run_dirs), load_runs(run_dirs))


def discrete_facts(runs: dict[str, Path]) -> dict[str, tuple[dict, dict, dict]]:
    """Name -> (on_train_start, on_train_end, last on_validation_end) of the discrete runs."""
    facts = {}
    for name, run_dir in runs.items():
        if name not in CONTINUOUS:
            events = run_events(run_dir)
            validation = [e for e in events if e["event"] == "on_validation_end"][-1]
            facts[name] = (events[0], events[-1], validation)
    return facts


def expected_cells(runs: dict[str, Path], size) -> dict[tuple, dict]:
    """(tokenizer, size(start, validation)) -> the numbers of its configuration of lowest mean
    validation loss: what the report should show for that tokenizer at that size."""
    cells: dict[tuple, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for name, (start, end, validation) in discrete_facts(runs).items():
        cells[(start["tokenizer"], size(start, validation))][name.split("/")[0]].append(
            (start, end)
        )
    expected = {}
    for cell, configurations in cells.items():
        chosen = min(
            configurations,
            key=lambda c: statistics.mean(end["best"]["val_loss"] for _, end in configurations[c]),
        )
        facts = configurations[chosen]
        start, end = facts[0]
        yardsticks = end["yardsticks"]
        quantizer = yardsticks.get("quantizer_reference")
        expected[cell] = {
            "n_configurations": len(configurations),
            "n_seeds": len(facts),
            "bits": start["compression"]["bits_per_sample"],
            "test_mse": statistics.mean(e["best"]["test_loss"] for _, e in facts),
            "effective_bits": statistics.mean(e["best"]["test_effective_bits"] for _, e in facts),
            "code_usage": statistics.mean(e["best"]["test_code_usage"] for _, e in facts),
            "lower_bound": yardsticks["lower_bound"]["test_loss"],
            "quantizer_reference": quantizer["test_loss"] if quantizer else None,
            "omitted": end["omitted_yardsticks"].get("quantizer_reference"),
        }
    return expected


def by_budget(start: dict, validation: dict) -> int:
    return round(start["compression"]["bits_per_sample"])


def by_codebook_size(start: dict, validation: dict) -> int:
    return len(validation["metrics"]["code_counts"])


def tokenizer_lines(ax) -> dict[str, object]:
    """Tokenizer kind -> its line, from legend labels such as ``vq (n=1-2)``."""
    return {
        line.get_label().split(" (n=")[0]: line
        for line in ax.get_lines()
        if " (n=" in line.get_label()
    }


def test_report_draws_and_lists_both_tokenizer_figures(report):
    document = json.loads((report.out_dir / "summary.json").read_text())
    for name in ("rate_distortion", "code_utilization"):
        assert (report.out_dir / "figures" / f"{name}.png") in report.files
        assert f"figures/{name}.png" in document["figures"]
        assert name not in document["figures_left_out"]


def test_rate_distortion_draws_d_r_below_every_tokenizer_point(runs, data):
    fig = rate_distortion.draw(data)
    (ax,) = fig.axes
    lines = {line.get_label(): line for line in ax.get_lines()}
    grid, curve = lines[LOWER_BOUND_LABEL].get_data()
    eigenvalues = run_events(runs["vq16/seed0"])[0]["data"]["eigenvalues"]
    assert curve == pytest.approx(distortion_rate(eigenvalues, grid), rel=1e-12)
    expected = expected_cells(runs, by_budget)
    drawn = tokenizer_lines(ax)
    assert set(drawn) == {"vq", "rvq", "fsq"}
    for tokenizer, line in drawn.items():
        bits, mse = line.get_data()
        assert grid.min() < min(bits) and max(bits) < grid.max()
        assert np.all(np.interp(bits, grid, curve) < mse), tokenizer
        cells = sorted(cell for cell in expected.items() if cell[0][0] == tokenizer)
        assert list(bits) == pytest.approx([cell["bits"] for _, cell in cells])
        assert list(mse) == pytest.approx([cell["test_mse"] for _, cell in cells], rel=1e-12)
    hollow = [  # unnamed: the legend names them once
        (x, y)
        for line in ax.get_lines()
        if line.get_label().startswith("_") and line.get_markerfacecolor() == "none"
        for x, y in zip(*line.get_data(), strict=True)
    ]
    at_effective_bits = [(cell["effective_bits"], cell["test_mse"]) for cell in expected.values()]
    assert np.allclose(sorted(hollow), sorted(at_effective_bits), rtol=1e-12)
    quantizer = lines[QUANTIZER_REFERENCE_LABEL].get_data()
    references = {
        (cell["bits"], cell["quantizer_reference"])
        for cell in expected.values()
        if cell["quantizer_reference"] is not None
    }
    assert len(references) == 1  # 16 levels, the only ones 358 training samples afford
    assert np.allclose(np.transpose(quantizer), sorted(references), rtol=1e-12)
    # The continuous run: a line across the axes at its test MSE, not a point at 32 bits/float.
    continuous = lines[rate_distortion.continuous_label(4)]
    assert (
        list(continuous.get_ydata()) == [run_events(runs["ae/seed0"])[-1]["best"]["test_loss"]] * 2
    )
    assert list(continuous.get_xdata()) == [0, 1]  # axes coordinates: the full width
    bottom, top = ax.get_ylim()  # every point inside the axes, the shading stretching none
    drawn_mse = np.concatenate([line.get_ydata() for line in drawn.values()])
    assert bottom < min(drawn_mse) and max(drawn_mse) < top and top / bottom < 1e3


def test_rate_distortion_keeps_every_point_in_view_beside_a_far_lower_continuous_run(data):
    """A continuous latent can reconstruct 100x better than any code of a few bits: its line
    must not pull the log axis to where the codes' points leave the view."""
    autoencoders = data.autoencoders.copy()
    continuous = ~autoencoders["discrete"]
    autoencoders.loc[continuous, "test_mse"] = autoencoders["test_mse"].min() / 100
    fig = rate_distortion.draw(dataclasses.replace(data, autoencoders=autoencoders))
    (ax,) = fig.axes
    bottom, top = ax.get_ylim()
    points = np.concatenate([line.get_ydata() for line in tokenizer_lines(ax).values()])
    assert bottom < autoencoders["test_mse"].min() and max(points) < top


def test_code_utilization_draws_usage_and_perplexity_per_k(runs, data):
    fig = code_utilization.draw(data)
    usage_ax, perplexity_ax = fig.axes
    expected = expected_cells(runs, by_codebook_size)
    drawn = tokenizer_lines(usage_ax)
    assert set(drawn) == {"vq", "rvq", "fsq"}
    for tokenizer, line in drawn.items():
        sizes, usage = line.get_data()
        cells = sorted(cell for cell in expected.items() if cell[0][0] == tokenizer)
        assert list(sizes) == [size for (_, size), _ in cells]
        assert list(usage) == pytest.approx([cell["code_usage"] for _, cell in cells])
    assert sorted(expected) == [("fsq", 240), ("rvq", 16), ("vq", 16), ("vq", 256)]
    assert usage_ax.get_xscale() == perplexity_ax.get_xscale() == "log"
    ratios = [y for line in perplexity_ax.get_lines() for y in line.get_ydata()]
    assert ratios and all(0 < ratio <= 1 for ratio in ratios)


@pytest.mark.parametrize("module", [rate_distortion, code_utilization])
def test_tokenizer_figures_are_legible(data, module):
    fig = module.draw(data)
    assert fig.legends
    legend = [text.get_text() for text in fig.legends[0].get_texts()]
    assert any(label.startswith("vq (n=") for label in legend), legend
    for ax in fig.axes:
        assert overlapping_tick_labels(ax) == []
    assert texts_outside(fig) == []


def test_ranking_per_budget_against_the_facts(runs, report):
    rows = json.loads((report.out_dir / "summary.json").read_text())["tokenizer_ranking"]
    with (report.out_dir / "tokenizer_ranking.csv").open(newline="") as handle:
        csv_rows = list(csv.DictReader(handle))
    assert [(r["tokenizer"], r["budget_bits"]) for r in rows] == [
        (r["tokenizer"], int(r["budget_bits"])) for r in csv_rows
    ]
    expected = expected_cells(runs, by_budget)
    assert {(row["tokenizer"], row["budget_bits"]) for row in rows} == set(expected)
    for budget in {row["budget_bits"] for row in rows}:
        ranked = [row for row in rows if row["budget_bits"] == budget]
        assert [row["rank"] for row in ranked] == list(range(1, len(ranked) + 1))
        assert [row["test_mse"] for row in ranked] == sorted(row["test_mse"] for row in ranked)
    for row in rows:
        cell = expected[(row["tokenizer"], row["budget_bits"])]
        assert row["test_mse"] == pytest.approx(cell["test_mse"], rel=1e-12)
        assert row["n_seeds"] == cell["n_seeds"]
        assert row["n_configurations"] == cell["n_configurations"]
        assert row["ratio_to_lower_bound"] == pytest.approx(
            cell["test_mse"] / cell["lower_bound"], rel=1e-12
        )
        assert row["ratio_to_lower_bound"] > 1
        if cell["quantizer_reference"] is None:
            assert row["ratio_to_quantizer_reference"] is None
            assert row["quantizer_reference_omitted"] == cell["omitted"]
        else:
            assert row["ratio_to_quantizer_reference"] == pytest.approx(
                cell["test_mse"] / cell["quantizer_reference"], rel=1e-12
            )
    vq4 = next(row for row in rows if (row["tokenizer"], row["budget_bits"]) == ("vq", 4))
    assert vq4["n_configurations"] == 2
    assert {row["budget_bits"] for row in rows if row["ratio_to_quantizer_reference"] is None} == {
        8
    }


def test_figures_apply_to_no_report_of_continuous_runs_only(runs, tmp_path):
    continuous = [runs[name] for name in CONTINUOUS]
    data = report_data(read_runs(continuous), load_runs(continuous))
    for module in (rate_distortion, code_utilization):
        assert "discrete code" in module.missing(data)
    report = build_report(continuous, tmp_path / "report", [f"outputs.which_figures=[{FIGURES}]"])
    assert {"rate_distortion", "code_utilization"} <= set(report.left_out)
    document = json.loads((report.out_dir / "summary.json").read_text())
    assert document["tokenizer_ranking"] == []
    header = (report.out_dir / "tokenizer_ranking.csv").read_text().splitlines()
    assert len(header) == 1 and header[0].startswith("dataset,budget_bits,rank,tokenizer")


def test_runs_on_two_datasets_are_ranked_apart_and_not_drawn_together(tmp_path):
    run_dirs = []
    for data_seed in (0, 1):
        config = fake_config(0, "vq")
        config["data"]["seed"] = data_seed
        run_dirs.append(write_fake_run(tmp_path / f"data{data_seed}", config))
    data = report_data(read_runs(run_dirs), load_runs(run_dirs))
    for module in (rate_distortion, code_utilization):
        assert "2 datasets (seed=0; seed=1)" in module.missing(data)
    report = build_report(run_dirs, tmp_path / "report", ["outputs.which_figures=[]"])
    rows = json.loads((report.out_dir / "summary.json").read_text())["tokenizer_ranking"]
    assert [(row["dataset"], row["rank"]) for row in rows] == [("seed=0", 1), ("seed=1", 1)]


def test_which_figures_accepts_the_tokenizer_figures_and_still_refuses_unknown_ones():
    cfg = compose_report_config(
        ["inputs.sweep_dir=runs", "outputs.which_figures=[rate_distortion]"]
    )
    assert list(cfg.outputs.which_figures) == ["rate_distortion"]
    with pytest.raises(ConfigError, match="outputs.which_figures.1.*rate_distortin"):
        compose_report_config(
            ["inputs.sweep_dir=runs", "outputs.which_figures=[code_utilization,rate_distortin]"]
        )


def test_a_tokenizer_label_names_the_options_set_off_the_defaults():
    options = {"kind": "vq", "codebook_size": 16, "n_tokens": 2, "beta": 0.25}
    assert tokenizer_label("vq", options) == "vq"  # code size is the axis; beta the default
    assert tokenizer_label("vq", {**options, "rotation_trick": True}) == "vq+rotation_trick"
    assert tokenizer_label("vq", {**options, "ema": False}) == "vq+ema=false"
    simvq = {**options, "simvq": True, "ema": False}  # simvq requires ema=false: not repeated
    assert tokenizer_label("vq", simvq) == "vq+simvq"
    assert tokenizer_label("fsq", {"kind": "fsq", "levels": [8, 6, 5], "bits": None}) == "fsq"
