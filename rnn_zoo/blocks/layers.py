"""The one place that turns recurrent-cell options into Keras layers.

Every recurrent factory takes the same options (``cell``, ``num_layers``,
``bidirectional``, ``dropout``, ``recurrent_dropout``), validates them with
:func:`recurrent_options` before building anything, and builds its stack with
:func:`recurrent_stack`.

The layers keep Keras' defaults (``tanh`` activation, ``sigmoid`` recurrent
activation, ``unroll=False``, ``use_bias=True``, GRU ``reset_after=True``) so that on a
GPU they run on the fused cuDNN kernel. ``recurrent_dropout > 0`` gives that kernel up:
Keras then falls back to the generic, much slower loop. LSTM layers are
:class:`~rnn_zoo.blocks.hoisted_lstm.HoistedLSTM`: ``keras.layers.LSTM`` with a faster
CPU training pass for layers of 256 units or more.
"""

from __future__ import annotations

import keras
import numpy as np

from rnn_zoo.blocks.cell_names import CELL_NAMES
from rnn_zoo.blocks.hoisted_lstm import HoistedLSTM
from rnn_zoo.validation import check_bool, check_choice, check_int, check_name, check_rate

CELLS = dict(zip(CELL_NAMES, (keras.layers.SimpleRNN, HoistedLSTM, keras.layers.GRU), strict=True))


def recurrent_options(
    *,
    cell: str,
    units: int,
    num_layers: int,
    bidirectional: bool,
    dropout: float,
    recurrent_dropout: float,
    name: str,
) -> dict:
    """Validates the options shared by every recurrent factory.

    Args:
        cell: One of ``"simple_rnn"``, ``"lstm"``, ``"gru"``.
        units: Units per recurrent layer, a positive integer.
        num_layers: Number of stacked recurrent layers, a positive integer.
        bidirectional: Whether each layer reads both directions.
        dropout: Input dropout rate of each recurrent layer, in ``[0, 1)``.
        recurrent_dropout: Dropout on the recurrent state, in ``[0, 1)``.
        name: The model's name, a non-empty string.

    Returns:
        The options :func:`recurrent_stack` takes (all but ``name``), as a dict.

    Raises:
        ValueError: If a value is out of range or not an accepted choice.
        TypeError: If a value has the wrong type.

    Example:
        >>> recurrent_options(cell="gru", units=64, num_layers=1, bidirectional=False,
        ...                   dropout=0.0, recurrent_dropout=0.0, name="clf")["cell"]
        'gru'
    """
    check_name("name", name)
    return {
        "cell": check_choice("cell", cell, CELLS),
        "units": check_int("units", units),
        "num_layers": check_int("num_layers", num_layers),
        "bidirectional": check_bool("bidirectional", bidirectional),
        "dropout": check_rate("dropout", dropout),
        "recurrent_dropout": check_rate("recurrent_dropout", recurrent_dropout),
    }


def recurrent_layer(
    cell: str,
    units: int,
    *,
    return_sequences: bool,
    dropout: float = 0.0,
    recurrent_dropout: float = 0.0,
    bidirectional: bool = False,
    return_state: bool = False,
    name: str | None = None,
) -> keras.layers.Layer:
    """Builds one recurrent layer, optionally wrapped in ``Bidirectional``.

    Args:
        cell: One of ``"simple_rnn"``, ``"lstm"``, ``"gru"``.
        units: Units of the layer.
        return_sequences: Whether to return every step's output.
        dropout: Input dropout rate.
        recurrent_dropout: Recurrent-state dropout rate (disables cuDNN when > 0).
        bidirectional: Whether to wrap the layer in ``keras.layers.Bidirectional``.
        return_state: Whether the layer also returns its final state(s).
        name: The layer's name.

    Returns:
        A Keras layer.

    Example:
        >>> layer = recurrent_layer("lstm", 32, return_sequences=True)
    """
    layer = CELLS[cell](
        units,
        return_sequences=return_sequences,
        return_state=return_state,
        dropout=dropout,
        recurrent_dropout=recurrent_dropout,
        name=None if bidirectional else name,
    )
    if bidirectional:
        return keras.layers.Bidirectional(layer, name=name)
    return layer


def recurrent_stack(
    inputs,
    *,
    cell: str,
    units: int,
    num_layers: int = 1,
    bidirectional: bool = False,
    dropout: float = 0.0,
    recurrent_dropout: float = 0.0,
    return_sequences: bool = False,
    prefix: str = "",
):
    """Applies ``num_layers`` stacked recurrent layers to a symbolic tensor.

    Every layer but the last returns sequences so the next one can read them; the
    last returns sequences only if ``return_sequences`` is true. Masks set by an
    ``Embedding(mask_zero=True)`` flow through the stack.

    Args:
        inputs: A Keras tensor ``[batch, time, features]``.
        cell: One of ``"simple_rnn"``, ``"lstm"``, ``"gru"``.
        units: Units per layer.
        num_layers: Number of stacked layers.
        bidirectional: Whether each layer is bidirectional.
        dropout: Input dropout rate of each layer.
        recurrent_dropout: Recurrent-state dropout rate of each layer.
        return_sequences: Whether the last layer returns every step.
        prefix: Put before each layer's name (``"member1_"``), to build several
            stacks in one model.

    Returns:
        The stack's output tensor.

    Example:
        >>> x = keras.Input((10, 1))
        >>> y = recurrent_stack(x, cell="gru", units=8, num_layers=2)
    """
    outputs = inputs
    for index in range(num_layers):
        is_last = index == num_layers - 1
        outputs = recurrent_layer(
            cell,
            units,
            return_sequences=return_sequences or not is_last,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            bidirectional=bidirectional,
            name=f"{prefix}{cell}_{index + 1}",
        )(outputs)
    return outputs


@keras.saving.register_keras_serializable(package="rnn_zoo")
class ObservedFeature(keras.layers.Layer):
    """Picks one input feature as a ``[..., 1]`` tensor: at the last step, or every step.

    A forecaster adds it to its output so the network predicts the change from the
    last observed value (the ``ResidualWrapper`` of TensorFlow's time-series tutorial).

    Args:
        index: The feature's position on the last axis.
        every_step: Return the feature at every step ``[batch, time, 1]`` instead of
            the last step's ``[batch, 1]``.
        **kwargs: ``keras.layers.Layer`` arguments (``name``...).

    Example:
        >>> ObservedFeature(4)(keras.ops.ones((2, 24, 15))).shape
        (2, 1)
    """

    def __init__(self, index: int, every_step: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.index = index
        self.every_step = every_step

    def call(self, inputs):
        """Returns the feature at ``index`` (last step, or every step)."""
        feature = inputs[..., self.index : self.index + 1]
        return feature if self.every_step else feature[:, -1, :]

    def get_config(self):
        """Returns the layer's configuration."""
        return {**super().get_config(), "index": self.index, "every_step": self.every_step}


@keras.saving.register_keras_serializable(package="rnn_zoo")
class PaddingMask(keras.layers.Layer):
    """Passes features through, masked at the steps whose id is padding (0).

    ``keras.layers.Concatenate`` ORs its inputs' masks (an unmasked input counts as
    all true), so features concatenated to a masked embedding lose the padding mask.
    This layer puts it back from the ids themselves, for the recurrent layers after it.

    Args:
        **kwargs: ``keras.layers.Layer`` arguments (``name``...).

    Example:
        >>> features, ids = keras.ops.ones((1, 3, 4)), keras.ops.array([[5, 7, 0]])
        >>> PaddingMask().compute_mask([features, ids])
        <tf.Tensor: shape=(1, 3), dtype=bool, numpy=array([[ True,  True, False]])>
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs):
        """Returns the features (the first input) unchanged."""
        return inputs[0]

    def compute_mask(self, inputs, mask=None):
        """Returns ``ids != 0`` for the ids (the second input)."""
        return keras.ops.not_equal(inputs[1], 0)


@keras.saving.register_keras_serializable(package="rnn_zoo")
class MaskedGlobalPooling1D(keras.layers.Layer):
    """Average or maximum of each feature over the unmasked steps: ``[b, t, f] → [b, f]``.

    ``keras.layers.GlobalMaxPooling1D`` ignores masks, so padded steps would take part
    in the maximum, and ``GlobalAveragePooling1D`` returns NaN for a sequence that is
    all padding (an empty review). Here padded steps never count, and a sequence with
    no unmasked step pools to zeros.

    Args:
        mode: ``"avg"`` or ``"max"``.
        **kwargs: ``keras.layers.Layer`` arguments (``name``...).

    Example:
        >>> steps = keras.ops.convert_to_tensor([[[1.0], [5.0], [9.0]]])
        >>> kept = keras.ops.array([[True, True, False]])
        >>> MaskedGlobalPooling1D("avg")(steps, mask=kept)
        <tf.Tensor: shape=(1, 1), dtype=float32, numpy=array([[3.]], dtype=float32)>
    """

    def __init__(self, mode: str, **kwargs):
        super().__init__(**kwargs)
        self.mode = check_choice("mode", mode, ("avg", "max"))
        self.supports_masking = True

    def call(self, inputs, mask=None):
        """Returns the per-feature average or maximum over the steps ``mask`` keeps."""
        if mask is None:
            mask = keras.ops.ones(keras.ops.shape(inputs)[:2], dtype="bool")
        kept = keras.ops.expand_dims(keras.ops.cast(mask, "bool"), -1)
        if self.mode == "max":
            # The lowest finite value, not -inf: tf2onnx writes a float `where` as
            # mask * a + (1 - mask) * b, and 0 * -inf is NaN in the ONNX export.
            dtype = keras.backend.standardize_dtype(inputs.dtype)
            lowest = keras.ops.full_like(inputs, np.finfo(dtype).min)
            pooled = keras.ops.max(keras.ops.where(kept, inputs, lowest), axis=1)
        else:
            total = keras.ops.sum(keras.ops.where(kept, inputs, 0.0), axis=1)
            count = keras.ops.sum(keras.ops.cast(kept, inputs.dtype), axis=1)
            pooled = total / keras.ops.maximum(count, 1.0)
        return keras.ops.where(keras.ops.any(kept, axis=1), pooled, 0.0)

    def compute_mask(self, inputs, mask=None):
        """Returns None: the pooled features have no time axis left to mask."""
        return None

    def get_config(self):
        """Returns the layer's configuration."""
        return {**super().get_config(), "mode": self.mode}


@keras.saving.register_keras_serializable(package="rnn_zoo")
class TokenDropout(keras.layers.Layer):
    """In training, replaces each real token id by the unknown-token id with a probability.

    Word dropout: the model then sees, in training, words it knows as if they were
    unknown, so the unknown id learns to lean on the other features (a word's spelling)
    as it must for words never seen. Padding (id 0) stays padding; at inference the
    ids pass unchanged.

    Args:
        rate: Probability of replacing a real id, in ``[0, 1)``.
        unknown_id: The id that replaces it. Defaults to 1 (``[UNK]``).
        seed: Seed of the layer's random stream (``None``: drawn from Keras' seed).
        **kwargs: ``keras.layers.Layer`` arguments (``name``...).

    Example:
        >>> ids = keras.ops.array([[5, 7, 0]])
        >>> TokenDropout(0.5)(ids, training=False)
        <tf.Tensor: shape=(1, 3), dtype=int32, numpy=array([[5, 7, 0]], dtype=int32)>
    """

    def __init__(self, rate: float, unknown_id: int = 1, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check_rate("rate", rate)
        self.unknown_id = check_int("unknown_id", unknown_id)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True

    def call(self, ids, training=None):
        """Returns the ids, each real one replaced with probability ``rate`` in training."""
        if not training or self.rate == 0:
            return ids
        draws = keras.random.uniform(keras.ops.shape(ids), seed=self.seed_generator)
        dropped = keras.ops.logical_and(draws < self.rate, keras.ops.not_equal(ids, 0))
        return keras.ops.where(dropped, keras.ops.cast(self.unknown_id, ids.dtype), ids)

    def get_config(self):
        """Returns the layer's configuration."""
        return {
            **super().get_config(),
            "rate": self.rate,
            "unknown_id": self.unknown_id,
            "seed": self.seed,
        }


@keras.saving.register_keras_serializable(package="rnn_zoo")
class HashedBigrams(keras.layers.Layer):
    """Gives each token the id of the bigram it ends, hashed into ``buckets`` ids.

    Position ``t`` gets an id in ``[1, buckets)`` for the pair (token ``t - 1``,
    token ``t``); the first token pairs with a start marker, and padding (id 0) stays
    0, so ``keras.layers.Embedding(buckets, dim, mask_zero=True)`` masks the same
    steps as the tokens' own embedding. Distinct bigrams may share an id (hashing, as
    fastText does); no vocabulary is kept.

    Args:
        buckets: Number of bigram ids, 0 (padding) included; at least 2.
        **kwargs: ``keras.layers.Layer`` arguments (``name``...).

    Example:
        >>> bigrams = HashedBigrams(1000)(keras.ops.array([[5, 7, 5, 7, 0]]))
        >>> int(bigrams[0, 1]) == int(bigrams[0, 3]), int(bigrams[0, 4])
        (True, 0)
    """

    # Odd and large, so that (previous, current) pairs spread over the buckets.
    MULTIPLIER = 1_000_003

    def __init__(self, buckets: int, **kwargs):
        super().__init__(**kwargs)
        self.buckets = check_int("buckets", buckets, minimum=2)

    def call(self, ids):
        """Returns int32 bigram ids ``[batch, time]``, 0 where ``ids`` is 0."""
        current = keras.ops.cast(ids, "int64")
        previous = keras.ops.pad(current[:, :-1], ((0, 0), (1, 0)))
        hashed = (previous * self.MULTIPLIER + current) % (self.buckets - 1) + 1
        return keras.ops.cast(keras.ops.where(current == 0, 0, hashed), "int32")

    def compute_output_shape(self, input_shape):
        """The ids' shape."""
        return input_shape

    def get_config(self):
        """Returns the layer's configuration."""
        return {**super().get_config(), "buckets": self.buckets}


@keras.saving.register_keras_serializable(package="rnn_zoo")
class TokensAsRows(keras.layers.Layer):
    """Folds the time axis into the batch: ``[batch, time, ...] → [batch * time, ...]``.

    So a layer that reads one sequence per row (a recurrent layer over a word's
    characters) reads every word of every sentence; :class:`RowsAsTokens` unfolds it.

    Example:
        >>> TokensAsRows()(keras.ops.ones((2, 3, 16))).shape
        TensorShape([6, 16])
    """

    def call(self, inputs):
        """Returns ``inputs`` with its first two axes merged."""
        return keras.ops.reshape(inputs, (-1, *inputs.shape[2:]))

    def compute_output_shape(self, input_shape):
        """``(None, *input_shape[2:])``."""
        return (None, *input_shape[2:])


@keras.saving.register_keras_serializable(package="rnn_zoo")
class RowsAsTokens(keras.layers.Layer):
    """Unfolds what :class:`TokensAsRows` folded: ``[batch * time, f] → [batch, time, f]``.

    Takes ``[rows, reference]``, the reference being any tensor whose first two axes
    are the wanted ``batch`` and ``time`` (the ids that were folded).

    Example:
        >>> RowsAsTokens()([keras.ops.ones((6, 8)), keras.ops.ones((2, 3, 16))]).shape
        TensorShape([2, 3, 8])
    """

    def call(self, inputs):
        """Returns the rows reshaped to the reference's batch and time."""
        rows, reference = inputs
        shape = keras.ops.shape(reference)
        return keras.ops.reshape(rows, (shape[0], shape[1], rows.shape[-1]))

    def compute_output_shape(self, input_shape):
        """``(batch, time, features)`` of the reference and the rows."""
        rows, reference = input_shape
        return (reference[0], reference[1], rows[-1])

    def compute_mask(self, inputs, mask=None):
        """Returns None: the tokens' mask comes from their ids, downstream."""
        return None
