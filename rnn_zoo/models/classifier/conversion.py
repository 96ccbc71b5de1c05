"""The review classifier's LiteRT and ONNX exports: token ids in, probabilities out.

The SavedModel's string preprocessing (``TextVectorization``: lower case, regular
expressions, a vocabulary lookup) has no builtin LiteRT kernels, so the converted
model takes the token ids it produces, and the vocabulary is written beside it.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import numpy as np
import tensorflow as tf

from rnn_zoo.conversion import Conversion, PortableFunction, split_examples
from rnn_zoo.data.imdb import LINE_BREAK, PUNCTUATION


def labels(outputs) -> np.ndarray:
    """Class indices from the signature's outputs: ``probability > 0.5`` or the argmax.

    Args:
        outputs: ``{"probability": [n]}`` or ``{"probabilities": [n, classes], ...}``.

    Returns:
        int ``[n]``.
    """
    if "probability" in outputs:
        return (np.asarray(outputs["probability"]) > 0.5).astype("int64")
    return np.argmax(np.asarray(outputs["probabilities"]), axis=-1)


class TextClassifierConversion(Conversion):
    """``model``: ``token_ids`` int32 ``[batch, sequence_length]`` → the signature's outputs.

    ``probability`` ``[batch]`` with one output unit, else ``probabilities`` and
    ``class_name``, as the SavedModel returns them.
    """

    measure = "labels"
    test_data_options = MappingProxyType({"vectorize": False})
    preprocessing = (
        "token_ids int32 [batch, sequence_length]: each review lower-cased, "
        f"{LINE_BREAK!r} replaced by a space and {PUNCTUATION!r} removed, split on "
        "whitespace, each token's index in vocabulary.json (1 for a token not in it), "
        "cut or right-padded with 0 to sequence_length (preprocessing.json)"
    )

    def functions(self) -> dict[str, Any]:
        """Returns ``{"model": ...}`` over token ids."""
        spec = tf.TensorSpec([None, self.metadata["sequence_length"]], tf.int32)

        def classify(token_ids):
            return self.module.answer(self.model(token_ids, training=False))

        return {"model": PortableFunction(self.model, classify, {"token_ids": spec})}

    def assets(self) -> dict[str, Any]:
        """Returns the ``vocabulary`` (id order) and the ``preprocessing`` constants."""
        preprocessing = {
            "sequence_length": self.metadata["sequence_length"],
            "line_break": LINE_BREAK,
            "punctuation": PUNCTUATION,
            "class_names": self.metadata.get("class_names"),
        }
        return {"vocabulary": self.metadata["vocabulary"], "preprocessing": preprocessing}

    def test_inputs(self, bundle, data_dir, count: int) -> np.ndarray:
        """The first raw test reviews."""
        return split_examples(bundle.test, count)

    def expected(self, inputs: np.ndarray) -> np.ndarray:
        """The SavedModel's labels."""
        return labels(self.module.serving_default(texts=tf.constant(inputs)))

    def request(self, inputs: np.ndarray) -> dict[str, np.ndarray]:
        """One call of ``model`` on the reviews' token ids."""
        ids = self.module.vectorizer(tf.constant(inputs)).numpy().astype("int32")
        return {"function": np.array("model"), "token_ids": ids}

    def answers(self, outputs, inputs) -> np.ndarray:
        """The runtime's labels."""
        return labels(outputs)
