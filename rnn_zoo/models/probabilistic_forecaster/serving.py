"""Serving the probabilistic forecaster: raw windows in, quantiles of every hour ahead out.

``predict`` reads its CSV inputs with :func:`rnn_zoo.data.window_reader.read_windows`
and prints, per input, the median and the central intervals of each hour ahead.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from rnn_zoo.blocks.levels import central_intervals
from rnn_zoo.blocks.quantiles import MonotoneQuantiles
from rnn_zoo.data.calendar import future_calendar
from rnn_zoo.data.scaling import FeatureScaling, example_windows
from rnn_zoo.serving import ServingModule, checked_windows


def model_levels(model: keras.Model) -> tuple[float, ...]:
    """The quantile levels a built forecaster's head outputs.

    Args:
        model: A model of :func:`~rnn_zoo.models.probabilistic_forecaster.model.
            build_probabilistic_forecaster`.

    Returns:
        Its levels, e.g. ``(0.1, 0.25, 0.5, 0.75, 0.9)``.

    Example:
        >>> model_levels(build_probabilistic_forecaster())  # doctest: +SKIP
        (0.1, 0.25, 0.5, 0.75, 0.9)
    """
    heads = [layer for layer in model.layers if isinstance(layer, MonotoneQuantiles)]
    return heads[0].levels


class ProbabilisticForecasterServing(ServingModule):
    """``windows`` float32 ``[batch, width, features]`` raw → ``quantiles`` and ``levels``.

    The window is what the run's data reads (its encoded features, in raw units, as
    ``rnn-zoo predict`` builds it from CSV rows). In the graph: the readings are checked
    (:func:`rnn_zoo.serving.checked_windows`), normalized, the calendar of the hours
    ahead is stepped from the window's last row, the model's members are averaged, and
    the quantiles come back in the target's units. A target read as ``log(1 + x)`` is
    never negative, and neither are its quantiles. Outputs: ``quantiles`` float32
    ``[batch, horizons, levels]`` and ``levels`` float32 ``[batch, levels]`` (the same
    row for every window).

    Args:
        model: The trained forecaster.
        metadata: The run's data metadata (:func:`rnn_zoo.data.horizons.load_horizon_windows`).
        head: ``"values"``.
    """

    heads = ("values",)

    def __init__(self, model: keras.Model, metadata: dict[str, Any], *, head: str):
        super().__init__(model, metadata, head=head)
        self.scaling = FeatureScaling.from_metadata(metadata)
        self.logged = tf.constant(self.scaling.log_features, tf.int32)
        self.feature_names = tf.constant([str(name) for name in metadata["features"]])
        self.levels = model_levels(model)
        self.non_negative = metadata["target_index"] in self.scaling.log_features
        width, features = metadata["input_width"], len(metadata["features"])
        spec = tf.TensorSpec([None, width, features], tf.float32)
        self.serving_default = self.signature(self._forecast, {"windows": spec})

    def _forecast(self, windows):
        return self.forecast(checked_windows(windows, self.feature_names, self.logged))

    def forecast(self, windows):
        """The quantiles of checked raw windows (what the signature returns after its checks).

        Args:
            windows: float32 ``[batch, width, features]`` in raw units.

        Returns:
            ``{"quantiles": [batch, horizons, levels], "levels": [batch, levels]}``.
        """
        inputs = {
            "window": self.scaling(windows),
            "future": future_calendar(windows[:, -1], self.metadata),
        }
        members = self.model(inputs, training=False)
        quantiles = self.scaling.target_from_outputs(tf.reduce_mean(members, axis=1))
        if self.non_negative:
            quantiles = tf.maximum(quantiles, 0.0)
        rows = tf.shape(windows)[0]
        levels = tf.tile(tf.constant([self.levels], tf.float32), tf.stack([rows, 1]))
        return {"quantiles": quantiles, "levels": levels}

    def example_inputs(self) -> dict[str, np.ndarray]:
        """Four windows drawn around the training statistics, in raw units.

        Returns:
            ``{"windows": float32 [4, width, features]}``.
        """
        return {"windows": example_windows(self.metadata, self.metadata["input_width"])}

    def per_example(self, outputs: dict[str, tf.Tensor]) -> list[dict[str, Any]]:
        """Each window's forecast: the median and the central intervals of each hour ahead.

        Args:
            outputs: What the signature returned.

        Returns:
            One dict per window: ``hours_ahead`` (1 to ``horizons``), ``median`` (one
            value per hour ahead), one ``[low, high]`` per hour ahead for each central
            interval (``"80%"``, ``"50%"``), and ``levels``.
        """
        quantiles = outputs["quantiles"].numpy().astype("float64")
        median = self.levels.index(0.5)
        intervals = central_intervals(self.levels)
        hours = list(range(1, quantiles.shape[1] + 1))
        return [
            {
                "hours_ahead": hours,
                "median": forecast[:, median].tolist(),
                **{
                    f"{width}%": forecast[:, [low, high]].tolist()
                    for width, (low, high) in intervals.items()
                },
                "levels": list(self.levels),
            }
            for forecast in quantiles
        ]
