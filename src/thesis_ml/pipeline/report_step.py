"""``python -m thesis_ml.pipeline report``: the sweep's cross-run report (rule build_report).

The report says it was written by the pipeline, so that a report command typed by hand never
replaces it unless told to (thesis_ml.reports.destination)."""

from __future__ import annotations

import argparse
import json

from thesis_ml.reports import WRITTEN_BY_PIPELINE, build_report


def run(args: argparse.Namespace) -> None:
    build_report(
        args.run_dirs,
        args.out,
        overrides=json.loads(args.overrides_json),
        written_by=WRITTEN_BY_PIPELINE,
        search_dir=args.search_dir,
    )
