"""The calendar of the hours ahead, stepped from a series' last row: known future inputs.

An hourly series encodes its calendar as sines and cosines (``hour_sin``, ``hour_cos``,
and when present ``weekday_sin``, ``weekday_cos``, ``month_sin``, ``month_cos``; see
:mod:`rnn_zoo.data.readings`). The calendar of the ``steps`` hours after a row is known
without reading them: the hour advances by one each step, the day of the week when the
hour passes midnight, and the month is held at the row's own (it changes at most once
in a day, and a row does not say which day of the month it is). :func:`future_calendar`
computes it in ``keras.ops``, so the loader (on NumPy rows) and an exported graph (on a
raw window's last row) compute the same values with the same code.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import keras

HOURS_PER_DAY = 24
CALENDAR = ("hour", "weekday", "month")
"""The calendar features stepped forward, in the order of the future inputs."""


def calendar_features(features: Sequence[str]) -> list[str]:
    """The calendar among a series' encoded features, as the future inputs list them.

    Args:
        features: The series' encoded feature names (``metadata["features"]``).

    Returns:
        ``["hour_sin", "hour_cos", ...]`` for each of :data:`CALENDAR` present.

    Raises:
        ValueError: If there is no ``hour`` (the series must be hourly, its hour known).

    Example:
        >>> calendar_features(["pm2.5", "hour_sin", "hour_cos", "month_sin", "month_cos"])
        ['hour_sin', 'hour_cos', 'month_sin', 'month_cos']
    """
    present = [
        f"{name}_{part}"
        for name in CALENDAR
        if f"{name}_sin" in features and f"{name}_cos" in features
        for part in ("sin", "cos")
    ]
    if "hour_sin" not in present:
        raise ValueError(
            f"the series has no hour (features: {', '.join(features)}); expected an hourly "
            "series with an 'hour' column, which the calendar of the hours ahead steps from"
        )
    return present


def _angle(rows, features: Sequence[str], name: str):
    """The angle of a calendar feature from its sine and cosine columns."""
    sine = rows[:, features.index(f"{name}_sin")]
    cosine = rows[:, features.index(f"{name}_cos")]
    return keras.ops.arctan2(sine, cosine)


def future_calendar(rows, metadata: Mapping[str, Any]):
    """The calendar of the ``metadata["horizons"]`` hours after each raw row.

    For step ``k`` (1 to ``horizons``): the sine and cosine of the hour ``k`` hours
    later, of its day of the week, and of the row's month, in the order of
    ``metadata["future"]`` (:func:`calendar_features`). Runs in ``keras.ops``: on NumPy
    rows in the loader, on tensors in an exported graph.

    Args:
        rows: Raw encoded rows ``[batch, features]`` (a window's last row).
        metadata: A horizon bundle's metadata (``features``, ``future``, ``horizons``).

    Returns:
        float32 ``[batch, horizons, len(metadata["future"])]``.

    Example:
        >>> future_calendar(raw_windows[:, -1], bundle.metadata).shape  # doctest: +SKIP
        TensorShape([4, 24, 6])
    """
    features, names = list(metadata["features"]), list(metadata["future"])
    rows = keras.ops.cast(rows, "float32")
    turn = 2 * math.pi
    hour = keras.ops.round(_angle(rows, features, "hour") * HOURS_PER_DAY / turn)
    hour = keras.ops.mod(hour, HOURS_PER_DAY)
    ahead = keras.ops.arange(1, metadata["horizons"] + 1, dtype="float32")
    hours = hour[:, None] + ahead[None, :]  # [batch, horizons], past 24 on the next day
    angles = {"hour": hours * turn / HOURS_PER_DAY}
    if "weekday_sin" in names:
        days = keras.ops.floor(hours / HOURS_PER_DAY)
        angles["weekday"] = _angle(rows, features, "weekday")[:, None] + days * turn / 7
    if "month_sin" in names:
        angles["month"] = keras.ops.zeros_like(hours) + _angle(rows, features, "month")[:, None]
    waves = {"sin": keras.ops.sin, "cos": keras.ops.cos}
    parts = [waves[name.rsplit("_", 1)[1]](angles[name.rsplit("_", 1)[0]]) for name in names]
    return keras.ops.stack(parts, axis=-1)
