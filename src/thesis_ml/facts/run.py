"""One run's facts as every reader of them sees it: plots and reports.

:func:`load_run_facts` reads ``facts/`` and cuts it at the last finished epoch: a run killed
between writing an epoch's scalars and its ``on_epoch_end`` event has rows for an epoch that did
not finish; they are left out, so every figure and table ends at the same epoch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from thesis_ml.facts.reader import final_event, read_events, read_recon_examples, read_scalars


@dataclass
class RunFacts:
    """A run's facts up to ``epoch``, its last finished epoch (0 when none has finished)."""

    run_dir: Path
    epoch: int
    rows: list[dict]  # scalars.csv rows of finished epochs, both splits, in file order
    events: list[dict]  # every event record, in order
    examples: dict | None = None  # stored recon examples of a finished epoch
    config: dict = field(default_factory=dict)  # cfg.yaml, where the reader asked for it
    run_id: str = ""  # a report's short name of the run

    @property
    def start(self) -> dict:
        """The ``on_train_start`` record ({} when absent)."""
        return next((e for e in self.events if e["event"] == "on_train_start"), {})

    @property
    def end(self) -> dict | None:
        """The ``on_train_end`` record, None while the run has not ended."""
        return final_event(self.events)

    @property
    def yardsticks(self) -> dict:
        """What the run is compared against: name -> yardstick (docs/facts.md)."""
        return dict(self._recorded("yardsticks") or {})

    @property
    def reference_kind(self) -> str | None:
        """The name of the yardstick the run is judged by."""
        return self._recorded("reference_kind")

    @property
    def reference(self) -> dict:
        """The yardstick the run is judged by ({} when it has none)."""
        return dict(self.yardsticks.get(self.reference_kind) or {})

    @property
    def omitted_yardsticks(self) -> dict:
        """Yardstick name -> why the run states none of that name."""
        return dict(self._recorded("omitted_yardsticks") or {})

    @property
    def provenance(self) -> dict:
        """Which code, packages and machine produced the run."""
        return dict(self._recorded("provenance") or {})

    def _recorded(self, key: str):
        """``key`` as recorded at the run's end, else as announced at its start."""
        value = (self.end or {}).get(key)
        return self.start.get(key) if value is None else value

    @property
    def validations(self) -> list[dict]:
        return [
            e
            for e in self.events
            if e["event"] == "on_validation_end" and e.get("epoch", 0) <= self.epoch
        ]

    @property
    def val_rows(self) -> list[dict]:
        return [row for row in self.rows if row["split"] == "val"]

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
        validations = self.validations
        return validations[-1]["metrics"] if validations else {}


def run_facts(
    run_dir: Path | str,
    events: list[dict],
    rows: list[dict],
    config: dict | None = None,
    examples: dict | None = None,
) -> RunFacts:
    """:class:`RunFacts` from records already read, cut at the last finished epoch."""
    epoch = max((e["epoch"] for e in events if e["event"] == "on_epoch_end"), default=0)
    # Examples of an epoch after the last finished one belong to an epoch that did not finish.
    if examples is not None and examples["epoch"] > epoch:
        examples = None
    return RunFacts(
        run_dir=Path(run_dir),
        epoch=epoch,
        rows=[row for row in rows if row["epoch"] <= epoch],
        events=events,
        examples=examples,
        config=dict(config or {}),
    )


def load_run_facts(run_dir: Path | str) -> RunFacts:
    """Read ``facts/`` of ``run_dir``, recon examples included (what figures draw); raises
    FactsError naming the first bad file and line."""
    return run_facts(
        run_dir,
        read_events(run_dir),
        read_scalars(run_dir),
        examples=read_recon_examples(run_dir),
    )


YARDSTICK_KINDS = {
    "noise_floor": "noise floor",
    "bayes": "Bayes classifier",
    "gaussian_rate_distortion": "Gaussian D(R)",
    "pca": "PCA",
    "kmeans": "k-means",
}


def yardstick_label(name: str, yardstick: dict) -> str:
    """What a figure calls a yardstick: its name (which says its role: an optimum, a bound or a
    reference) and what it is, e.g. ``linear reference (PCA, latent 4)``."""
    kind = yardstick.get("kind")
    details = [YARDSTICK_KINDS.get(kind, kind)] if kind else []
    if "latent_dim" in yardstick:
        details.append(f"latent {yardstick['latent_dim']}")
    if "levels" in yardstick:
        details.append(f"{yardstick['levels']} levels")
    if "bits_per_sample" in yardstick:
        details.append(f"{yardstick['bits_per_sample']:g} bits")
    described = f" ({', '.join(details)})" if details else ""
    return f"{name.replace('_', ' ')}{described}"
