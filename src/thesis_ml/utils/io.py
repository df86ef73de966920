"""Crash-safe writes: every file appears under its final name complete, or not at all, with the
permissions a plain ``open()`` would give it (0666 less the umask: on a shared cluster, the
group can read a student's results when the umask says so)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from thesis_ml.errors import UserError


class OutputPathError(UserError):
    """An output whose path is taken by something else: a directory where a file is to be
    written, or a file where a directory is to be made. Raised before anything is written."""


def make_dirs(path: Path | str) -> Path:
    """``mkdir -p``, with a file in the way named as the culprit instead of an OSError."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = next(p for p in (path, *path.parents) if p.exists() and not p.is_dir())
        raise OutputPathError(
            f"{blocker}: a file, where the directory {path} is to be made; move it or choose "
            "another path"
        ) from None
    return path


def prepare_file_path(path: Path | str) -> Path:
    """``path`` made ready to become a file: its parent directories created; an
    OutputPathError, before anything is written, when a directory has its name."""
    path = Path(path)
    make_dirs(path.parent)
    if path.is_dir():
        raise OutputPathError(
            f"{path}: a directory, where a file is to be written; name a file path"
        )
    return path


@contextlib.contextmanager
def atomic_write(
    path: Path | str, mode: str = "w", encoding: str | None = "utf-8", durable: bool = True
) -> Iterator[IO]:
    """Open a temporary sibling of ``path`` for writing; rename it over ``path`` on success.

    A crash or an exception leaves the previous file (or none), never a torn one. ``durable``
    also flushes the data to disk before the rename (a power cut then keeps the new file too);
    caches that can be recomputed skip that cost.
    """
    path = prepare_file_path(path)
    binary = "b" in mode
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, OPEN_MODE & ~current_umask())  # mkstemp makes it 0600 whatever the umask
        with os.fdopen(fd, mode, encoding=None if binary else encoding) as handle:
            yield handle
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


OPEN_MODE = 0o666  # what open() asks for; the umask takes bits away


def current_umask() -> int:
    """The process's umask (reading it means setting it: put it straight back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: Path | str, text: str, durable: bool = True) -> None:
    with atomic_write(path, durable=durable) as handle:
        handle.write(text)


def open_log(path: Path | str) -> IO[str]:
    """A log opened for writing as its job goes (line-buffered, read while the job runs, so
    not atomic: a killed job leaves the lines it printed, which is what a reader needs)."""
    return open(prepare_file_path(path), "w", encoding="utf-8", buffering=1)


def json_digest(value: object) -> str:
    """SHA-256 of ``value`` as canonical JSON (sorted keys, no spaces): equal values, equal
    digests, whatever order their mappings were built in."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def why_not_a_file(path: Path) -> str | None:
    """Why ``path`` cannot be read as a file, in a few words; None when it can."""
    if path.is_file():
        return None
    return "a directory, not a file" if path.is_dir() else "no such file"


def read_user_text(path: Path | str, error: type[UserError] = UserError) -> str:
    """A text file a user may have edited or replaced, as UTF-8; ``error`` names the file (and
    the line of a byte that is not UTF-8) instead of an OSError or UnicodeDecodeError."""
    path = Path(path)
    if problem := why_not_a_file(path):
        raise error(f"{path}: {problem}")
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as decode_error:
        line = raw[: decode_error.start].count(b"\n") + 1
        raise error(f"{path}:{line}: not UTF-8 text ({decode_error.reason})") from None


def file_digest(path: Path | str) -> str:
    """SHA-256 of a file's content (an edit changes it, a touch does not)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
