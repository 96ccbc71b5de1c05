"""Serving the review classifier: texts in, vectorized in the graph, probabilities out."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from rnn_zoo.data.imdb import build_vectorizer
from rnn_zoo.serving import ServingModule, call_in_buckets

REVIEWS = (
    "A wonderful, moving film.<br /><br />I loved every minute of it!",
    "Dull, far too long, and the acting was wooden.",
)


class TextClassifierServing(ServingModule):
    """``texts`` string ``[batch]`` → class probabilities.

    With one output unit (two classes) it returns ``probability`` ``[batch]`` of the
    positive class; with ``num_classes > 2`` softmax units it returns
    ``probabilities`` ``[batch, classes]`` and ``class_name`` ``[batch]``.

    Args:
        model: The trained classifier over token ids.
        metadata: The run's data metadata: ``vocabulary``, ``sequence_length`` and,
            for more than two classes, ``class_names``.
        head: ``"probabilities"`` (the classifier's sigmoid or softmax) or ``"logits"``.

    Raises:
        ValueError: If a multi-class model's metadata does not name each class.
    """

    heads = ("logits", "probabilities")

    def __init__(self, model: keras.Model, metadata: dict[str, Any], *, head: str):
        super().__init__(model, metadata, head=head)
        self.vectorizer = build_vectorizer(metadata["vocabulary"], metadata["sequence_length"])
        self.num_outputs = int(model.output_shape[-1])
        if self.num_outputs > 1:
            names = list(metadata.get("class_names", []))
            if len(names) != self.num_outputs:
                raise ValueError(
                    f"metadata class_names={names!r} names {len(names)} classes, but the model "
                    f"has {self.num_outputs} outputs; expected one name per class"
                )
            self.class_names = tf.constant(names)
        # XLA fuses the recurrent loop over the padded positions: 1.5x (128 reviews) to
        # 8x (one review) faster on a CPU. It compiles once per batch shape (about 1 s),
        # so the model is called at the bucket sizes of call_in_buckets only.
        self._model_call = tf.function(
            lambda ids: model(ids, training=False), jit_compile=True, reduce_retracing=True
        )
        spec = tf.TensorSpec([None], tf.string)
        self.serving_default = self.signature(self._classify, {"texts": spec})

    def _classify(self, texts):
        ids = self.vectorizer(texts)
        return self.answer(call_in_buckets(self._model_call, ids))

    def answer(self, outputs):
        """The signature's outputs from the model's outputs on token ids.

        Args:
            outputs: The model's outputs, ``[batch, units]``.

        Returns:
            ``{"probability": [batch]}`` with one unit, else ``{"probabilities":
            [batch, classes], "class_name": [batch]}``.
        """
        probabilities = self.probabilities(outputs)
        if self.num_outputs == 1:
            return {"probability": tf.reshape(probabilities, [-1])}
        names = tf.gather(self.class_names, tf.argmax(probabilities, axis=-1))
        return {"probabilities": probabilities, "class_name": names}

    def example_inputs(self) -> dict[str, np.ndarray]:
        """Two short reviews, one warm and one cold.

        Returns:
            ``{"texts": string [2]}``.
        """
        return {"texts": np.array(REVIEWS, dtype=object)}
