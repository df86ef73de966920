"""Runs copied into the viewers researchers already use: TensorBoard and MLflow.

Written after the fact from the facts alone (``cfg.yaml``, ``facts/events.jsonl``,
``facts/scalars.csv``, ``figures/*.png``), never from inside training:
``python -m thesis_ml.reports export --to tensorboard|mlflow SWEEP_DIR_OR_RUN_DIRS...`` by hand,
the ``export:`` key of a sweep in the pipeline (rules/export.smk).

``runs`` reads what both targets write, ``tensorboard`` and ``mlflow_store`` write it and are
the only modules that import the ``tracking`` extra; ``cli`` is the command. This module
imports nothing beyond the errors: the workflow reads its file names while it parses.
"""

from __future__ import annotations

from thesis_ml.errors import UserError

TRACKING_INSTALL = "pip install -e '.[tracking]'"
# Fixed names instead of TensorBoard's time-host-pid default, so that exporting the same facts
# twice writes the same bytes under the same names.
RUN_EVENT_FILE = "events.out.tfevents.thesis_ml"
HPARAMS_EVENT_FILE = "events.out.tfevents.thesis_ml-hparams"  # the sweep's table, beside the runs
# A TensorBoard export's two parts, which the pipeline writes in jobs of their own.
TENSORBOARD_PARTS = ("runs", "hparams")  # every run's directory, the sweep's hparams table
SQLITE = "sqlite:///"  # MLflow's store: an SQLAlchemy URI, a relative path after three slashes


class ExportError(UserError):
    """An export that cannot be made; the message names the path, option or package."""
