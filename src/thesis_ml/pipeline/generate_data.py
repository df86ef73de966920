"""``python -m thesis_ml.pipeline generate-data``: draw one dataset and save it (rule
generate_data; one job per distinct data config, shared by the runs that use it)."""

from __future__ import annotations

import argparse
import json

from thesis_ml.data.dataset import save_dataset
from thesis_ml.data.registry import generate_dataset


def run(args: argparse.Namespace) -> None:
    save_dataset(generate_dataset(json.loads(args.config_json)), args.out)
