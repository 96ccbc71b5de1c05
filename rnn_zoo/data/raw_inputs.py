"""Files a person names for a prediction: checked, capped and read the same way everywhere.

The raw-input readers of the families (``@file`` texts, CSV windows, image files) open
their files through :func:`read_input_bytes` and :func:`read_input_text`, so every one
of them refuses the same things with the same kind of message: a name that is not a
file, a file larger than :data:`MAX_INPUT_BYTES` (checked with ``stat`` before a byte
is read), and text that is not UTF-8. Each message names the input as the user wrote it.
"""

from __future__ import annotations

import os
from pathlib import Path

MAX_INPUT_BYTES = 10 * 2**20
"""The largest raw-input file a prediction reads: 10 MiB (a review, a day of readings or
a batch of a few thousand 28×28 images fit many times over)."""


def read_input_bytes(
    name: str,
    *,
    label: str | None = None,
    expected: str,
    max_bytes: int | None = None,
    cap_name: str = "MAX_INPUT_BYTES",
) -> bytes:
    """Reads a raw-input file after checking that it is a file of at most the cap.

    Args:
        name: The file's path as the user wrote it.
        label: How the input is named in errors; defaults to ``name``.
        expected: What the input should be, e.g. ``"a CSV of readings"``, ending errors.
        max_bytes: The cap; ``None`` (default) for :data:`MAX_INPUT_BYTES`.
        cap_name: The cap's name, for the message.

    Returns:
        The file's bytes.

    Raises:
        ValueError: If ``name`` is not a file, is larger than :data:`MAX_INPUT_BYTES` or
            cannot be read.

    Example:
        >>> read_input_bytes("review.txt", expected="a text file")  # doctest: +SKIP
        b'A moving, funny film.'
    """
    label = label or name
    max_bytes = MAX_INPUT_BYTES if max_bytes is None else max_bytes
    path = Path(name)
    if not path.is_file():
        raise ValueError(f"input {label!r} is not a file; expected {expected}")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ValueError(
                f"input {label!r} holds {size:,} bytes, more than the "
                f"{max_bytes:,} bytes ({cap_name}, {max_bytes / 2**20:g} MiB) "
                f"a prediction reads; expected {expected} of at most that size"
            )
        return path.read_bytes()
    except OSError as error:
        raise ValueError(
            f"input {label!r} cannot be read ({error.strerror or error}); expected {expected}"
        ) from None


def read_input_text(name: str, *, label: str | None = None, expected: str, **cap) -> str:
    """Reads a raw-input file as UTF-8 text (see :func:`read_input_bytes`).

    A UTF-8 byte-order mark at the start is dropped.

    Args:
        name: The file's path as the user wrote it.
        label: How the input is named in errors; defaults to ``name``.
        expected: What the input should be, ending errors (say that it is UTF-8).
        **cap: ``max_bytes`` and ``cap_name`` for another cap (see
            :func:`read_input_bytes`).

    Returns:
        The file's text.

    Raises:
        ValueError: If the file is missing, too large, unreadable or not UTF-8; the
            message names the input and the first bad byte.

    Example:
        >>> read_input_text("review.txt", expected="a UTF-8 text file")  # doctest: +SKIP
        'A moving, funny film.'
    """
    raw = read_input_bytes(name, label=label, expected=expected, **cap)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"input {label or name!r}: {os.fspath(name)} is not valid UTF-8 text (byte "
            f"{error.start}: {error.reason}); expected {expected}"
        ) from None
