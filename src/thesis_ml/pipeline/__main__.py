"""The pipeline's steps as commands, so that every Snakemake rule is one thin shell line.

    python -m thesis_ml.pipeline generate-data --config-json JSON --out results/data/ID.pt
    python -m thesis_ml.pipeline quantizer-reference --data results/data/ID.pt --levels L --out F
    python -m thesis_ml.pipeline train --config-json JSON --data results/data/ID.pt --run-dir DIR
                                       [--resume-from PAUSED_RUN_DIR] [--sources SHA256_FILE]
    python -m thesis_ml.pipeline train-pack --members FILE --sources SHA256_FILE --out FILE
        [--stacked]
    python -m thesis_ml.pipeline report --out results/SWEEP/report [--overrides-json J] RUN_DIR...
    python -m thesis_ml.pipeline status results/SWEEP

Configs arrive as JSON (already composed and resolved by the workflow), never through a shell
word split: Snakemake quotes each argument.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from thesis_ml.errors import CommandParser, exit_status

# The module that runs each command, imported by name once the command is chosen: a static
# import here would make every step depend on every step's code (the library files a step's
# rule depends on are the import closure of this module and its step's, rules/sources.smk).
STEP_MODULES = {
    "generate-data": "thesis_ml.pipeline.generate_data",
    "quantizer-reference": "thesis_ml.pipeline.reference_step",
    "train": "thesis_ml.pipeline.train_step",
    "train-pack": "thesis_ml.pipeline.train_step",
    "report": "thesis_ml.pipeline.report_step",
    "status": "thesis_ml.pipeline.status",
}


def _parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog="python -m thesis_ml.pipeline", description=__doc__)
    steps = parser.add_subparsers(dest="step", required=True)

    generate = steps.add_parser("generate-data", help="draw one dataset and save it")
    generate.add_argument("--config-json", required=True, help="the data config section")
    generate.add_argument("--out", required=True, help="dataset file to write")

    reference = steps.add_parser(
        "quantizer-reference", help="fit the k-means reference of one level count"
    )
    reference.add_argument("--data", required=True, help="dataset file from generate-data")
    reference.add_argument("--levels", required=True, type=int, help="centroids (code levels)")
    reference.add_argument("--threads", type=int, default=1, help="threads of the k-means")
    reference.add_argument("--out", required=True, help="JSON file to write")

    train = steps.add_parser("train", help="train one run of a sweep")
    train.add_argument("--config-json", required=True, help="the resolved run config")
    train.add_argument("--data", required=True, help="dataset file from generate-data")
    train.add_argument("--run-dir", required=True, help="directory of the run")
    train.add_argument(
        "--quantizer-references",
        nargs="*",
        default=[],
        help="quantizer-reference files of the run's code (else the run computes its own)",
    )
    train.add_argument(
        "--resume-from",
        help="a paused run (trainer.stop_after_epochs) whose checkpoint this run continues",
    )

    pack = steps.add_parser("train-pack", help="train a pack's runs in one process (pack: N)")
    pack.add_argument("--members", required=True, help="the pack's members file (JSON)")
    pack.add_argument("--out", required=True, help="JSON file to write: member -> inputs digest")
    pack.add_argument(
        "--stacked",
        action="store_true",
        help="the members are one configuration's seeds: train them as one stacked model",
    )
    for step in (train, pack):
        step.add_argument(
            "--threads",
            type=int,
            default=1,
            help="torch threads of the run (the sweep's threads_per_run)",
        )
        step.add_argument(
            "--sources",
            required=step is pack,
            help="the training code's checksum file (results/.sources/train.sha256)",
        )

    report = steps.add_parser("report", help="build a sweep's cross-run report")
    report.add_argument("--out", required=True, help="report directory")
    report.add_argument("--overrides-json", default="[]", help="report config overrides")
    report.add_argument("--search-dir", help="the sweep's search, whose trials are among the runs")
    report.add_argument("run_dirs", nargs="+", help="run directories to compare")

    status = steps.add_parser(
        "status",
        help="count a sweep's runs by state",
        description="Counts the runs of results/<sweep> by state, against the runs the workflow "
        "planned (results/<sweep>/planned_runs.txt, written whenever snakemake parses the "
        "sweep, a dry run included): finished (completed or stopped early), running or "
        "interrupted, diverged, failed, not started.",
    )
    status.add_argument("sweep_dir", help="results/<sweep>")
    return parser


def _run(args: argparse.Namespace) -> None:
    importlib.import_module(STEP_MODULES[args.step]).run(args)


def main(argv: list[str] | None = None) -> int:
    return exit_status(lambda: _run(_parser().parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
