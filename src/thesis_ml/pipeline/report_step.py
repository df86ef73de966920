"""``python -m thesis_ml.pipeline report``: the sweep's cross-run report (rule build_report)."""

from __future__ import annotations

import argparse
import json

from thesis_ml.reports import build_report


def run(args: argparse.Namespace) -> None:
    build_report(args.run_dirs, args.out, overrides=json.loads(args.overrides_json))
