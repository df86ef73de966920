"""``python -m thesis_ml.reports [--config-name NAME] [overrides...]``: a cross-run report.

``python -m thesis_ml.reports export --to tensorboard|mlflow DIR...``: the runs copied into
those viewers (``thesis_ml.export.cli``).
"""

from __future__ import annotations

import sys

from thesis_ml.cli import run_cli
from thesis_ml.reports.settings import (
    DEFAULT_REPORT_CONFIG,
    REPORT_CONFIG_DIR,
    compose_report_config,
)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["export"]:
        from thesis_ml.export.cli import main as export_main

        return export_main(argv[1:])
    return run_cli(
        prog="python -m thesis_ml.reports",
        description=(
            "Compare runs: summary.csv, summary.json and figures. Give the runs as "
            "inputs.run_dirs='[DIR1,DIR2]' or inputs.sweep_dir=DIR. Copy runs into TensorBoard "
            "or MLflow: python -m thesis_ml.reports export --help."
        ),
        action=lambda cfg, _: _report(cfg),
        argv=argv,
        config_dir=REPORT_CONFIG_DIR,
        default_config=DEFAULT_REPORT_CONFIG,
        compose_fn=compose_report_config,
    )


def _report(cfg) -> None:
    from thesis_ml.reports.build import report_from_config

    report = report_from_config(cfg)
    timings = " ".join(f"{name}={seconds:.2f}" for name, seconds in report.timings_s.items())
    print(f"report of {report.n_runs} run(s), {len(report.skipped)} skipped: {report.out_dir}")
    for path in report.files:
        print(f"  {path.relative_to(report.out_dir)}")
    for name, why in report.left_out.items():
        print(f"  left out {name}: {why}")
    print(f"time (s): {timings}")


if __name__ == "__main__":
    sys.exit(main())
