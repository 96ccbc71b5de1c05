"""Serving the forecaster: windows in raw units in, the forecast in raw target units out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from rnn_zoo.data.readings import encode_columns
from rnn_zoo.data.scaling import FeatureScaling
from rnn_zoo.serving import ServingModule, graph_check


class ForecasterServing(ServingModule):
    """``windows`` float32 ``[batch, width, features]`` in raw units → ``forecast`` ``[batch]``.

    Normalization (and the ``log(1 + x)`` of skewed features) runs in the graph; the
    forecast comes back in the target's raw units. A window holding NaN or an infinity
    is refused in the graph (``InvalidArgumentError`` naming the windows and feature
    columns that hold them) rather than forecast as NaN; so is a negative reading of a
    feature read as ``log(1 + x)``.

    Args:
        model: The trained forecaster over normalized windows.
        metadata: The run's data metadata (feature statistics, window width).
        head: ``"values"``.
    """

    heads = ("values",)

    def __init__(self, model: keras.Model, metadata: dict[str, Any], *, head: str):
        super().__init__(model, metadata, head=head)
        self.scaling = FeatureScaling.from_metadata(metadata)
        self.logged = tf.constant(self.scaling.log_features, tf.int32)
        features = len(self.scaling.mean)
        names = metadata.get("features") or [f"feature {index}" for index in range(features)]
        self.feature_names = tf.constant([str(name) for name in names])
        spec = tf.TensorSpec([None, *model.input_shape[1:]], tf.float32)
        self.serving_default = self.signature(self._forecast, {"windows": spec})

    def _forecast(self, windows):
        finite = tf.math.is_finite(windows)
        bad_windows = tf.where(tf.logical_not(tf.reduce_all(finite, axis=[1, 2])))[:, 0]
        bad_features = tf.logical_not(tf.reduce_all(finite, axis=[0, 1]))
        logged = tf.gather(windows, self.logged, axis=-1)
        checks = [
            graph_check(
                tf.reduce_all(finite),
                "windows {} hold NaN or infinity in features {}; expected finite readings "
                "in raw units",
                bad_windows,
                tf.boolean_mask(self.feature_names, bad_features),
            ),
            graph_check(
                tf.reduce_all(tf.logical_not(logged < 0)),
                "windows hold negative readings of features {}, which are read as "
                "log(1 + x); expected values >= 0",
                tf.boolean_mask(
                    tf.gather(self.feature_names, self.logged), tf.reduce_any(logged < 0, [0, 1])
                ),
            ),
        ]
        with tf.control_dependencies(checks):
            windows = tf.identity(windows)
        return self.forecast(windows)

    def forecast(self, windows):
        """The forecast of checked windows: normalize, call the model, back to raw units.

        Args:
            windows: float32 ``[batch, width, features]`` in raw units.

        Returns:
            ``{"forecast": [batch]}`` in the target's raw units.
        """
        normalized = self.model(self.scaling(windows), training=False)
        forecast = self.scaling.target_from_outputs(normalized)
        return {"forecast": tf.reshape(forecast, [tf.shape(windows)[0], -1])[:, 0]}

    def example_inputs(self) -> dict[str, np.ndarray]:
        """Four windows drawn around the training statistics, in raw units.

        Returns:
            ``{"windows": float32 [4, width, features]}``; logged features are
            non-negative, as real readings are.
        """
        rng = np.random.default_rng(0)
        mean, std = np.array(self.metadata["mean"]), np.array(self.metadata["std"])
        width = self.model.input_shape[1] or self.metadata["input_width"]
        raw = mean + std * rng.normal(size=(4, width, len(mean)))
        logged = list(self.scaling.log_features)
        raw[..., logged] = np.expm1(raw[..., logged])  # back from log(1 + x) to raw units
        return {"windows": raw.astype("float32")}


def read_windows(inputs: Sequence[str], metadata: dict[str, Any], shape) -> np.ndarray:
    """Reads the last ``input_width`` rows of each CSV as one raw-unit window.

    Each CSV has the columns of the training data (the PM2.5 file's header, say);
    its last ``input_width`` rows are encoded as in training (categories one-hot,
    hour and month as sine and cosine) but not normalized. The rows are checked as
    the training file was, by the same code (:func:`rnn_zoo.data.readings.read_csv_table`
    and :func:`~rnn_zoo.data.readings.encode_columns`): finite numbers a float32
    holds, no negative value in a column read as ``log(1 + x)``, only categories seen
    in training; and each window must normalize to finite model inputs. Each file is
    UTF-8 of at most :data:`rnn_zoo.data.raw_inputs.MAX_INPUT_BYTES` (10 MiB).

    Args:
        inputs: CSV paths.
        metadata: The run's data metadata (column kinds, categories, window width).
        shape: The model's input shape ``(input_width, features)``.

    Returns:
        float32 windows ``[n, input_width, features]`` in raw units.

    Raises:
        ValueError: If a file is missing, too large or not UTF-8, lacks a column, has
            too few rows, or a value is refused (the message names the input, its line
            and column, and what is accepted).

    Example:
        >>> read_windows(["last_day.csv"], metadata, (24, 15)).shape  # doctest: +SKIP
        (1, 24, 15)
    """
    import functools
    import io

    from rnn_zoo.data.raw_inputs import read_input_text
    from rnn_zoo.data.readings import describe_rows, read_csv_table
    from rnn_zoo.data.scaling import check_normalizable

    width = metadata["input_width"]
    needed = [spec["name"] for spec in metadata["columns"]]

    def select(header: list[str], name: str) -> list[str]:
        absent = [column for column in needed if column not in header]
        if absent:
            raise ValueError(
                f"input {name!r} lacks the column(s) {', '.join(map(repr, absent))}; expected "
                f"every column the model was trained on: {', '.join(needed)}"
            )
        return needed

    windows = []
    for name in inputs:
        text = read_input_text(name, expected="a UTF-8 CSV of readings with a header row")
        source = f"input {name!r}"
        table, lines = read_csv_table(
            io.StringIO(text, newline=None), source, functools.partial(select, name=name)
        )
        if len(lines) < width:
            raise ValueError(
                f"input {name!r} has {len(lines)} rows; expected at least input_width={width}"
            )
        columns = {column: cells[-width:] for column, cells in table.items()}
        rows = lines[-width:]
        window = encode_columns(columns, metadata, source=source, lines=rows, refuse_unseen=True)
        check_normalizable(window, metadata, where=describe_rows(source, rows))
        windows.append(window)
    return np.stack(windows)
