"""``python -m thesis_ml.reports export --to tensorboard|mlflow SWEEP_DIR_OR_RUN_DIRS... [--out]``

Copies runs, from their facts, into TensorBoard event files (default ``<sweep>/tensorboard``)
or an MLflow SQLite store (default ``sqlite:///<sweep>/mlflow.db``). Bad input, a missing
``tracking`` extra included, is one ``error:`` line and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

from thesis_ml.errors import CommandParser, exit_status
from thesis_ml.export import SQLITE, TENSORBOARD_PARTS, TRACKING_INSTALL, ExportError
from thesis_ml.export.runs import read_export_run, run_dirs_of, sweep_of

# Imported by name once the target is chosen: each target's pipeline rule then depends on its
# own module only (rules/sources.smk), and a target's missing package is named as such.
TARGET_MODULES = {
    "tensorboard": "thesis_ml.export.tensorboard",
    "mlflow": "thesis_ml.export.mlflow_store",
}


def parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="python -m thesis_ml.reports export",
        description="Copy runs, from their facts, into TensorBoard or MLflow. A source is a "
        "sweep directory (results/<sweep>: every run below it) or a run directory.",
    )
    parser.add_argument("--to", required=True, choices=TARGET_MODULES, help="the viewer")
    parser.add_argument("sources", nargs="+", metavar="SWEEP_DIR_OR_RUN_DIR", help="what to export")
    parser.add_argument(
        "--out",
        help="tensorboard: the log directory (default: <sweep>/tensorboard); mlflow: the store, "
        "sqlite:///PATH or PATH (default: sqlite:///<sweep>/mlflow.db, artifacts beside it)",
    )
    parser.add_argument(
        "--only",
        choices=TENSORBOARD_PARTS,
        help="tensorboard: write only the runs' directories, or only the sweep's hparams table "
        "(the pipeline's jobs; default: both)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    return exit_status(lambda: export(parser().parse_args(argv)))


def export(args: argparse.Namespace) -> None:
    if args.only and args.to != "tensorboard":
        raise ExportError(f"--only {args.only}: only --to tensorboard has parts")
    db = _store_file(args.out) if args.to == "mlflow" and args.out else None
    run_dirs = run_dirs_of(args.sources)
    runs = [read_export_run(run_dir) for run_dir in run_dirs]
    sweep = sweep_of(args.sources, run_dirs)
    target = _target_module(args.to)  # after the cheap checks: it imports the viewer's package
    if args.to == "tensorboard":
        out = Path(args.out) if args.out else sweep.directory / "tensorboard"
        parts = [args.only] if args.only else TENSORBOARD_PARTS
        target.export_tensorboard(runs, out, parts)
        print(f"tensorboard: {len(runs)} run(s) ({', '.join(parts)}) in {out}")
        for run in runs:
            print(f"  {run.name}: {run.status}")
        print(f"view: tensorboard --logdir {out}")
    else:
        db = db or sweep.directory / "mlflow.db"
        done = target.export_mlflow(runs, db, sweep.name)
        print(f"mlflow: {len(runs)} run(s) in experiment {sweep.name} of {SQLITE}{db}")
        for run in runs:
            print(f"  {run.name}: {run.status} ({done[run.name]})")
        print(f"view: mlflow ui --backend-store-uri {SQLITE}{db}")


def _store_file(out: str) -> Path:
    """The SQLite file of ``sqlite:///PATH`` or of a plain path."""
    if out.startswith(SQLITE):
        return Path(out.removeprefix(SQLITE))
    if "://" in out:
        raise ExportError(
            f"--out {out}: expected sqlite:///PATH or a file path (MLflow's SQLite store)"
        )
    return Path(out)


def _target_module(target: str):
    try:
        return importlib.import_module(TARGET_MODULES[target])
    except ModuleNotFoundError as error:
        if (error.name or "").startswith("thesis_ml"):
            raise
        raise ExportError(
            f"export --to {target} needs the tracking extra ({error}): {TRACKING_INSTALL}"
        ) from None
