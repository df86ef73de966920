"""The search's Optuna study in its journal file, ``<search_dir>/study.journal``.

Optuna's journal file storage needs no database server and is safe on a shared file system
with one writer. It holds only finished trials (``thesis_ml.search.study`` says why), and the
readers here never write to it.
"""

from __future__ import annotations

import os
from pathlib import Path

import optuna

from thesis_ml.search.section import SearchConfig
from thesis_ml.utils.io import make_dirs

JOURNAL_FILE = "study.journal"
STUDY_NAME = "search"


def told_trials(search_dir: Path | str) -> dict[str, optuna.trial.FrozenTrial]:
    """The trials told so far, by name (none before the first tell); reads only."""
    study = load_study(search_dir)
    trials = study.get_trials(deepcopy=False) if study else []
    return {trial.user_attrs["name"]: trial for trial in trials}


def load_study(search_dir: Path | str) -> optuna.Study | None:
    """The search's study, None before the first tell; reads only."""
    path = Path(search_dir) / JOURNAL_FILE
    if not path.is_file():
        return None
    storage = _storage(path)
    if STUDY_NAME not in optuna.get_all_study_names(storage):
        return None
    return optuna.load_study(study_name=STUDY_NAME, storage=storage)


def writable_study(search: SearchConfig, search_dir: Path) -> optuna.Study:
    path = search_dir / JOURNAL_FILE
    make_dirs(search_dir)
    _drop_torn_tail(path)
    storage = _storage(path)
    # create_study(load_if_exists=True) would append a record on every call: create it once.
    if STUDY_NAME in optuna.get_all_study_names(storage):
        return optuna.load_study(study_name=STUDY_NAME, storage=storage)
    return optuna.create_study(
        storage=storage, study_name=STUDY_NAME, direction=search.objective.direction
    )


def _storage(path: Path) -> optuna.storages.JournalStorage:
    return optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(path)))


def _drop_torn_tail(path: Path) -> None:
    """Cut a last line that a killed append left without its newline: no reader counted it,
    and Optuna would append the next record after it, corrupting that record too."""
    if not path.is_file() or path.stat().st_size == 0:
        return
    with open(path, "rb+") as journal:
        journal.seek(-1, os.SEEK_END)
        if journal.read(1) == b"\n":
            return
        journal.seek(0)
        journal.truncate(journal.read().rfind(b"\n") + 1)
        journal.flush()
        os.fsync(journal.fileno())
