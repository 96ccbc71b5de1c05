"""Readings from a CSV table as feature arrays: parsing, checks and column encoding.

The hourly-series loader and the forecaster's ``predict`` reader share this code, so
a CSV slice given for a forecast is read exactly as the training file was. Columns:
by default every column is an input except ``No``, ``year`` and ``day``; numeric
columns are used as they are, except ``hour`` and ``month``, which become their sine
and cosine (``hour_sin``, ``hour_cos``, ...); a column none of whose values is a number
(``cbwd``, the wind direction) is one-hot encoded over the categories seen in the train
rows. A series may add the day of the week, computed from its ``year``, ``month`` and
``day`` columns (:func:`weekday_spec`, ``weekday_sin``, ``weekday_cos``). Missing values
(``NA``, ``NaN``, ``N/A``, ``null`` or an empty cell) are forward-filled, except in the
calendar (``hour``, ``month``, a weekday's date), which places each reading in time and
is refused when missing: a filled hour would repeat one. Every number must be finite
and fit a float32 (:data:`MAX_READING`): ``inf``, ``1e400`` or ``1e308`` is refused
naming the file, line and column (:func:`check_finite_readings`), and so is a negative
value in a column read as ``log(1 + x)``. :func:`encode_columns` rebuilds the encoding
from a run's metadata.
"""

from __future__ import annotations

import csv
import datetime
import math
import numbers
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

MISSING_VALUES = frozenset({"", "NA", "NaN", "nan", "N/A", "null"})


CYCLIC_PERIODS = {"hour": 24, "month": 12}


DATE_COLUMNS = ("year", "month", "day")
"""The columns a weekday is computed from (:func:`weekday_spec`)."""


_MISSING_LISTED = ", ".join(repr(value) for value in sorted(MISSING_VALUES))


MAX_READING = float(np.finfo(np.float32).max)
"""The largest magnitude a reading may have: the largest float32 (the model's dtype)."""


Where = Callable[[int], str]
"""Describes a row by its position: ``"series.csv line 12"``, ``"input 'day.csv' line 3"``."""


def describe_rows(source: str | None = None, lines: Sequence[int] | None = None) -> Where:
    """A :data:`Where` for rows of ``source`` at file ``lines`` (positions if none).

    Args:
        source: What the rows come from, e.g. ``"series.csv"`` or ``"input 'day.csv'"``.
        lines: Each row's line number in ``source``.

    Returns:
        A function from a row's position to its description.

    Example:
        >>> describe_rows("series.csv", [2, 3, 5])(2)
        'series.csv line 5'
    """
    if lines is not None:
        return lambda position: f"{source or 'row'} line {lines[position]}"
    return lambda position: f"{source} row {position}" if source else f"row {position}"


def check_finite_readings(
    values: np.ndarray, *, column: str, where: Where, cells: Sequence[Any] | None = None
) -> None:
    """Refuses a reading that is infinite or too large for a float32; NaN is a missing value.

    The one range check of the time-series boundary: the loader applies it to every
    numeric column it reads, and :func:`encode_columns` (which a prediction's raw
    windows go through) to every numeric column it encodes.

    Args:
        values: The column's parsed values (float64), NaN where missing.
        column: The column's name, for the message.
        where: Names a row from its position (e.g. ``"series.csv line 12"``).
        cells: The column's cells as read, to quote the bad one as written.

    Raises:
        ValueError: Naming the row, the column and the value, and what is accepted.

    Example:
        >>> check_finite_readings(np.array([1.0, np.nan]), column="y", where=str)
    """
    with np.errstate(invalid="ignore"):
        outside = np.isinf(values) | (np.abs(values) > MAX_READING)
    if outside.any():
        position = int(np.argmax(outside))
        shown = cells[position] if cells is not None else values[position]
        raise ValueError(
            f"{where(position)}, column {column!r}: {shown!r} is not a finite number a "
            f"float32 holds; expected numbers of magnitude at most {MAX_READING:.4g} "
            f"(missing values are written {_MISSING_LISTED})"
        )


def _check_not_negative(values: np.ndarray, *, column: str, where: Where) -> None:
    """Refuses a negative reading of a column read as ``log(1 + x)``."""
    with np.errstate(invalid="ignore"):
        negative = values < 0
    if negative.any():
        position = int(np.argmax(negative))
        raise ValueError(
            f"{where(position)}, column {column!r}: {values[position]} is negative, but "
            "this column is read as log(1 + x) (log_columns); expected values >= 0"
        )


def _text(cell: Any) -> str:
    """A cell as stripped text; ``None`` reads as an empty (missing) cell."""
    return "" if cell is None else str(cell).strip()


def _parse_cells(cells: Sequence[Any]) -> tuple[np.ndarray, list[int]]:
    """Parses cells to floats: NaN where missing; also returns where a cell is no number."""
    if isinstance(cells, np.ndarray) and cells.dtype.kind in "fiu":
        return cells.astype("float64"), []
    values = np.full(len(cells), np.nan)
    bad = []
    for position, cell in enumerate(cells):
        if isinstance(cell, numbers.Real) and not isinstance(cell, bool):
            values[position] = cell
            continue
        text = _text(cell)
        if text in MISSING_VALUES:
            continue
        try:
            values[position] = float(text)
        except ValueError:
            bad.append(position)
    return values, bad


def _forward_fill(values: np.ndarray, name: str) -> np.ndarray:
    known = ~np.isnan(values)
    if not known.any():
        raise ValueError(f"column {name!r} has no value at all; expected at least one number")
    last_known = np.maximum.accumulate(np.where(known, np.arange(len(values)), 0))
    last_known[: np.argmax(known)] = np.argmax(known)
    return values[last_known]


def column_features(spec: Mapping[str, Any]) -> list[str]:
    """The features one column becomes, by its spec.

    Args:
        spec: A column spec (:func:`column_spec`).

    Returns:
        ``[name]``, ``[name_sin, name_cos]`` for a cyclic column, or one
        ``name=category`` per category.

    Example:
        >>> column_features({"name": "hour", "kind": "cyclic", "period": 24})
        ['hour_sin', 'hour_cos']
    """
    name = spec["name"]
    if spec["kind"] == "cyclic":
        return [f"{name}_sin", f"{name}_cos"]
    if spec["kind"] == "categorical":
        return [f"{name}={category}" for category in spec["categories"]]
    return [name]


def weekday_spec() -> dict[str, Any]:
    """The spec of the day of the week, a cyclic feature computed from the date columns.

    Returns:
        A column spec (``kind`` cyclic, ``period`` 7) whose ``sources`` are
        :data:`DATE_COLUMNS`; it encodes as ``weekday_sin`` and ``weekday_cos``, Monday 0.

    Example:
        >>> column_features(weekday_spec())
        ['weekday_sin', 'weekday_cos']
    """
    return {"name": "weekday", "kind": "cyclic", "period": 7, "sources": list(DATE_COLUMNS)}


def source_columns(spec: Mapping[str, Any]) -> list[str]:
    """The table columns a spec is encoded from: its own, or a derived one's sources.

    Args:
        spec: A column spec.

    Returns:
        Column names, e.g. ``["hour"]`` or ``["year", "month", "day"]``.

    Example:
        >>> source_columns(weekday_spec())
        ['year', 'month', 'day']
    """
    return list(spec.get("sources", [spec["name"]]))


def _complete(values: np.ndarray, *, column: str, where: Where) -> np.ndarray:
    """Refuses a missing calendar value: it places a reading in time and is never filled."""
    missing = np.isnan(values)
    if missing.any():
        raise ValueError(
            f"{where(int(np.argmax(missing)))}, column {column!r}: the value is missing; "
            "expected the calendar (hour, month, date) of every reading, which is never "
            "filled in"
        )
    return values


def _numbers(cells: Sequence[Any], *, column: str, where: Where, logged: bool) -> np.ndarray:
    """A numeric column's values, checked (finite, float32, not negative if logged)."""
    values, bad = _parse_cells(cells)
    if bad:
        raise ValueError(
            f"{where(bad[0])}, column {column!r}: {cells[bad[0]]!r} is not a number; expected "
            f"a number or a missing value ({_MISSING_LISTED})"
        )
    check_finite_readings(values, column=column, where=where, cells=cells)
    if logged:
        _check_not_negative(values, column=column, where=where)
    return values


def _weekdays(sources: Mapping[str, Sequence[Any]], *, where: Where) -> np.ndarray:
    """Monday 0 to Sunday 6 of each row's date; a missing or impossible date is refused."""
    parts = {
        column: _complete(
            _numbers(cells, column=column, where=where, logged=False), column=column, where=where
        )
        for column, cells in sources.items()
    }
    days = []
    for position, date in enumerate(zip(*parts.values(), strict=True)):
        try:
            if not all(float(part).is_integer() for part in date):
                raise ValueError("not whole numbers")
            days.append(datetime.date(*(int(part) for part in date)).weekday())
        except (ValueError, OverflowError):
            shown = "-".join(f"{part:g}" for part in date)
            raise ValueError(
                f"{where(position)}, columns {', '.join(parts)}: {shown} is not a date; "
                "expected a calendar date (whole numbers: year, month 1-12, day of that month)"
            ) from None
    return np.array(days, dtype="float64")


def _encode_column(
    spec: Mapping[str, Any],
    cells: Mapping[str, Sequence[Any]],
    *,
    where: Where,
    logged: bool,
    refuse_unseen: bool,
) -> np.ndarray:
    name = spec["name"]
    if spec["kind"] == "cyclic":
        if "sources" in spec:
            values = _weekdays(cells, where=where)
        else:
            values = _numbers(cells[name], column=name, where=where, logged=False)
            values = _complete(values, column=name, where=where)
        angle = 2 * math.pi * values / spec["period"]
        return np.stack([np.sin(angle), np.cos(angle)], axis=1)
    cells = cells[name]
    if spec["kind"] == "categorical":
        codes = {category: float(code) for code, category in enumerate(spec["categories"])}
        codes.update(dict.fromkeys(MISSING_VALUES, np.nan))
        raw = np.array([codes.get(_text(cell), -1.0) for cell in cells])
        if refuse_unseen and (raw == -1).any():
            position = int(np.argmax(raw == -1))
            raise ValueError(
                f"{where(position)}, column {name!r}: {_text(cells[position])!r} is not a "
                f"category seen in training; expected one of "
                f"{', '.join(map(repr, spec['categories']))} or a missing value"
            )
        filled = _forward_fill(raw, name)
        return (filled[:, None] == np.arange(len(spec["categories"]))).astype("float64")
    values = _numbers(cells, column=name, where=where, logged=logged)
    return _forward_fill(values, name)[:, None]


def encode_columns(
    columns: Mapping[str, Sequence[Any]],
    metadata: Mapping[str, Any],
    *,
    source: str | None = None,
    lines: Sequence[int] | None = None,
    refuse_unseen: bool = False,
) -> np.ndarray:
    """Turns raw column values into the feature matrix, in raw (unnormalized) units.

    Applies the encoding described in the module docstring with the column kinds and
    categories of ``metadata``: numbers parsed and checked
    (:func:`check_finite_readings`; a column of ``metadata["log_features"]`` must not be
    negative), missing values forward-filled (a missing calendar value refused),
    ``hour``, ``month`` and a weekday as sine and cosine, categories one-hot.

    Args:
        columns: Column name → the column's values in time order (strings as read
            from a CSV, or numbers), for every column the specs of
            ``metadata["columns"]`` are encoded from (:func:`source_columns`).
        metadata: A time-series bundle's metadata (``columns`` and, if present,
            ``log_features`` are used).
        source: What the rows come from (a file, ``"input 'day.csv'"``), named in
            errors.
        lines: Each row's line in ``source``, named in errors; positions when ``None``.
        refuse_unseen: Refuse a category not in the metadata (what a prediction does)
            instead of encoding it as all zeros (what validation and test rows get).

    Returns:
        A float32 array ``[rows, len(metadata["features"])]``; pass windows of it to
        :func:`normalize` to get model inputs.

    Raises:
        ValueError: If a column is absent, a numeric cell is not a number, is not
            finite or does not fit a float32, a logged value is negative, a column has
            no value at all, a calendar value is missing or a date impossible, or
            (``refuse_unseen``) a category was not seen in training; the message names
            the row and the column.

    Example:
        >>> rows = encode_columns(columns, bundle.metadata)  # doctest: +SKIP
        >>> model.predict(normalize(rows[None, -24:], bundle.metadata))  # doctest: +SKIP
    """
    specs = metadata["columns"]
    needed = list(dict.fromkeys(name for spec in specs for name in source_columns(spec)))
    absent = [name for name in needed if name not in columns]
    if absent:
        raise ValueError(
            f"columns {', '.join(map(repr, absent))} are absent; expected every column of "
            f"metadata['columns']: {', '.join(needed)}"
        )
    lengths = {len(columns[name]) for name in needed}
    if len(lengths) != 1:
        raise ValueError(f"columns have different lengths {sorted(lengths)}; expected one")
    where = describe_rows(source, lines)
    logged = set(metadata.get("log_features", ()))
    encoded = [
        _encode_column(
            spec,
            {name: columns[name] for name in source_columns(spec)},
            where=where,
            logged=spec["name"] in logged,
            refuse_unseen=refuse_unseen,
        )
        for spec in specs
    ]
    return np.concatenate(encoded, axis=1).astype("float32")


def read_csv_table(
    handle: Iterable[str], source: str, select: Callable[[list[str]], list[str]]
) -> tuple[dict[str, list[str]], list[int]]:
    r"""Reads a CSV of readings: the header, the columns ``select`` picks, their cells.

    The one CSV reader of the time-series boundary, for training files and for the
    windows of a prediction alike.

    Args:
        handle: The CSV's lines (an open text file, an ``io.StringIO``).
        source: The file as the user named it, named in every error.
        select: Maps the header to the columns wanted, raising if one is absent.

    Returns:
        ``(table, lines)``: column → its cells (strings) in row order, and each row's
        line number in the file (blank lines are skipped).

    Raises:
        ValueError: If the text is not UTF-8, has no header or repeats a column name,
            a row has another number of fields than the header, or a line is not CSV.

    Example:
        >>> table, lines = read_csv_table(io.StringIO("t,y\n0,1\n"), "x.csv", list)
        >>> table, lines
        ({'t': ['0'], 'y': ['1']}, [2])
    """
    reader = csv.reader(handle)
    try:
        header = [column.strip() for column in next(reader, [])]
        if not header:
            raise ValueError(f"{source} is empty; expected a CSV file with a header row")
        if len(set(header)) != len(header):
            raise ValueError(f"{source} repeats a column name in its header: {header}")
        wanted = select(header)
        positions = [header.index(column) for column in wanted]
        rows, lines = [], []
        for row in reader:
            if not row:
                continue
            if len(row) != len(header):
                raise ValueError(
                    f"{source} line {reader.line_num} has {len(row)} fields; expected "
                    f"{len(header)} like the header"
                )
            rows.append([row[position] for position in positions])
            lines.append(reader.line_num)
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{source} is not valid UTF-8 text ({error.reason}); expected a UTF-8 CSV file"
        ) from None
    except csv.Error as error:  # e.g. a field over the csv module's size limit
        raise ValueError(
            f"{source} line {reader.line_num} is not readable as CSV ({error}); expected a "
            "CSV file of readings with a header row"
        ) from None
    cells = [list(column) for column in zip(*rows, strict=True)] or [[] for _ in wanted]
    return dict(zip(wanted, cells, strict=True)), lines


def parse_table(
    table: dict[str, list[str]], lines: list[int], target: str, file: os.PathLike
) -> tuple[dict[str, np.ndarray | list[str]], dict[str, int]]:
    """Numeric columns become float arrays, columns without any number stay strings.

    Also returns each column's count of missing cells.
    """
    parsed, missing = {}, {}
    for column, cells in table.items():
        values, bad = _parse_cells(cells)
        if bad and (column == target or not np.isnan(values).all()):
            raise ValueError(
                f"{os.fspath(file)} line {lines[bad[0]]}, column {column!r}: "
                f"{cells[bad[0]]!r} is not a number; the column is numeric (missing values "
                f"are written {_MISSING_LISTED})"
            )
        if not bad:
            check_finite_readings(
                values, column=column, where=describe_rows(os.fspath(file), lines), cells=cells
            )
        parsed[column] = cells if bad else values
        missing[column] = int(np.isnan(values).sum()) - len(bad)
    return parsed, missing


def column_spec(column: str, values: Any, target: str, train: slice) -> dict[str, Any]:
    """How a parsed column is encoded: numeric, cyclic (hour, month) or categorical.

    Args:
        column: The column's name.
        values: Its parsed values: a float array for a numeric column, the cells
            otherwise (see :func:`parse_table`).
        target: The target column, which stays a plain number.
        train: The train rows, whose categories a categorical column keeps.

    Returns:
        The column's spec, as the metadata stores it.

    Example:
        >>> column_spec("cbwd", ["NW", "cv"], "pm2.5", slice(0, 2))["categories"]
        ['NW', 'cv']
    """
    if isinstance(values, np.ndarray):
        if column != target and column in CYCLIC_PERIODS:
            return {"name": column, "kind": "cyclic", "period": CYCLIC_PERIODS[column]}
        return {"name": column, "kind": "numeric"}
    seen = {_text(cell) for cell in values[train]} - MISSING_VALUES
    return {"name": column, "kind": "categorical", "categories": sorted(seen)}
