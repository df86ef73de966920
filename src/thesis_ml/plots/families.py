"""The figure families: what every family module provides (:class:`PlotFamily`) and the
registry :data:`FAMILIES`, whose order is the order figures are drawn and reported in.

A family is a module (``losses.py``, ...) that draws one figure from a run's facts. It receives
matplotlib axes and never imports pyplot, so importing it costs nothing when nothing is drawn.
``options`` is the family's entry under ``logging.families``: ``true``/``false``, or a mapping
with ``enabled`` and the family's own keys (``mode``).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from thesis_ml.facts import RunFacts
from thesis_ml.plots import codebook, latency, losses, metrics, recon


@runtime_checkable
class PlotFamily(Protocol):
    def missing(self, facts: RunFacts, options) -> str | None:
        """Why this run cannot have the figure (the inputs it lacks), or None when it can."""

    def panel_count(self, facts: RunFacts, options, full: bool) -> int:
        """How many panels :meth:`draw` fills: the ``train_end`` figure when ``full``, else the
        one cheap ``epoch_end`` panel's figure."""

    def draw(self, axes: list, facts: RunFacts, options, full: bool) -> None:
        """Fill ``axes`` (``panel_count`` matplotlib axes) from ``facts``."""


FAMILIES: dict[str, PlotFamily] = {
    "losses": losses,
    "metrics": metrics,
    "recon": recon,
    "codebook": codebook,
    "latency": latency,
}
