"""A recurrent encoder that forecasts every hour ahead as quantiles (an MQ-RNN-like direct head)."""

from __future__ import annotations

import keras

from rnn_zoo.blocks.layers import ObservedFeature, recurrent_options, recurrent_stack
from rnn_zoo.blocks.quantiles import DEFAULT_LEVELS, MonotoneQuantiles
from rnn_zoo.validation import check_int, check_levels, check_shape


def _member(window, future, last, *, options, horizons, levels, prefix):
    """One encoder and its head: quantiles ``[batch, 1, horizons, levels]``.

    The encoder's last state gives every horizon's quantiles at once (a dense layer per
    output, the MQ-RNN "direct" head); each hour's known future inputs shift its
    quantiles through one small dense layer shared by all hours.
    """
    state = recurrent_stack(window, **options, prefix=prefix)
    free = keras.layers.Dense(horizons * len(levels), name=f"{prefix}by_state")(state)
    free = keras.layers.Reshape((1, horizons, len(levels)), name=f"{prefix}by_horizon")(free)
    known = keras.layers.Dense(len(levels), name=f"{prefix}by_future")(future)
    known = keras.layers.Reshape((1, horizons, len(levels)), name=f"{prefix}future_steps")(known)
    free = keras.layers.Add(name=f"{prefix}free")([free, known])
    return MonotoneQuantiles(levels, name=f"{prefix}quantiles", dtype="float32")([free, last])


def build_probabilistic_forecaster(
    input_shape=(24, 17),
    horizons: int = 24,
    future_features: int = 6,
    levels=DEFAULT_LEVELS,
    members: int = 1,
    units: int = 32,
    cell: str = "gru",
    num_layers: int = 1,
    bidirectional: bool = False,
    dropout: float = 0.0,
    recurrent_dropout: float = 0.0,
    name: str = "probabilistic_forecaster",
) -> keras.Model:
    """Builds a multi-horizon quantile forecaster: recurrent encoder → quantiles per hour ahead.

    Inputs: ``window`` ``[batch, timesteps, features]``, the past hours of every feature
    with the target's own past as feature 0 (normalized like the targets), and
    ``future`` ``[batch, horizons, future_features]``, what is known of the hours ahead
    (their calendar). The encoder reads the window; its last state gives, for every
    horizon at once, the quantiles at ``levels``, which each hour's known future inputs
    shift; they are built from the last observed target so that they never cross
    (:class:`~rnn_zoo.blocks.quantiles.MonotoneQuantiles`). With ``members > 1`` the
    model holds that many independent encoders and heads (an ensemble, trained in one
    pass; serving averages their quantiles).

    The output is ``[batch, members, horizons, len(levels)]`` in the targets' scale.
    Train it with :class:`~rnn_zoo.blocks.quantiles.PinballLoss` of the same levels.
    At the defaults the model has 8,891 parameters.

    Args:
        input_shape: ``(timesteps, features)`` of the window. Defaults to ``(24, 17)``.
        horizons: Hours ahead forecast, 1 to ``horizons``. Defaults to 24.
        future_features: Known future inputs per hour ahead. Defaults to 6.
        levels: Quantile levels, strictly increasing in ``(0, 1)``, with 0.5.
            Defaults to ``(0.1, 0.25, 0.5, 0.75, 0.9)``.
        members: Independent encoders and heads. Defaults to 1.
        units: Units per recurrent layer. Defaults to 32.
        cell: ``"simple_rnn"``, ``"lstm"`` or ``"gru"``. Defaults to ``"gru"``.
        num_layers: Stacked recurrent layers. Defaults to 1.
        bidirectional: Bidirectional recurrent layers. Defaults to False.
        dropout: Input dropout of each recurrent layer, in ``[0, 1)``. Defaults to 0.
        recurrent_dropout: Recurrent-state dropout, in ``[0, 1)``. Defaults to 0.
        name: The model's name. Defaults to ``"probabilistic_forecaster"``.

    Returns:
        An uncompiled ``keras.Model``.

    Raises:
        ValueError: If a value is out of range, or the levels are unsorted, outside
            ``(0, 1)`` or lack the median.
        TypeError: If a value has the wrong type.

    Example:
        >>> build_probabilistic_forecaster().output_shape
        (None, 1, 24, 5)
    """
    input_shape = check_shape("input_shape", input_shape, ndim=2)
    options = recurrent_options(
        cell=cell,
        units=units,
        num_layers=num_layers,
        bidirectional=bidirectional,
        dropout=dropout,
        recurrent_dropout=recurrent_dropout,
        name=name,
    )
    check_int("horizons", horizons)
    check_int("future_features", future_features)
    levels = check_levels("levels", levels)
    check_int("members", members)

    window = keras.Input(shape=input_shape, name="window")
    future = keras.Input(shape=(horizons, future_features), name="future")
    last = ObservedFeature(0, name="last_observed")(window)
    last = keras.layers.Reshape((1, 1, 1), name="last_observed_steps")(last)
    outputs = [
        _member(
            window,
            future,
            last,
            options=options,
            horizons=horizons,
            levels=levels,
            prefix=f"member{index + 1}_" if members > 1 else "",
        )
        for index in range(members)
    ]
    if members > 1:
        outputs = [keras.layers.Concatenate(axis=1, name="members", dtype="float32")(outputs)]
    return keras.Model({"window": window, "future": future}, outputs[0], name=name)
