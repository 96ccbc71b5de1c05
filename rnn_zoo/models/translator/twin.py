"""The translator in plain Keras layers, nothing from rnn_zoo: the speed benchmark's twin.

``benchmarks/training_speed.py`` trains it beside the registered model, with the
same parameter count (checked), to measure what rnn_zoo's own layers gain.
"""

from __future__ import annotations

import keras


def build_plain_seq2seq(model_kwargs):
    """GRU(128) encoder, GRU(128) decoder from its state, additive attention, as the default.

    Args:
        model_kwargs: The loader's ``model_kwargs`` (vocabulary sizes, shapes).

    Returns:
        An uncompiled ``keras.Model`` with the registered model's parameter count.
    """
    source = keras.Input((None,), dtype="int32")
    target_in = keras.Input((None,), dtype="int32")
    source_vocab = model_kwargs["source_vocab_size"]
    target_vocab = model_kwargs["target_vocab_size"]
    embedded = keras.layers.Embedding(source_vocab, 128, mask_zero=True)(source)
    encoded, state = keras.layers.GRU(128, return_sequences=True, return_state=True)(embedded)
    x = keras.layers.Embedding(target_vocab, 128, mask_zero=True)(target_in)
    x = keras.layers.GRU(128, return_sequences=True)(x, initial_state=state)
    query = keras.layers.Dense(128, use_bias=False)(x)
    keys = keras.layers.Dense(128, use_bias=False)(encoded)
    context = keras.layers.AdditiveAttention()(
        [query, encoded, keys], mask=[None, keras.ops.not_equal(source, 0)]
    )
    x = keras.layers.Dense(128, activation="tanh")(keras.layers.Concatenate()([x, context]))
    return keras.Model([source, target_in], keras.layers.Dense(target_vocab)(x))
