"""The image classifier's LiteRT and ONNX exports: the SavedModel's raw-input signature."""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from rnn_zoo.conversion import Conversion, PortableFunction, split_examples


def _names(values) -> np.ndarray:
    return np.array([v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in values])


class ImageClassifierConversion(Conversion):
    """``model``: ``images`` uint8 ``[batch, height, width]`` → ``probabilities``, ``class_name``.

    The SavedModel's signature as it is: both converters carry the uint8 input and the
    string lookup of the class name.
    """

    measure = "labels"
    preprocessing = "none: images uint8 [batch, 28, 28], 0-255, as the SavedModel takes them"

    def functions(self) -> dict[str, Any]:
        """Returns ``{"model": ...}``, the serving signature's function."""
        spec = tf.TensorSpec([None, *self.model.input_shape[1:]], tf.uint8)
        return {"model": PortableFunction(self.model, self.module.classify, {"images": spec})}

    def assets(self) -> dict[str, Any]:
        """Returns ``class_names``, in the order of ``probabilities``."""
        return {"class_names": list(self.metadata["class_names"])}

    def test_inputs(self, bundle, data_dir, count: int) -> np.ndarray:
        """The first test images, uint8."""
        return split_examples(bundle.test, count)

    def expected(self, inputs: np.ndarray) -> np.ndarray:
        """The SavedModel's class names."""
        return _names(self.module.serving_default(images=inputs)["class_name"].numpy())

    def request(self, inputs: np.ndarray) -> dict[str, np.ndarray]:
        """One call of ``model`` on the images."""
        return {"function": np.array("model"), "images": inputs}

    def answers(self, outputs, inputs) -> np.ndarray:
        """The runtime's class names."""
        return _names(outputs["class_name"])
