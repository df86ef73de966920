"""The pipeline's steps as commands, so that every Snakemake rule is one thin shell line.

    python -m thesis_ml.pipeline generate-data --config-json JSON --out results/data/ID.pt
    python -m thesis_ml.pipeline train --config-json JSON --data results/data/ID.pt --run-dir DIR
    python -m thesis_ml.pipeline report --out results/SWEEP/report [--overrides-json J] RUN_DIR...
    python -m thesis_ml.pipeline status results/SWEEP

Configs arrive as JSON (already composed and resolved by the workflow), never through a shell
word split: Snakemake quotes each argument.
"""

from __future__ import annotations

import argparse
import json
import sys

from thesis_ml.cli import EXIT_BAD_INPUT, USER_ERRORS


def _generate_data(args: argparse.Namespace) -> None:
    from thesis_ml.data.synthetic import generate_dataset, save_dataset

    save_dataset(generate_dataset(json.loads(args.config_json)), args.out)


def _train(args: argparse.Namespace) -> None:
    from thesis_ml.config import to_struct_config, validate
    from thesis_ml.data.synthetic import load_dataset
    from thesis_ml.train import run_loop

    config = validate(json.loads(args.config_json))
    config["run_dir"] = args.run_dir
    if config["trainer"]["num_threads"] is None:
        config["trainer"]["num_threads"] = args.threads
    run_loop(to_struct_config(config), dataset=load_dataset(args.data), live_plots=False)


def _report(args: argparse.Namespace) -> None:
    from thesis_ml.reports import build_report

    build_report(args.run_dirs, args.out, overrides=json.loads(args.overrides_json))


def _status(args: argparse.Namespace) -> None:
    from thesis_ml.pipeline.status import format_status, sweep_status

    print(format_status(sweep_status(args.sweep_dir)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m thesis_ml.pipeline", description=__doc__)
    steps = parser.add_subparsers(dest="step", required=True)

    generate = steps.add_parser("generate-data", help="draw one dataset and save it")
    generate.add_argument("--config-json", required=True, help="the data config section")
    generate.add_argument("--out", required=True, help="dataset file to write")
    generate.set_defaults(action=_generate_data)

    train = steps.add_parser("train", help="train one run of a sweep")
    train.add_argument("--config-json", required=True, help="the resolved run config")
    train.add_argument("--data", required=True, help="dataset file from generate-data")
    train.add_argument("--run-dir", required=True, help="directory of the run")
    train.add_argument(
        "--threads", type=int, default=1, help="torch threads unless trainer.num_threads is set"
    )
    train.set_defaults(action=_train)

    report = steps.add_parser("report", help="build a sweep's cross-run report")
    report.add_argument("--out", required=True, help="report directory")
    report.add_argument("--overrides-json", default="[]", help="report config overrides")
    report.add_argument("run_dirs", nargs="+", help="run directories to compare")
    report.set_defaults(action=_report)

    status = steps.add_parser("status", help="count a sweep's runs by state")
    status.add_argument("sweep_dir", help="results/<sweep>")
    status.set_defaults(action=_status)

    args = parser.parse_args(argv)
    try:
        args.action(args)
    except USER_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0


if __name__ == "__main__":
    sys.exit(main())
