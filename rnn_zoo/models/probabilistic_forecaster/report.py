"""The test figures a training run of the forecaster records: its backtest's headlines."""

from __future__ import annotations

from typing import Any

import keras

from rnn_zoo.models.probabilistic_forecaster.serving import ProbabilisticForecasterServing
from rnn_zoo.rolling import score_origins, summarize


def backtest_report(model: keras.Model, bundle: Any) -> dict[str, float]:
    """Backtests a trained forecaster over the whole test span, through its serving graph.

    Args:
        model: The trained forecaster.
        bundle: Its data (:func:`rnn_zoo.data.horizons.load_horizon_windows`).

    Returns:
        :func:`rnn_zoo.rolling.summarize` of the backtest: MAE and skill over
        persistence at 1, 6 and 24 hours ahead, the lowest and highest coverage of each
        interval over the horizons, the mean pinball loss and the climatology's.

    Example:
        >>> backtest_report(model, bundle)["skill_6h"]  # doctest: +SKIP
        0.17
    """
    module = ProbabilisticForecasterServing(model, bundle.metadata, head="values")
    table, *_ = score_origins(module, bundle)
    return summarize(table)
