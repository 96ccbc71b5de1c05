"""Multi-horizon forecasting examples of an hourly series: every hour 1 to ``horizons`` ahead.

Each example is a forecast origin, an hour of the series. Its inputs are the
``input_width`` rows up to and including the origin (every feature, encoded and
normalized as :func:`rnn_zoo.data.time_series.load_time_series` does it, the target
first) and the calendar of the hours ahead (:func:`rnn_zoo.data.calendar.future_calendar`:
hour, day of the week, month), the inputs known in the future. Its targets are the
target column in each of the ``horizons`` hours after the origin, normalized like the
target feature. A target that is missing in the file, or lies past the end of the
origin's split, is NaN: the loss leaves it out. An origin none of whose targets is
known is dropped (``metadata["dropped_windows"]`` counts them).

Splits. The rows are split by position (``split`` fractions, as ``load_time_series``);
an origin belongs to the split that holds its first target hour. Train origins keep
their window inside the train rows. Validation and test origins read their window from
the rows before them even where those lie in an earlier split, as a forecast made at
that hour would: so the test examples are the rolling forecast origins over the whole
test span, the first of them the last validation hour. Normalization statistics and
categories come from the train rows only.

The bundle's ``series`` keeps the raw rows and each split's origins, so a backtest can
rebuild every raw window a served model is asked about (:mod:`rnn_zoo.backtest`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from rnn_zoo.data.bundle import DataBundle
from rnn_zoo.data.calendar import calendar_features, future_calendar
from rnn_zoo.data.readings import DATE_COLUMNS, weekday_spec
from rnn_zoo.data.scaling import FeatureScaling, normalize
from rnn_zoo.data.sources import resolve_file
from rnn_zoo.data.time_series import (
    BEIJING_PM25,
    EXCLUDED_BY_DEFAULT,
    check_series_options,
    encode_series,
    read_series_table,
    report_gaps,
)
from rnn_zoo.data.windows import (
    SPLITS,
    check_split_counts,
    check_split_lengths,
    finish_pipeline,
    leading_count,
    split_bounds,
    split_sizes,
)
from rnn_zoo.validation import check_bool, check_int

DATASET = "time_series_horizons"


def _origins(bounds: list[tuple[int, int]], input_width: int) -> dict[str, np.ndarray]:
    """Each split's origins, in time order: the hours before each of its rows."""
    first = {"train": input_width - 1}
    return {
        split: np.arange(max(start - 1, first.get(split, 0)), stop - 1)
        for split, (start, stop) in zip(SPLITS, bounds, strict=True)
    }


def _targets(target: np.ndarray, origins: np.ndarray, stop: int, horizons: int) -> np.ndarray:
    """The target in the hours after each origin, NaN past ``stop`` (the split's end)."""
    hours = origins[:, None] + np.arange(1, horizons + 1)[None, :]
    values = target[np.minimum(hours, len(target) - 1)]
    return np.where(hours < stop, values, np.nan)


def _examples(
    inputs: tf.Tensor,
    future: tf.Tensor,
    origins: np.ndarray,
    targets: np.ndarray,
    input_width: int,
    **pipeline: Any,
) -> tf.data.Dataset:
    """Batches of ``({"window", "future"}, targets)`` gathered by origin."""
    steps = tf.range(-input_width + 1, 1, dtype=tf.int64)

    def gather(origin, target):
        window = tf.gather(inputs, origin[:, None] + steps[None, :])
        return {"window": window, "future": tf.gather(future, origin)}, target

    examples = tf.data.Dataset.from_tensor_slices((origins, targets.astype("float32")))
    batches = finish_pipeline(examples, **pipeline)
    return batches.map(gather, num_parallel_calls=tf.data.AUTOTUNE)


def _normalized_targets(values: np.ndarray, metadata: Mapping[str, Any]) -> np.ndarray:
    """Targets in the model's scale: ``log(1 + x)`` if logged, then the target's statistics."""
    index = metadata["target_index"]
    if metadata["target"] in metadata["log_features"]:
        values = np.log1p(values)
    return (values - metadata["mean"][index]) / metadata["std"][index]


def load_horizon_windows(
    path: str | os.PathLike | None = None,
    *,
    target: str = "pm2.5",
    features: Sequence[str] | None = None,
    input_width: int = 72,
    horizons: int = 24,
    weekday: bool = True,
    batch_size: int = 256,
    split: Sequence[float] = (0.7, 0.2, 0.1),
    seed: int = 0,
    fraction: float = 1.0,
    log_columns: Sequence[str] = (),
) -> DataBundle:
    """Loads an hourly CSV series as multi-horizon forecasting examples.

    See the module docstring for the examples and the splits, and
    :mod:`rnn_zoo.data.time_series` for the columns, missing inputs and normalization.
    Elements are ``({"window": [batch, input_width, features], "future": [batch,
    horizons, calendar]}, [batch, horizons])``, float32. The train split is shuffled
    (seeded, each epoch); validation and test are in time order.

    Args:
        path: A CSV file with a header row, or a directory holding
            ``PRSA_data_2010.1.1-2014.12.31.csv``. Defaults to Beijing PM2.5, found or
            downloaded by :func:`rnn_zoo.data.sources.resolve_file`.
        target: The column to forecast. Defaults to ``"pm2.5"``.
        features: The input columns, or ``None`` for every column except ``No``,
            ``year`` and ``day``. The target comes first either way. The series needs
            an ``hour`` column (it is hourly).
        input_width: Rows per input window. Defaults to 72 (three days).
        horizons: Hours ahead forecast, 1 to ``horizons``. Each split must hold
            ``input_width + horizons`` rows. Defaults to 24.
        weekday: Add the day of the week, from the ``year``, ``month`` and ``day``
            columns, as an input and a known future input. Defaults to True.
        batch_size: Examples per batch. Defaults to 256.
        split: Train, validation and test fractions of the rows, in time order.
            Defaults to ``(0.7, 0.2, 0.1)``.
        seed: Seed of the train shuffle. Defaults to 0.
        fraction: Share of each split's origins to keep (the earliest ones), in
            ``(0, 1]``, for quick runs. Defaults to 1.0.
        log_columns: Numeric input columns read as ``log(1 + x)``, e.g. ``("pm2.5",)``.
            Defaults to none.

    Returns:
        A :class:`DataBundle` named ``"time_series_horizons"``. ``model_kwargs``:
        ``input_shape=(input_width, features)``, ``horizons`` and ``future_features``.
        ``metadata``: what :func:`rnn_zoo.data.time_series.encode_series` gives (target
        index 0), ``input_width``, ``horizons``, ``future`` (the calendar features
        stepped ahead), ``split``, ``rows``, and per split ``windows`` (origins kept) and
        ``dropped_windows`` (no known target). ``series``: ``rows`` (raw encoded
        features, float32 ``[rows, features]``), ``target`` (as read, NaN where
        missing) and ``origins`` (each split's origin rows, in the order of its
        examples).

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument is out of range (before the file is read); if a
            column named is not in the file, the file has no ``hour`` column (or, with
            ``weekday``, no ``year``, ``month`` and ``day``), a cell is refused (see
            :func:`rnn_zoo.data.readings.encode_columns`), or a split is shorter than
            ``input_width + horizons`` rows or has too few origins with a known target
            (:data:`rnn_zoo.data.windows.MIN_EXAMPLES`).
        rnn_zoo.data.sources.DataNotFoundError: If no file is found or downloaded.

    Example:
        >>> bundle = load_horizon_windows("../shared/data", log_columns=("pm2.5",))
        ... # doctest: +SKIP
        >>> bundle.model_kwargs  # doctest: +SKIP
        {'input_shape': (72, 17), 'horizons': 24, 'future_features': 6}
    """
    features, split, fraction, log_columns = check_series_options(
        target, features, input_width, batch_size, split, seed, fraction, log_columns
    )
    check_int("horizons", horizons)
    check_bool("weekday", weekday)

    file = resolve_file(BEIJING_PM25, path)
    name = os.fspath(file)
    also = DATE_COLUMNS if weekday else ()
    table, lines = read_series_table(file, target, features, also=also)
    chosen = set(features) if features else set(table) - set(EXCLUDED_BY_DEFAULT)
    inputs = [target, *(column for column in table if column in chosen - {target})]
    bounds = split_bounds(len(lines), split)
    check_split_lengths(file, bounds, input_width, horizons, ahead_name="horizons")
    origins = _origins(bounds, input_width)
    origins = {key: rows[: leading_count(len(rows), fraction)] for key, rows in origins.items()}
    advice = "use a longer series, a smaller window, other split fractions or a larger fraction"
    counts = {key: len(rows) for key, rows in origins.items()}
    check_split_counts(counts, source=name, unit="origins", fraction=fraction, advice=advice)
    train_rows = slice(0, int(origins["train"][-1]) + 2)

    series = encode_series(
        file,
        table,
        lines,
        target=target,
        log_columns=log_columns,
        train_rows=train_rows,
        inputs=inputs,
        derived=[weekday_spec()] if weekday else [],
    )
    metadata = {
        **series.metadata,
        "input_width": input_width,
        "horizons": horizons,
        "split": list(split),
        "rows": split_sizes(bounds),
        "windows": {},
        "dropped_windows": {},
    }
    metadata["future"] = calendar_features(metadata["features"])
    targets = {}
    for key, (_, stop) in zip(SPLITS, bounds, strict=True):
        values = _targets(series.target, origins[key], stop, horizons)
        known = ~np.isnan(values).all(axis=1)
        origins[key], targets[key] = origins[key][known], values[known]
        metadata["windows"][key] = int(known.sum())
        metadata["dropped_windows"][key] = int((~known).sum())
    check_split_counts(
        metadata["windows"],
        source=f"{name} (origins with a known {target!r} target)",
        unit="origins",
        fraction=fraction,
        advice=advice,
    )
    report_gaps(
        name,
        metadata["missing_values"],
        len(lines),
        metadata["dropped_windows"],
        counts,
        unit="origins",
        reason=f"dropped: none of their {horizons} {target!r} targets is known",
    )
    rows = series.raw.astype("float32")
    normalized = tf.constant(normalize(rows, metadata))
    future = tf.constant(keras.ops.convert_to_numpy(future_calendar(rows, metadata)))
    datasets = {
        key: _examples(
            normalized,
            future,
            origins[key],
            _normalized_targets(targets[key], metadata),
            input_width,
            batch_size=batch_size,
            shuffle_buffer=len(origins[key]) if key == "train" else 0,
            seed=seed,
        )
        for key in SPLITS
    }
    return DataBundle(
        name=DATASET,
        train=datasets["train"],
        validation=datasets["validation"],
        test=datasets["test"],
        model_kwargs={
            "input_shape": (input_width, len(metadata["features"])),
            "horizons": horizons,
            "future_features": len(metadata["future"]),
        },
        metadata=metadata,
        preprocessor=FeatureScaling.from_metadata(metadata, name="feature_scaling"),
        series={"rows": rows, "target": series.target, "origins": origins},
    )
