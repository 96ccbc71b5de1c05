"""The character model in plain Keras layers, nothing from rnn_zoo: the speed benchmark's twin.

``benchmarks/training_speed.py`` trains it beside the registered model, with the
same parameter count (checked), to measure what rnn_zoo's own layers gain.
"""

from __future__ import annotations

import keras


def build_plain_text_generator(model_kwargs):
    """Builds the plain-Keras twin of the registered model's defaults.

    Args:
        model_kwargs: The loader's ``model_kwargs`` (vocabulary sizes, shapes).

    Returns:
        An uncompiled ``keras.Model`` with the registered model's parameter count.
    """
    return keras.Sequential(
        [
            keras.Input((None,), dtype="int32"),
            keras.layers.Embedding(model_kwargs["vocab_size"], 256),
            keras.layers.LSTM(512, return_sequences=True, dropout=0.25),
            keras.layers.LSTM(512, return_sequences=True, dropout=0.25),
            keras.layers.Dense(model_kwargs["vocab_size"]),
        ]
    )
