"""A single-horizon forecaster scored in raw units on its test windows, beside naive forecasts.

The persistence forecast (the last observed value) and the seasonal naive one (the same
hour a day before) are what a forecaster must beat; both read the normalized windows the
time-series loader yields (:mod:`rnn_zoo.data.time_series`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from rnn_zoo.data.scaling import denormalize_target


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
        predicted = denormalize_target(model.predict_on_batch(inputs), metadata)
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
