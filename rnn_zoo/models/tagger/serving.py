"""Serving the tagger: sentences in, one UPOS tag per whitespace-separated word out."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from rnn_zoo.data.ud_treebank import TokenEncoder
from rnn_zoo.serving import ServingModule

EXAMPLE_SENTENCES = ("The cat sat on the mat .", "Zorblat   runs", "")


class TaggerServing(ServingModule):
    """``sentences`` string ``[batch]`` → ``tags`` string ``[batch, words]``, ``num_words``.

    Sentences are split on whitespace and encoded in the graph; ``tags`` is ``""``
    past a sentence's end.

    Args:
        model: The trained tagger (one distribution over tags per word; id 0 is padding).
        metadata: The run's data metadata (vocabularies, ``tag_names``).
        head: ``"probabilities"`` or ``"logits"`` (the best tag is the same).
    """

    heads = ("logits", "probabilities")

    def __init__(self, model: keras.Model, metadata: dict[str, Any], *, head: str):
        super().__init__(model, metadata, head=head)
        self.encoder = TokenEncoder(metadata)
        self.input_names = [tensor.name for tensor in model.inputs]
        self.tag_names = tf.constant(metadata["tag_names"])
        spec = tf.TensorSpec([None], tf.string)
        self.serving_default = self.signature(self._tag, {"sentences": spec})

    def _tag(self, sentences):
        split = tf.strings.split(sentences)
        width = tf.maximum(split.bounding_shape()[1], 1)  # an empty sentence still runs
        words = split.to_tensor("", shape=tf.stack([split.nrows(), width]))
        best = self.best_tags(self.encoder(words))
        is_word = tf.not_equal(words, "")
        tags = tf.where(is_word, tf.gather(self.tag_names, best), "")
        return {"tags": tags, "num_words": tf.reduce_sum(tf.cast(is_word, tf.int32), axis=1)}

    def best_tags(self, encoded: dict[str, tf.Tensor]) -> tf.Tensor:
        """The likeliest tag id of each word.

        Args:
            encoded: The model's inputs (:class:`~rnn_zoo.data.ud_treebank.TokenEncoder`'s
                outputs: ``word_ids`` and, with character features, ``char_ids``).

        Returns:
            int64 ``[batch, words]``; never 0, the padding id.
        """
        scores = self.model({name: encoded[name] for name in self.input_names}, training=False)
        return tf.argmax(scores[..., 1:], axis=-1) + 1  # id 0 is padding, never a tag

    def example_inputs(self) -> dict[str, np.ndarray]:
        """A sentence, one with an unseen word and extra spaces, and an empty one.

        Returns:
            ``{"sentences": string [3]}``.
        """
        return {"sentences": np.array(EXAMPLE_SENTENCES, dtype=object)}

    def per_example(self, outputs: dict[str, tf.Tensor]) -> list[dict[str, Any]]:
        """Each sentence's tags, cut to its words.

        Args:
            outputs: What ``serving_default`` returned.

        Returns:
            ``[{"tags": [...], "num_words": n}, ...]``.
        """
        examples = super().per_example(outputs)
        for example in examples:
            example["tags"] = example["tags"][: example["num_words"]]
        return examples
