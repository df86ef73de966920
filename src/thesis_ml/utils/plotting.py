"""Deprecated: plotting moved to :mod:`thesis_ml.plots` (names re-exported by
:mod:`thesis_ml.plots.orchestrator`).

Importing this module warns; every name is looked up on ``plots.orchestrator``, so old imports
such as ``from thesis_ml.utils.plotting import render_run`` keep working.
"""

import warnings

from thesis_ml.plots import orchestrator

warnings.warn(
    "thesis_ml.utils.plotting is deprecated; import from thesis_ml.plots.render (render_run), "
    "thesis_ml.plots.live, .policy or .families instead",
    DeprecationWarning,
    stacklevel=2,
)


def __getattr__(name: str):
    return getattr(orchestrator, name)


def __dir__() -> list[str]:
    return dir(orchestrator)
