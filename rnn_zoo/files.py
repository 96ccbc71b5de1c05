"""Writing files so that no reader, and no kill, ever sees half of one.

Each writer here works on a temporary path beside its target, in the same folder (so
on the same file system), and renames it over the target with one ``os.replace``
when it is complete: a reader sees the old file or the new one, never a mixture. A
failure removes the temporary path and leaves the old target as it was.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def _temporary_beside(target: Path) -> Path:
    """A fresh hidden name in the target's folder that keeps its suffix (Keras needs it)."""
    return target.with_name(f".{target.stem}.{secrets.token_hex(6)}.tmp{target.suffix}")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _sync(path: Path) -> None:
    """Flushes a regular file's data to disk, so the rename never publishes a hole."""
    if path.is_file() and not path.is_symlink():
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yields a temporary path beside ``target``, renamed over it if the block succeeds.

    The block creates what the path names: a file, a symlink or a directory. When the
    block ends normally the path is renamed over ``target`` (a regular file is synced
    to disk first); when the block or the rename fails, the temporary path is removed
    and the old ``target``, if any, is left as it was. A directory replaces only a
    missing or empty ``target`` directory (the rename raises ``OSError`` otherwise).

    Args:
        target: The path to write. Its folder must exist.

    Yields:
        A path that does not exist yet, in the same folder, with the same suffix.

    Raises:
        OSError: If the rename fails; the temporary path is removed first.

    Example:
        >>> with atomic_path("saved_models/lstm/run/model.keras") as staged:  # doctest: +SKIP
        ...     model.save(staged)
    """
    target = Path(target)
    temporary = _temporary_beside(target)
    try:
        yield temporary
        _sync(temporary)
        os.replace(temporary, target)
    except BaseException:
        _remove(temporary)
        raise


@contextlib.contextmanager
def atomic_directory(target: str | os.PathLike) -> Iterator[Path]:
    """Like :func:`atomic_path`, for a directory: yields it created, empty, renamed at the end.

    The directory's permissions follow the umask (a served model must be readable).

    Args:
        target: The directory to write; it must not exist, or be empty.

    Yields:
        An empty directory beside ``target``.

    Raises:
        OSError: If the rename fails (``target`` is a non-empty directory); the
            temporary directory is removed first.

    Example:
        >>> with atomic_directory(cache / "aclImdb") as staged:  # doctest: +SKIP
        ...     extract(archive, staged)
    """
    with atomic_path(target) as temporary:
        temporary.mkdir()
        yield temporary


@contextlib.contextmanager
def staging_directory(parent: str | os.PathLike, *, prefix: str = ".staging-") -> Iterator[Path]:
    """Yields a new scratch directory in ``parent``, removed with all it holds at the end.

    For work that ends by renaming its result somewhere chosen only then (the next
    free export version): what the block renamed away is kept, the rest is removed,
    whether the block succeeds or fails. Permissions follow the umask.

    Args:
        parent: An existing directory, on the file system of the final target.
        prefix: The start of the directory's name (a sweep of abandoned staging
            directories can match on it).

    Yields:
        The empty directory.

    Example:
        >>> with staging_directory(base, prefix=".export-") as staging:  # doctest: +SKIP
        ...     tf.saved_model.save(module, str(staging))
        ...     os.rename(staging, base / "1")
    """
    staging = Path(tempfile.mkdtemp(dir=parent, prefix=prefix))
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)  # mkdtemp makes it private
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # gone already if renamed away


def write_text_atomically(target: str | os.PathLike, text: str) -> Path:
    """Writes a UTF-8 text file with :func:`atomic_path`.

    Args:
        target: The file to write. Its folder must exist.
        text: The whole content.

    Returns:
        ``target`` as a ``Path``.

    Example:
        >>> write_text_atomically("run/metrics.json", "{}")  # doctest: +SKIP
        PosixPath('run/metrics.json')
    """
    with atomic_path(target) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return Path(target)


def replace_symlink(link: str | os.PathLike, target: str) -> None:
    """Points ``link`` at ``target`` in one rename: readers see the old target or the new.

    Args:
        link: The symlink to create or replace.
        target: What it points at, usually a sibling directory's name.

    Example:
        >>> replace_symlink("saved_models/lstm/latest", "20260101-120000")  # doctest: +SKIP
    """
    with atomic_path(link) as temporary:
        temporary.symlink_to(target, target_is_directory=True)


_JSON_TYPES = {dict: "an object", list: "a list", str: "a string", int: "an integer"}


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, float):
        return "a number"
    return next((word for kind, word in _JSON_TYPES.items() if isinstance(value, kind)), "?")


def read_json_object(
    path: str | os.PathLike,
    required: dict[str, type] | None = None,
    *,
    error: type[Exception] = ValueError,
    advice: str = "expected a JSON object",
) -> dict[str, Any]:
    """Reads a JSON object from a file, naming the file and its problem if it is damaged.

    Args:
        path: The file.
        required: Keys the object must hold, each with the type its value must have.
        error: The exception class raised for any problem.
        advice: What the reader should do, appended to every message.

    Returns:
        The file's JSON object.

    Raises:
        Exception: ``error``, if the file is missing, not UTF-8, not valid JSON, not a
            JSON object, or lacks a required key or holds it with another type.

    Example:
        >>> read_json_object("saved_models/lstm/latest/data.json", {"metadata": dict})
        ... # doctest: +SKIP
        {'name': 'time_series', 'metadata': {...}}
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as problem:
        raise error(f"{path} is missing; {advice}") from problem
    except IsADirectoryError as problem:
        raise error(f"{path} is a directory, expected a JSON file; {advice}") from problem
    except UnicodeDecodeError as problem:
        raise error(
            f"{path} is not UTF-8 text (byte {problem.start}); expected JSON; {advice}"
        ) from problem
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as problem:
        raise error(
            f"{path} is not valid JSON ({problem.msg} at line {problem.lineno} column "
            f"{problem.colno}); {advice}"
        ) from problem
    if not isinstance(payload, dict):
        raise error(f"{path} holds {_json_kind(payload)}, expected a JSON object; {advice}")
    check_json_entries(path, payload, required or {}, error=error, advice=advice)
    return payload


def check_json_entries(
    path: str | os.PathLike,
    payload: dict[str, Any],
    required: dict[str, type],
    *,
    error: type[Exception] = ValueError,
    advice: str = "expected a JSON object",
) -> None:
    """Checks that each required key of a file's JSON object holds a value of its type.

    Args:
        path: The file the object came from, named in the message.
        payload: The object (or one nested in it).
        required: Key → the type its value must have (a bool is no int).
        error: The exception class raised.
        advice: What the reader should do, appended to the message.

    Raises:
        Exception: ``error``, naming the file, the key and what it holds.

    Example:
        >>> check_json_entries("run.json", {"seed": 0}, {"seed": int})
    """
    for key, kind in required.items():
        if key not in payload:
            raise error(f"{path} has no {key!r} entry; {advice}")
        value = payload[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
            raise error(
                f"{path} has {key!r} = {shown} ({_json_kind(value)}), expected "
                f"{_JSON_TYPES.get(kind, kind.__name__)}; {advice}"
            )
