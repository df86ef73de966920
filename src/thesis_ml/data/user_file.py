"""The user's own data: ``data=file data.path=PATH`` for a ``.csv`` (a header row, then numeric
rows; ``data.target=COLUMN`` names the column to predict) or a ``.npz`` (array ``x`` of shape
(samples, features) and, for supervised tasks, ``y``). Split and scaled like every real table
(:mod:`thesis_ml.data.tabular`). Every problem of the file is one :class:`DataFileError` that
names the file and, where there is one, the line, row or column.
"""

from __future__ import annotations

import csv
import math
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from thesis_ml.data import tabular
from thesis_ml.data.dataset import Dataset
from thesis_ml.data.splits import split_problem
from thesis_ml.errors import UserError
from thesis_ml.utils.io import file_digest, why_not_a_file

# what reading a damaged archive raises, header (np.load) or members (decompression)
NPZ_READ_ERRORS = (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error)


class DataFileError(UserError):
    """A data file that cannot be used; the message names the file and the place in it."""


def generate(data_cfg: Mapping) -> Dataset:
    path = Path(data_cfg["path"])
    x, y, columns = read_data_file(path, data_cfg)
    problem = split_problem({**data_cfg, "n_samples": len(x)})
    if problem:
        raise DataFileError(f"{path}: {len(x)} samples: {problem}")
    meta = {"source": str(path), "sha256": file_digest(path)}
    config = dict(data_cfg)
    if data_cfg["task"] in ("binary", "multiclass"):
        classes, y = np.unique(y, return_inverse=True)
        meta["class_names"] = [_label(value) for value in classes]
        config["n_classes"] = len(classes)
        if data_cfg["task"] == "binary" and len(classes) != 2:
            raise DataFileError(
                f"{path}: data.task=binary needs 2 classes, the target has {len(classes)}"
            )
        if len(classes) < 2:
            raise DataFileError(
                f"{path}: data.task=multiclass needs at least 2 classes, the target has 1"
            )
    try:
        return tabular.prepare(config, x, y, meta, columns=columns)
    except UserError as error:
        raise DataFileError(f"{path}: {error}") from None


def read_data_file(
    path: Path, data_cfg: Mapping
) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
    """Features, targets (None for reconstruction) and the features' names (a CSV's header, an
    npz's ``x[:, j]``) of a .csv or .npz file."""
    if problem := why_not_a_file(path):
        raise DataFileError(f"data.path={path}: {problem}")
    supervised = data_cfg["task"] != "reconstruction"
    if path.suffix == ".csv":
        x, y, columns = _read_csv(path, data_cfg.get("target") if supervised else None, supervised)
    elif path.suffix == ".npz":
        x, y = _read_npz(path, supervised)
        columns = [f"x[:, {j}]" for j in range(x.shape[1])]
    else:
        raise DataFileError(f"data.path={path}: expected a .csv or .npz file")
    if x.shape[1] == 0:
        raise DataFileError(f"{path}: no feature columns (a model needs at least one input)")
    return x, y, columns


def _read_csv(path: Path, target: str | None, supervised: bool):
    if supervised and not target:
        raise DataFileError(f"{path}: data.target: name the CSV column to predict")
    try:
        # utf-8-sig: a spreadsheet's byte-order mark would otherwise join the first column's name
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DataFileError(f"{path}: cannot read it as CSV ({error})") from None
    if len(rows) < 2:
        raise DataFileError(f"{path}: expected a header line and at least one row of numbers")
    header = [name.strip() for name in rows[0]]
    if target is not None and target not in header:
        raise DataFileError(
            f"{path}: data.target={target!r} is not a column; columns: {', '.join(header)}"
        )
    values = np.empty((len(rows) - 1, len(header)))
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise DataFileError(f"{path}:{line}: {len(row)} values, the header has {len(header)}")
        for column, (name, cell) in enumerate(zip(header, row, strict=True)):
            values[line - 2, column] = _number(cell, f"{path}:{line}: column {name!r}")
    if target is None:
        return values, None, header
    index = header.index(target)
    features = [name for name in header if name != target]
    return np.delete(values, index, axis=1), values[:, index], features


def _read_npz(path: Path, supervised: bool):
    try:
        archive = np.load(path, allow_pickle=False)
    except NPZ_READ_ERRORS as error:
        raise DataFileError(f"{path}: not a readable .npz archive ({error})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):  # a .npy array saved under .npz
        raise DataFileError(f"{path}: one bare array, not an .npz archive of named arrays")
    try:
        with archive:
            arrays = {name: archive[name] for name in archive.files}
    except NPZ_READ_ERRORS as error:
        if "allow_pickle" in str(error):  # numpy's advice would run code from the file
            raise DataFileError(
                f"{path}: an array of Python objects, which is not read (unpickling can run "
                "code); save arrays of numbers, e.g. np.savez(path, x=x.astype(float))"
            ) from None
        raise DataFileError(f"{path}: not a readable .npz archive ({error})") from None
    wanted = ("x", "y") if supervised else ("x",)
    for name in wanted:
        if name not in arrays:
            raise DataFileError(
                f"{path}: no array {name!r} (it has: {', '.join(arrays) or 'none'})"
            )
    x = arrays["x"]
    if x.ndim != 2 or x.dtype.kind not in "biuf":  # complex would lose its imaginary part
        raise DataFileError(
            f"{path}: array 'x' must be real numbers of shape (samples, features), is "
            f"{x.dtype} {x.shape}"
        )
    if len(x) == 0:
        raise DataFileError(f"{path}: array 'x' has no rows")
    _check_finite(path, "x", x)
    if not supervised:
        return x, None
    y = arrays["y"]
    if y.ndim == 0 or len(y) != len(x) or y.reshape(len(y), -1).shape[1] != 1:
        raise DataFileError(
            f"{path}: array 'y' must hold one target per row of 'x' ({len(x)} rows), has shape "
            f"{y.shape}"
        )
    y = y.reshape(len(y), 1)
    if not np.issubdtype(y.dtype, np.number):
        raise DataFileError(f"{path}: array 'y' must be numbers, is {y.dtype}")
    _check_finite(path, "y", y)
    return x, y.ravel()


def _number(cell: str, where: str) -> float:
    try:
        value = float(cell)
    except ValueError:
        raise DataFileError(f"{where}: {cell.strip()!r} is not a number") from None
    if not math.isfinite(value):
        raise DataFileError(f"{where}: {cell.strip()} is not a finite number")
    return value


def _check_finite(path: Path, name: str, values: np.ndarray) -> None:
    bad = np.argwhere(~np.isfinite(values))
    if len(bad):
        row, column = (int(i) for i in bad[0])
        raise DataFileError(
            f"{path}: array {name!r} row {row}, column {column}: {values[row, column]} is not a "
            "finite number"
        )


def _label(value) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
