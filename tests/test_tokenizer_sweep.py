"""The tokenizer comparison sweep (workflow_configs/tokenizers.yaml) runs to its report with real
Snakemake: every tokenizer of it, at reduced epochs, data and budgets (4 and 8 bits), one seed.
The sweep as written takes about 15 minutes (benchmarks/RESULTS.md); what is checked here is that
each of its runs composes, trains, and reaches the rate-distortion figure and the ranking."""

from __future__ import annotations

import csv
import json

import pytest
import yaml

from tests.workflow_helpers import CONFIGFILE, REPO, copy_workflow, snakemake, write_sweep

pytestmark = pytest.mark.slow

SWEEP_FILE = REPO / "workflow_configs" / "tokenizers.yaml"
KEPT_BUDGETS = (0, 2)  # of each budget list (4, 6, 8, 10, 12 bits): 4 and 8 bits
REDUCED = {"trainer.epochs": "2", "data.n_samples": "3000"}


def reduced_sweep() -> dict:
    sweep = yaml.safe_load(SWEEP_FILE.read_text(encoding="utf-8"))
    overrides = []
    for override in sweep["overrides"]:
        key = override.split("=", 1)[0]
        overrides.append(f"{key}={REDUCED[key]}" if key in REDUCED else override)
    sweep["overrides"] = overrides
    for branch in sweep["conditional"]:
        for key, values in branch["grid"].items():
            if len(values) == 5:
                branch["grid"][key] = [values[i] for i in KEPT_BUDGETS]
    budgets = sorted({run["phase1.tokenizer.codebook_size"] for run in sweep["runs"]})
    kept_sizes = {budgets[i] for i in KEPT_BUDGETS}
    sweep["runs"] = [r for r in sweep["runs"] if r["phase1.tokenizer.codebook_size"] in kept_sizes]
    sweep["seeds"] = [0]
    return sweep


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    workdir = copy_workflow(tmp_path_factory.mktemp("tokenizer_sweep"))
    write_sweep(workdir, reduced_sweep())
    snakemake(workdir, "--cores", "2", *CONFIGFILE, timeout=1500)
    return workdir / "results" / "tokenizers" / "report"


def test_the_sweep_covers_every_tokenizer_at_five_budgets_and_three_seeds():
    sweep = yaml.safe_load(SWEEP_FILE.read_text(encoding="utf-8"))
    assert sweep["seeds"] == [0, 1, 2]
    assert set(sweep["grid"]["phase1/tokenizer"]) == {"none", "vq", "rvq", "fsq", "lfq"}
    assert len(sweep["runs"]) == 5 and all(run["phase1.tokenizer.simvq"] for run in sweep["runs"])


def test_every_tokenizer_reaches_the_rate_distortion_figure_and_the_ranking(report_dir):
    summary = json.loads((report_dir / "summary.json").read_text(encoding="utf-8"))
    for figure in ("rate_distortion", "code_utilization"):
        assert (report_dir / "figures" / f"{figure}.png").is_file(), figure
    with open(report_dir / "tokenizer_ranking.csv", encoding="utf-8", newline="") as handle:
        ranking = list(csv.DictReader(handle))
    cells = [(int(row["budget_bits"]), row["tokenizer"], int(row["rank"])) for row in ranking]
    assert cells == [
        (row["budget_bits"], row["tokenizer"], row["rank"]) for row in summary["tokenizer_ranking"]
    ]
    tokenizers = {"vq", "vq+rotation_trick", "vq+simvq", "rvq", "fsq", "lfq"}
    for budget in (4, 8):
        at_budget = sorted((rank, name) for bits, name, rank in cells if bits == budget)
        assert {name for _, name in at_budget} == tokenizers, at_budget
        assert [rank for rank, _ in at_budget] == list(range(1, len(tokenizers) + 1))
    for row in ranking:  # no code beats the bound of its rate
        assert float(row["test_mse"]) > float(row["lower_bound"]), row
