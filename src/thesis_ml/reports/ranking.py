"""Which tokenizer codes best at each bit budget: the ``tokenizer_ranking`` of summary.json and
tokenizer_ranking.csv, and the per-cell numbers the tokenizer figures draw.

A *cell* is a dataset, a tokenizer and a code size: the bit budget for the ranking and the
rate-distortion figure, K for code utilization. Where a cell holds several configurations (a
sweep over latent sizes gives VQ at 8 bits two), the cell is that of lowest mean validation loss
over its finished runs: chosen on validation, so that its test numbers stay an honest estimate
of what the tokenizer achieves at that size. Means and min-max are over that configuration's
finished runs (completed or stopped early), one per seed; unfinished ones are counted apart.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from thesis_ml.facts import FINISHED_STATUSES

BUDGET_CELL = ("dataset", "budget_bits", "tokenizer")
SPREAD = ("test_mse", "effective_bits", "code_usage", "perplexity_per_code")  # mean, min, max
RANKING_COLUMNS = (
    "dataset",
    "budget_bits",
    "rank",  # by mean test MSE within the dataset and budget, 1 = lowest
    "tokenizer",
    "configuration",  # the configuration (seed group) that stands for the tokenizer here
    "n_configurations",  # of the tokenizer at this budget, among which it was chosen
    "n_seeds",  # finished runs of that configuration
    "n_unfinished",
    "bits_per_sample",  # nominal bits of its code
    "test_mse",  # mean over seeds of the selected weights' test MSE
    "test_mse_min",
    "test_mse_max",
    "lower_bound",  # D(R) at the code's bits
    "ratio_to_lower_bound",  # test_mse / lower_bound, >= 1 in expectation
    "quantizer_reference",  # k-means with as many levels as the code, test MSE
    "ratio_to_quantizer_reference",  # test_mse / quantizer_reference; null where omitted
    "quantizer_reference_omitted",  # why there is none
    "effective_bits",  # mean entropy of the code usage on test
)
INT_COLUMNS = ("budget_bits", "rank", "n_configurations", "n_seeds", "n_unfinished")


def cell_table(runs: pd.DataFrame, cell: Sequence[str]) -> pd.DataFrame:
    """Per cell of ``runs`` (rows of reports/tokenizer_runs.py): its chosen configuration with
    ``n_configurations``, ``n_seeds``, ``n_unfinished``, ``<measure>_{mean,min,max}`` of
    :data:`SPREAD`, the code's bits and yardsticks. Cells with no value for a key are left out."""
    cell = list(cell)
    finished = runs["status"].isin(FINISHED_STATUSES)
    measured = runs.assign(
        finished=finished,
        **{name: runs[name].where(finished) for name in ("val_mse", *SPREAD)},
    )
    stats = measured.groupby([*cell, "group"], sort=False).agg(
        n_seeds=("finished", "sum"),
        n_runs=("run_id", "size"),
        val_mse=("val_mse", "mean"),
        bits_per_sample=("bits_per_sample", "mean"),
        lower_bound=("lower_bound", "mean"),
        quantizer_reference=("quantizer_reference", "mean"),
        quantizer_reference_omitted=("quantizer_reference_omitted", "first"),
        **{f"{name}_{stat}": (name, stat) for name in SPREAD for stat in ("mean", "min", "max")},
    )
    stats = stats.reset_index()
    stats["n_unfinished"] = stats.pop("n_runs") - stats["n_seeds"]
    stats["n_configurations"] = stats.groupby(cell)["group"].transform("size")
    # A configuration without a finished run stands for its cell only when all are so.
    stats = stats.sort_values([*cell, "val_mse"], na_position="last", kind="stable")
    chosen = stats.drop_duplicates(cell).rename(columns={"group": "configuration"})
    return chosen.reset_index(drop=True)


def tokenizer_ranking(runs: pd.DataFrame) -> pd.DataFrame:
    """:data:`RANKING_COLUMNS` per dataset, bit budget and tokenizer of the discrete runs."""
    discrete = runs[runs["discrete"]]
    if discrete.empty:
        return pd.DataFrame(columns=list(RANKING_COLUMNS))
    cells = cell_table(discrete, BUDGET_CELL).rename(columns={"test_mse_mean": "test_mse"})
    cells["ratio_to_lower_bound"] = cells["test_mse"] / cells["lower_bound"]
    cells["ratio_to_quantizer_reference"] = cells["test_mse"] / cells["quantizer_reference"]
    cells["effective_bits"] = cells["effective_bits_mean"]
    budget = cells.groupby(["dataset", "budget_bits"])["test_mse"]
    cells["rank"] = budget.rank(method="min").astype("Int64")
    cells = cells.sort_values(["dataset", "budget_bits", "rank"], na_position="last")
    return cells[list(RANKING_COLUMNS)].astype({name: "Int64" for name in INT_COLUMNS})


def ranking_rows(ranking: pd.DataFrame) -> list[dict]:
    """The ranking as JSON-ready dicts: plain ints, floats and strings, None where unknown."""
    return ranking.astype(object).where(ranking.notna(), None).to_dict("records")
