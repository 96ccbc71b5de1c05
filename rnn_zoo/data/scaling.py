"""Normalization of time-series features, and back: one implementation for every use.

:class:`FeatureScaling` is the arithmetic (``log(1 + x)`` for the logged features,
then ``(x - mean) / std`` with the train rows' statistics; and back for the target),
a Keras layer so exported graphs carry it. :func:`normalize` and
:func:`denormalize_target` run the same layer on NumPy arrays, after checking the
values; :func:`check_normalizable` refuses rows that would overflow once normalized.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras
import numpy as np

from rnn_zoo.data.readings import Where


def check_normalizable(raw: np.ndarray, metadata: Mapping[str, Any], *, where: Where) -> None:
    """Refuses raw rows whose normalized values overflow a float32.

    A reading can fit a float32 and still overflow once divided by a small training
    standard deviation; the model would then see ``inf``.

    Args:
        raw: Rows of :func:`encode_columns`, ``[rows, features]``.
        metadata: A time-series bundle's metadata (``mean``, ``std``, ``features``).
        where: Names a row from its position.

    Raises:
        ValueError: Naming the row, the feature, the value and the training statistics.

    Example:
        >>> check_normalizable(raw[-24:], bundle.metadata, where=str)  # doctest: +SKIP
    """
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = normalize(raw, metadata)
    bad = ~np.isfinite(scaled)
    if bad.any():
        row, feature = (int(index[0]) for index in np.nonzero(bad))
        name = metadata["features"][feature]
        raise ValueError(
            f"{where(row)}, feature {name!r}: {float(raw[row, feature]):.7g} is too far from "
            f"the training data (mean {metadata['mean'][feature]:.4g}, std "
            f"{metadata['std'][feature]:.4g}) to normalize in float32; expected a reading "
            "of that feature's usual magnitude"
        )


def example_windows(metadata: Mapping[str, Any], width: int, count: int = 4) -> np.ndarray:
    """Raw windows drawn around the training statistics, for a serving signature's examples.

    Args:
        metadata: A time-series bundle's metadata (``mean``, ``std``, ``features``).
        width: Rows per window.
        count: How many windows.

    Returns:
        float32 ``[count, width, features]`` in raw units; the features read as
        ``log(1 + x)`` are non-negative, as real readings are.

    Example:
        >>> example_windows(bundle.metadata, 24).shape  # doctest: +SKIP
        (4, 24, 15)
    """
    rng = np.random.default_rng(0)
    mean, std = np.array(metadata["mean"]), np.array(metadata["std"])
    raw = mean + std * rng.normal(size=(count, width, len(mean)))
    logged = _log_indices(metadata)
    raw[..., logged] = np.expm1(raw[..., logged])  # back from log(1 + x) to raw units
    return raw.astype("float32")


def _log_indices(metadata: Mapping[str, Any]) -> list[int]:
    """Positions of the features read as ``log(1 + x)`` (none in runs saved before)."""
    return [metadata["features"].index(name) for name in metadata.get("log_features", ())]


def normalize(raw_window: Any, metadata: Mapping[str, Any]) -> np.ndarray:
    """Maps raw feature values to model inputs: ``(x - mean) / std`` per feature.

    Features in ``metadata["log_features"]`` become ``log(1 + x)`` first. The
    arithmetic is :class:`FeatureScaling`'s, the layer exported graphs use; this
    function checks the values first and refuses a negative logged one.

    Args:
        raw_window: An array ``[..., len(metadata["features"])]`` in raw units, e.g.
            ``[batch, input_width, features]`` rows of :func:`encode_columns`.
        metadata: A time-series bundle's metadata (``mean`` and ``std``).

    Returns:
        The normalized float32 array, same shape.

    Raises:
        ValueError: If the last dimension is not the number of features, or a
            feature read as ``log(1 + x)`` is negative.

    Example:
        >>> normalize(np.zeros((1, 24, 15)), bundle.metadata).shape  # doctest: +SKIP
        (1, 24, 15)
    """
    values = np.asarray(raw_window, dtype="float32")
    if values.ndim == 0 or values.shape[-1] != len(metadata["mean"]):
        raise ValueError(
            f"raw_window has shape {values.shape}; expected a last dimension of "
            f"{len(metadata['mean'])} features ({', '.join(metadata['features'])})"
        )
    for index in _log_indices(metadata):
        if (values[..., index] < 0).any():
            raise ValueError(
                f"raw_window has a negative {metadata['features'][index]!r} value "
                f"({values[..., index].min()}); that feature is read as log(1 + x), so "
                "expected values >= 0"
            )
    return keras.ops.convert_to_numpy(FeatureScaling.from_metadata(metadata)(values))


def denormalize_target(values: Any, metadata: Mapping[str, Any]) -> np.ndarray:
    """Maps normalized target values (labels or predictions) back to raw units.

    Undoes :func:`normalize` for the target: ``y * std + mean``, then ``exp(y) - 1``
    when the target is read as ``log(1 + x)``.

    Args:
        values: Normalized target values, any shape.
        metadata: A time-series bundle's metadata.

    Returns:
        A float64 array of the same shape in the target's units (µg/m³ for PM2.5),
        computed by :meth:`FeatureScaling.target_from_outputs`.

    Example:
        >>> denormalize_target(model.predict(windows), bundle.metadata)  # doctest: +SKIP
    """
    restored = FeatureScaling.from_metadata(metadata).target_from_outputs(np.asarray(values))
    return keras.ops.convert_to_numpy(restored).astype("float64")


@keras.saving.register_keras_serializable(package="rnn_zoo")
class FeatureScaling(keras.layers.Layer):
    """The time-series preprocessing as a layer: :func:`normalize` in ``keras.ops``.

    Maps raw feature windows to model inputs (``log(1 + x)`` for the logged features,
    whose negative values read as 0, then ``(x - mean) / std``), and with
    :meth:`target_from_outputs` maps model outputs back to raw target units, so an
    exported graph takes and returns raw units.

    Args:
        mean: Per-feature means, in the scale the model reads.
        std: Per-feature standard deviations, same scale.
        log_features: Positions of the features read as ``log(1 + x)``.
        target_index: Position of the target among the features.
        **kwargs: Keras layer arguments (``name``, ...).

    Example:
        >>> scaling = FeatureScaling.from_metadata(bundle.metadata)  # doctest: +SKIP
        >>> forecast = scaling.target_from_outputs(model(scaling(raw)))  # doctest: +SKIP
    """

    def __init__(self, mean, std, log_features=(), target_index=0, **kwargs):
        super().__init__(**kwargs)
        self.mean = [float(value) for value in mean]
        self.std = [float(value) for value in std]
        self.log_features = sorted(int(index) for index in log_features)
        self.target_index = int(target_index)

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any], **kwargs: Any) -> FeatureScaling:
        """Builds the layer from a time-series bundle's metadata.

        Args:
            metadata: A time-series bundle's metadata (or a run's ``data.json`` one).
            **kwargs: Keras layer arguments.

        Returns:
            A :class:`FeatureScaling` layer.

        Example:
            >>> FeatureScaling.from_metadata(bundle.metadata)(raw_windows)  # doctest: +SKIP
        """
        return cls(
            metadata["mean"],
            metadata["std"],
            log_features=_log_indices(metadata),
            target_index=metadata["target_index"],
            **kwargs,
        )

    def call(self, windows):
        """Returns model inputs for raw windows ``[..., features]``."""
        values = keras.ops.cast(windows, "float32")
        logged = [index in self.log_features for index in range(len(self.mean))]
        values = keras.ops.where(logged, keras.ops.log1p(keras.ops.maximum(values, 0.0)), values)
        return (values - self.mean) / self.std

    def target_from_outputs(self, outputs):
        """Maps normalized target values back to raw units (:func:`denormalize_target`).

        Args:
            outputs: Normalized target values, any shape.

        Returns:
            The values in the target's raw units, float32.
        """
        index = self.target_index
        restored = keras.ops.cast(outputs, "float32") * self.std[index] + self.mean[index]
        return keras.ops.expm1(restored) if index in self.log_features else restored

    def get_config(self):
        """Returns the layer's configuration."""
        return {
            **super().get_config(),
            "mean": self.mean,
            "std": self.std,
            "log_features": self.log_features,
            "target_index": self.target_index,
        }
