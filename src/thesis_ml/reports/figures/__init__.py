"""The report's figures: one module per figure, each with ``draw(data) -> Figure``.

:data:`FIGURES` names them in the order a report draws them; the modules (and matplotlib) are
imported only when a figure is drawn, so validating a report config stays cheap.
"""

from __future__ import annotations

import importlib

FIGURES = {
    "val_mse_vs_time": "val_mse_vs_time",
    "throughput_vs_best_val": "throughput",
    "pareto_error_vs_compression": "pareto",
    "vq_perplexity_boxplot": "perplexity",
}


def render(name: str, data, fig_format: str, dpi: int) -> bytes:
    """Draw figure ``name`` from ``data`` (a :class:`~.common.ReportData`) as file bytes."""
    from thesis_ml.reports.figures.common import to_bytes

    module = importlib.import_module(f"{__name__}.{FIGURES[name]}")
    return to_bytes(module.draw(data), fig_format, dpi)
