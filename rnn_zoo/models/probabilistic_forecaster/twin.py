"""The forecaster in plain Keras layers, nothing from rnn_zoo: the speed benchmark's twin.

``benchmarks/training_speed.py`` trains it beside the registered model, with the same
parameter count (checked). Its quantiles come straight from a dense layer (they may
cross), where the registered head builds them from the median by positive steps.
"""

from __future__ import annotations

import keras


def build_plain_probabilistic_forecaster(model_kwargs):
    """Builds the plain-Keras twin of the registered model's defaults.

    Args:
        model_kwargs: The loader's ``model_kwargs`` (input shape, horizons, future inputs).

    Returns:
        An uncompiled ``keras.Model`` with the registered model's parameter count, taking
        ``{"window", "future"}`` and returning ``[batch, 4, horizons, 5]``.
    """
    horizons, levels = model_kwargs["horizons"], 5
    window = keras.Input(model_kwargs["input_shape"], name="window")
    future = keras.Input((horizons, model_kwargs["future_features"]), name="future")
    # The registered entry's four members: independent encoders and heads.
    members = [_plain_member(window, future, horizons, levels) for _ in range(4)]
    quantiles = keras.layers.Concatenate(axis=1)(members)
    return keras.Model({"window": window, "future": future}, quantiles)


def _plain_member(window, future, horizons, levels):
    """One member: a GRU(32) over the window, its quantiles shifted by the hours ahead."""
    state = keras.layers.GRU(32)(window)
    by_state = keras.layers.Reshape((1, horizons, levels))(
        keras.layers.Dense(horizons * levels)(state)
    )
    by_future = keras.layers.Reshape((1, horizons, levels))(keras.layers.Dense(levels)(future))
    return keras.layers.Add()([by_state, by_future])
