"""Comparisons of two run directories that every determinism test makes: bit-identical weights,
metrics and events, the clocks and the process that started each run aside."""

from __future__ import annotations

import math
from pathlib import Path

import torch

from thesis_ml.facts import final_event, read_events, read_scalars
from thesis_ml.run_directory import CHECKPOINT_FILE

# Columns of scalars.csv that measure time, not the model: they differ between any two runs.
TIMING = {"phase_time_s", "epoch_time_s", "samples_per_s", "wall_time_s"}
# Rounding of a batched product against a single one, carried through a few epochs of Adam.
WEIGHT_TOLERANCE = {"rtol": 1e-4, "atol": 1e-5}
METRIC_TOLERANCE = 1e-4


def weights(run_dir: Path | str, name: str = "model.pt") -> dict[str, torch.Tensor]:
    return torch.load(Path(run_dir) / name, weights_only=True)


def assert_same_weights(mine: Path, reference: Path, name: str = "model.pt") -> None:
    a, b = weights(mine, name), weights(reference, name)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), f"{mine} {name}"


def untimed_scalars(run_dir: Path) -> list[dict]:
    return [{k: v for k, v in row.items() if k not in TIMING} for row in read_scalars(run_dir)]


def assert_same_results(mine: Path, reference: Path) -> None:
    """The same final weights, per-epoch metrics and end numbers."""
    assert_same_weights(mine, reference)
    assert untimed_scalars(mine) == untimed_scalars(reference), mine.name
    ends = [final_event(read_events(d)) for d in (mine, reference)]
    assert ends[0]["final"] == ends[1]["final"] and ends[0]["best"] == ends[1]["best"]


def assert_same_run(mine: Path, reference: Path) -> None:
    """Bit-identical final and selected weights, metrics and events, and no checkpoint left."""
    for name in ("model.pt", "model_selected.pt"):
        assert_same_weights(mine, reference, name)
    assert untimed_scalars(mine) == untimed_scalars(reference)
    events = [
        [{k: v for k, v in e.items() if k not in {"time", *TIMING}} for e in read_events(d)]
        for d in (mine, reference)
    ]
    for event in (e for run in events for e in run):
        event.pop("run_dir", None)
        for volatile in ("started_at", "command"):
            event.get("provenance", {}).pop(volatile, None)
    assert events[0] == events[1]
    assert not (mine / CHECKPOINT_FILE).exists()


def _close(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=METRIC_TOLERANCE, abs_tol=METRIC_TOLERANCE)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def assert_close_run(stacked: Path, solo: Path) -> None:
    """The same files, statuses and epochs; weights, metrics and end numbers within rounding
    (a stacked run against its solo run)."""

    def files(run_dir: Path) -> list[str]:  # less Snakemake's marker in a directory() output
        return sorted(p.name for p in run_dir.rglob("*") if p.name != ".snakemake_timestamp")

    assert files(stacked) == files(solo), stacked.name
    for name in ("model.pt", "model_selected.pt"):
        mine, theirs = weights(stacked, name), weights(solo, name)
        assert mine.keys() == theirs.keys()
        for key in mine:
            torch.testing.assert_close(mine[key], theirs[key], **WEIGHT_TOLERANCE)
    rows = [
        [{k: v for k, v in row.items() if k not in TIMING} for row in read_scalars(d)]
        for d in (stacked, solo)
    ]
    assert _close(*rows), stacked.name
    ends = [final_event(read_events(d)) for d in (stacked, solo)]
    for key in ("status", "epochs", "final", "best", "gap"):
        assert _close(ends[0][key], ends[1][key]), (key, ends[0][key], ends[1][key])
