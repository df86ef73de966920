"""Re-exports of the plotting package's public names, for imports written before it was split
by job (and for the deprecated :mod:`thesis_ml.utils.plotting`). Code in the package imports
from the modules themselves:

* :mod:`~thesis_ml.plots.families`: the ``PlotFamily`` protocol and the registry ``FAMILIES``;
* :mod:`~thesis_ml.plots.policy`: what the ``logging`` config says (families, moments, places,
  file names);
* :mod:`~thesis_ml.plots.render`: ``render_run`` and its report;
* :mod:`~thesis_ml.plots.live`: drawing while training (``Orchestrator``, ``attach``).
"""

from thesis_ml.plots.families import FAMILIES, PlotFamily
from thesis_ml.plots.live import Orchestrator, attach
from thesis_ml.plots.policy import (
    FORMATS,
    MOMENTS,
    destinations,
    enabled_families,
    enabled_moments,
    figure_name,
    figures_dir,
)
from thesis_ml.plots.render import RenderedFigure, RenderReport, log_skips, render_run

__all__ = [
    "FAMILIES",
    "FORMATS",
    "MOMENTS",
    "Orchestrator",
    "PlotFamily",
    "RenderReport",
    "RenderedFigure",
    "attach",
    "destinations",
    "enabled_families",
    "enabled_moments",
    "figure_name",
    "figures_dir",
    "log_skips",
    "render_run",
]
