"""Character-level language model: Embedding → recurrent stack → Dense logits."""

from __future__ import annotations

import keras

from rnn_zoo.blocks.layers import recurrent_options, recurrent_stack
from rnn_zoo.validation import check_int, check_rate


def build_text_generator(
    vocab_size: int = 65,
    embedding_dim: int = 256,
    units: int = 1024,
    cell: str = "lstm",
    num_layers: int = 1,
    bidirectional: bool = False,
    dropout: float = 0.0,
    recurrent_dropout: float = 0.0,
    output_dropout: float = 0.0,
    name: str = "text_generator",
) -> keras.Model:
    """Builds the character model of TensorFlow's text-generation tutorial.

    Embedding → recurrent layer(s) returning sequences → Dense logits over the
    vocabulary at every step. At the defaults (65 characters, 256-dim embedding,
    LSTM(1024)) it has 5,330,241 parameters. A bidirectional generator would see
    the characters it must predict, so ``bidirectional=True`` is refused.

    Args:
        vocab_size: Size of the character vocabulary. Defaults to 65 (tiny Shakespeare).
        embedding_dim: Embedding width. Defaults to 256.
        units: Units per recurrent layer. Defaults to 1024.
        cell: ``"simple_rnn"``, ``"lstm"`` or ``"gru"``. Defaults to ``"lstm"``.
        num_layers: Stacked recurrent layers. Defaults to 1.
        bidirectional: Must be False for a generator. Defaults to False.
        dropout: Input dropout of each recurrent layer, in ``[0, 1)``. Defaults to 0.
        recurrent_dropout: Recurrent-state dropout, in ``[0, 1)``. Defaults to 0.
        output_dropout: Dropout on the last recurrent layer's outputs, before the
            logits, in ``[0, 1)``. Defaults to 0 (no layer added).
        name: The model's name. Defaults to ``"text_generator"``.

    Returns:
        An uncompiled ``keras.Model`` mapping ids ``[batch, time]`` to logits
        ``[batch, time, vocab_size]``.

    Raises:
        ValueError: If a value is out of range or ``bidirectional`` is True.
        TypeError: If a value has the wrong type.

    Example:
        >>> build_text_generator().count_params()
        5330241
    """
    check_int("vocab_size", vocab_size)
    check_int("embedding_dim", embedding_dim)
    check_rate("output_dropout", output_dropout)
    options = recurrent_options(
        cell=cell,
        units=units,
        num_layers=num_layers,
        bidirectional=bidirectional,
        dropout=dropout,
        recurrent_dropout=recurrent_dropout,
        name=name,
    )
    if bidirectional:
        raise ValueError(
            "bidirectional=True is not accepted for a text generator (it would read the "
            "characters it predicts); accepted: False"
        )

    inputs = keras.Input(shape=(None,), dtype="int32", name="char_ids")
    x = keras.layers.Embedding(vocab_size, embedding_dim, name="embedding")(inputs)
    x = recurrent_stack(
        x,
        **options,
        return_sequences=True,
    )
    if output_dropout:
        x = keras.layers.Dropout(output_dropout, name="output_dropout")(x)
    logits = keras.layers.Dense(vocab_size, name="logits", dtype="float32")(x)
    return keras.Model(inputs, logits, name=name)
