"""A seventh model family in one file, as CONTRIBUTING.md's guide builds one.

A bag-of-words review classifier: the average of its word embeddings, one logit.
Importing this module registers it; nothing in ``rnn_zoo/`` knows it exists.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from rnn_zoo.data.imdb import build_vectorizer
from rnn_zoo.recipe import Recipe
from rnn_zoo.registry import ModelSpec, register
from rnn_zoo.serving import ServingModule, read_texts


def build_bag_of_words(vocab_size: int = 20000, embedding_dim: int = 16, name: str = "bag"):
    """Embedding → average over the real tokens → one logit.

    Args:
        vocab_size: Token vocabulary size. Defaults to 20000.
        embedding_dim: Embedding width. Defaults to 16.
        name: The model's name. Defaults to ``"bag"``.

    Returns:
        An uncompiled ``keras.Model`` mapping ids ``[batch, time]`` to logits ``[batch, 1]``.
    """
    ids = keras.Input((None,), dtype="int32", name="token_ids")
    x = keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True)(ids)
    x = keras.layers.GlobalAveragePooling1D()(x)
    return keras.Model(ids, keras.layers.Dense(1, name="logit")(x), name=name)


class BagOfWordsServing(ServingModule):
    """``texts`` string ``[batch]`` → ``probability`` ``[batch]`` of a positive review."""

    heads = ("logits",)

    def __init__(self, model, metadata, *, head):
        super().__init__(model, metadata, head=head)
        self.vectorizer = build_vectorizer(metadata["vocabulary"], metadata["sequence_length"])
        texts = tf.TensorSpec([None], tf.string)
        self.serving_default = self.signature(self._classify, {"texts": texts})

    def _classify(self, texts):
        logits = self.model(self.vectorizer(texts), training=False)
        return {"probability": tf.reshape(self.probabilities(logits), [-1])}

    def example_inputs(self):
        """Two reviews."""
        return {"texts": np.array(["A fine, warm film.", "Dull and long."], dtype=object)}


SPEC = register(
    ModelSpec(
        name="bag_of_words",
        factory=build_bag_of_words,
        task="review sentiment from averaged word embeddings",
        dataset="imdb",
        loader="rnn_zoo.data.imdb:load_imdb",
        serving=BagOfWordsServing,
        head="logits",
        read_inputs=read_texts,
        data_options={"sequence_length": 100, "max_tokens": 2000},
        recipe=Recipe(
            loss={"class_name": "BinaryCrossentropy", "config": {"from_logits": True}},
            epochs=1,
            batch_size=32,
        ),
        description="Bag-of-words review classifier, the plug-in family of the tests",
    )
)
