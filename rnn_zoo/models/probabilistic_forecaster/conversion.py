"""The probabilistic forecaster's LiteRT and ONNX exports: raw windows in, quantiles out."""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from rnn_zoo.conversion import Conversion, PortableFunction


class ProbabilisticForecasterConversion(Conversion):
    """``model``: ``windows`` float32 ``[batch, width, features]`` raw → ``quantiles``, ``levels``.

    The SavedModel's raw-input signature without its refusal of NaN, infinite and
    negative logged readings (an assertion with a formatted message, which does not
    convert): normalization, the calendar of the hours ahead, the members' mean and
    the way back to µg/m³ run in the graph. Agreement is counted over every quantile
    of every hour ahead.
    """

    measure = "values"
    preprocessing = (
        "windows float32 [batch, width, features] in raw units, the columns encoded as "
        "`rnn-zoo predict` encodes a CSV (features.json); normalization and the calendar "
        "ahead run in the graph; quantiles [batch, horizons, levels] in the target's "
        "units at levels.json. NaN or infinite readings are not refused: check them first"
    )

    def functions(self) -> dict[str, Any]:
        """Returns ``{"model": ...}``, the quantiles of raw windows."""
        width, features = self.metadata["input_width"], len(self.metadata["features"])
        spec = tf.TensorSpec([None, width, features], tf.float32)
        return {"model": PortableFunction(self.model, self.module.forecast, {"windows": spec})}

    def assets(self) -> dict[str, Any]:
        """Returns ``features`` and the quantile ``levels``.

        ``features`` holds the feature names, the CSV columns, the calendar ahead and
        ``log_features``, the columns read as ``log(1 + x)``, which must not be negative.
        """
        keys = ("features", "columns", "future", "input_width", "horizons", "target")
        keys = (*keys, "log_features")
        return {
            "features": {key: self.metadata.get(key) for key in keys},
            "levels": list(self.module.levels),
        }

    def test_inputs(self, bundle, data_dir, count: int) -> np.ndarray:
        """The raw windows ending at the first test origins."""
        origins = np.asarray(bundle.series["origins"]["test"])[:count]
        steps = np.arange(-self.metadata["input_width"] + 1, 1)
        return bundle.series["rows"][origins[:, None] + steps[None, :]].astype("float32")

    def expected(self, inputs: np.ndarray) -> np.ndarray:
        """Every quantile the SavedModel forecasts, in the target's units."""
        return self.module.serving_default(windows=inputs)["quantiles"].numpy().ravel()

    def request(self, inputs: np.ndarray) -> dict[str, np.ndarray]:
        """One call of ``model`` on the windows."""
        return {"function": np.array("model"), "windows": inputs}

    def answers(self, outputs, inputs) -> np.ndarray:
        """Every quantile the runtime forecasts."""
        return np.asarray(outputs["quantiles"], "float64").ravel()
