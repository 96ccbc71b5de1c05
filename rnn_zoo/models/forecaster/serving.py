"""Serving the forecaster: windows in raw units in, the forecast in raw target units out.

``predict`` reads its CSV inputs with :func:`rnn_zoo.data.window_reader.read_windows`.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from rnn_zoo.data.scaling import FeatureScaling, example_windows
from rnn_zoo.serving import ServingModule, checked_windows

__all__ = ["ForecasterServing"]


class ForecasterServing(ServingModule):
    """``windows`` float32 ``[batch, width, features]`` in raw units → ``forecast`` ``[batch]``.

    Normalization (and the ``log(1 + x)`` of skewed features) runs in the graph; the
    forecast comes back in the target's raw units. A window holding NaN or an infinity
    is refused in the graph (``InvalidArgumentError`` naming the windows and feature
    columns that hold them) rather than forecast as NaN; so is a negative reading of a
    feature read as ``log(1 + x)``.

    Args:
        model: The trained forecaster over normalized windows.
        metadata: The run's data metadata (feature statistics, window width).
        head: ``"values"``.
    """

    heads = ("values",)

    def __init__(self, model: keras.Model, metadata: dict[str, Any], *, head: str):
        super().__init__(model, metadata, head=head)
        self.scaling = FeatureScaling.from_metadata(metadata)
        self.logged = tf.constant(self.scaling.log_features, tf.int32)
        features = len(self.scaling.mean)
        names = metadata.get("features") or [f"feature {index}" for index in range(features)]
        self.feature_names = tf.constant([str(name) for name in names])
        spec = tf.TensorSpec([None, *model.input_shape[1:]], tf.float32)
        self.serving_default = self.signature(self._forecast, {"windows": spec})

    def _forecast(self, windows):
        return self.forecast(checked_windows(windows, self.feature_names, self.logged))

    def forecast(self, windows):
        """The forecast of checked windows: normalize, call the model, back to raw units.

        Args:
            windows: float32 ``[batch, width, features]`` in raw units.

        Returns:
            ``{"forecast": [batch]}`` in the target's raw units.
        """
        normalized = self.model(self.scaling(windows), training=False)
        forecast = self.scaling.target_from_outputs(normalized)
        return {"forecast": tf.reshape(forecast, [tf.shape(windows)[0], -1])[:, 0]}

    def example_inputs(self) -> dict[str, np.ndarray]:
        """Four windows drawn around the training statistics, in raw units.

        Returns:
            ``{"windows": float32 [4, width, features]}``; logged features are
            non-negative, as real readings are.
        """
        width = self.model.input_shape[1] or self.metadata["input_width"]
        return {"windows": example_windows(self.metadata, width)}
