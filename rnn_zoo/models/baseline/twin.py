"""The image classifier in plain Keras layers, nothing from rnn_zoo: the speed benchmark's twin.

``benchmarks/training_speed.py`` trains it beside the registered model, with the
same parameter count (checked), to measure what rnn_zoo's own layers gain.
"""

from __future__ import annotations

import keras


def build_plain_baseline(model_kwargs):
    """Builds the plain-Keras twin of the registered model's defaults.

    Args:
        model_kwargs: The loader's ``model_kwargs`` (vocabulary sizes, shapes).

    Returns:
        An uncompiled ``keras.Model`` with the registered model's parameter count.
    """
    return keras.Sequential(
        [
            keras.Input((28, 28)),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(10),
        ]
    )
