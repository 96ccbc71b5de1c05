"""The forecaster in plain Keras layers, nothing from rnn_zoo: the speed benchmark's twin.

``benchmarks/training_speed.py`` trains it beside the registered model, with the
same parameter count (checked), to measure what rnn_zoo's own layers gain.
"""

from __future__ import annotations

import keras


def build_plain_lstm(model_kwargs):
    """Builds the plain-Keras twin of the registered model's defaults.

    Args:
        model_kwargs: The loader's ``model_kwargs`` (vocabulary sizes, shapes).

    Returns:
        An uncompiled ``keras.Model`` with the registered model's parameter count.
    """
    width, features = model_kwargs["input_shape"]
    return keras.Sequential(
        [
            keras.Input((width, features)),
            keras.layers.LSTM(20),
            keras.layers.Dense(model_kwargs["num_features"]),
        ]
    )
