"""CSV slices a person gives for a forecast, read as raw-unit windows.

The raw-input reader of the families that forecast from windows of a series: each CSV
is read and checked by the code that read the training file
(:func:`rnn_zoo.data.readings.read_csv_table` and
:func:`~rnn_zoo.data.readings.encode_columns`), with the run's metadata.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from typing import Any

import numpy as np

from rnn_zoo.data.raw_inputs import read_input_text
from rnn_zoo.data.readings import (
    MISSING_VALUES,
    describe_rows,
    encode_columns,
    read_csv_table,
    source_columns,
)
from rnn_zoo.data.scaling import check_normalizable


def read_windows(inputs: Sequence[str], metadata: dict[str, Any], shape) -> np.ndarray:
    """Reads the last ``input_width`` rows of each CSV as one raw-unit window.

    Each CSV has the columns of the training data (the PM2.5 file's header, say);
    its last ``input_width`` rows are encoded as in training (categories one-hot,
    hour, month and a weekday as sine and cosine) but not normalized. The rows are
    checked as the training file was, by the same code
    (:func:`rnn_zoo.data.readings.read_csv_table` and
    :func:`~rnn_zoo.data.readings.encode_columns`): finite numbers a float32 holds, no
    negative value in a column read as ``log(1 + x)``, only categories seen in
    training, the calendar complete; and each window must normalize to finite model
    inputs. Each file is
    UTF-8 of at most :data:`rnn_zoo.data.raw_inputs.MAX_INPUT_BYTES` (10 MiB).

    Args:
        inputs: CSV paths.
        metadata: The run's data metadata (column kinds, categories, window width).
        shape: The model's input shape ``(input_width, features)``.

    Returns:
        float32 windows ``[n, input_width, features]`` in raw units.

    Raises:
        ValueError: If a file is missing, too large or not UTF-8, lacks a column, has
            too few rows, or a value is refused (a missing hour, month or date included;
            the message names the input, its line and column, and what is accepted).

    Example:
        >>> read_windows(["last_day.csv"], metadata, (24, 15)).shape  # doctest: +SKIP
        (1, 24, 15)
    """
    width = metadata["input_width"]
    windows = []
    for name in inputs:
        columns, lines, source = _read_table(name, metadata, width)
        columns = {column: cells[-width:] for column, cells in columns.items()}
        rows = lines[-width:]
        window = encode_columns(columns, metadata, source=source, lines=rows, refuse_unseen=True)
        check_normalizable(window, metadata, where=describe_rows(source, rows))
        windows.append(window)
    return np.stack(windows)


def read_series(name: str, metadata: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Reads every row of one CSV of readings, and its target as observed.

    The rows are read, checked and encoded as :func:`read_windows` reads a window's
    (missing readings forward-filled), over the whole file.

    Args:
        name: A CSV path.
        metadata: The run's data metadata.

    Returns:
        ``(rows, target)``: float32 ``[n, features]`` in raw units, and float64 ``[n]``
        the target column as observed, NaN where its cell is missing.

    Raises:
        ValueError: As :func:`read_windows`, for any row of the file.

    Example:
        >>> rows, target = read_series("last_month.csv", metadata)  # doctest: +SKIP
    """
    columns, lines, source = _read_table(name, metadata, metadata["input_width"])
    rows = encode_columns(columns, metadata, source=source, lines=lines, refuse_unseen=True)
    check_normalizable(rows, metadata, where=describe_rows(source, lines))
    observed = [str(cell).strip() not in MISSING_VALUES for cell in columns[metadata["target"]]]
    target = np.where(observed, rows[:, metadata["target_index"]], np.nan).astype("float64")
    return rows, target


def _read_table(name: str, metadata: dict[str, Any], width: int):
    """The CSV's columns the model reads, each row's line, and its name for errors."""
    needed = list(
        dict.fromkeys(name for spec in metadata["columns"] for name in source_columns(spec))
    )

    def select(header: list[str], name: str) -> list[str]:
        absent = [column for column in needed if column not in header]
        if absent:
            raise ValueError(
                f"input {name!r} lacks the column(s) {', '.join(map(repr, absent))}; expected "
                f"every column the model was trained on: {', '.join(needed)}"
            )
        return needed

    text = read_input_text(name, expected="a UTF-8 CSV of readings with a header row")
    source = f"input {name!r}"
    table, lines = read_csv_table(
        io.StringIO(text, newline=None), source, functools.partial(select, name=name)
    )
    if len(lines) < width:
        raise ValueError(
            f"input {name!r} has {len(lines)} rows; expected at least input_width={width}"
        )
    return table, lines, source
