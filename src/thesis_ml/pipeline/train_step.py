"""``python -m thesis_ml.pipeline train``: train one run of a sweep (rule train) on the dataset
generate-data saved, drawing no figures (rule render_run draws them from the facts)."""

from __future__ import annotations

import argparse
import json

from thesis_ml.config import to_struct_config, validate
from thesis_ml.data.dataset import load_dataset
from thesis_ml.pipeline.reference_step import attach
from thesis_ml.train import run_loop
from thesis_ml.train.checkpoint import config_digest, seed_checkpoint


def run(args: argparse.Namespace) -> None:
    config = validate(json.loads(args.config_json))
    config["run_dir"] = args.run_dir
    if config["trainer"]["num_threads"] is None:
        config["trainer"]["num_threads"] = args.threads
    if args.resume_from:
        seed_checkpoint(args.resume_from, args.run_dir, config_digest(config))
    dataset = load_dataset(args.data)
    attach(dataset, args.quantizer_references)
    run_loop(to_struct_config(config), dataset=dataset, live_plots=False)
