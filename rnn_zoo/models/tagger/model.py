"""Sequence tagger: word (+ character) features → bidirectional recurrent stack → tag per word."""

from __future__ import annotations

import keras

from rnn_zoo.blocks import metrics  # noqa: F401 - registers rnn_zoo>MaskedAccuracy
from rnn_zoo.blocks.layers import (
    PaddingMask,
    RowsAsTokens,
    TokenDropout,
    TokensAsRows,
    recurrent_layer,
    recurrent_options,
    recurrent_stack,
)
from rnn_zoo.models.tagger.spec import CHAR_ENCODERS
from rnn_zoo.validation import check_bool, check_choice, check_int, check_rate


def _convolved_spelling(
    char_ids, *, vocab_size: int, dim: int, filters: int, widths: tuple[int, ...], length: int
):
    """Spelling features per word: character embeddings → a convolution per width → max."""
    x = keras.layers.Embedding(vocab_size, dim, name="char_embedding")(char_ids)
    pooled = []
    for width in widths:
        y = keras.layers.Conv2D(
            filters, (1, width), padding="same", activation="relu", name=f"char_convolution_{width}"
        )(x)
        pooled.append(keras.layers.MaxPooling2D((1, length), name=f"char_max_pool_{width}")(y))
    x = pooled[0] if len(pooled) == 1 else keras.layers.Concatenate(name="char_widths")(pooled)
    return keras.layers.Reshape((-1, filters * len(widths)), name="word_spelling")(x)


def _check_widths(widths) -> tuple[int, ...]:
    """The convolution widths as a tuple: distinct integers from 1, at least one."""
    expected = "a non-empty tuple or list of distinct integers from 1, e.g. (2, 3, 4, 5)"
    if (
        not isinstance(widths, (tuple, list))
        or not widths
        or not all(isinstance(w, int) and not isinstance(w, bool) for w in widths)
    ):
        raise TypeError(f"char_widths={widths!r} is not accepted; expected {expected}")
    if min(widths) < 1 or len(set(widths)) != len(widths):
        raise ValueError(f"char_widths={widths!r} is out of range; expected {expected}")
    return tuple(widths)


def _recurrent_spelling(
    char_ids, *, vocab_size: int, dim: int, units: int, prefix: str = "char", output="word"
):
    """Spelling features per word: a BiLSTM over its characters, both final states."""
    rows = TokensAsRows(name=f"{prefix}_rows")(char_ids)
    x = keras.layers.Embedding(vocab_size, dim, mask_zero=True, name=f"{prefix}_embedding")(rows)
    x = recurrent_layer(
        "lstm", units, return_sequences=False, bidirectional=True, name=f"{prefix}_bilstm"
    )(x)
    return RowsAsTokens(name=f"{output}_spelling")([x, char_ids])


def _spelling(char_ids, encoder: str, *, vocab_size, dim, units, filters, widths, length):
    """The spelling features of ``encoder``; both encoders' concatenated for the pair."""
    parts = []
    if encoder in ("convolution", "convolution_and_bilstm"):
        parts.append(
            _convolved_spelling(
                char_ids,
                vocab_size=vocab_size,
                dim=dim,
                filters=filters,
                widths=widths,
                length=length,
            )
        )
    if encoder == "bilstm":
        parts.append(_recurrent_spelling(char_ids, vocab_size=vocab_size, dim=dim, units=units))
    elif encoder == "convolution_and_bilstm":
        parts.append(
            _recurrent_spelling(
                char_ids,
                vocab_size=vocab_size,
                dim=dim,
                units=units,
                prefix="char_rnn",
                output="word_rnn",
            )
        )
    if len(parts) == 1:
        return parts[0]
    return keras.layers.Concatenate(name="spelling_features")(parts)


def build_sequence_tagger(
    vocab_size: int = 20000,
    num_tags: int = 18,
    embedding_dim: int = 100,
    units: int = 256,
    cell: str = "lstm",
    num_layers: int = 2,
    bidirectional: bool = True,
    dropout: float = 0.25,
    recurrent_dropout: float = 0.0,
    char_features: bool = True,
    char_vocab_size: int = 128,
    char_embedding_dim: int = 32,
    char_filters: int = 128,
    char_widths: tuple[int, ...] = (2, 3, 4, 5),
    max_word_length: int = 16,
    char_encoder: str = "convolution",
    char_units: int = 64,
    word_dropout: float = 0.1,
    name: str = "sequence_tagger",
) -> keras.Model:
    """Builds a part-of-speech tagger: one tag distribution per input word.

    Embedding of the word ids (``mask_zero=True``: id 0 is padding) — concatenated,
    with ``char_features``, to a character-level encoding of each word's spelling
    (character embeddings, then convolutions of the ``char_widths`` and a max over the
    word, or a BiLSTM over the characters), which tags unknown words by their shape — →
    bidirectional recurrent stack returning every step → softmax over the tags at each
    word. Right-padded, masked input keeps the cuDNN kernel on a GPU. With
    ``word_dropout``, training replaces real word ids by the unknown id 1 at that rate,
    so the unknown-word path learns from every word's spelling.

    Args:
        vocab_size: Word vocabulary size, padding and OOV ids included. Defaults to 20000.
        num_tags: Output classes per word, the padding id 0 included (18 for the 17
            UPOS tags). Defaults to 18.
        embedding_dim: Word embedding width. Defaults to 100.
        units: Units per recurrent layer (per direction). Defaults to 256.
        cell: ``"simple_rnn"``, ``"lstm"`` or ``"gru"``. Defaults to ``"lstm"``.
        num_layers: Stacked recurrent layers. Defaults to 2.
        bidirectional: Bidirectional recurrent layers. Defaults to True.
        dropout: Input dropout of each recurrent layer, in ``[0, 1)``. Defaults to 0.25.
        recurrent_dropout: Recurrent-state dropout, in ``[0, 1)``. Defaults to 0.
        char_features: Add the character-level encoding; the model then takes a
            second input ``char_ids``. Defaults to True.
        char_vocab_size: Character vocabulary size, padding and unknown included.
            Defaults to 128.
        char_embedding_dim: Character embedding width. Defaults to 32.
        char_filters: Filters of each character convolution width. Defaults to 128.
        char_widths: Widths (in characters) of the character convolutions, each of
            ``char_filters`` filters; the spelling feature is ``char_filters *
            len(char_widths)`` wide with ``char_encoder="convolution"``. Defaults to
            (2, 3, 4, 5).
        max_word_length: Characters per word in ``char_ids``. Defaults to 16.
        char_encoder: ``"convolution"``, ``"bilstm"`` (a bidirectional LSTM over
            each word's characters, its final states the spelling feature) or
            ``"convolution_and_bilstm"`` (both, their features concatenated, each with
            its own character embedding). Defaults to ``"convolution"``.
        char_units: Units per direction of the character BiLSTM (the spelling feature
            is twice as wide). Defaults to 64.
        word_dropout: Rate at which training replaces a word id by the unknown id, in
            ``[0, 1)``. Defaults to 0.1.
        name: The model's name. Defaults to ``"sequence_tagger"``.

    Returns:
        An uncompiled ``keras.Model`` mapping ``{"word_ids": [batch, time]}`` (and
        ``"char_ids": [batch, time, max_word_length]``) to tag probabilities
        ``[batch, time, num_tags]``.

    Raises:
        ValueError: If a value is out of range.
        TypeError: If a value has the wrong type.

    Example:
        >>> model = build_sequence_tagger(vocab_size=5000, char_features=False)
        >>> model.output_shape
        (None, None, 18)
    """
    check_int("vocab_size", vocab_size, minimum=2)
    check_int("num_tags", num_tags, minimum=2)
    check_int("embedding_dim", embedding_dim)
    check_bool("char_features", char_features)
    check_int("char_vocab_size", char_vocab_size, minimum=2)
    check_int("char_embedding_dim", char_embedding_dim)
    check_int("char_filters", char_filters)
    char_widths = _check_widths(char_widths)
    check_int("max_word_length", max_word_length)
    check_choice("char_encoder", char_encoder, CHAR_ENCODERS)
    check_int("char_units", char_units)
    check_rate("word_dropout", word_dropout)
    options = recurrent_options(
        cell=cell,
        units=units,
        num_layers=num_layers,
        bidirectional=bidirectional,
        dropout=dropout,
        recurrent_dropout=recurrent_dropout,
        name=name,
    )

    inputs = {"word_ids": keras.Input(shape=(None,), dtype="int32", name="word_ids")}
    word_ids = inputs["word_ids"]
    if word_dropout:
        word_ids = TokenDropout(word_dropout, name="word_dropout")(word_ids)
    x = keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True, name="word_embedding")(
        word_ids
    )
    if char_features:
        inputs["char_ids"] = keras.Input(
            shape=(None, max_word_length), dtype="int32", name="char_ids"
        )
        spelling = _spelling(
            inputs["char_ids"],
            char_encoder,
            vocab_size=char_vocab_size,
            dim=char_embedding_dim,
            units=char_units,
            filters=char_filters,
            widths=char_widths,
            length=max_word_length,
        )
        x = keras.layers.Concatenate(name="word_and_spelling")([x, spelling])
        x = PaddingMask(name="word_features")([x, inputs["word_ids"]])
    x = recurrent_stack(x, **options, return_sequences=True)
    outputs = keras.layers.Dense(
        num_tags, activation="softmax", name="tag_probabilities", dtype="float32"
    )(x)
    return keras.Model(inputs, outputs, name=name)
