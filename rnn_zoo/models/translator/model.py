"""Sequence-to-sequence translator: recurrent encoder → attentive recurrent decoder.

The encoder (Embedding with ``mask_zero`` → ``num_layers`` recurrent layers, optionally
bidirectional) is a nested ``keras.Model`` named ``"encoder"`` that returns every
source position's output and each layer's final state. Decoder layer ``i`` starts from
encoder layer ``i``'s final state (forward and backward states concatenated when the
encoder is bidirectional, so the decoder has ``2 * units`` units then). Training uses
teacher forcing: the decoder reads the reference ``[start] w1 … wn`` and predicts
``w1 … wn [end]``.

With ``attention=True`` each decoder output queries the encoder outputs through
Bahdanau's additive attention (``keras.layers.AdditiveAttention`` with learned query
and key projections, padded source positions masked); the context vector and the
decoder output are combined by a ``tanh`` layer before the vocabulary logits (Luong's
"attentional hidden state"). The attention reads the decoder output at the same step
only, so decoding one token at a time gives exactly the teacher-forced logits
(:mod:`rnn_zoo.models.translator.decoding` relies on it). ``attention=False`` is the plain
encoder–decoder of the same size: the same layers without the attention.
"""

from __future__ import annotations

import keras

from rnn_zoo.blocks import metrics  # noqa: F401 - registers rnn_zoo>MaskedAccuracy
from rnn_zoo.blocks.layers import recurrent_layer, recurrent_options
from rnn_zoo.validation import check_bool, check_int

ENCODER = "encoder"
SOURCE_INPUT = "source_ids"
TARGET_INPUT = "target_in_ids"


def decoder_layer_name(cell: str, index: int) -> str:
    """The name of decoder layer ``index`` (0-based), e.g. ``"decoder_gru_1"``."""
    return f"decoder_{cell}_{index + 1}"


def _encoder_states(outputs, bidirectional: bool, index: int) -> list:
    """A layer's final states, forward and backward concatenated when bidirectional."""
    states = list(outputs[1:])
    if not bidirectional:
        return states
    half = len(states) // 2
    return [
        keras.layers.Concatenate(name=f"encoder_state_{index + 1}_{part + 1}")(
            [states[part], states[half + part]]
        )
        for part in range(half)
    ]


def _build_encoder(
    source_vocab_size: int, embedding_dim: int, options: dict, name: str
) -> keras.Model:
    source = keras.Input(shape=(None,), dtype="int32", name=SOURCE_INPUT)
    x = keras.layers.Embedding(
        source_vocab_size, embedding_dim, mask_zero=True, name="source_embedding"
    )(source)
    states = []
    for index in range(options["num_layers"]):
        outputs = recurrent_layer(
            options["cell"],
            options["units"],
            return_sequences=True,
            return_state=True,
            dropout=options["dropout"],
            recurrent_dropout=options["recurrent_dropout"],
            bidirectional=options["bidirectional"],
            name=f"encoder_{options['cell']}_{index + 1}",
        )(x)
        x = outputs[0]
        states.extend(_encoder_states(outputs, options["bidirectional"], index))
    return keras.Model(source, [x, *states], name=name)


def build_seq2seq(
    source_vocab_size: int = 4000,
    target_vocab_size: int = 5000,
    embedding_dim: int = 128,
    units: int = 128,
    attention: bool = True,
    cell: str = "gru",
    num_layers: int = 1,
    bidirectional: bool = False,
    dropout: float = 0.0,
    recurrent_dropout: float = 0.0,
    name: str = "seq2seq",
) -> keras.Model:
    """Builds an encoder–decoder translator, with additive attention by default.

    Source and decoder-input ids use 0 as padding (``mask_zero``); pad on the right
    (``padding="post"``) so the recurrent layers stay eligible for cuDNN on a GPU.

    Args:
        source_vocab_size: Source vocabulary size, padding and ``[UNK]`` included.
            Defaults to 4000.
        target_vocab_size: Target vocabulary size, padding, ``[UNK]``, start and end
            tokens included. Defaults to 5000.
        embedding_dim: Width of both embeddings. Defaults to 128.
        units: Units per encoder layer (and per decoder layer; twice as many with a
            bidirectional encoder). Defaults to 128.
        attention: Additive attention over the encoder outputs; ``False`` gives the
            plain encoder–decoder. Defaults to True.
        cell: ``"simple_rnn"``, ``"lstm"`` or ``"gru"``. Defaults to ``"gru"``.
        num_layers: Recurrent layers in the encoder, and in the decoder. Defaults to 1.
        bidirectional: Bidirectional encoder layers. Defaults to False.
        dropout: Input dropout of each recurrent layer, in ``[0, 1)``. Defaults to 0.
        recurrent_dropout: Recurrent-state dropout, in ``[0, 1)``. Defaults to 0.
        name: The model's name. Defaults to ``"seq2seq"``.

    Returns:
        An uncompiled ``keras.Model`` mapping ``[source_ids, target_in_ids]`` (int32
        ``[batch, source_time]`` and ``[batch, target_time]``) to next-token logits
        ``[batch, target_time, target_vocab_size]``.

    Raises:
        ValueError: If a value is out of range or not an accepted choice.
        TypeError: If a value has the wrong type.

    Example:
        >>> model = build_seq2seq(source_vocab_size=100, target_vocab_size=120, units=16)
        >>> model.output_shape
        (None, None, 120)
    """
    check_int("source_vocab_size", source_vocab_size, minimum=2)
    check_int("target_vocab_size", target_vocab_size, minimum=4)
    check_int("embedding_dim", embedding_dim)
    check_bool("attention", attention)
    options = recurrent_options(
        cell=cell,
        units=units,
        num_layers=num_layers,
        bidirectional=bidirectional,
        dropout=dropout,
        recurrent_dropout=recurrent_dropout,
        name=name,
    )
    decoder_units = units * (2 if bidirectional else 1)

    source = keras.Input(shape=(None,), dtype="int32", name=SOURCE_INPUT)
    target_in = keras.Input(shape=(None,), dtype="int32", name=TARGET_INPUT)
    encoder_outputs, *encoder_states = _build_encoder(
        source_vocab_size, embedding_dim, options, ENCODER
    )(source)
    per_layer = len(encoder_states) // num_layers

    x = keras.layers.Embedding(
        target_vocab_size, embedding_dim, mask_zero=True, name="target_embedding"
    )(target_in)
    for index in range(num_layers):
        x = recurrent_layer(
            cell,
            decoder_units,
            return_sequences=True,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            name=decoder_layer_name(cell, index),
        )(x, initial_state=encoder_states[index * per_layer : (index + 1) * per_layer])
    if attention:
        query = keras.layers.Dense(decoder_units, use_bias=False, name="attention_query")(x)
        keys = keras.layers.Dense(decoder_units, use_bias=False, name="attention_key")(
            encoder_outputs
        )
        source_mask = keras.ops.not_equal(source, 0)
        context = keras.layers.AdditiveAttention(name="attention")(
            [query, encoder_outputs, keys], mask=[None, source_mask]
        )
        x = keras.layers.Concatenate(name="attention_concat")([x, context])
    x = keras.layers.Dense(decoder_units, activation="tanh", name="combine")(x)
    logits = keras.layers.Dense(target_vocab_size, name="logits", dtype="float32")(x)
    return keras.Model([source, target_in], logits, name=name)
