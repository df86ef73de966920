"""The report's figures: one module per figure, each with ``draw(data) -> Figure`` and, if the
figure can apply to none of a report's runs, ``missing(data) -> str | None`` (why: the figure
is then left out).

:data:`FIGURES` names them in the order a report draws them. The modules (and matplotlib) are
imported only when a figure is drawn, so validating a report config stays cheap; that import is
a plain ``import`` statement, so that the pipeline sees each module as a source of the report
step (rules/sources.smk). A new figure: its module, its line in FIGURES, its name in the import.
"""

from __future__ import annotations

import sys

FIGURES = {
    "val_mse_vs_time": "val_mse_vs_time",
    "throughput_vs_best_val": "throughput",
    "pareto_error_vs_compression": "pareto",
    "vq_perplexity_boxplot": "perplexity",
    "rate_distortion": "rate_distortion",
    "code_utilization": "code_utilization",
}


def not_applicable(name: str, data) -> str | None:
    """Why figure ``name`` applies to none of the runs of ``data`` (it is then left out)."""
    missing = getattr(_module(name), "missing", None)
    return missing(data) if missing else None


def render(name: str, data, fig_format: str, dpi: int) -> bytes:
    """Draw figure ``name`` from ``data`` (a :class:`~.common.ReportData`) as file bytes."""
    from thesis_ml.reports.figures.common import to_bytes

    return to_bytes(_module(name).draw(data), fig_format, dpi)


def _module(name: str):
    from thesis_ml.reports.figures import (  # noqa: F401  (looked up below)
        code_utilization,
        pareto,
        perplexity,
        rate_distortion,
        throughput,
        val_mse_vs_time,
    )

    return sys.modules[f"{__name__}.{FIGURES[name]}"]
