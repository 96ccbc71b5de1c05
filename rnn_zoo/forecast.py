"""The next hours from a CSV of readings, calibrated online over the file's history.

``rnn-zoo predict`` reads the last window of a CSV and answers what the export answers:
the quantiles as trained. :func:`forecast` reads the whole file instead: it forecasts
from every hour of it with the model fixed (as a backtest does), tracks each quantile
against the readings that followed (:mod:`rnn_zoo.online_calibration`), and returns the
forecast from the file's last hour with the offsets that history taught. The longer the
file, the more the offsets have learned: with the default step size, a few weeks of
hourly readings move them most of the way. ``rnn-zoo forecast RUN_DIR FILE`` runs it; a
family offers it by declaring the ``forecast`` verb.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from rnn_zoo.online_calibration import DEFAULT_STEP_SIZE, check_calibration, track_quantiles
from rnn_zoo.rolling import rolling_forecasts


def forecast(
    run_dir: str | os.PathLike,
    path: str,
    *,
    calibration: str = "online",
    step_size: float = DEFAULT_STEP_SIZE,
    safe_mode: bool = True,
) -> dict[str, Any]:
    """Forecasts the hours after a CSV's last row, calibrated online over the file.

    Args:
        run_dir: A run directory of a family that declares the ``forecast`` verb.
        path: A CSV of readings with the training file's columns, in time order, at
            least ``input_width`` rows (read as :func:`rnn_zoo.data.window_reader.
            read_series` reads it).
        calibration: ``"online"`` (default) or ``"none"`` (the quantiles as trained,
            what ``rnn-zoo predict`` gives for the same file).
        step_size: The online calibration's step size, > 0.
        safe_mode: Keras safe mode for the model file (see :func:`rnn_zoo.runs.load_run`).

    Returns:
        ``{"levels", "quantiles", "as_trained", "origins", "feedbacks"}``: the levels;
        the forecast from the last row, ``[horizons][levels]`` in the target's units
        (calibrated with ``"online"``); the same as trained; how many rows were
        forecast from; and per horizon how many of those forecasts' targets the file
        holds (what the calibration learned from).

    Raises:
        ValueError: If ``calibration`` or ``step_size`` is not accepted (checked before
            any file is read), the run's family does not declare ``forecast``, or the
            file is refused (see :func:`rnn_zoo.data.window_reader.read_series`).
        FileNotFoundError: If ``run_dir`` is not a finished run directory.

    Example:
        >>> result = forecast("saved_models/probabilistic_forecaster/latest", "june.csv")
        ... # doctest: +SKIP
        >>> result["quantiles"][5]  # 6 hours after the file's last row  # doctest: +SKIP
        [31.0, 44.2, 60.5, 83.1, 110.9]
    """
    from rnn_zoo.data.window_reader import read_series
    from rnn_zoo.export import load_serving_module
    from rnn_zoo.registry import get_spec
    from rnn_zoo.runs import read_config

    check_calibration(calibration, step_size)
    get_spec(read_config(run_dir)["model"]).get_verb("forecast")
    module, _ = load_serving_module(run_dir, safe_mode=safe_mode)
    metadata = module.metadata
    rows, target = read_series(path, metadata)
    width = metadata["input_width"]
    origins = np.arange(width - 1, len(rows))
    quantiles, levels = rolling_forecasts(module, {"rows": rows}, origins, width)
    calibrated = quantiles
    if calibration == "online":
        calibrated = track_quantiles(quantiles, levels, origins, target, step_size)
    horizons = np.arange(1, quantiles.shape[1] + 1)
    ahead = origins[:, None] + horizons[None, :]
    observed = np.isfinite(target[np.minimum(ahead, len(target) - 1)]) & (ahead < len(target))
    return {
        "levels": list(levels),
        "quantiles": calibrated[-1].tolist(),
        "as_trained": quantiles[-1].tolist(),
        "origins": len(origins),
        "feedbacks": observed.sum(axis=0).tolist(),
    }
