"""What the figure families read: one run's facts, cut at its last finished epoch.

Everything here comes from ``facts/`` (see ``docs/facts.md``), so a figure drawn during training
and one re-rendered from disk later see the same numbers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from thesis_ml.facts import FactsError, facts_dir, final_event, read_events, read_scalars

# Input-vs-reconstruction examples of a few validation samples, stored by the training process
# (it has the model) so that a re-render without the model can still draw them.
RECON_EXAMPLES_FILE = "recon_examples.json"


@dataclass
class RunFacts:
    """A run's facts up to ``epoch``, its last finished epoch (0 when none has finished)."""

    epoch: int
    rows: list[dict]
    start: dict
    end: dict | None
    validations: list[dict]
    examples: dict | None = None
    optimum: dict = field(default_factory=dict)

    def series(self, split: str, column: str) -> tuple[list[int], list[float]]:
        """Epochs and values of ``column`` on ``split`` rows, leaving out empty cells."""
        points = [
            (row["epoch"], row[column])
            for row in self.rows
            if row["split"] == split and row.get(column) is not None
        ]
        return [p[0] for p in points], [p[1] for p in points]

    def has(self, column: str) -> bool:
        return any(row.get(column) is not None for row in self.rows)

    def last_validation(self) -> dict:
        """Metrics of the last finished epoch's ``on_validation_end`` event."""
        return self.validations[-1]["metrics"] if self.validations else {}


def load_run_facts(run_dir: Path | str) -> RunFacts:
    """Read ``facts/`` of ``run_dir``; rows and events past the last finished epoch are dropped.

    A run killed between writing an epoch's scalars and its ``on_epoch_end`` event has rows for
    an epoch that did not finish: they are left out, so every figure ends at the same epoch.
    """
    events = read_events(run_dir)
    epoch = max((e["epoch"] for e in events if e["event"] == "on_epoch_end"), default=0)
    rows = [row for row in read_scalars(run_dir) if row["epoch"] <= epoch]
    start = next((e for e in events if e["event"] == "on_train_start"), {})
    end = final_event(events)
    validations = [
        e for e in events if e["event"] == "on_validation_end" and e.get("epoch", 0) <= epoch
    ]
    optimum = dict((end or {}).get("optimum") or start.get("optimum") or {})
    return RunFacts(
        epoch=epoch,
        rows=rows,
        start=start,
        end=end,
        validations=validations,
        examples=_read_examples(Path(run_dir), epoch),
        optimum=optimum,
    )


def _read_examples(run_dir: Path, epoch: int) -> dict | None:
    path = facts_dir(run_dir) / RECON_EXAMPLES_FILE
    if not path.is_file():
        return None
    try:
        examples = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise FactsError(f"{path}: not a JSON object ({error})") from None
    if not isinstance(examples, dict) or not {"epoch", "inputs", "reconstructions"} <= set(
        examples
    ):
        raise FactsError(f"{path}: expected keys epoch, inputs, reconstructions")
    # Examples of an epoch after the last finished one belong to an epoch that did not finish.
    return examples if examples["epoch"] <= epoch else None
