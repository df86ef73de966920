"""Facts: the single record of what a run did, from which every figure and report is drawn.

A run directory holds ``facts/events.jsonl`` (one JSON object per lifecycle event) and
``facts/scalars.csv`` (one row per epoch and split); an autoencoder run also stores
``facts/recon_examples.json``. The files are appended to and flushed as the run goes, so a run
killed at any moment leaves files that parse up to its last finished epoch; the readers drop a
torn last line (no newline) and reject anything else that is malformed, naming the file and
line. The schema is documented in ``docs/facts.md``.

``layout`` holds the names, ``writer`` the training side, ``reader`` the file parsers and
``run`` the one view of a run's facts that plots, reports and the status command share.
"""

from thesis_ml.facts.layout import (
    END_STATUSES,
    EVENTS,
    EVENTS_FILE,
    FACTS_SUBDIR,
    FINISHED_STATUSES,
    INT_COLUMNS,
    PAUSED,
    RECON_EXAMPLES_FILE,
    SCALAR_COLUMNS,
    SCALARS_FILE,
    STRING_COLUMNS,
    YARDSTICKS,
    FactsError,
    Listener,
    facts_dir,
    json_safe,
)
from thesis_ml.facts.reader import (
    final_event,
    is_number,
    read_events,
    read_recon_examples,
    read_scalars,
)
from thesis_ml.facts.run import RunFacts, load_run_facts, run_facts
from thesis_ml.facts.writer import FactsWriter

__all__ = [
    "EVENTS",
    "END_STATUSES",
    "EVENTS_FILE",
    "FACTS_SUBDIR",
    "FINISHED_STATUSES",
    "INT_COLUMNS",
    "PAUSED",
    "RECON_EXAMPLES_FILE",
    "SCALARS_FILE",
    "SCALAR_COLUMNS",
    "STRING_COLUMNS",
    "YARDSTICKS",
    "FactsError",
    "FactsWriter",
    "Listener",
    "RunFacts",
    "facts_dir",
    "final_event",
    "is_number",
    "json_safe",
    "load_run_facts",
    "read_events",
    "read_recon_examples",
    "read_scalars",
    "run_facts",
]
