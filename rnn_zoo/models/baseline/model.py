"""Dense baseline for Fashion-MNIST: the TensorFlow "basic classification" model."""

from __future__ import annotations

import keras

from rnn_zoo.validation import check_int, check_name, check_rate, check_shape


def build_baseline(
    input_shape=(28, 28),
    num_classes: int = 10,
    hidden_units: int = 128,
    dropout: float = 0.2,
    name: str = "baseline",
) -> keras.Model:
    """Builds Flatten → Dense(relu) → Dropout → Dense logits.

    The model takes raw pixel values in ``[0, 255]`` (any numeric dtype, ``uint8``
    included) and scales them to ``[0, 1]`` itself with a ``Rescaling`` layer, so
    the data pipeline and the exported model feed it images as they are. The
    ``Rescaling`` layer has no weights: at the defaults the model has 101,770
    parameters, as in TensorFlow's classification tutorial.

    Args:
        input_shape: Image shape without the batch dimension. Defaults to ``(28, 28)``.
        num_classes: Number of classes (logits out). Defaults to 10.
        hidden_units: Units of the hidden dense layer. Defaults to 128.
        dropout: Dropout rate after the hidden layer, in ``[0, 1)``. Defaults to 0.2.
        name: The model's name. Defaults to ``"baseline"``.

    Returns:
        An uncompiled ``keras.Model`` returning logits ``[batch, num_classes]``.

    Raises:
        ValueError: If a value is out of range.
        TypeError: If a value has the wrong type.

    Example:
        >>> model = build_baseline()
        >>> model.count_params()
        101770
    """
    input_shape = check_shape("input_shape", input_shape, ndim=2)
    check_int("num_classes", num_classes, minimum=2)
    check_int("hidden_units", hidden_units)
    check_rate("dropout", dropout)
    check_name("name", name)

    inputs = keras.Input(shape=input_shape, name="image")
    x = keras.layers.Rescaling(1.0 / 255, name="rescale")(inputs)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(hidden_units, activation="relu", name="hidden")(x)
    x = keras.layers.Dropout(dropout, name="dropout")(x)
    logits = keras.layers.Dense(num_classes, name="logits", dtype="float32")(x)
    return keras.Model(inputs, logits, name=name)
