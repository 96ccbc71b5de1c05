"""Recalibrated quantiles: offsets fitted on the validation split, carried in the model.

A quantile forecaster trained with the pinball loss may still cover more or less than
its levels promise on new data. :class:`QuantileCalibration` holds one non-trainable
offset per horizon and level and adds it to the quantiles; they stay sorted (a
monotone rearrangement, Chernozhukov, Fernández-Val and Galichon 2010, which never
makes a set of quantiles worse). It is the identity until :func:`fit_calibration`
sets the offsets after training: at each horizon and level the offset is the
empirical quantile, at that level, of the residuals ``target - quantile`` over the
validation split (the conformalized quantile regression of Romano, Patterson and
Candès 2019, one shift per quantile rather than per interval; it is also the constant
shift that minimizes the validation pinball loss). The offsets are saved with the
model, so every consumer of ``model.keras`` (export, predict, backtest, the LiteRT and
ONNX conversions) serves the calibrated quantiles.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from rnn_zoo.validation import check_levels

__all__ = ["QuantileCalibration", "fit_calibration"]


@keras.saving.register_keras_serializable(package="rnn_zoo")
class QuantileCalibration(keras.layers.Layer):
    """Adds fitted offsets ``[horizons, levels]`` to quantiles ``[..., horizons, levels]``.

    The offsets are non-trainable and start at zero (the layer passes sorted quantiles
    through unchanged); :func:`fit_calibration` sets them. The shifted quantiles are
    sorted along the levels, so they never cross whatever the offsets.

    Args:
        levels: The quantile levels of the last axis (:func:`rnn_zoo.validation.check_levels`).
        **kwargs: Keras layer arguments.

    Example:
        >>> layer = QuantileCalibration((0.1, 0.5, 0.9))
        >>> tuple(layer(keras.ops.zeros((2, 24, 3))).shape)
        (2, 24, 3)
    """

    def __init__(self, levels, **kwargs):
        super().__init__(**kwargs)
        self.levels = check_levels("levels", levels)

    def build(self, input_shape):
        """Creates the offsets, one per horizon and level of ``input_shape[-2:]``."""
        if input_shape[-1] != len(self.levels):
            raise ValueError(
                f"inputs have {input_shape[-1]} quantiles on their last axis but the "
                f"calibration has levels={self.levels}; expected one quantile per level"
            )
        self.offsets = self.add_weight(
            name="offsets", shape=tuple(input_shape[-2:]), initializer="zeros", trainable=False
        )

    def call(self, quantiles):
        """Returns the shifted quantiles, sorted along the levels."""
        return ops.sort(quantiles + ops.cast(self.offsets, quantiles.dtype), axis=-1)

    def compute_output_shape(self, input_shape):
        """The input's shape."""
        return input_shape

    def get_config(self):
        """Returns the layer's configuration."""
        return {**super().get_config(), "levels": list(self.levels)}


def _calibration_layer(model: keras.Model) -> QuantileCalibration:
    """The model's one :class:`QuantileCalibration` layer, its last."""
    found = [layer for layer in model.layers if isinstance(layer, QuantileCalibration)]
    if len(found) != 1 or model.layers[-1] is not found[0]:
        raise ValueError(
            f"model {model.name!r} has {len(found)} QuantileCalibration layer(s) and ends "
            f"with {model.layers[-1].name!r}; expected one, as its output layer"
        )
    return found[0]


def _served_quantiles(model: keras.Model, validation) -> tuple[np.ndarray, np.ndarray]:
    """The uncalibrated quantiles ``[n, horizons, levels]`` (members averaged) and targets."""
    quantiles, targets = [], []
    for inputs, target in validation:
        outputs = keras.ops.convert_to_numpy(model(inputs, training=False))
        quantiles.append(outputs.mean(axis=1) if outputs.ndim == 4 else outputs)
        targets.append(keras.ops.convert_to_numpy(target))
    return np.concatenate(quantiles).astype("float64"), np.concatenate(targets)


def fit_calibration(model: keras.Model, validation) -> np.ndarray:
    """Fits a model's :class:`QuantileCalibration` offsets on the validation split.

    The offsets are reset, the model forecasts every validation example (members
    averaged, as serving averages them), and at each horizon ``h`` and level ``tau`` the
    offset becomes the ``tau``-quantile of ``target - quantile`` over the examples whose
    target at ``h`` is known (not NaN). On the validation split the shifted quantile at
    ``tau`` then lies above a share ``tau`` of the targets, at every horizon.

    Args:
        model: A model whose output layer is a :class:`QuantileCalibration`, taking
            the inputs of ``validation`` and returning ``[batch, horizons, levels]``
            or ``[batch, members, horizons, levels]`` in the targets' scale.
        validation: The validation split: a finite iterable of ``(inputs, targets
            [batch, horizons])`` batches (NaN where a target is unknown).

    Returns:
        The offsets set, ``[horizons, levels]``.

    Raises:
        ValueError: If the model's output layer is not a :class:`QuantileCalibration`,
            or a horizon has no known validation target.

    Example:
        >>> fit_calibration(model, bundle.validation).shape  # doctest: +SKIP
        (24, 5)
    """
    layer = _calibration_layer(model)
    layer.offsets.assign(np.zeros(layer.offsets.shape, "float32"))
    quantiles, targets = _served_quantiles(model, validation)
    known = ~np.isnan(targets)
    empty = [horizon + 1 for horizon in range(targets.shape[1]) if not known[:, horizon].any()]
    if empty:
        raise ValueError(
            f"the validation split has no known target at horizon(s) {empty}; expected at "
            "least one per horizon to fit the calibration"
        )
    residuals = targets[..., None] - quantiles
    offsets = np.stack(
        [
            [np.quantile(residuals[known[:, h], h, k], tau) for k, tau in enumerate(layer.levels)]
            for h in range(targets.shape[1])
        ]
    )
    layer.offsets.assign(offsets.astype("float32"))
    return offsets
