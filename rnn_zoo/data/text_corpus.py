"""A character corpus for the text generator, as in TensorFlow's text-generation tutorial.

The text is split by position into three consecutive parts: with
``validation_split=v`` and ``test_split=t`` the first ``1 - v - t`` of the characters
train, the next ``v`` validate and the last ``t`` test (80 % / 10 % / 10 % by default;
``t`` defaults to ``v``), so no text is shared between splits and neither training nor
checkpoint selection sees the test text. The test text is the last ``t`` of the
corpus whatever ``v`` is: the last 10 % of tiny Shakespeare is the text nanoGPT
validates its character model on. Each part is cut into non-overlapping chunks of ``seq_length + 1``
characters; a chunk gives the input (its first ``seq_length`` ids) and the target (its
last ``seq_length`` ids), the input shifted by one character.

The vocabulary is the sorted set of the corpus's characters, mapped to ids by a
``keras.layers.StringLookup`` without an out-of-vocabulary id, so ids run from 0 to
``len(vocabulary) - 1`` (65 characters for tiny Shakespeare).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from rnn_zoo.data.bundle import DataBundle
from rnn_zoo.data.full_context import full_context_report
from rnn_zoo.data.sources import RemoteFile, resolve_file
from rnn_zoo.data.windows import (
    SPLITS,
    check_data_fraction,
    check_split_counts,
    finish_pipeline,
    leading_count,
    split_bounds,
    split_sizes,
)
from rnn_zoo.validation import check_float, check_int

TINY_SHAKESPEARE = RemoteFile(
    filename="tinyshakespeare.txt",
    url="https://storage.googleapis.com/download.tensorflow.org/data/shakespeare.txt",
    sha256="86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
)


def char_lookups(
    vocabulary: Sequence[str],
) -> tuple[keras.layers.StringLookup, keras.layers.StringLookup]:
    """Rebuilds the character ↔ id lookups from a saved vocabulary.

    Ids are positions in ``vocabulary``; there is no out-of-vocabulary id, so looking up
    a character outside the vocabulary fails.

    Args:
        vocabulary: Distinct characters in id order, e.g. ``metadata["vocabulary"]``.

    Returns:
        ``(ids_from_chars, chars_from_ids)``: a ``StringLookup`` from characters to
        int64 ids, and its inverse.

    Raises:
        TypeError: If ``vocabulary`` is not a list or tuple of strings.
        ValueError: If it is empty or repeats a character.

    Example:
        >>> ids_from_chars, chars_from_ids = char_lookups([" ", "a", "b"])
        >>> ids_from_chars(tf.strings.unicode_split("ab", "UTF-8")).numpy().tolist()
        [1, 2]
    """
    if not isinstance(vocabulary, (list, tuple)) or not all(
        isinstance(char, str) for char in vocabulary
    ):
        raise TypeError(
            f"vocabulary={vocabulary!r} is not accepted; expected a list of distinct characters"
        )
    if not vocabulary or len(set(vocabulary)) != len(vocabulary):
        raise ValueError(
            f"vocabulary={vocabulary!r} is empty or repeats a character; "
            "expected a non-empty list of distinct characters"
        )
    ids_from_chars = keras.layers.StringLookup(
        vocabulary=list(vocabulary), num_oov_indices=0, name="ids_from_chars"
    )
    chars_from_ids = keras.layers.StringLookup(
        vocabulary=list(vocabulary), num_oov_indices=0, invert=True, name="chars_from_ids"
    )
    return ids_from_chars, chars_from_ids


def _read_text(file: os.PathLike) -> str:
    try:
        return Path(file).read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{os.fspath(file)} is not valid UTF-8 text (byte {error.start}: {error.reason}); "
            "expected a UTF-8 text file"
        ) from None


def _check_corpus(
    text: str, file: os.PathLike, bounds: list[tuple[int, int]], seq_length: int
) -> None:
    name = os.fspath(file)
    if not text:
        raise ValueError(f"{name} is empty; a text corpus needs at least 2 distinct characters")
    if len(set(text)) < 2:
        raise ValueError(
            f"{name} holds {len(text)} characters, {len(set(text))} distinct; "
            "a text corpus needs at least 2 distinct characters"
        )
    sizes = split_sizes(bounds)
    if min(sizes.values()) < seq_length + 1:
        listed = ", ".join(f"{split} {size}" for split, size in sizes.items())
        raise ValueError(
            f"{name} is too short: its {len(text)} characters split into {listed}; each "
            f"split needs at least seq_length + 1 = {seq_length + 1} characters "
            "(use a longer text, a smaller seq_length or a larger validation_split)"
        )


def _check_share(name: str, share: float) -> float:
    return check_float(
        name, share, minimum=0.0, maximum=0.5, include_minimum=False, include_maximum=False
    )


def _sequences(ids: np.ndarray, seq_length: int, fraction: float) -> tf.data.Dataset:
    count = leading_count(len(ids) // (seq_length + 1), fraction)
    chunks = ids[: count * (seq_length + 1)].reshape(count, seq_length + 1)
    return tf.data.Dataset.from_tensor_slices((chunks[:, :-1], chunks[:, 1:]))


def load_text_corpus(
    path: str | os.PathLike | None = None,
    *,
    seq_length: int = 100,
    batch_size: int = 64,
    validation_split: float = 0.1,
    test_split: float | None = None,
    seed: int = 0,
    fraction: float = 1.0,
) -> DataBundle:
    """Loads a character corpus as next-character prediction examples.

    See the module docstring for the split and the vocabulary. Elements are
    ``(input_ids, target_ids)``, both int32 of shape ``[batch, seq_length]``; the
    train split is shuffled (seeded, reshuffled each epoch) and drops its last partial
    batch, validation and test are in text order and keep it.

    Args:
        path: A UTF-8 text file (used as it is), or a directory holding
            ``tinyshakespeare.txt``. Defaults to tiny Shakespeare, found or downloaded
            by :func:`rnn_zoo.data.sources.resolve_file`.
        seq_length: Characters per input sequence. Defaults to 100.
        batch_size: Sequences per batch. Defaults to 64.
        validation_split: Share of the text for validation, taken just before the
            test text, in ``(0, 0.5)``. Defaults to 0.1 (80 % / 10 % / 10 %).
        test_split: Share of the text for test, at its end, in ``(0, 0.5)``.
            Defaults to ``validation_split``.
        seed: Seed of the train shuffle. Defaults to 0.
        fraction: Share of each split's sequences to keep (the leading ones), in
            ``(0, 1]``, for quick runs. Defaults to 1.0.

    Returns:
        A :class:`DataBundle` named ``"text_corpus"``: ``model_kwargs`` holds
        ``vocab_size``; ``metadata`` holds ``vocabulary`` (characters in id order),
        ``seq_length``, ``validation_split``, ``num_characters`` and the characters
        and sequences of each split; ``preprocessor`` is the characters → ids lookup.
        Rebuild both lookups with :func:`char_lookups`. ``test_report`` adds the
        loss on the whole test text, every character given the text before it
        (:func:`rnn_zoo.data.full_context.full_context_loss`, nanoGPT's measure).

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument is out of range (before the file is read), if the
            file is not UTF-8, holds fewer than 2 distinct characters or is too short
            for one sequence in each split, if a split holds fewer sequences than
            :data:`rnn_zoo.data.windows.MIN_EXAMPLES` asks, or if the train split holds
            fewer sequences than ``batch_size``.
        rnn_zoo.data.sources.DataNotFoundError: If no corpus is found or downloaded.

    Example:
        >>> bundle = load_text_corpus("../shared/data", seq_length=100)  # doctest: +SKIP
        >>> bundle.model_kwargs  # doctest: +SKIP
        {'vocab_size': 65}
    """
    check_int("seq_length", seq_length)
    check_int("batch_size", batch_size)
    validation_split = _check_share("validation_split", validation_split)
    test_split = validation_split if test_split is None else _check_share("test_split", test_split)
    check_int("seed", seed, minimum=0)
    fraction = check_data_fraction(fraction)

    file = resolve_file(TINY_SHAKESPEARE, path)
    text = _read_text(file)
    shares = (1.0 - validation_split - test_split, validation_split, test_split)
    bounds = split_bounds(len(text), shares)
    _check_corpus(text, file, bounds, seq_length)

    vocabulary = sorted(set(text))
    ids_from_chars, _ = char_lookups(vocabulary)
    ids = ids_from_chars(tf.strings.unicode_split(text, "UTF-8")).numpy().astype("int32")
    examples = {
        split: _sequences(ids[start:stop], seq_length, fraction)
        for split, (start, stop) in zip(SPLITS, bounds, strict=True)
    }
    counts = {split: int(dataset.cardinality()) for split, dataset in examples.items()}
    check_split_counts(
        counts,
        source=f"{os.fspath(file)} (seq_length={seq_length})",
        unit="sequences",
        fraction=fraction,
        advice="use a longer text, a smaller seq_length or a larger fraction",
    )
    if counts["train"] < batch_size:
        raise ValueError(
            f"batch_size={batch_size} is larger than the {counts['train']} train sequences "
            f"of {os.fspath(file)} (seq_length={seq_length}, fraction={fraction}); expected "
            "a batch_size of at most that many, or a larger fraction"
        )
    train = finish_pipeline(
        examples["train"],
        batch_size=batch_size,
        shuffle_buffer=counts["train"],
        seed=seed,
        drop_remainder=True,
    )
    held_out = {
        split: finish_pipeline(examples[split], batch_size=batch_size)
        for split in ("validation", "test")
    }
    metadata = {
        "vocabulary": vocabulary,
        "seq_length": seq_length,
        "validation_split": validation_split,
        "test_split": test_split,
        "num_characters": len(text),
        "characters": split_sizes(bounds),
        "sequences": counts,
    }
    return DataBundle(
        name="text_corpus",
        train=train,
        validation=held_out["validation"],
        test=held_out["test"],
        model_kwargs={"vocab_size": len(vocabulary)},
        metadata=metadata,
        preprocessor=ids_from_chars,
        test_report=full_context_report(_leading_ids(ids, bounds[-1], fraction)),
    )


def _leading_ids(ids: np.ndarray, bounds: tuple[int, int], fraction: float) -> np.ndarray:
    split = ids[bounds[0] : bounds[1]]
    return split[: leading_count(len(split), fraction)]
