"""The autoencoder runs as the tokenizer comparison sees them: one row per run with its
tokenizer's label, its dataset, its code (nominal bits, bit budget, codebook size K) and the
test numbers of its selected weights beside the yardsticks of that code.

A tokenizer's label is its kind with the options the run sets off the kind's defaults
(``configs/phase1/tokenizer/<kind>.yaml``): ``vq+rotation_trick`` for a flag turned on,
``vq+ema=false`` for any other value. So a label names what was tried, the same in every
report, whichever runs a report holds. Options that size the code are left out: the bits are
the comparison's axis, not a variant of the tokenizer.

The *bit budget* is the nominal bits rounded to a whole bit: FSQ's level sets fall just short of
the budget they are chosen for (8 bits: levels [8, 6, 5], log2 240 = 7.91 bits), and still
compete with the 8-bit VQ. A dataset is a data config: runs whose ``data`` sections are equal
trained on the same data.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence

import pandas as pd
import yaml

from thesis_ml.config import CONFIG_DIR
from thesis_ml.reports.runs import RunFacts, RunSet
from thesis_ml.reports.summary import group_labels
from thesis_ml.utils.dotted import differing_keys, flatten

CONTINUOUS_KIND = "none"  # a float latent: no code, hence no rate and no D(R)
CODE_SIZE_OPTIONS = frozenset({"codebook_size", "n_tokens", "n_quantizers", "levels", "bits"})
# Options another one requires: SimVQ's codebook learns by gradient (ema=false is refused
# otherwise), so "vq+simvq" says all and "vq+ema=false+simvq" would repeat the rule.
IMPLIED_OPTIONS = {"simvq": {"ema": False}}
TOKENIZER_DEFAULTS_DIR = CONFIG_DIR / "phase1" / "tokenizer"
COLUMNS = (
    "run_id",
    "group",  # the run's configuration (seed group) in the summary
    "status",
    "dataset",
    "tokenizer",
    "discrete",
    "latent_dim",
    "bits_per_sample",  # nominal bits of the code; NaN for a continuous latent
    "budget_bits",
    "codebook_size",  # K: codes whose usage is counted
    "val_mse",
    "test_mse",  # the headline: selected weights, measured on test
    "effective_bits",  # entropy of the code usage on test, bits per sample
    "code_usage",
    "perplexity_per_code",  # test perplexity / K: 1 when every code is used equally often
    "lower_bound",
    "quantizer_reference",
    "quantizer_reference_omitted",  # why the run has no quantizer reference
)
NUMERIC_COLUMNS = (  # float, NaN where unknown (whole numbers among them too)
    "latent_dim",
    "bits_per_sample",
    "budget_bits",
    "codebook_size",
    "val_mse",
    "test_mse",
    "effective_bits",
    "code_usage",
    "perplexity_per_code",
    "lower_bound",
    "quantizer_reference",
)


def tokenizer_runs(runset: RunSet, summary: pd.DataFrame) -> pd.DataFrame:
    """One row of :data:`COLUMNS` per autoencoder run of ``runset`` (supervised runs have no
    tokenizer and are left out); ``summary`` gives each run's configuration."""
    group_of = dict(zip(summary["run_id"], summary["group"], strict=True))
    runs = [run for run in runset.runs if run.start.get("tokenizer")]
    datasets = dataset_labels([run.config.get("data") or {} for run in runs])
    rows = [
        _row(run, group_of[run.run_id], dataset)
        for run, dataset in zip(runs, datasets, strict=True)
    ]
    frame = pd.DataFrame.from_records(rows, columns=list(COLUMNS))
    return frame.astype({"discrete": bool, **dict.fromkeys(NUMERIC_COLUMNS, float)})


def comparison_missing(runs: pd.DataFrame) -> str | None:
    """Why the runs of :func:`tokenizer_runs` give no tokenizer comparison to draw."""
    discrete = runs[runs["discrete"]]
    if discrete.empty:
        return "no run has a discrete code (no autoencoder runs, or only continuous ones)"
    datasets = sorted(set(discrete["dataset"]))
    if len(datasets) > 1:
        return (
            f"the runs with a discrete code are on {len(datasets)} datasets "
            f"({'; '.join(datasets)}): tokenizers compare on one; report each dataset's runs apart"
        )
    return None


def tokenizer_label(kind: str, options: Mapping) -> str:
    """``kind`` and the options set off the kind's defaults, e.g. ``vq+rotation_trick``."""
    defaults = dict(_tokenizer_defaults(kind))
    for option, implied in IMPLIED_OPTIONS.items():
        if options.get(option) is True:
            defaults.update(implied)
    parts = [kind]
    for key, value in options.items():
        if key == "kind" or key in CODE_SIZE_OPTIONS:
            continue
        # An option the defaults do not name: a flag counts when it is on, anything else is
        # the kind's own business (a new kind without a defaults file yet).
        default = defaults.get(key, False if isinstance(value, bool) else value)
        if value != default:
            parts.append(key if value is True else f"{key}={_display(value)}")
    return "+".join(parts)


def dataset_labels(data_configs: Sequence[Mapping]) -> list[str]:
    """A name per data config: its kind where all are one dataset, else what tells them apart."""
    configs = [flatten(config) for config in data_configs]
    keys = differing_keys(configs, ignore=())
    if not keys:
        return [str(config.get("kind", "data")) for config in data_configs]
    return group_labels(configs, keys)


@functools.cache
def _tokenizer_defaults(kind: str) -> dict:
    path = TOKENIZER_DEFAULTS_DIR / f"{kind}.yaml"
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def _display(value) -> str:
    return json.dumps(value) if isinstance(value, bool | None) else str(value)


def _row(run: RunFacts, group: str, dataset: str) -> dict:
    start, end = run.start, run.end or {}
    best = end.get("best") or {}
    phase1 = run.config.get("phase1") or {}
    options = phase1.get("tokenizer") or {"kind": start["tokenizer"]}
    discrete = start["tokenizer"] != CONTINUOUS_KIND
    bits = (start.get("compression") or {}).get("bits_per_sample") if discrete else None
    # The validation counts list every code, used or not: K of any tokenizer, FSQ's included.
    counts = run.last_validation().get("code_counts")
    codebook_size = len(counts) if counts else options.get("codebook_size")
    perplexity = best.get("test_perplexity")
    yardsticks = run.yardsticks
    return {
        "run_id": run.run_id,
        "group": group,
        "status": end.get("status"),
        "dataset": dataset,
        "tokenizer": tokenizer_label(start["tokenizer"], options),
        "discrete": discrete,
        "latent_dim": (phase1.get("encoder") or {}).get("latent_dim"),
        "bits_per_sample": bits,
        "budget_bits": round(bits) if bits is not None else None,
        "codebook_size": codebook_size,
        "val_mse": best.get("val_loss"),
        "test_mse": best.get("test_loss"),
        "effective_bits": best.get("test_effective_bits"),
        "code_usage": best.get("test_code_usage"),
        "perplexity_per_code": perplexity / codebook_size if perplexity and codebook_size else None,
        "lower_bound": yardsticks.get("lower_bound", {}).get("test_loss"),
        "quantizer_reference": yardsticks.get("quantizer_reference", {}).get("test_loss"),
        "quantizer_reference_omitted": (
            run.omitted_yardsticks.get("quantizer_reference") if discrete else None
        ),
    }
