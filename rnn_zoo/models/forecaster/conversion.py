"""The forecaster's LiteRT and ONNX exports: raw-unit windows in, the forecast out."""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from rnn_zoo.conversion import Conversion, PortableFunction, split_examples


class ForecasterConversion(Conversion):
    """``model``: ``windows`` float32 ``[batch, width, features]`` in raw units → ``forecast``.

    The raw-input signature of the SavedModel: normalization, ``log(1 + x)`` and the
    way back to µg/m³ run in the graph. Its in-graph refusal of NaN and infinite
    readings does not convert (an assertion with a formatted message): check readings
    before calling.
    """

    measure = "values"
    preprocessing = (
        "windows float32 [batch, width, features] in raw units, the columns encoded as "
        "`rnn-zoo predict` encodes a CSV (features.json); normalization runs in the graph. "
        "NaN or infinite readings are not refused: check them first"
    )

    def functions(self) -> dict[str, Any]:
        """Returns ``{"model": ...}``, the forecast of raw windows."""
        spec = tf.TensorSpec([None, *self.model.input_shape[1:]], tf.float32)
        return {"model": PortableFunction(self.model, self.module.forecast, {"windows": spec})}

    def assets(self) -> dict[str, Any]:
        """Returns ``features``: the feature names, the CSV columns and their encoding."""
        keys = ("features", "columns", "input_width", "horizon", "target", "log_features")
        return {"features": {key: self.metadata.get(key) for key in keys}}

    def test_inputs(self, bundle, data_dir, count: int) -> np.ndarray:
        """The first test windows, taken back from model inputs to raw units."""
        normalized = split_examples(bundle.test, count).astype("float64")
        raw = normalized * np.array(self.metadata["std"]) + np.array(self.metadata["mean"])
        logged = list(self.module.scaling.log_features)
        raw[..., logged] = np.expm1(raw[..., logged])
        return raw.astype("float32")

    def expected(self, inputs: np.ndarray) -> np.ndarray:
        """The SavedModel's forecasts, µg/m³."""
        return self.module.serving_default(windows=inputs)["forecast"].numpy()

    def request(self, inputs: np.ndarray) -> dict[str, np.ndarray]:
        """One call of ``model`` on the windows."""
        return {"function": np.array("model"), "windows": inputs}

    def answers(self, outputs, inputs) -> np.ndarray:
        """The runtime's forecasts."""
        return np.asarray(outputs["forecast"], "float64")
