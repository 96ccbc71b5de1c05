"""The translation corpus's text processing as TensorFlow string ops, and its vectorizers.

The same in training, in :mod:`rnn_zoo.models.translator.decoding` and in exported
models (:class:`TextNormalizer`): Unicode NFKD decomposition (accents become combining
marks, compatibility characters such as ``ﬁ`` or a no-break space their plain forms),
lower case, every punctuation mark and symbol (Unicode categories P and S) set apart by
spaces, runs of spaces collapsed. Sentences are then sequences of space-separated
tokens, which :func:`build_translation_vectorizer` maps to ids.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Sequence

import keras
import tensorflow as tf

from rnn_zoo.data.vectorizers import id_vectorizer

_PUNCTUATION = r"([\pP\pS])"
_SPACES = r"[\s\pZ]+"
_ASCII = r"[\x00-\x7f]*"
NORMALIZATION = (
    "Unicode NFKD, lower case, punctuation and symbols set apart by spaces, "
    "spaces collapsed; tokens split on spaces"
)


@functools.cache
def _nfkd_table() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Every code point whose NFKD form differs from itself, and that form."""
    keys, values = [], []
    for code in range(0x110000):
        if 0xD800 <= code < 0xE000:  # surrogates are not characters
            continue
        char = chr(code)
        decomposed = unicodedata.normalize("NFKD", char)
        if decomposed != char:
            keys.append(char)
            values.append(decomposed)
    return tuple(keys), tuple(values)


class TextNormalizer(tf.Module):
    """The corpus normalization as TensorFlow string ops, for data, decoding and serving.

    NFKD is applied one character at a time through a table of the code points whose
    decomposition differs from themselves (16,967 with Python 3.11's Unicode 14 data;
    built from ``unicodedata`` once per process, then part of any exported graph); the
    canonical reordering of several combining marks on one letter is not done.
    Then lower case, every punctuation mark and symbol set apart by spaces, and
    runs of spaces collapsed. Invalid UTF-8 is replaced by U+FFFD.

    Example:
        >>> TextNormalizer()(tf.constant(["Ça va, Zoë?"])).numpy()[0].decode()
        'c\u0327a va , zoe\u0308 ?'
    """

    def __init__(self):
        super().__init__(name="text_normalizer")
        keys, values = _nfkd_table()
        self.table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(tf.constant(keys), tf.constant(values)),
            default_value="",  # no character decomposes to nothing
        )

    def _decompose_chars(self, chars):
        decomposed = self.table.lookup(chars)
        return tf.where(tf.equal(decomposed, ""), chars, decomposed)

    # A plain method, not a tf.function: TensorFlow binds a tf.function method to its
    # instance through a weak reference, and a notebook kernel once traced it with that
    # reference's holder in place of the normalizer (AttributeError: 'TfMethodTarget'
    # object has no attribute '_decompose_chars'; tensorflow/tensorflow#50807). Inside
    # a graph (a dataset map, a serving signature) its ops are traced inline.
    def _decompose(self, strings):
        chars = tf.strings.unicode_split(strings, "UTF-8")
        decomposed = tf.ragged.map_flat_values(self._decompose_chars, chars)
        return tf.strings.reduce_join(decomposed, axis=-1)

    def __call__(self, texts):
        """Normalizes strings of any shape.

        Args:
            texts: A ``tf.string`` tensor.

        Returns:
            The normalized strings, same shape.
        """
        texts = tf.convert_to_tensor(texts, tf.string)
        flat = tf.reshape(texts, [-1])
        # Only strings with a non-ASCII character can change under NFKD.
        changing = tf.where(~tf.strings.regex_full_match(flat, _ASCII))
        decomposed = self._decompose(tf.gather_nd(flat, changing))
        flat = tf.tensor_scatter_nd_update(flat, changing, decomposed)
        flat = tf.strings.lower(flat, encoding="utf-8")
        flat = tf.strings.regex_replace(flat, _PUNCTUATION, r" \1 ")
        flat = tf.strings.strip(tf.strings.regex_replace(flat, _SPACES, " "))
        return tf.reshape(flat, tf.shape(texts))


def build_translation_vectorizer(
    vocabulary: Sequence[str] | None = None, *, max_tokens: int | None = None
) -> keras.layers.TextVectorization:
    """Builds a vectorizer for normalized sentences, from a vocabulary or empty to adapt.

    Args:
        vocabulary: Tokens in id order as saved in ``metadata["source_vocabulary"]``
            or ``metadata["target_vocabulary"]`` (``""`` and ``"[UNK]"`` first), or
            ``None`` for a layer to adapt.
        max_tokens: Largest vocabulary to learn when adapting, padding and
            out-of-vocabulary ids included; ``None`` for no limit.

    Returns:
        A ``TextVectorization`` splitting on spaces (no standardization: apply
        :class:`TextNormalizer` first) and padding on the right with 0 to the
        longest sentence of the batch.

    Raises:
        TypeError: If ``vocabulary`` is not a list or tuple of strings.
        ValueError: If ``vocabulary`` is empty or ``max_tokens`` is below 3.

    Example:
        >>> vectorizer = build_translation_vectorizer(metadata["source_vocabulary"])
        ... # doctest: +SKIP
    """
    return id_vectorizer(vocabulary, max_tokens, standardize=None, split="whitespace")
