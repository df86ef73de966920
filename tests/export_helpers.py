"""A tiny trained sweep for the export tests, and the tracking extra they need.

``make_sweep`` trains four 3-epoch runs into ``results/tiny/runs/``: two that complete, one that
diverges (a huge learning rate) and one cut after epoch 2, as a kill leaves it (no
``on_train_end``, no figures). ``require_tracking`` skips a test where the ``tracking`` extra
is missing, except in CI, where bootstrap.sh installs it and such a skip fails
(tests/ci_guard.py).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from tests.ci_guard import in_ci
from thesis_ml.config import compose
from thesis_ml.facts import read_scalars
from thesis_ml.plots.__main__ import main as render
from thesis_ml.train import run_loop

TRACKING = ("tensorboard", "mlflow")
INSTALL_HINT = "install it with: pip install -e '.[tracking]' (scripts/bootstrap.sh does)"
SWEEP = "tiny"
TINY_RUN = (
    "data.n_samples=256",
    "model.hidden_sizes=[8]",
    "trainer.epochs=3",
    "logging=plots_minimal",
    "logging.quiet=true",
)
RUNS = {
    "activation-relu__seed-0": ["model.activation=relu"],
    "activation-tanh__seed-0": ["model.activation=tanh"],
    "activation-tanh__seed-1": ["model.activation=tanh", "trainer.seed=1"],
    "diverged": ["model.activation=relu", "trainer.lr=1e6"],
}
KILLED = "activation-tanh__seed-1"  # cut after epoch 2
STATUSES = {
    "activation-relu__seed-0": "completed",
    "activation-tanh__seed-0": "completed",
    KILLED: "interrupted",
    "diverged": "diverged",
}


def require_tracking() -> None:
    """Skip (outside CI) or fail (in CI) unless TensorBoard and MLflow are installed."""
    missing = [name for name in TRACKING if importlib.util.find_spec(name) is None]
    if missing:
        reason = f"the tracking extra is missing ({', '.join(missing)}); {INSTALL_HINT}"
        if in_ci():
            pytest.fail(reason)
        pytest.skip(reason)


def make_sweep(root: Path) -> Path:
    """results/tiny under ``root``, its runs trained and their figures drawn from the facts."""
    sweep = root / "results" / SWEEP
    for name, overrides in RUNS.items():
        run_dir = sweep / "runs" / name
        run_loop(compose([*TINY_RUN, *overrides, f"run_dir={run_dir}"]), live_plots=False)
        assert render([str(run_dir)]) == 0
    _cut_after_epoch(sweep / "runs" / KILLED, 2)
    return sweep


def _cut_after_epoch(run_dir: Path, epoch: int) -> None:
    """What a kill during epoch ``epoch + 1`` leaves: its rows, but no record of its end."""
    events = run_dir / "facts" / "events.jsonl"
    kept = []
    for line in events.read_text(encoding="utf-8").splitlines(keepends=True):
        record = json.loads(line)
        if record["event"] == "on_train_end" or record.get("epoch", 0) > epoch:
            break
        kept.append(line)
    events.write_text("".join(kept), encoding="utf-8")
    shutil.rmtree(run_dir / "figures")


def facts_scalars(run_dir: Path, last_epoch: int | None = None) -> dict[str, dict[int, float]]:
    """tag -> epoch -> value of every scalar cell, as the exports name them."""
    scalars: dict[str, dict[int, float]] = {}
    for row in read_scalars(run_dir):
        if last_epoch is not None and row["epoch"] > last_epoch:
            continue
        for column, value in row.items():
            if column not in ("epoch", "split") and value is not None:
                scalars.setdefault(f"{row['split']}/{column}", {})[row["epoch"]] = value
    return scalars
