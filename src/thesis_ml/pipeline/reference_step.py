"""``python -m thesis_ml.pipeline quantizer-reference``: the k-means reference of one level
count on one dataset (rule quantizer_reference; one job per dataset and level count, shared by
every run whose code has that many levels)."""

from __future__ import annotations

import argparse
import json

from thesis_ml.data.dataset import load_dataset
from thesis_ml.data.references import stored_or_computed_quantizer_reference
from thesis_ml.utils.io import atomic_write_text


def run(args: argparse.Namespace) -> None:
    dataset = load_dataset(args.data)
    reference = stored_or_computed_quantizer_reference(dataset, args.levels, args.threads)
    atomic_write_text(args.out, json.dumps(reference, indent=1) + "\n")


def attach(dataset, paths) -> None:
    """Store the references the step wrote in ``dataset``, where the runs look them up."""
    stored = dataset.meta.setdefault("quantizer_references", {})
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            reference = json.load(handle)
        stored[str(reference["levels"])] = reference
