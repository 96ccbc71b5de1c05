"""The tagger in plain Keras layers, nothing from rnn_zoo: the speed benchmark's twin.

``benchmarks/training_speed.py`` trains it beside the registered model, with the
same parameter count (checked), to measure what rnn_zoo's own layers gain.
"""

from __future__ import annotations

import keras


def build_plain_sequence_tagger(model_kwargs):
    """Builds the plain-Keras twin of the registered model's defaults.

    Args:
        model_kwargs: The loader's ``model_kwargs`` (vocabulary sizes, shapes).

    Returns:
        An uncompiled ``keras.Model`` with the registered model's parameter count.
    """
    words = keras.Input((None,), dtype="int32", name="word_ids")
    x = keras.layers.Embedding(model_kwargs["vocab_size"], 100, mask_zero=True)(words)
    for _ in range(2):
        x = keras.layers.Bidirectional(keras.layers.LSTM(256, return_sequences=True, dropout=0.25))(
            x
        )
    outputs = keras.layers.Dense(model_kwargs["num_tags"], activation="softmax")(x)
    return keras.Model({"word_ids": words}, outputs)
