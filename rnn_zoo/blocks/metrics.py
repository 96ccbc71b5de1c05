"""Metrics shared by the families that predict one class per time step."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="rnn_zoo")
class MaskedAccuracy(keras.metrics.Metric):
    """Per-token accuracy over the positions that are not padding (target ``ignore_class``).

    Keras' ``"accuracy"`` counts every position of a padded batch, padding included,
    and its weighted form averages each example over the batch's padded length
    before summing, so batches of different lengths weigh differently. This metric
    counts correct tokens and real tokens over all batches and divides once. It is
    named ``"accuracy"`` by default, so histories keep ``accuracy`` / ``val_accuracy``.

    Args:
        ignore_class: The target id of padding. Defaults to 0.
        name: The metric's name. Defaults to ``"accuracy"``.
        dtype: The metric's dtype.

    Example:
        >>> metric = MaskedAccuracy()
        >>> metric.update_state([[1, 2, 0]], [[[0, 1, 0], [0, 1, 0], [0, 1, 0]]])
        >>> float(metric.result())
        0.5
    """

    def __init__(self, ignore_class: int = 0, name: str = "accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self._direction = "up"  # higher is better: checkpoints and early stopping maximize it
        self.ignore_class = ignore_class
        self.correct = self.add_variable(shape=(), initializer="zeros", name="correct")
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Adds a batch's correct and real tokens.

        Args:
            y_true: Target ids ``[batch, time]``.
            y_pred: Class scores ``[batch, time, classes]``.
            sample_weight: Optional weights ``[batch, time]``, multiplied with the mask.
        """
        predicted = ops.argmax(y_pred, axis=-1)
        y_true = ops.reshape(ops.cast(y_true, predicted.dtype), ops.shape(predicted))
        weight = ops.cast(ops.not_equal(y_true, self.ignore_class), self.dtype)
        if sample_weight is not None:
            weight = weight * ops.reshape(ops.cast(sample_weight, self.dtype), ops.shape(weight))
        matches = ops.cast(ops.equal(y_true, predicted), self.dtype)
        self.correct.assign_add(ops.sum(matches * weight))
        self.total.assign_add(ops.sum(weight))

    def result(self):
        """Returns correct tokens / real tokens (0 before any real token)."""
        return ops.divide_no_nan(self.correct, self.total)

    def reset_state(self):
        """Sets both counts to zero."""
        self.correct.assign(0.0)
        self.total.assign(0.0)

    def get_config(self) -> dict:
        """Returns the metric's config, ``ignore_class`` included."""
        return {**super().get_config(), "ignore_class": self.ignore_class}
