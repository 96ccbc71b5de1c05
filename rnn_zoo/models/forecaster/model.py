"""LSTM regression on time series: single-step, multi-step and sequence forecasts."""

from __future__ import annotations

import keras

from rnn_zoo.blocks.layers import ObservedFeature, recurrent_options, recurrent_stack
from rnn_zoo.validation import check_bool, check_int, check_shape


def build_lstm(
    input_shape=(10, 1),
    units: int = 20,
    output_steps: int = 1,
    num_features: int = 1,
    return_sequences: bool = False,
    residual_feature: int | None = None,
    cell: str = "lstm",
    num_layers: int = 1,
    bidirectional: bool = False,
    dropout: float = 0.0,
    recurrent_dropout: float = 0.0,
    name: str = "lstm_forecaster",
) -> keras.Model:
    """Builds a recurrent forecaster: recurrent stack → Dense.

    Three output forms:

    * ``output_steps=1`` (default): the next value of ``num_features`` series,
      ``[batch, num_features]``.
    * ``output_steps=k > 1``: the next ``k`` steps at once,
      ``[batch, k, num_features]``.
    * ``return_sequences=True``: sequence to sequence, a prediction at every input
      step through ``TimeDistributed(Dense)``, ``[batch, time, num_features]``.

    At the defaults (LSTM(20) → Dense(1) on ``(10, 1)`` windows) the model has 1,781
    parameters. The recurrent layers keep cuDNN-eligible defaults; a
    ``recurrent_dropout > 0`` gives the cuDNN kernel up.

    Args:
        input_shape: ``(timesteps, features)`` of an input window; ``timesteps`` may
            be ``None``. Defaults to ``(10, 1)``.
        units: Units per recurrent layer. Defaults to 20.
        output_steps: Future steps predicted at once. Defaults to 1.
        num_features: Series predicted at each step. Defaults to 1.
        return_sequences: Predict at every input step instead. Defaults to False.
        residual_feature: Index of the input feature being forecast (its own past
            values, normalized like the target). When set, the network predicts the
            change from the last observed value and adds it back (needs
            ``num_features=1``); the forecast starts from persistence instead of zero.
            Adds no parameters. Defaults to None (plain regression).
        cell: ``"simple_rnn"``, ``"lstm"`` or ``"gru"``. Defaults to ``"lstm"``.
        num_layers: Stacked recurrent layers. Defaults to 1.
        bidirectional: Bidirectional recurrent layers. Defaults to False.
        dropout: Input dropout of each recurrent layer, in ``[0, 1)``. Defaults to 0.
        recurrent_dropout: Recurrent-state dropout, in ``[0, 1)``. Defaults to 0.
        name: The model's name. Defaults to ``"lstm_forecaster"``.

    Returns:
        An uncompiled ``keras.Model``.

    Raises:
        ValueError: If a value is out of range, or ``return_sequences`` is combined
            with ``output_steps > 1``.
        TypeError: If a value has the wrong type.

    Example:
        >>> build_lstm().count_params()
        1781
        >>> build_lstm(input_shape=(24, 15), output_steps=6).output_shape
        (None, 6, 1)
    """
    input_shape = check_shape("input_shape", input_shape, ndim=2, allow_none=(0,))
    options = recurrent_options(
        cell=cell,
        units=units,
        num_layers=num_layers,
        bidirectional=bidirectional,
        dropout=dropout,
        recurrent_dropout=recurrent_dropout,
        name=name,
    )
    check_int("output_steps", output_steps)
    check_int("num_features", num_features)
    check_bool("return_sequences", return_sequences)
    if residual_feature is not None:
        check_int("residual_feature", residual_feature, minimum=0, maximum=input_shape[1] - 1)
        if num_features != 1:
            raise ValueError(
                f"num_features={num_features!r} cannot be combined with residual_feature; "
                "accepted: num_features=1 with residual_feature, or residual_feature=None"
            )
    if return_sequences and output_steps != 1:
        raise ValueError(
            f"output_steps={output_steps!r} cannot be combined with return_sequences=True; "
            "accepted: output_steps=1 with return_sequences=True, or return_sequences=False"
        )

    inputs = keras.Input(shape=input_shape, name="window")
    x = recurrent_stack(
        inputs,
        **options,
        return_sequences=return_sequences,
    )
    if return_sequences:
        outputs = keras.layers.TimeDistributed(
            keras.layers.Dense(num_features, dtype="float32"), name="forecast", dtype="float32"
        )(x)
    elif output_steps == 1:
        outputs = keras.layers.Dense(num_features, name="forecast", dtype="float32")(x)
    else:
        x = keras.layers.Dense(output_steps * num_features, name="forecast", dtype="float32")(x)
        outputs = keras.layers.Reshape((output_steps, num_features), name="steps", dtype="float32")(
            x
        )
    if residual_feature is not None:
        observed = ObservedFeature(residual_feature, every_step=return_sequences, dtype="float32")(
            inputs
        )
        if output_steps > 1:
            observed = keras.layers.Reshape((1, 1), name="observed_steps", dtype="float32")(
                observed
            )
        outputs = keras.layers.Add(name="forecast_from_last", dtype="float32")([outputs, observed])
    return keras.Model(inputs, outputs, name=name)
