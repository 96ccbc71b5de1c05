"""Online calibration of rolling quantile forecasts: each quantile tracks its level.

A model fixed after training keeps the spread it learned, and when the months it
forecasts are harder or calmer than the year it was trained and validated on, its
intervals cover less or more than their nominal share. In a rolling backtest (and in
any forecasting service), the truth of each forecast arrives ``h`` hours after it was
made, so a forecast can learn from the errors of the forecasts before it whose targets
are already known. This is adaptive conformal inference (Gibbs and Candès, 2021) in its
quantile-tracking form (Angelopoulos et al., 2023): for each horizon ``h`` and level
``τ``, an offset ``s`` is added to the quantile (in ``log(1 + x)`` space, where the
forecaster's spread is closer to constant), and each realized target moves it,

    s ← s + step_size · (τ − 1{y ≤ q̂ + s}),

up when the truth fell above the calibrated quantile, down when it fell at or below.
Over ``T`` feedbacks the share of targets at or below it differs from ``τ`` by at most
``(max |s| + step_size) / (step_size · T)``, whatever the data. Only targets observed
at or before each origin's own row are used: nothing from the future. The median
(level 0.5), the point forecast whose error the backtest reports, is left as trained;
the calibrated quantiles are sorted again, so they never cross, and clipped at 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rnn_zoo.validation import check_choice, check_float

DEFAULT_STEP_SIZE = 0.005
"""Offset change per feedback, in log(1 + µg/m³); chosen on the validation year."""

CALIBRATIONS = ("online", "none")
"""``"online"``: quantiles tracked by :func:`track_quantiles`; ``"none"``: as trained."""


def check_calibration(calibration: str, step_size: float) -> None:
    """Checks a calibration choice and its step size, before any work.

    Args:
        calibration: One of :data:`CALIBRATIONS`.
        step_size: The tracking's step size, a finite number > 0.

    Raises:
        ValueError: Naming the bad value and what is accepted.
        TypeError: If ``step_size`` is not a number.

    Example:
        >>> check_calibration("online", 0.005)
    """
    check_choice("calibration", calibration, CALIBRATIONS)
    check_float("step_size", step_size, minimum=0.0, include_minimum=False)


def track_quantiles(
    quantiles: np.ndarray,
    levels: Sequence[float],
    origins: np.ndarray,
    target: np.ndarray,
    step_size: float = DEFAULT_STEP_SIZE,
) -> np.ndarray:
    """Calibrates rolling quantile forecasts online, each from the errors already known.

    Args:
        quantiles: ``[n, horizons, levels]`` forecasts, non-negative, made at ``origins``;
            the forecast for horizon ``h`` (from 1) at origin row ``r`` is of
            ``target[r + h]``.
        levels: The levels of the last axis, increasing, in (0, 1).
        origins: ``[n]`` origin rows, increasing.
        target: The whole target series (NaN where it is missing), indexed by row.
        step_size: How far one feedback moves an offset, in ``log(1 + x)``; > 0.
            Defaults to :data:`DEFAULT_STEP_SIZE`.

    Returns:
        ``[n, horizons, levels]`` calibrated quantiles (float64): the forecast at
        origin ``i`` uses the feedback of every earlier forecast whose target row is at
        most ``origins[i]``. A level of 0.5 keeps its forecasts (up to the sorting).

    Raises:
        ValueError: If ``step_size`` is not a positive finite number, or the shapes
            disagree, or ``origins`` does not increase.

    Example:
        >>> quantiles = np.zeros((3, 1, 1))  # a 0.4 quantile of 0, always too low
        >>> calibrated = track_quantiles(quantiles, (0.4,), np.arange(3), np.ones(4), 0.1)
        >>> calibrated[:, 0, 0].round(4)  # each known target lifts the next forecast
        array([0.    , 0.0408, 0.0833])
    """
    step_size = check_float("step_size", step_size, minimum=0.0, include_minimum=False)
    quantiles = np.asarray(quantiles, dtype="float64")
    origins = np.asarray(origins)
    if quantiles.ndim != 3 or quantiles.shape[0] != len(origins):
        raise ValueError(
            f"quantiles of shape {quantiles.shape} do not match {len(origins)} origins; "
            "expected [origins, horizons, levels]"
        )
    if quantiles.shape[2] != len(levels):
        raise ValueError(f"quantiles have {quantiles.shape[2]} levels but {len(levels)} were given")
    if np.any(np.diff(origins) <= 0):
        raise ValueError("origins must increase (forecasts in time order)")
    tau = np.asarray(levels, dtype="float64")
    tracked = ~np.isclose(tau, 0.5)
    scaled = np.log1p(np.maximum(quantiles, 0.0))
    calibrated = np.empty_like(scaled)
    for step in range(quantiles.shape[1]):
        calibrated[:, step] = _track_horizon(
            scaled[:, step], tau, origins, target, step + 1, step_size * tracked
        )
    return np.expm1(np.sort(calibrated, axis=-1)).clip(min=0.0)


def _track_horizon(scaled, tau, origins, target, horizon, step_size):
    """One horizon's offsets, updated as each target becomes known; ``log1p`` scale.

    ``step_size`` is per level (0 for a level that keeps its forecasts).
    """
    truth = np.log1p(_target_at(target, origins + horizon))
    known = origins + horizon  # the row where each forecast's target is observed
    offset = np.zeros_like(tau)
    calibrated = np.empty_like(scaled)
    fed = 0
    for index, origin in enumerate(origins):
        while fed < index and known[fed] <= origin:
            if not np.isnan(truth[fed]):
                offset += step_size * (tau - (truth[fed] <= calibrated[fed]))
            fed += 1
        calibrated[index] = scaled[index] + offset
    return calibrated


def _target_at(target: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``target[rows]``, NaN for rows past its end (not yet observed)."""
    inside = rows < len(target)
    return np.where(inside, target[np.minimum(rows, len(target) - 1)], np.nan)
