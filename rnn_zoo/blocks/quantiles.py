"""Quantile forecasts: a head whose quantiles never cross, and the pinball loss.

A quantile forecaster predicts, for each hour ahead, the values below which the target
falls with probabilities ``levels`` (0.1, 0.25, 0.5, 0.75, 0.9: the median and the
50% and 80% central intervals). :class:`MonotoneQuantiles` builds them so that they
never cross: the median, then positive steps up and down. :class:`PinballLoss` is the
loss whose minimizer is the true quantile at each level; the mean of the pinball loss
at 0.5 is half the mean absolute error of the median.
"""

from __future__ import annotations

import keras
from keras import ops

from rnn_zoo.blocks.levels import DEFAULT_LEVELS
from rnn_zoo.validation import check_float, check_levels

__all__ = ["DEFAULT_LEVELS", "MonotoneQuantiles", "PinballLoss"]


@keras.saving.register_keras_serializable(package="rnn_zoo")
class MonotoneQuantiles(keras.layers.Layer):
    """Maps free outputs ``[..., len(levels)]`` and a baseline to non-crossing quantiles.

    The output at the median's position plus ``baseline`` is the median; each level
    above it adds a softplus step to the one below, each level below subtracts one.

    Args:
        levels: The quantile levels (:func:`rnn_zoo.validation.check_levels`).
        **kwargs: Keras layer arguments.

    Example:
        >>> head = MonotoneQuantiles((0.1, 0.5, 0.9))
        >>> quantiles = head([keras.ops.zeros((2, 24, 3)), keras.ops.ones((2, 1, 1))])
        >>> tuple(quantiles.shape)
        (2, 24, 3)
    """

    def __init__(self, levels=DEFAULT_LEVELS, **kwargs):
        super().__init__(**kwargs)
        self.levels = check_levels("levels", levels)
        self.median = self.levels.index(0.5)

    def call(self, inputs):
        """Returns quantiles from ``[free outputs, baseline]`` (the baseline broadcasts)."""
        free, baseline = inputs
        median = free[..., self.median : self.median + 1] + baseline
        up = median + ops.cumsum(ops.softplus(free[..., self.median + 1 :]), axis=-1)
        below = ops.flip(ops.softplus(free[..., : self.median]), axis=-1)
        down = median - ops.flip(ops.cumsum(below, axis=-1), axis=-1)
        return ops.concatenate([down, median, up], axis=-1)

    def compute_output_shape(self, input_shape):
        """The free outputs' shape."""
        return input_shape[0]

    def get_config(self):
        """Returns the layer's configuration."""
        return {**super().get_config(), "levels": list(self.levels)}


@keras.saving.register_keras_serializable(package="rnn_zoo")
class PinballLoss(keras.losses.Loss):
    """The pinball (quantile) loss over horizons, leaving out targets that are NaN.

    For a target ``y`` and the quantile ``q`` at level ``tau``, the loss is
    ``max(tau * (y - q), (tau - 1) * (y - q))``, averaged over the levels. Targets are
    ``[batch, horizons]`` and predictions ``[batch, horizons, levels]`` (or
    ``[batch, members, horizons, levels]``: each member is scored on its own, as if
    trained alone). A NaN target (missing, or past the end of its split) adds nothing.
    Horizon ``h`` weighs ``h ** -horizon_exponent``, the weights scaled to average 1:
    the spread of the target grows with the horizon (about as ``sqrt(h)`` for PM2.5),
    so unweighted the far hours would drown out the near ones.

    Args:
        levels: The quantile levels of the predictions' last axis.
        horizon_exponent: How much nearer hours weigh, ``>= 0``; 0 weighs every
            horizon alike. Defaults to 1.
        name: The loss's name.
        **kwargs: ``keras.losses.Loss`` arguments.

    Raises:
        ValueError: At the first call, if the predictions' last axis does not hold one
            value per level.

    Example:
        >>> loss = PinballLoss(levels=(0.1, 0.5, 0.9), horizon_exponent=0.0)
        >>> float(loss(keras.ops.zeros((1, 2)), keras.ops.ones((1, 2, 3))))
        0.5
    """

    def __init__(
        self, levels=DEFAULT_LEVELS, horizon_exponent: float = 1.0, name="pinball", **kwargs
    ):
        super().__init__(name=name, **kwargs)
        self.levels = check_levels("levels", levels)
        self.horizon_exponent = check_float("horizon_exponent", horizon_exponent, minimum=0.0)

    def call(self, y_true, y_pred):
        """Returns each example's weighted pinball loss, summed over its known targets."""
        if y_pred.shape[-1] != len(self.levels):
            raise ValueError(
                f"predictions have {y_pred.shape[-1]} quantiles on their last axis but the "
                f"loss has levels={self.levels}; expected the model's and the loss' levels "
                "to be the same"
            )
        y_true = ops.cast(y_true, y_pred.dtype)
        known = ops.isfinite(y_true)
        horizons = y_true.shape[-1]
        weights = ops.arange(1, horizons + 1, dtype=y_pred.dtype) ** -self.horizon_exponent
        weights = weights * horizons / ops.sum(weights)
        if len(y_pred.shape) == 4:  # members: each scored against the same targets
            y_true, known = y_true[:, None], known[:, None]
        error = ops.where(known, y_true, 0.0)[..., None] - y_pred
        levels = ops.convert_to_tensor(self.levels, dtype=y_pred.dtype)
        pinball = ops.mean(ops.maximum(levels * error, (levels - 1.0) * error), axis=-1)
        weighted = ops.where(known, pinball, 0.0) * weights
        return ops.mean(ops.reshape(weighted, (ops.shape(weighted)[0], -1)), axis=-1)

    def get_config(self):
        """Returns the loss' configuration."""
        return {
            **super().get_config(),
            "levels": list(self.levels),
            "horizon_exponent": self.horizon_exponent,
        }
