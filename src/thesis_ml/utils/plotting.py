"""Deprecated: plotting moved to :mod:`thesis_ml.plots`. This shim warns and forwards."""

import warnings

from thesis_ml.plots.losses import save_loss_figure

warnings.warn(
    "thesis_ml.utils.plotting is deprecated; import from thesis_ml.plots instead",
    DeprecationWarning,
    stacklevel=2,
)

__all__ = ["save_loss_figure"]
