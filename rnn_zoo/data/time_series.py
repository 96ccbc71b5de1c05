"""Multivariate hourly series as forecasting windows (default: Beijing PM2.5).

Columns. By default every CSV column is an input except ``No``, ``year`` and ``day``
(a row index, a trend and a day of the month that do not recur). Numeric columns are
used as they are, except ``hour`` and ``month``, which become their sine and cosine
over a period of 24 and 12 (``hour_sin``, ``hour_cos``, ...) so that 23 h sits next to
0 h. A column none of whose values is a number (such as ``cbwd``, the wind direction)
is categorical and one-hot encoded (``cbwd=NE``, ...) over the categories seen in the
train rows, in sorted order; a category first seen later encodes as all zeros. The
target is always an input too (the model sees its past values), as a plain number.

Missing values (``NA``, ``NaN``, ``N/A``, ``null`` or an empty cell) in the inputs are
forward-filled with the last earlier value (values before the first known one take that
first value). A target is never filled: a window whose target is missing is dropped,
and ``metadata["dropped_windows"]`` counts them per split; both counts are also said at
load time through the ``rnn_zoo`` logger.

Numbers. Every number, in training data and in windows read for a prediction alike,
must be finite and fit a float32 (magnitude at most :data:`MAX_READING`, about 3.4e38):
``inf``, ``1e400`` or ``1e308`` is refused naming the file, line and column
(:func:`check_finite_readings`), and so is a negative value in a column read as
``log(1 + x)``. A split needs at least ``MIN_EXAMPLES`` windows with a known target
(:func:`rnn_zoo.data.windows.check_split_counts`).

Windows. An input window is ``input_width`` consecutive rows of every feature; its
target is the target column ``horizon`` rows after the window's last row. The rows are
split by position into train, validation and test (``split`` fractions); each window
and its target lie inside one split. Every feature (and the target) is normalized with
the mean and standard deviation of the train rows only (a constant feature keeps a
standard deviation of 1). A numeric column named in ``log_columns`` (a reading that is
never negative and has a long tail, such as PM2.5) is normalized as ``log(1 + x)``, and
a forecast of such a target comes back through ``exp(y) - 1``, so the model sees
relative changes and an error on a smog peak weighs no more than one on a clean day.
:func:`normalize`, :func:`denormalize_target`, :func:`encode_columns` and the
:class:`FeatureScaling` layer rebuild the preprocessing from the metadata alone.
"""

from __future__ import annotations

import csv
import functools
import math
import numbers
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from rnn_zoo.data.bundle import DataBundle
from rnn_zoo.data.sources import RemoteFile, resolve_file
from rnn_zoo.data.windows import (
    SPLITS,
    check_data_fraction,
    check_split,
    check_split_counts,
    finish_pipeline,
    leading_count,
    report_dropped,
    split_bounds,
    split_sizes,
)
from rnn_zoo.validation import check_int, check_name

BEIJING_PM25 = RemoteFile(
    filename="PRSA_data_2010.1.1-2014.12.31.csv",
    url="https://archive.ics.uci.edu/ml/machine-learning-databases/00381/"
    "PRSA_data_2010.1.1-2014.12.31.csv",
    sha256="034244024644e28c969ec5df49ce752be1dd2ddd7da7fface30d354a0e30c85d",
)
MISSING_VALUES = frozenset({"", "NA", "NaN", "nan", "N/A", "null"})
EXCLUDED_BY_DEFAULT = ("No", "year", "day")
CYCLIC_PERIODS = {"hour": 24, "month": 12}
_MISSING_LISTED = ", ".join(repr(value) for value in sorted(MISSING_VALUES))
_MIN_STD = 1e-6
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


def _feature_names(spec: Mapping[str, Any]) -> list[str]:
    name = spec["name"]
    if spec["kind"] == "cyclic":
        return [f"{name}_sin", f"{name}_cos"]
    if spec["kind"] == "categorical":
        return [f"{name}={category}" for category in spec["categories"]]
    return [name]


def _encode_column(
    spec: Mapping[str, Any],
    cells: Sequence[Any],
    *,
    where: Where,
    logged: bool,
    refuse_unseen: bool,
) -> np.ndarray:
    name = spec["name"]
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
    values, bad = _parse_cells(cells)
    if bad:
        raise ValueError(
            f"{where(bad[0])}, column {name!r}: {cells[bad[0]]!r} is not a number; expected "
            f"a number or a missing value ({_MISSING_LISTED})"
        )
    check_finite_readings(values, column=name, where=where, cells=cells)
    if logged:
        _check_not_negative(values, column=name, where=where)
    filled = _forward_fill(values, name)
    if spec["kind"] == "cyclic":
        angle = 2 * math.pi * filled / spec["period"]
        return np.stack([np.sin(angle), np.cos(angle)], axis=1)
    return filled[:, None]


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
    negative), missing values forward-filled, ``hour`` and ``month`` as sine and cosine,
    categories one-hot.

    Args:
        columns: Column name → the column's values in time order (strings as read
            from a CSV, or numbers), for every column in ``metadata["columns"]``.
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
            no value at all, or (``refuse_unseen``) a category was not seen in
            training; the message names the row and the column.

    Example:
        >>> rows = encode_columns(columns, bundle.metadata)  # doctest: +SKIP
        >>> model.predict(normalize(rows[None, -24:], bundle.metadata))  # doctest: +SKIP
    """
    specs = metadata["columns"]
    absent = [spec["name"] for spec in specs if spec["name"] not in columns]
    if absent:
        raise ValueError(
            f"columns {', '.join(map(repr, absent))} are absent; expected every column of "
            f"metadata['columns']: {', '.join(spec['name'] for spec in specs)}"
        )
    lengths = {len(columns[spec["name"]]) for spec in specs}
    if len(lengths) != 1:
        raise ValueError(f"columns have different lengths {sorted(lengths)}; expected one")
    where = describe_rows(source, lines)
    logged = set(metadata.get("log_features", ()))
    encoded = [
        _encode_column(
            spec,
            columns[spec["name"]],
            where=where,
            logged=spec["name"] in logged,
            refuse_unseen=refuse_unseen,
        )
        for spec in specs
    ]
    return np.concatenate(encoded, axis=1).astype("float32")


def check_normalizable(raw: np.ndarray, metadata: Mapping[str, Any], *, where: Where) -> None:
    """Refuses raw rows whose normalized values overflow a float32.

    A reading can fit a float32 and still overflow once divided by a small training
    standard deviation; the model would then see ``inf``.

    Args:
        raw: Rows of :func:`encode_columns`, ``[rows, features]``.
        metadata: A time-series bundle's metadata (``mean``, ``std``, ``features``).
        where: Names a row from its position.

    Raises:
        ValueError: Naming the row, the feature, the value and the training statistics.

    Example:
        >>> check_normalizable(raw[-24:], bundle.metadata, where=str)  # doctest: +SKIP
    """
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = normalize(raw, metadata)
    bad = ~np.isfinite(scaled)
    if bad.any():
        row, feature = (int(index[0]) for index in np.nonzero(bad))
        name = metadata["features"][feature]
        raise ValueError(
            f"{where(row)}, feature {name!r}: {float(raw[row, feature]):.7g} is too far from "
            f"the training data (mean {metadata['mean'][feature]:.4g}, std "
            f"{metadata['std'][feature]:.4g}) to normalize in float32; expected a reading "
            "of that feature's usual magnitude"
        )


def _log_indices(metadata: Mapping[str, Any]) -> list[int]:
    """Positions of the features read as ``log(1 + x)`` (none in runs saved before)."""
    return [metadata["features"].index(name) for name in metadata.get("log_features", ())]


def _logged(values: np.ndarray, indices: list[int]) -> np.ndarray:
    """A copy of ``values`` whose features at ``indices`` are ``log(1 + x)`` (statistics)."""
    values = values.copy()
    values[..., indices] = np.log1p(values[..., indices])
    return values


def normalize(raw_window: Any, metadata: Mapping[str, Any]) -> np.ndarray:
    """Maps raw feature values to model inputs: ``(x - mean) / std`` per feature.

    Features in ``metadata["log_features"]`` become ``log(1 + x)`` first. The
    arithmetic is :class:`FeatureScaling`'s, the layer exported graphs use; this
    function checks the values first and refuses a negative logged one.

    Args:
        raw_window: An array ``[..., len(metadata["features"])]`` in raw units, e.g.
            ``[batch, input_width, features]`` rows of :func:`encode_columns`.
        metadata: A time-series bundle's metadata (``mean`` and ``std``).

    Returns:
        The normalized float32 array, same shape.

    Raises:
        ValueError: If the last dimension is not the number of features, or a
            feature read as ``log(1 + x)`` is negative.

    Example:
        >>> normalize(np.zeros((1, 24, 15)), bundle.metadata).shape  # doctest: +SKIP
        (1, 24, 15)
    """
    values = np.asarray(raw_window, dtype="float32")
    if values.ndim == 0 or values.shape[-1] != len(metadata["mean"]):
        raise ValueError(
            f"raw_window has shape {values.shape}; expected a last dimension of "
            f"{len(metadata['mean'])} features ({', '.join(metadata['features'])})"
        )
    for index in _log_indices(metadata):
        if (values[..., index] < 0).any():
            raise ValueError(
                f"raw_window has a negative {metadata['features'][index]!r} value "
                f"({values[..., index].min()}); that feature is read as log(1 + x), so "
                "expected values >= 0"
            )
    return keras.ops.convert_to_numpy(FeatureScaling.from_metadata(metadata)(values))


def denormalize_target(values: Any, metadata: Mapping[str, Any]) -> np.ndarray:
    """Maps normalized target values (labels or predictions) back to raw units.

    Undoes :func:`normalize` for the target: ``y * std + mean``, then ``exp(y) - 1``
    when the target is read as ``log(1 + x)``.

    Args:
        values: Normalized target values, any shape.
        metadata: A time-series bundle's metadata.

    Returns:
        A float64 array of the same shape in the target's units (µg/m³ for PM2.5),
        computed by :meth:`FeatureScaling.target_from_outputs`.

    Example:
        >>> denormalize_target(model.predict(windows), bundle.metadata)  # doctest: +SKIP
    """
    restored = FeatureScaling.from_metadata(metadata).target_from_outputs(np.asarray(values))
    return keras.ops.convert_to_numpy(restored).astype("float64")


@keras.saving.register_keras_serializable(package="rnn_zoo")
class FeatureScaling(keras.layers.Layer):
    """The time-series preprocessing as a layer: :func:`normalize` in ``keras.ops``.

    Maps raw feature windows to model inputs (``log(1 + x)`` for the logged features,
    whose negative values read as 0, then ``(x - mean) / std``), and with
    :meth:`target_from_outputs` maps model outputs back to raw target units, so an
    exported graph takes and returns raw units.

    Args:
        mean: Per-feature means, in the scale the model reads.
        std: Per-feature standard deviations, same scale.
        log_features: Positions of the features read as ``log(1 + x)``.
        target_index: Position of the target among the features.
        **kwargs: Keras layer arguments (``name``, ...).

    Example:
        >>> scaling = FeatureScaling.from_metadata(bundle.metadata)  # doctest: +SKIP
        >>> forecast = scaling.target_from_outputs(model(scaling(raw)))  # doctest: +SKIP
    """

    def __init__(self, mean, std, log_features=(), target_index=0, **kwargs):
        super().__init__(**kwargs)
        self.mean = [float(value) for value in mean]
        self.std = [float(value) for value in std]
        self.log_features = sorted(int(index) for index in log_features)
        self.target_index = int(target_index)

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any], **kwargs: Any) -> FeatureScaling:
        """Builds the layer from a time-series bundle's metadata.

        Args:
            metadata: A time-series bundle's metadata (or a run's ``data.json`` one).
            **kwargs: Keras layer arguments.

        Returns:
            A :class:`FeatureScaling` layer.

        Example:
            >>> FeatureScaling.from_metadata(bundle.metadata)(raw_windows)  # doctest: +SKIP
        """
        return cls(
            metadata["mean"],
            metadata["std"],
            log_features=_log_indices(metadata),
            target_index=metadata["target_index"],
            **kwargs,
        )

    def call(self, windows):
        """Returns model inputs for raw windows ``[..., features]``."""
        values = keras.ops.cast(windows, "float32")
        logged = [index in self.log_features for index in range(len(self.mean))]
        values = keras.ops.where(logged, keras.ops.log1p(keras.ops.maximum(values, 0.0)), values)
        return (values - self.mean) / self.std

    def target_from_outputs(self, outputs):
        """Maps normalized target values back to raw units (:func:`denormalize_target`).

        Args:
            outputs: Normalized target values, any shape.

        Returns:
            The values in the target's raw units, float32.
        """
        index = self.target_index
        restored = keras.ops.cast(outputs, "float32") * self.std[index] + self.mean[index]
        return keras.ops.expm1(restored) if index in self.log_features else restored

    def get_config(self):
        """Returns the layer's configuration."""
        return {
            **super().get_config(),
            "mean": self.mean,
            "std": self.std,
            "log_features": self.log_features,
            "target_index": self.target_index,
        }


def persistence_forecast(windows: Any, metadata: Mapping[str, Any]) -> np.ndarray:
    """The naive forecast a model must beat: the last observed target value.

    Args:
        windows: Normalized model inputs ``[batch, input_width, features]``, as the
            bundle's datasets yield them.
        metadata: A time-series bundle's metadata.

    Returns:
        A float64 array ``[batch, 1]`` in raw units, shaped like the targets.

    Example:
        >>> for windows, targets in bundle.test.take(1):  # doctest: +SKIP
        ...     naive = persistence_forecast(windows, bundle.metadata)
    """
    index = metadata["target_index"]
    last = np.asarray(windows)[:, -1, index : index + 1]
    return denormalize_target(last, metadata)


_DAY = 24  # hourly series: the seasonal-naive forecast looks one day back


def forecast_report(
    model: keras.Model, windows: tf.data.Dataset, *, metadata: Mapping[str, Any]
) -> dict[str, float]:
    """Test figures in raw units: the model's MAE and the persistence forecast's.

    Args:
        model: A trained forecaster (normalized inputs → normalized target).
        windows: Batches of ``(normalized window, normalized target)``.
        metadata: The bundle's metadata.

    Returns:
        ``mae_raw`` (model), ``persistence_mae_raw`` (last observed value),
        ``seasonal_naive_mae_raw`` (the value 24 steps before the target, when the
        window reaches back that far) and ``skill_vs_persistence``
        (``1 - mae_raw / persistence_mae_raw``; 0.15 means 15% better), in the
        target's units (µg/m³ for PM2.5).

    Example:
        >>> forecast_report(model, bundle.test, metadata=bundle.metadata)  # doctest: +SKIP
        {'mae_raw': 9.1, 'persistence_mae_raw': 11.07, 'skill_vs_persistence': 0.18}
    """
    # The same hour one day before the target lies in the window when it is long enough.
    day_back = metadata["input_width"] - 1 - (_DAY - metadata["horizon"])
    errors: dict[str, list[np.ndarray]] = {"mae_raw": [], "persistence_mae_raw": []}
    if 0 <= day_back < metadata["input_width"]:
        errors["seasonal_naive_mae_raw"] = []
    for inputs, targets in windows:
        truth = denormalize_target(targets.numpy(), metadata)[:, 0]
        predicted = denormalize_target(model(inputs, training=False).numpy(), metadata)
        errors["mae_raw"].append(np.abs(predicted.reshape(len(truth), -1)[:, 0] - truth))
        naive = persistence_forecast(inputs.numpy(), metadata)[:, 0]
        errors["persistence_mae_raw"].append(np.abs(naive - truth))
        if "seasonal_naive_mae_raw" in errors:
            seasonal = inputs.numpy()[:, day_back, metadata["target_index"]]
            errors["seasonal_naive_mae_raw"].append(
                np.abs(denormalize_target(seasonal, metadata) - truth)
            )
    report = {name: float(np.concatenate(parts).mean()) for name, parts in errors.items()}
    report["skill_vs_persistence"] = 1 - report["mae_raw"] / report["persistence_mae_raw"]
    return report


def _check_features(features: Any) -> list[str] | None:
    if features is None:
        return None
    expected = "None or a non-empty list of distinct column names"
    if not isinstance(features, (list, tuple)) or not all(
        isinstance(name, str) for name in features
    ):
        raise TypeError(f"features={features!r} is not accepted; expected {expected}")
    if not features or len(set(features)) != len(features):
        raise ValueError(f"features={features!r} is not accepted; expected {expected}")
    return list(features)


def _check_log_columns(log_columns: Any) -> list[str]:
    expected = "a list of distinct column names (possibly empty)"
    if not isinstance(log_columns, (list, tuple)) or not all(
        isinstance(name, str) for name in log_columns
    ):
        raise TypeError(f"log_columns={log_columns!r} is not accepted; expected {expected}")
    if len(set(log_columns)) != len(log_columns):
        raise ValueError(f"log_columns={log_columns!r} repeats a name; expected {expected}")
    return list(log_columns)


def _check_logged_columns(
    log_columns: list[str], specs: list[dict[str, Any]], file: os.PathLike
) -> None:
    """Refuses a logged column that is not a numeric input (its values: encode_columns)."""
    numeric = [spec["name"] for spec in specs if spec["kind"] == "numeric"]
    for name in log_columns:
        if name not in numeric:
            raise ValueError(
                f"log_columns: {name!r} is not a numeric input column of {os.fspath(file)}; "
                f"expected some of {', '.join(numeric)}"
            )


def _input_columns(
    header: list[str], target: str, features: list[str] | None, file: os.PathLike
) -> list[str]:
    wanted = {"target": [target], "features": features or []}
    for argument, names in wanted.items():
        for name in names:
            if name not in header:
                raise ValueError(
                    f"{argument}: {name!r} is not a column of {os.fspath(file)}; "
                    f"its columns are {', '.join(header)}"
                )
    columns = features or [name for name in header if name not in EXCLUDED_BY_DEFAULT]
    return columns if target in columns else [target, *columns]


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


def _read_csv(
    file: os.PathLike, target: str, features: list[str] | None
) -> tuple[dict[str, list[str]], list[int]]:
    """Reads the header, checks the wanted columns, then reads their cells."""
    with open(file, newline="", encoding="utf-8") as handle:
        return read_csv_table(
            handle, os.fspath(file), lambda header: _input_columns(header, target, features, file)
        )


def _parse_table(
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


def _report_gaps(
    name: str,
    missing: Mapping[str, int],
    rows: int,
    dropped: Mapping[str, int],
    counts: Mapping[str, int],
    target: str,
) -> None:
    """Says at load time how many cells were filled and windows dropped."""
    filled = {column: count for column, count in missing.items() if count}
    listed = ", ".join(f"{column} {count}" for column, count in filled.items())
    report_dropped(
        name,
        dropped=sum(filled.values()),
        total=rows * len(missing),
        unit="input cells",
        reason=f"missing, filled with the last earlier value ({listed})",
    )
    report_dropped(
        name,
        dropped=sum(dropped.values()),
        total=sum(counts.values()),
        unit="windows",
        reason=f"dropped: their {target!r} target is missing",
    )


def _column_spec(column: str, values: Any, target: str, train: slice) -> dict[str, Any]:
    if isinstance(values, np.ndarray):
        if column != target and column in CYCLIC_PERIODS:
            return {"name": column, "kind": "cyclic", "period": CYCLIC_PERIODS[column]}
        return {"name": column, "kind": "numeric"}
    seen = {_text(cell) for cell in values[train]} - MISSING_VALUES
    return {"name": column, "kind": "categorical", "categories": sorted(seen)}


def _statistics(train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and standard deviation (1 for a constant feature)."""
    std = train.std(axis=0)
    std[std < _MIN_STD] = 1.0
    return train.mean(axis=0), std


def _targets_by_window_start(target: np.ndarray, window: int) -> np.ndarray:
    """Row ``s`` holds the target of the window starting at ``s`` (NaN past the end)."""
    shifted = np.full((len(target), 1), np.nan)
    shifted[: len(target) - window + 1, 0] = target[window - 1 :]
    return shifted


def _check_lengths(
    file: os.PathLike, bounds: list[tuple[int, int]], input_width: int, horizon: int
) -> None:
    rows, sizes, window = bounds[-1][1], split_sizes(bounds), input_width + horizon
    if min(sizes.values()) < window:
        listed = ", ".join(f"{split} {size}" for split, size in sizes.items())
        raise ValueError(
            f"{os.fspath(file)} has {rows} rows, split into {listed}; each split needs at "
            f"least input_width + horizon = {input_width} + {horizon} = {window} rows for one "
            "window (use a longer series, a smaller window or other split fractions)"
        )


def _windows(
    features: np.ndarray,
    targets: np.ndarray,
    start: int,
    count: int,
    input_width: int,
    kept: int,
    **pipeline: Any,
) -> tf.data.Dataset:
    examples = keras.utils.timeseries_dataset_from_array(
        features,
        targets,
        sequence_length=input_width,
        batch_size=None,
        start_index=start,
        end_index=start + count + input_width - 1,
    )
    shape = (input_width, features.shape[1])
    examples = examples.filter(lambda window, target: tf.reduce_all(tf.math.is_finite(target)))
    examples = examples.apply(tf.data.experimental.assert_cardinality(kept))  # filter hides it
    examples = examples.map(lambda window, target: (tf.ensure_shape(window, shape), target))
    return finish_pipeline(examples, cache=True, **pipeline)


def load_time_series(
    path: str | os.PathLike | None = None,
    *,
    target: str = "pm2.5",
    features: Sequence[str] | None = None,
    input_width: int = 24,
    horizon: int = 1,
    batch_size: int = 256,
    split: Sequence[float] = (0.7, 0.2, 0.1),
    seed: int = 0,
    fraction: float = 1.0,
    log_columns: Sequence[str] = (),
) -> DataBundle:
    """Loads a CSV series as normalized ``(window, next value)`` forecasting examples.

    See the module docstring for the column encoding, missing values, the split and
    the normalization. Elements are ``(window, target)``: float32
    ``[batch, input_width, features]`` and ``[batch, 1]``, both normalized. The train
    split is shuffled (seeded, reshuffled each epoch); validation and test are in time
    order.

    Args:
        path: A CSV file with a header row (used as it is), or a directory holding
            ``PRSA_data_2010.1.1-2014.12.31.csv``. Defaults to Beijing PM2.5, found or
            downloaded by :func:`rnn_zoo.data.sources.resolve_file`.
        target: The column to forecast. Defaults to ``"pm2.5"``.
        features: The input columns, or ``None`` for every column except ``No``,
            ``year`` and ``day``. The target is added first when left out.
        input_width: Rows per input window. Defaults to 24 (a day of hours).
        horizon: How many rows after the window's last row the target lies. Defaults
            to 1 (the next hour).
        batch_size: Windows per batch. Defaults to 256.
        split: Train, validation and test fractions of the rows, in time order.
            Defaults to ``(0.7, 0.2, 0.1)``.
        seed: Seed of the train shuffle. Defaults to 0.
        fraction: Share of each split's windows to keep (the earliest ones), in
            ``(0, 1]``, for quick runs. Defaults to 1.0.
        log_columns: Numeric input columns read as ``log(1 + x)`` (see the module
            docstring), e.g. ``("pm2.5",)``; their values must not be negative.
            Defaults to none.

    Returns:
        A :class:`DataBundle` named ``"time_series"``. ``model_kwargs`` holds
        ``input_shape=(input_width, features)`` and ``num_features=1``. ``metadata``
        holds ``target``, ``target_index``, ``features`` (encoded feature names),
        ``columns`` (each input column's kind, categories or period), ``mean`` and
        ``std`` per feature, ``input_width``, ``horizon``, ``split``, and per split
        ``rows``, ``windows`` (kept) and ``dropped_windows`` (missing target), and the
        ``missing_values`` of each column, and ``log_features`` (the logged ones).
        ``preprocessor`` is a :class:`FeatureScaling` layer mapping raw feature
        windows to model inputs.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument is out of range (before the file is read); if
            ``target`` or a feature is not a column (the message lists the columns);
            if the file is not UTF-8, a row has the wrong number of fields, a numeric
            column holds a cell that is not a number, is not finite or does not fit a
            float32 (the message names file, line and column), a column has no value;
            or if a split is shorter than one window, has no window with a known target
            or fewer windows than :data:`rnn_zoo.data.windows.MIN_EXAMPLES` asks; or if
            a ``log_columns`` entry is not a numeric input column or has a negative
            value.
        rnn_zoo.data.sources.DataNotFoundError: If no file is found or downloaded.

    Example:
        >>> bundle = load_time_series("../shared/data")  # doctest: +SKIP
        >>> bundle.model_kwargs  # doctest: +SKIP
        {'input_shape': (24, 15), 'num_features': 1}
    """
    check_name("target", target)
    features = _check_features(features)
    check_int("input_width", input_width)
    check_int("horizon", horizon)
    check_int("batch_size", batch_size)
    split = check_split("split", split)
    check_int("seed", seed, minimum=0)
    fraction = check_data_fraction(fraction)
    log_columns = _check_log_columns(log_columns)

    file = resolve_file(BEIJING_PM25, path)
    table, lines = _read_csv(file, target, features)
    window = input_width + horizon
    bounds = split_bounds(len(lines), split)
    _check_lengths(file, bounds, input_width, horizon)
    counts = {
        name: leading_count(stop - start - window + 1, fraction)
        for name, (start, stop) in zip(SPLITS, bounds, strict=True)
    }
    name = os.fspath(file)
    advice = "use a longer series, a smaller window, other split fractions or a larger fraction"
    check_split_counts(counts, source=name, unit="windows", fraction=fraction, advice=advice)
    train_rows = slice(0, counts["train"] + window - 1)

    parsed, missing = _parse_table(table, lines, target, file)
    specs = [_column_spec(column, values, target, train_rows) for column, values in parsed.items()]
    _check_logged_columns(log_columns, specs, file)
    feature_names = [feature for spec in specs for feature in _feature_names(spec)]
    raw = encode_columns(
        parsed, {"columns": specs, "log_features": log_columns}, source=name, lines=lines
    ).astype("float64")
    logged = [feature_names.index(feature) for feature in log_columns]
    mean, std = _statistics(_logged(raw, logged)[train_rows])
    target_index = feature_names.index(target)
    shifted = _targets_by_window_start(parsed[target], window)
    known = ~np.isnan(shifted[:, 0])
    if target in log_columns:
        shifted = np.log1p(shifted)
    metadata = {
        "target": target,
        "target_index": target_index,
        "features": feature_names,
        "columns": specs,
        "mean": mean.tolist(),
        "std": std.tolist(),
        "input_width": input_width,
        "horizon": horizon,
        "split": list(split),
        "rows": split_sizes(bounds),
        "windows": {},
        "dropped_windows": {},
        "missing_values": missing,
        "log_features": log_columns,
    }
    for split, (start, _) in zip(SPLITS, bounds, strict=True):
        kept = int(known[start : start + counts[split]].sum())
        if kept == 0:
            raise ValueError(
                f"{name}: every {split} window has a missing {target!r} target; "
                "expected at least one known target per split"
            )
        metadata["windows"][split] = kept
        metadata["dropped_windows"][split] = counts[split] - kept
    check_split_counts(
        metadata["windows"],
        source=f"{name} (windows with a known {target!r} target)",
        unit="windows",
        fraction=fraction,
        advice=advice,
    )
    _report_gaps(name, missing, len(lines), metadata["dropped_windows"], counts, target)
    inputs = normalize(raw, metadata)
    targets = ((shifted - mean[target_index]) / std[target_index]).astype("float32")
    datasets = {}
    for split, (start, _) in zip(SPLITS, bounds, strict=True):
        kept = metadata["windows"][split]
        datasets[split] = _windows(
            inputs,
            targets,
            start,
            counts[split],
            input_width,
            kept=kept,
            batch_size=batch_size,
            shuffle_buffer=kept if split == "train" else 0,
            seed=seed,
        )
    return DataBundle(
        name="time_series",
        train=datasets["train"],
        validation=datasets["validation"],
        test=datasets["test"],
        model_kwargs={"input_shape": (input_width, len(feature_names)), "num_features": 1},
        metadata=metadata,
        preprocessor=FeatureScaling.from_metadata(metadata, name="feature_scaling"),
        test_report=functools.partial(forecast_report, windows=datasets["test"], metadata=metadata),
    )
