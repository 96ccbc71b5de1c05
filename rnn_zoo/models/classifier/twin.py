"""The review classifier in plain Keras layers, nothing from rnn_zoo: the speed benchmark's twin.

``benchmarks/training_speed.py`` trains it beside the registered model, with the
same parameter count (checked), to measure what rnn_zoo's own layers gain.
"""

from __future__ import annotations

import keras


class MaskedMax(keras.layers.Layer):
    """The maximum over the steps a mask keeps (``GlobalMaxPooling1D`` ignores masks)."""

    supports_masking = True

    def compute_mask(self, inputs, mask=None):
        """Returns None: the pooled features have no time axis to mask."""
        return None

    def call(self, inputs, mask=None):
        """Returns the maximum of ``inputs`` ``[batch, time, features]`` over kept steps."""
        kept = keras.ops.expand_dims(mask, -1)
        return keras.ops.max(keras.ops.where(kept, inputs, float("-inf")), axis=1)


def build_plain_gru_classifier(model_kwargs):
    """Bidirectional GRU(64) over every step, average and max pooled, as the default.

    Args:
        model_kwargs: The loader's ``model_kwargs`` (vocabulary sizes, shapes).

    Returns:
        An uncompiled ``keras.Model`` with the registered model's parameter count.
    """
    ids = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(model_kwargs["vocab_size"], 128, mask_zero=True)(ids)
    x = keras.layers.Bidirectional(keras.layers.GRU(64, dropout=0.5, return_sequences=True))(x)
    pooled = keras.layers.Concatenate()([keras.layers.GlobalAveragePooling1D()(x), MaskedMax()(x)])
    probability = keras.layers.Dense(1, activation="sigmoid")(keras.layers.Dropout(0.5)(pooled))
    return keras.Model(ids, probability)
