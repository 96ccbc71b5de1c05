"""Rolling-origin forecasts of a quantile forecaster over a test span, and their scores.

The model is fixed. Every hour of the test span is a forecast origin: the raw window up
to it goes through a serving module (what an export of the run answers), and its
quantiles of each hour ahead are scored against what was then observed. For each
horizon, over the origins whose target is known:

- ``mae`` and ``rmse`` of the median (the 0.5 quantile);
- ``pinball``, the mean pinball loss over the levels, in the target's units;
- ``coverage_80``, ``coverage_50`` (one per central interval the levels bound): the
  share of targets inside the interval;
- the same point figures for ``persistence`` (the last observed value) and the
  ``seasonal_naive`` forecast (the value 24 hours before the target hour, or whole days
  before when the horizon passes a day), at the same origins;
- ``climatology_pinball``: the pinball loss of the empirical quantiles of the same hour
  of day over the train rows, a forecast that ignores the window;
- by default also ``online_mae``, ``online_rmse``, ``online_pinball`` and
  ``online_coverage_80``, ...: the same forecasts calibrated online, each from the
  errors of the earlier forecasts whose targets it could have seen
  (:mod:`rnn_zoo.online_calibration`).

The data must come from a loader that keeps its raw rows (``DataBundle.series``), such
as :func:`rnn_zoo.data.horizons.load_horizon_windows`, and the serving module must
return ``quantiles`` ``[batch, horizons, levels]`` and ``levels``. :mod:`rnn_zoo.backtest`
runs this on a finished run and writes the files.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from rnn_zoo.blocks.levels import central_intervals
from rnn_zoo.online_calibration import DEFAULT_STEP_SIZE, check_calibration, track_quantiles
from rnn_zoo.validation import check_int

DAY = 24
_CHUNK = 1024  # windows per serving call


def pinball(truth: np.ndarray, quantiles: np.ndarray, levels: Sequence[float]) -> np.ndarray:
    """The pinball loss of each quantile forecast, averaged over its levels.

    Args:
        truth: ``[n]`` observed values.
        quantiles: ``[n, levels]`` forecasts.
        levels: The levels of the last axis.

    Returns:
        ``[n]`` losses, in the values' units.

    Example:
        >>> pinball(np.array([1.0]), np.array([[0.0, 1.0, 2.0]]), (0.1, 0.5, 0.9)).tolist()
        [0.1]
    """
    error = truth[:, None] - quantiles
    tau = np.asarray(levels)[None, :]
    return np.maximum(tau * error, (tau - 1) * error).mean(axis=1)


def hours_of_day(rows: np.ndarray, features: Sequence[str]) -> np.ndarray:
    """The hour of day of each raw row, from its ``hour_sin`` and ``hour_cos`` features.

    Args:
        rows: Raw encoded rows ``[n, features]``.
        features: The feature names.

    Returns:
        int ``[n]`` hours 0 to 23.

    Example:
        >>> hours_of_day(np.array([[1.0, 0.0]]), ["hour_sin", "hour_cos"]).tolist()
        [6]
    """
    angle = np.arctan2(rows[:, features.index("hour_sin")], rows[:, features.index("hour_cos")])
    return np.mod(np.round(angle * DAY / (2 * np.pi)), DAY).astype(int)


def climatology(
    series: Mapping[str, Any], metadata: Mapping[str, Any], levels: Sequence[float]
) -> np.ndarray:
    """The empirical quantiles of the target for each hour of day, over the train rows.

    Args:
        series: A bundle's ``series`` (raw rows and target).
        metadata: Its metadata (``rows``, ``features``).
        levels: The quantile levels.

    Returns:
        ``[24, levels]``: row ``h`` holds the quantiles of the known train targets
        observed at hour ``h``.

    Example:
        >>> climatology(bundle.series, bundle.metadata, (0.1, 0.5, 0.9)).shape
        ... # doctest: +SKIP
        (24, 3)
    """
    train = metadata["rows"]["train"]
    target = series["target"][:train]
    hours = hours_of_day(series["rows"][:train], list(metadata["features"]))
    known = ~np.isnan(target)
    return np.stack([np.quantile(target[known & (hours == hour)], levels) for hour in range(DAY)])


def rolling_forecasts(
    module: Any, series: Mapping[str, Any], origins: np.ndarray, width: int
) -> tuple[np.ndarray, tuple[float, ...]]:
    """The served quantiles at each origin: its raw window through the main signature.

    Args:
        module: A serving module returning ``quantiles`` and ``levels``.
        series: A bundle's ``series``.
        origins: Origin rows (each window ends there).
        width: Rows per window.

    Returns:
        ``(quantiles [n, horizons, levels] float64, levels)``.

    Example:
        >>> quantiles, levels = rolling_forecasts(module, bundle.series, origins, 72)
        ... # doctest: +SKIP
    """
    import tensorflow as tf

    signature = module.signatures()[module.signature_name]
    steps = np.arange(-width + 1, 1)
    parts, levels = [], None
    for first in range(0, len(origins), _CHUNK):
        chunk = origins[first : first + _CHUNK]
        windows = series["rows"][chunk[:, None] + steps[None, :]]
        outputs = signature(tf.constant(windows, tf.float32))
        parts.append(outputs["quantiles"].numpy().astype("float64"))
        levels = tuple(round(float(level), 6) for level in outputs["levels"].numpy()[0])
    return np.concatenate(parts), levels


def _errors(forecast: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    error = forecast - truth
    return float(np.abs(error).mean()), float(np.sqrt((error**2).mean()))


def _quantile_figures(forecast, truth, levels, prefix=""):
    """MAE and RMSE of the median, the pinball loss and each interval's coverage."""
    figures = {}
    median = list(levels).index(0.5)
    figures[f"{prefix}mae"], figures[f"{prefix}rmse"] = _errors(forecast[:, median], truth)
    figures[f"{prefix}pinball"] = float(pinball(truth, forecast, levels).mean())
    for width, (low, high) in central_intervals(levels).items():
        covered = (truth >= forecast[:, low]) & (truth <= forecast[:, high])
        figures[f"{prefix}coverage_{width}"] = float(covered.mean())
    return figures


def score_forecasts(
    quantiles: np.ndarray,
    levels: Sequence[float],
    series: Mapping[str, Any],
    origins: np.ndarray,
    metadata: Mapping[str, Any],
    calibrated: np.ndarray | None = None,
) -> list[dict[str, float]]:
    """Scores rolling forecasts per horizon, with the baselines at the same origins.

    Args:
        quantiles: ``[n, horizons, levels]`` at ``origins``, in the target's units.
        levels: Their levels.
        series: A bundle's ``series``.
        origins: Origin rows.
        metadata: The bundle's metadata.
        calibrated: The same forecasts calibrated online
            (:func:`rnn_zoo.online_calibration.track_quantiles`), scored beside them
            as ``online_mae``, ``online_rmse``, ``online_pinball`` and
            ``online_coverage_<width>``; ``None`` (default) for none.

    Returns:
        One row per horizon that has an observed target (a span ending less than a
        day before the data's end has no row for the horizons past it): ``horizon``,
        ``count`` and the figures of the module docstring.

    Raises:
        ValueError: If no horizon has an observed target.

    Example:
        >>> rows = score_forecasts(quantiles, levels, bundle.series, origins, metadata)
        ... # doctest: +SKIP
    """
    target, rows = series["target"], series["rows"]
    index, features = metadata["target_index"], list(metadata["features"])
    by_hour = climatology(series, metadata, levels)
    origin_hours = hours_of_day(rows[origins], features)
    table = []
    for step in range(quantiles.shape[1]):
        horizon = step + 1
        hours = origins + horizon
        inside = hours < len(target)
        truth = np.where(inside, target[np.minimum(hours, len(target) - 1)], np.nan)
        known = ~np.isnan(truth)
        if not known.any():
            continue  # no target of this horizon observed in the span
        truth = truth[known]
        days_back = DAY * math.ceil(horizon / DAY)
        row = {"horizon": horizon, "count": int(known.sum())}
        row.update(_quantile_figures(quantiles[known, step], truth, levels))
        if calibrated is not None:
            row.update(_quantile_figures(calibrated[known, step], truth, levels, "online_"))
        naive = {
            "persistence": rows[origins[known], index],
            "seasonal_naive": rows[origins[known] + horizon - days_back, index],
        }
        for name, values in naive.items():
            row[f"{name}_mae"], row[f"{name}_rmse"] = _errors(values.astype("float64"), truth)
        climate = by_hour[(origin_hours[known] + horizon) % DAY]
        row["climatology_pinball"] = float(pinball(truth, climate, levels).mean())
        table.append(row)
    if not table:
        raise ValueError(
            f"none of the {len(origins)} forecast origins has an observed target at any "
            "horizon; expected a span of hours where the target was measured"
        )
    return table


def check_span(start: int, stop: int | None, hours: int) -> int:
    """Checks the hours ``[start, stop)`` against a test span of ``hours`` hours.

    Args:
        start: First hour, from 0.
        stop: Hour to stop before, or ``None`` for the span's end.
        hours: The test span's length.

    Returns:
        ``stop``, or ``hours`` where it is ``None``.

    Raises:
        ValueError: If ``start`` or ``stop`` lies outside the span, or the span is
            empty; the message names the bad value and the accepted range.
        TypeError: If either is not an integer.

    Example:
        >>> check_span(0, None, 168)
        168
    """
    check_int("start", start, minimum=0, maximum=hours - 1)
    if stop is None:
        return hours
    return check_int("stop", stop, minimum=start + 1, maximum=hours)


def span_origins(series: Mapping[str, Any], metadata: Mapping[str, Any], start, stop):
    """The test origins whose first target hour lies in ``[start, stop)`` of the test span.

    Args:
        series: A bundle's ``series``.
        metadata: Its metadata (``rows``).
        start: Hours into the test span, from 0.
        stop: Hours into the test span, up to its length, or ``None`` for its end.

    Returns:
        The origin rows, in time order.

    Raises:
        ValueError: If the span is empty or lies outside the test span (the message
            states the test span's length).

    Example:
        >>> span_origins(bundle.series, bundle.metadata, 0, 168)  # doctest: +SKIP
    """
    hours = metadata["rows"]["test"]
    first_row = metadata["rows"]["train"] + metadata["rows"]["validation"]
    stop = check_span(start, stop, hours)
    origins = np.asarray(series["origins"]["test"])
    offsets = origins + 1 - first_row
    chosen = origins[(offsets >= start) & (offsets < stop)]
    if not len(chosen):
        raise ValueError(
            f"the test hours [{start}, {stop}) hold no forecast origin with a known target; "
            f"expected a span of the test span's {hours} hours that has one"
        )
    return chosen


def score_origins(
    module: Any,
    bundle: Any,
    start: int = 0,
    stop: int | None = None,
    calibration: str = "online",
    step_size: float = DEFAULT_STEP_SIZE,
) -> tuple[list[dict[str, float]], np.ndarray, np.ndarray, tuple[float, ...]]:
    """Rolling forecasts of a serving module over (part of) a bundle's test span, scored.

    Args:
        module: The serving module (quantiles and levels).
        bundle: The loaded data, with ``series``.
        start: First hour of the test span, from 0.
        stop: Hour of the test span to stop before; ``None`` for its end.
        calibration: ``"online"`` (the default) also scores the forecasts calibrated
            online (:mod:`rnn_zoo.online_calibration`), the tracking started at the
            first validation origin and run through every origin up to the span's
            end, as the ``online_`` figures; ``"none"`` scores them as trained only.
        step_size: The online calibration's step size.

    Returns:
        ``(table, origins, quantiles, levels)``: :func:`score_forecasts`' rows and what
        they were computed from (the calibrated quantiles where ``calibration`` is
        ``"online"``).

    Raises:
        ValueError: If the bundle keeps no raw rows, or the span is refused
            (:func:`span_origins`), or ``calibration`` or ``step_size`` is not
            accepted; checked before any forecast.

    Example:
        >>> table, *_ = score_origins(module, bundle)  # doctest: +SKIP
        >>> table[5]["coverage_80"], table[5]["online_coverage_80"]  # doctest: +SKIP
        (0.76, 0.79)
    """
    check_calibration(calibration, step_size)
    if bundle.series is None:
        raise ValueError(
            f"the {bundle.name!r} data keeps no raw series rows (DataBundle.series); a "
            "backtest needs a loader that does, such as load_horizon_windows"
        )
    origins = span_origins(bundle.series, bundle.metadata, start, stop)
    forecast_origins = origins
    if calibration == "online":
        test = np.asarray(bundle.series["origins"]["test"])
        validation = np.asarray(bundle.series["origins"]["validation"])
        forecast_origins = np.concatenate([validation, test[test <= origins[-1]]])
    width = bundle.metadata["input_width"]
    quantiles, levels = rolling_forecasts(module, bundle.series, forecast_origins, width)
    calibrated = None
    if calibration == "online":
        target = bundle.series["target"]
        tracked = track_quantiles(quantiles, levels, forecast_origins, target, step_size)
        quantiles, calibrated = quantiles[-len(origins) :], tracked[-len(origins) :]
    table = score_forecasts(
        quantiles, levels, bundle.series, origins, bundle.metadata, calibrated=calibrated
    )
    return table, origins, quantiles if calibrated is None else calibrated, levels


def summarize(table: Sequence[Mapping[str, float]], horizons=(1, 6, 24)) -> dict[str, float]:
    """The headline figures of a backtest: skill at some horizons, calibration everywhere.

    Args:
        table: :func:`score_forecasts` rows.
        horizons: The horizons whose MAE and skill are reported (those the table holds).

    Returns:
        ``mae_<h>h``, ``persistence_mae_<h>h`` and ``skill_<h>h`` (``1 - mae /
        persistence``) per horizon; per interval the lowest and highest coverage over
        all horizons (``coverage_80_min``, ...); the mean ``pinball`` and
        ``climatology_pinball`` over horizons. Where the table holds online-calibrated
        figures, the same with an ``online_`` prefix (``online_coverage_80_min``...).

    Example:
        >>> summarize(table)["skill_6h"]  # doctest: +SKIP
        0.21
    """
    by_horizon = {row["horizon"]: row for row in table}
    prefixes = ("", "online_") if "online_mae" in table[0] else ("",)
    summary = {}
    for prefix in prefixes:
        for horizon in horizons:
            if horizon in by_horizon:
                row = by_horizon[horizon]
                mae = row[f"{prefix}mae"]
                summary[f"{prefix}mae_{horizon}h"] = mae
                if not prefix:
                    summary[f"persistence_mae_{horizon}h"] = row["persistence_mae"]
                summary[f"{prefix}skill_{horizon}h"] = 1 - mae / row["persistence_mae"]
        for key in [key for key in table[0] if key.startswith(f"{prefix}coverage_")]:
            summary[f"{key}_min"] = min(row[key] for row in table)
            summary[f"{key}_max"] = max(row[key] for row in table)
        summary[f"{prefix}pinball"] = float(np.mean([row[f"{prefix}pinball"] for row in table]))
    summary["climatology_pinball"] = float(np.mean([row["climatology_pinball"] for row in table]))
    return summary
