"""Packs: up to N runs of a sweep trained one after another by one job (``pack: N``), so that
short runs pay one process start (and, on SLURM, one ``sbatch``) per pack instead of per run.

A pack is a job of its own, so an edit that reruns one run reruns its pack's job. Packs are
therefore cut so that the pipeline's usual edits touch as few of them as possible:

- the runs of each seed are packed apart, so that adding a seed adds packs and changes none;
- within a seed, runs are cut in the sweep's order, so that replacing a grid value (its runs
  keep their places) changes only the packs that held its runs;
- a pack is named by its members, so that a pack whose members did not change keeps its job.

With ``stack_seeds: true`` a pack is one configuration's seeds instead, trained as one stacked
model.

A pack's job trains only its members whose inputs changed (``thesis_ml.pipeline.train_step``):
the others are kept as they are, so a rerun pack retrains exactly the runs an edit touched.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from thesis_ml.pipeline.sweep import SEED_KEY, Run
from thesis_ml.utils.io import atomic_write_text, json_digest


@dataclass(frozen=True)
class Pack:
    """A job's worth of runs: its name and its members' run names, in training order."""

    name: str
    runs: tuple[str, ...]


def plan_packs(runs: Iterable[Run], size: int, stack_seeds: bool = False) -> list[Pack]:
    """The sweep's runs cut into packs of at most ``size``: per seed, in the sweep's order.

    With ``stack_seeds`` each pack is one configuration with all its seeds instead, trained as
    one stacked model (``thesis_ml.train.stacked_seeds``); adding a seed then changes every
    configuration's pack, whose job trains only the new seed (the others are current)."""
    if size < 1:
        raise ValueError(f"pack size {size} < 1")
    groups: dict[object, list[str]] = {}
    for run in runs:
        swept = dict(run.swept)
        seed = swept.pop(SEED_KEY, None)
        key = tuple(swept.items()) if stack_seeds else seed
        groups.setdefault(key, []).append(run.name)
    packs = []
    for names in groups.values():
        step = len(names) if stack_seeds else size
        for start in range(0, len(names), step):
            members = tuple(names[start : start + step])
            packs.append(Pack(name=f"pack-{json_digest(members)[:12]}", runs=members))
    return packs


def write_members(directory: Path | str, members: Sequence[Mapping]) -> Path:
    """The file a pack's job reads its members from (each a run's name, directory, resolved
    config, inputs and log), named by its content: the job's parameter is this path, so the
    job reruns exactly when a member's config or inputs change. Configs travel in a file, not
    on the command line, where one argument holds at most 128 KiB."""
    path = Path(directory) / f"{json_digest(list(members))[:16]}.json"
    if not path.is_file():
        atomic_write_text(path, json.dumps(list(members), indent=1), durable=False)
    return path


def read_members(path: Path | str) -> list[dict]:
    return json.loads(Path(path).read_text(encoding="utf-8"))
