"""A ``TextVectorization`` layer from a saved vocabulary, or empty to adapt, checked first."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras

from rnn_zoo.validation import check_int, check_vocabulary


def id_vectorizer(
    vocabulary: Sequence[str] | None, max_tokens: int | None, **layer_options: Any
) -> keras.layers.TextVectorization:
    """Builds an ``output_mode="int"`` vectorizer after checking its vocabulary and size.

    Args:
        vocabulary: Tokens in id order (``""`` and ``"[UNK]"`` first), or ``None`` for a
            layer to adapt.
        max_tokens: Largest vocabulary to learn when adapting, padding and
            out-of-vocabulary ids included; ``None`` for no limit.
        **layer_options: Other ``TextVectorization`` arguments (``standardize``,
            ``split``, ``output_sequence_length``, ``name``...).

    Returns:
        The ``TextVectorization`` layer.

    Raises:
        TypeError: If ``vocabulary`` is not a list or tuple of strings, or
            ``max_tokens`` not an integer.
        ValueError: If ``vocabulary`` is empty or ``max_tokens`` is below 3.

    Example:
        >>> id_vectorizer(["", "[UNK]", "film"], None, standardize=None)(["film"]).numpy()
        array([[2]])
    """
    if max_tokens is not None:
        check_int("max_tokens", max_tokens, minimum=3)
    if vocabulary is not None:
        vocabulary = check_vocabulary("vocabulary", vocabulary)
    return keras.layers.TextVectorization(
        max_tokens=max_tokens, output_mode="int", vocabulary=vocabulary, **layer_options
    )
