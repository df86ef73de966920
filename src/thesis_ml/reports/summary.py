"""One summary row per run, the config keys that tell runs apart, and seed groups.

Runs whose configs differ only in a seed key are one *group* (one configuration); figures draw
a group as its mean with the spread over seeds. pandas is imported inside the functions that
build frames, so that importing this module stays cheap.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from thesis_ml.config import ConfigError
from thesis_ml.facts import YARDSTICKS
from thesis_ml.reports.runs import RunFacts, RunSet
from thesis_ml.utils.dotted import differing_keys, flatten, hashable, is_under

# Columns of the summary, in order; the differing config keys go after GROUP_COLUMNS. The
# headline is best_test_loss: the weights selected on validation, measured on test.
GROUP_COLUMNS = ("run_id", "run_dir", "group", "n_seeds")
PROVENANCE_COLUMNS = {  # column -> key of on_train_start "provenance"
    "git_commit": "git_commit",
    "git_dirty": "git_dirty",
    "host": "host",
    "thesis_ml_version": "thesis_ml",
    "torch_version": "torch",
    "started_at": "started_at",
}
RESULT_COLUMNS = (
    "tokenizer",
    "status",
    "epochs",
    "best_epoch",
    "best_test_loss",
    "best_val_loss",
    "final_test_loss",
    "final_val_loss",
    "best_test_accuracy",
    "best_val_accuracy",
    "total_time_s",
    "epoch_time_s",
    "samples_per_s",
    "n_params",
    "bits_per_sample",
    "compression_ratio",
    "final_perplexity",
    "final_code_usage",
    "final_dead_codes",
    "reference_kind",
    "reference_test_loss",
    "gap_best_rel",
    "gap_final_rel",
    *YARDSTICKS,  # each yardstick's test loss
    *(f"gap_{name}_rel" for name in YARDSTICKS),  # the selected weights' gap to it, on test
    "omitted_yardsticks",
    *PROVENANCE_COLUMNS,
)


def label_keys(configs: Sequence[Mapping], keys: Sequence[str]) -> list[str]:
    """The keys that name a configuration: those taking two or more values among the runs that
    set them (a VQ-only key that every VQ run shares is noise in a label), unless dropping the
    others would give two different configurations the same name."""
    concise = [
        key
        for key in keys
        if len({hashable(c[key]) for c in configs if c.get(key) is not None}) > 1
    ]

    def distinct(chosen: Sequence[str]) -> int:
        return len({tuple(hashable(c.get(key)) for key in chosen) for c in configs})

    return concise if distinct(concise) == distinct(keys) else list(keys)


def group_labels(configs: Sequence[Mapping], keys: Sequence[str]) -> list[str]:
    """``"latent_dim=8, kind=vq"`` from the keys; a key's last part alone unless ambiguous.

    Keys a run does not set (or sets to null) are left out of its label.
    """
    short = [key.rsplit(".", 1)[-1] for key in keys]
    names = [s if short.count(s) == 1 else key for s, key in zip(short, keys, strict=True)]
    if not keys:
        return ["all runs"] * len(configs)
    pairs = list(zip(names, keys, strict=True))
    return [
        ", ".join(f"{n}={_display(config[k])}" for n, k in pairs if config.get(k) is not None)
        or "defaults"
        for config in configs
    ]


def _display(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def summary_rows(runset: RunSet, ignore_keys: Iterable[str], seed_keys: Iterable[str]) -> list:
    """The summary as a list of dicts (JSON-ready), one per run, in the run set's order."""
    seed_keys = tuple(seed_keys)
    configs = [flatten(run.config) for run in runset.runs]
    for seed_key in seed_keys:  # a typo would split every configuration into its seeds
        if configs and not any(is_under(key, (seed_key,)) for c in configs for key in c):
            raise ConfigError(f"summary.seed_keys: {seed_key} is a key of no run's config")
    keys = differing_keys(configs, ignore_keys)
    group_keys = [key for key in keys if not is_under(key, seed_keys)]
    groups = group_labels(configs, label_keys(configs, group_keys))
    sizes = collections.Counter(groups)
    rows = []
    for run, config, group in zip(runset.runs, configs, groups, strict=True):
        row = {"run_id": run.run_id, "run_dir": str(run.run_dir), "group": group}
        row["n_seeds"] = sizes[group]
        row.update({key: _display(config.get(key)) for key in keys})
        row.update(run_results(run))
        rows.append(row)
    return rows


def run_results(run: RunFacts) -> dict:
    """The RESULT_COLUMNS of one run, from its facts."""
    end, start = run.end or {}, run.start
    best, final = end.get("best") or {}, end.get("final") or {}
    val_rows = run.val_rows
    last_val = val_rows[-1] if val_rows else {}
    compression = start.get("compression") or end.get("compression") or {}
    yardsticks, reference_kind = run.yardsticks, run.reference_kind
    gap = end.get("gap") or {}
    best_gap, final_gap = gap.get("best") or {}, gap.get("final") or {}
    epoch_times = [row["epoch_time_s"] for row in val_rows if row["epoch_time_s"] is not None]
    provenance = run.provenance
    omitted = "; ".join(f"{name}: {why}" for name, why in run.omitted_yardsticks.items())
    return {
        "tokenizer": start.get("tokenizer"),
        "status": end.get("status"),
        "epochs": end.get("epochs"),
        "best_epoch": best.get("epoch"),
        "best_test_loss": best.get("test_loss"),
        "best_val_loss": best.get("val_loss"),
        "final_test_loss": final.get("test_loss"),
        "final_val_loss": final.get("val_loss"),
        "best_test_accuracy": best.get("test_accuracy"),
        "best_val_accuracy": best.get("val_accuracy"),
        "total_time_s": end.get("wall_time_s"),
        "epoch_time_s": math.fsum(epoch_times) / len(epoch_times) if epoch_times else None,
        "samples_per_s": end.get("samples_per_s"),
        "n_params": end.get("n_params"),
        "bits_per_sample": compression.get("bits_per_sample"),
        "compression_ratio": compression.get("ratio"),
        "final_perplexity": last_val.get("perplexity"),
        "final_code_usage": last_val.get("code_usage"),
        "final_dead_codes": last_val.get("dead_codes"),
        "reference_kind": reference_kind,
        "reference_test_loss": run.reference.get("test_loss"),
        "gap_best_rel": best_gap.get(reference_kind, {}).get("test_loss_rel"),
        "gap_final_rel": final_gap.get(reference_kind, {}).get("test_loss_rel"),
        **{name: yardsticks.get(name, {}).get("test_loss") for name in YARDSTICKS},
        **{f"gap_{name}_rel": best_gap.get(name, {}).get("test_loss_rel") for name in YARDSTICKS},
        "omitted_yardsticks": omitted or None,
        **{column: provenance.get(key) for column, key in PROVENANCE_COLUMNS.items()},
    }


def summary_frame(runset: RunSet, ignore_keys: Iterable[str], seed_keys: Iterable[str]):
    """The summary as a DataFrame; ``attrs["skipped"]`` lists the runs left out and why."""
    return rows_to_frame(summary_rows(runset, ignore_keys, seed_keys), runset)


def rows_to_frame(rows: list[dict], runset: RunSet):
    import pandas as pd

    frame = pd.DataFrame.from_records(rows, columns=list(rows[0]) if rows else None)
    frame.attrs["skipped"] = [skipped.to_dict() for skipped in runset.skipped]
    return frame


def scalars_frame(runset: RunSet, split: str | None = None):
    """Per-epoch scalars of every run in long form: a ``run_id`` column plus the CSV's columns."""
    import pandas as pd

    rows = [
        (run.run_id, row)
        for run in runset.runs
        for row in run.rows
        if split is None or row["split"] == split
    ]
    names = list(dict.fromkeys(name for run in runset.runs for row in run.rows[:1] for name in row))
    # Column by column: about 10x faster than from_records over many small dicts.
    columns = {"run_id": [run_id for run_id, _ in rows]}
    columns.update({name: [row.get(name) for _, row in rows] for name in names})
    return pd.DataFrame(columns)
