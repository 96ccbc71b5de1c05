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
must be finite and fit a float32 (:data:`rnn_zoo.data.readings.MAX_READING`): ``inf``,
``1e400`` or ``1e308`` is refused naming the file, line and column, and so is a negative
value in a column read as ``log(1 + x)``. A split needs at least ``MIN_EXAMPLES``
windows with a known target (:func:`rnn_zoo.data.windows.check_split_counts`).

Windows. An input window is ``input_width`` consecutive rows of every feature; its
target is the target column ``horizon`` rows after the window's last row. The rows are
split by position into train, validation and test (``split`` fractions); each window
and its target lie inside one split. Every feature (and the target) is normalized with
the mean and standard deviation of the train rows only (a constant feature keeps a
standard deviation of 1). A numeric column named in ``log_columns`` (a reading that is
never negative and has a long tail, such as PM2.5) is normalized as ``log(1 + x)``, and
a forecast of such a target comes back through ``exp(y) - 1``, so the model sees
relative changes and an error on a smog peak weighs no more than one on a clean day.
:func:`~rnn_zoo.data.scaling.normalize`, :func:`~rnn_zoo.data.scaling.denormalize_target`,
:func:`~rnn_zoo.data.readings.encode_columns` and the
:class:`~rnn_zoo.data.scaling.FeatureScaling` layer rebuild the preprocessing from the
metadata alone; the CSV reading and its checks are in :mod:`rnn_zoo.data.readings`.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from rnn_zoo.data.bundle import DataBundle
from rnn_zoo.data.forecast_scores import forecast_report
from rnn_zoo.data.readings import (
    column_features,
    column_spec,
    encode_columns,
    parse_table,
    read_csv_table,
)
from rnn_zoo.data.scaling import FeatureScaling, normalize
from rnn_zoo.data.sources import RemoteFile, resolve_file
from rnn_zoo.data.windows import (
    SPLITS,
    check_data_fraction,
    check_split,
    check_split_counts,
    check_split_lengths,
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


EXCLUDED_BY_DEFAULT = ("No", "year", "day")


_MIN_STD = 1e-6


def _logged(values: np.ndarray, indices: list[int]) -> np.ndarray:
    """A copy of ``values`` whose features at ``indices`` are ``log(1 + x)`` (statistics)."""
    values = values.copy()
    values[..., indices] = np.log1p(values[..., indices])
    return values


def check_features(features: Any) -> list[str] | None:
    """Checks a loader's ``features`` argument.

    Args:
        features: ``None`` (every column but :data:`EXCLUDED_BY_DEFAULT`) or column names.

    Returns:
        ``None`` or the names as a list.

    Raises:
        TypeError: If it is not ``None`` or a list of strings.
        ValueError: If the list is empty or repeats a name.

    Example:
        >>> check_features(("DEWP", "TEMP"))
        ['DEWP', 'TEMP']
    """
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


def check_log_columns(log_columns: Any) -> list[str]:
    """Checks a loader's ``log_columns`` argument.

    Args:
        log_columns: Column names read as ``log(1 + x)``.

    Returns:
        The names as a list.

    Raises:
        TypeError: If it is not a list of strings.
        ValueError: If it repeats a name.

    Example:
        >>> check_log_columns(("pm2.5",))
        ['pm2.5']
    """
    expected = "a list of distinct column names (possibly empty)"
    if not isinstance(log_columns, (list, tuple)) or not all(
        isinstance(name, str) for name in log_columns
    ):
        raise TypeError(f"log_columns={log_columns!r} is not accepted; expected {expected}")
    if len(set(log_columns)) != len(log_columns):
        raise ValueError(f"log_columns={log_columns!r} repeats a name; expected {expected}")
    return list(log_columns)


def check_series_options(
    target: Any,
    features: Any,
    input_width: Any,
    batch_size: Any,
    split: Any,
    seed: Any,
    fraction: Any,
    log_columns: Any,
) -> tuple[list[str] | None, tuple[float, float, float], float, list[str]]:
    """Checks the arguments every loader of a series shares, before a file is read.

    Args:
        target: The column to forecast.
        features: Input column names, or ``None`` for the default set.
        input_width: Past rows per window.
        batch_size: Windows per batch.
        split: ``(train, validation, test)`` fractions of the rows.
        seed: Seed of the train shuffle.
        fraction: Share of each split to keep.
        log_columns: Columns read as ``log(1 + x)``.

    Returns:
        ``(features, split, fraction, log_columns)``, normalized.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument is out of range.

    Example:
        >>> check_series_options("pm2.5", None, 24, 32, (0.7, 0.2, 0.1), 0, 1.0, ())
        (None, (0.7, 0.2, 0.1), 1.0, [])
    """
    check_name("target", target)
    features = check_features(features)
    check_int("input_width", input_width)
    check_int("batch_size", batch_size)
    split = check_split("split", split)
    check_int("seed", seed, minimum=0)
    return features, split, check_data_fraction(fraction), check_log_columns(log_columns)


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
    header: list[str],
    target: str,
    features: list[str] | None,
    file: os.PathLike,
    also: Sequence[str],
) -> list[str]:
    wanted = {"target": [target], "features": features or [], "the calendar": also}
    for argument, names in wanted.items():
        for name in names:
            if name not in header:
                raise ValueError(
                    f"{argument}: {name!r} is not a column of {os.fspath(file)}; "
                    f"its columns are {', '.join(header)}"
                )
    columns = features or [name for name in header if name not in EXCLUDED_BY_DEFAULT]
    columns = columns if target in columns else [target, *columns]
    return [*columns, *(name for name in also if name not in columns)]


def read_series_table(
    file: os.PathLike, target: str, features: list[str] | None, also: Sequence[str] = ()
) -> tuple[dict[str, list[str]], list[int]]:
    """Reads a series' header, checks the wanted columns, then reads their cells.

    Args:
        file: The CSV file.
        target: The target column.
        features: The input columns (see :func:`check_features`).
        also: Columns read besides the inputs, not inputs themselves (the date a
            weekday is computed from).

    Returns:
        ``(table, lines)`` as :func:`rnn_zoo.data.readings.read_csv_table` returns them:
        the input columns first (the target among them), then ``also``.

    Raises:
        ValueError: If a column named is not in the header (the message lists them),
            or the file is not a readable CSV.

    Example:
        >>> table, lines = read_series_table(file, "pm2.5", None)  # doctest: +SKIP
    """
    with open(file, newline="", encoding="utf-8") as handle:
        return read_csv_table(
            handle,
            os.fspath(file),
            lambda header: _input_columns(header, target, features, file, also),
        )


@dataclasses.dataclass
class EncodedSeries:
    """A series read, checked and encoded, with its normalization statistics.

    Attributes:
        raw: The encoded features, ``[rows, features]`` float64 in raw units.
        target: The target column as read, ``[rows]`` float64, NaN where missing.
        metadata: What serving needs to encode and normalize rows again: ``target``,
            ``target_index``, ``features``, ``columns``, ``mean``, ``std``,
            ``missing_values`` and ``log_features``.
    """

    raw: np.ndarray
    target: np.ndarray
    metadata: dict[str, Any]


def encode_series(
    file: os.PathLike,
    table: dict[str, list[str]],
    lines: list[int],
    *,
    target: str,
    log_columns: list[str],
    train_rows: slice,
    inputs: Sequence[str] | None = None,
    derived: Sequence[dict[str, Any]] = (),
) -> EncodedSeries:
    """Parses, checks and encodes a series' table; statistics come from the train rows.

    Args:
        file: The CSV the table was read from, named in errors.
        table: Column → cells, from :func:`read_series_table`.
        lines: Each row's line in ``file``.
        target: The target column.
        log_columns: Numeric inputs read as ``log(1 + x)``.
        train_rows: The rows the statistics and the categories come from.
        inputs: The table's columns that are inputs; defaults to all of them.
        derived: Specs of features computed from other columns
            (:func:`rnn_zoo.data.readings.weekday_spec`), after the inputs.

    Returns:
        The :class:`EncodedSeries`.

    Raises:
        ValueError: If a cell is refused (see :func:`rnn_zoo.data.readings.encode_columns`)
            or a ``log_columns`` entry is not a numeric input.

    Example:
        >>> series = encode_series(file, table, lines, target="pm2.5", log_columns=[],
        ...                        train_rows=slice(0, 1000))  # doctest: +SKIP
    """
    parsed, missing = parse_table(table, lines, target, file)
    inputs = list(parsed) if inputs is None else list(inputs)
    specs = [column_spec(column, parsed[column], target, train_rows) for column in inputs]
    _check_logged_columns(log_columns, specs, file)
    specs += [dict(spec) for spec in derived]
    feature_names = [feature for spec in specs for feature in column_features(spec)]
    raw = encode_columns(
        parsed, {"columns": specs, "log_features": log_columns}, source=os.fspath(file), lines=lines
    ).astype("float64")
    logged = [feature_names.index(feature) for feature in log_columns]
    mean, std = _statistics(_logged(raw, logged)[train_rows])
    metadata = {
        "target": target,
        "target_index": feature_names.index(target),
        "features": feature_names,
        "columns": specs,
        "mean": mean.tolist(),
        "std": std.tolist(),
        "missing_values": missing,
        "log_features": log_columns,
    }
    return EncodedSeries(
        raw=raw, target=np.asarray(parsed[target], dtype="float64"), metadata=metadata
    )


def report_gaps(
    name: str,
    missing: Mapping[str, int],
    rows: int,
    dropped: Mapping[str, int],
    counts: Mapping[str, int],
    *,
    unit: str,
    reason: str,
) -> None:
    """Says at load time how many input cells were filled and examples dropped.

    Args:
        name: The file, named first.
        missing: Each column's count of missing cells.
        rows: The rows read.
        dropped: Each split's count of examples dropped.
        counts: Each split's count of examples before dropping.
        unit: What an example is (``"windows"``).
        reason: Why they were dropped.

    Example:
        >>> report_gaps("x.csv", {"y": 2}, 100, {"train": 1}, {"train": 80},
        ...             unit="windows", reason="dropped: their 'y' target is missing")
    """
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
        unit=unit,
        reason=reason,
    )


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
    features, split, fraction, log_columns = check_series_options(
        target, features, input_width, batch_size, split, seed, fraction, log_columns
    )
    check_int("horizon", horizon)

    file = resolve_file(BEIJING_PM25, path)
    table, lines = read_series_table(file, target, features)
    window = input_width + horizon
    bounds = split_bounds(len(lines), split)
    check_split_lengths(file, bounds, input_width, horizon)
    counts = {
        name: leading_count(stop - start - window + 1, fraction)
        for name, (start, stop) in zip(SPLITS, bounds, strict=True)
    }
    name = os.fspath(file)
    advice = "use a longer series, a smaller window, other split fractions or a larger fraction"
    check_split_counts(counts, source=name, unit="windows", fraction=fraction, advice=advice)
    train_rows = slice(0, counts["train"] + window - 1)

    series = encode_series(
        file, table, lines, target=target, log_columns=log_columns, train_rows=train_rows
    )
    mean, std = np.array(series.metadata["mean"]), np.array(series.metadata["std"])
    target_index = series.metadata["target_index"]
    shifted = _targets_by_window_start(series.target, window)
    known = ~np.isnan(shifted[:, 0])
    if target in log_columns:
        shifted = np.log1p(shifted)
    metadata = {
        **series.metadata,
        "input_width": input_width,
        "horizon": horizon,
        "split": list(split),
        "rows": split_sizes(bounds),
        "windows": {},
        "dropped_windows": {},
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
    missing = metadata["missing_values"]
    report_gaps(
        name,
        missing,
        len(lines),
        metadata["dropped_windows"],
        counts,
        unit="windows",
        reason=f"dropped: their {target!r} target is missing",
    )
    inputs = normalize(series.raw, metadata)
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
        model_kwargs={"input_shape": (input_width, len(metadata["features"])), "num_features": 1},
        metadata=metadata,
        preprocessor=FeatureScaling.from_metadata(metadata, name="feature_scaling"),
        test_report=functools.partial(forecast_report, windows=datasets["test"], metadata=metadata),
    )
