"""Universal Dependencies English EWT for part-of-speech tagging (one UPOS tag per word).

The treebank (UD English Web Treebank r2.16, CC BY-SA 4.0) comes as three CoNLL-U
files, the official ``train`` / ``dev`` / ``test`` split: one word a line with ten
tab-separated fields (the word form is field 2, its universal part-of-speech tag field
4), sentences separated by blank lines, ``#`` comment lines. Multiword-token ranges
(ids such as ``1-2``, "don't" above "do" and "n't") and empty nodes (ids such as
``8.1``) are skipped, so a sentence is the sequence of its syntactic words, as the
treebank's statistics count them (train 12,544 sentences / 204,577 words, dev 2,001 /
25,147, test 2,077 / 25,094).

The files are found by :func:`rnn_zoo.data.sources.resolve_file`, in a directory
itself or in its ``ud_english_ewt/`` folder, and downloaded from the treebank's
repository when no local copy exists.

Words and tags become ids through vocabularies built on the train split only:

- words are looked up lower-cased; a word seen fewer than ``min_word_count`` times in
  train maps to the out-of-vocabulary id 1, so that id is trained and stands for any
  word never seen (id 0 is padding);
- with character features, each word is also spelled as up to ``max_word_length``
  character ids (case kept; 0 pads, 1 is an unknown character), so the model can tag
  unknown words by their shape;
- with ``rare_word_dropout`` (α), the train pipeline also replaces each word id by the
  out-of-vocabulary id with probability α / (α + count), the word's train count
  (Kiperwasser & Goldberg 2016), drawn afresh each epoch: rare words, which are most
  like the words never seen, train the out-of-vocabulary path most;
- tags map to ids 1–17 in :data:`UPOS_TAGS` order; 0 marks padding and is never a
  target.

Sentences are right-padded (``padding="post"``, so masked recurrent layers keep the
cuDNN kernel on a GPU) and batched by length (``bucket_by_sequence_length``), so a
batch of short sentences is not padded to the longest sentence of the corpus.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from rnn_zoo.data.bundle import DataBundle
from rnn_zoo.data.conllu import FORM, UPOS, ConlluDocument, parse_conllu
from rnn_zoo.data.sources import RemoteFile, resolve_file
from rnn_zoo.data.windows import (
    SPLITS,
    batch_by_length,
    check_data_fraction,
    check_split_counts,
    leading_count,
)
from rnn_zoo.validation import check_bool, check_float, check_int

_URL = "https://raw.githubusercontent.com/UniversalDependencies/UD_English-EWT/r2.16/"
_FOLDER = "ud_english_ewt"
TREEBANK_FILES = {
    "train": RemoteFile(
        filename="en_ewt-ud-train.conllu",
        url=_URL + "en_ewt-ud-train.conllu",
        sha256="3fb78e2b55482c8ee00caa653af436c88c9e5bc9a73ce26e4ae3ddc79d2b7e7b",
        folder=_FOLDER,
    ),
    "validation": RemoteFile(
        filename="en_ewt-ud-dev.conllu",
        url=_URL + "en_ewt-ud-dev.conllu",
        sha256="531a54ff90d6ab12201c5a50c3e78e6ddac4de69abc4bce5d275d3cd29efe2b6",
        folder=_FOLDER,
    ),
    "test": RemoteFile(
        filename="en_ewt-ud-test.conllu",
        url=_URL + "en_ewt-ud-test.conllu",
        sha256="e266e515a0a7547657ed3d90d9ba46487d6bd251f27ad4269d4e8a427c8555cd",
        folder=_FOLDER,
    ),
}
UPOS_TAGS = (
    "ADJ",
    "ADP",
    "ADV",
    "AUX",
    "CCONJ",
    "DET",
    "INTJ",
    "NOUN",
    "NUM",
    "PART",
    "PRON",
    "PROPN",
    "PUNCT",
    "SCONJ",
    "SYM",
    "VERB",
    "X",
)
PADDING = ""
OOV_TOKEN = "[UNK]"
LENGTH_BUCKETS = (8, 16, 24, 32, 48, 64)


@dataclasses.dataclass(frozen=True)
class Sentence:
    """One treebank sentence: its words and their UPOS tags, as many of each."""

    words: tuple[str, ...]
    tags: tuple[str, ...]


def _check_tags(document: ConlluDocument, tags: list[list[str]]) -> None:
    """Refuses a word whose UPOS is not one of the 17, naming its file and line."""
    for words, sentence_tags in zip(document.sentences, tags, strict=True):
        for line, tag in zip(words, sentence_tags, strict=True):
            if tag not in UPOS_TAGS:
                raise ValueError(
                    f"{document.source}, line {line + 1}: UPOS tag {tag!r} is not one of the "
                    f"17 universal tags ({', '.join(UPOS_TAGS)})"
                )


def read_conllu(path: str | os.PathLike) -> list[Sentence]:
    """Reads the words and UPOS tags of a CoNLL-U file.

    Args:
        path: The ``.conllu`` file.

    Returns:
        The sentences in file order; multiword-token ranges and empty nodes skipped.

    Raises:
        ValueError: If the file is not UTF-8, holds a line that is not ten
            tab-separated fields (a file cut in the middle of a line, say), a token ID
            that is not a number, range or empty node, or an unknown tag, or holds no
            sentence; the message names the file and line.

    Example:
        >>> sentences = read_conllu("../shared/data/ud_english_ewt/en_ewt-ud-dev.conllu")
        ... # doctest: +SKIP
        >>> len(sentences), sentences[0].tags[:3]  # doctest: +SKIP
        (2001, ('PROPN', 'PUNCT', 'PROPN'))
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"{path} is not UTF-8 text ({error}); expected a CoNLL-U file") from error
    document = parse_conllu(text, str(path))
    forms, tags = document.column(FORM), document.column(UPOS)
    _check_tags(document, tags)
    return [Sentence(tuple(f), tuple(t)) for f, t in zip(forms, tags, strict=True) if f]


def word_vocabulary(sentences: Sequence[Sentence], *, max_words: int, min_count: int) -> list[str]:
    """Builds the lower-cased word vocabulary of a split, most frequent first.

    Args:
        sentences: The train sentences.
        max_words: Largest vocabulary, padding and out-of-vocabulary ids included.
        min_count: Fewest occurrences a word needs to get its own id.

    Returns:
        ``["", "[UNK]", *words]`` in id order (ties broken alphabetically).

    Example:
        >>> word_vocabulary([Sentence(("The", "the", "cat"), ("DET", "DET", "NOUN"))],
        ...                 max_words=10, min_count=2)
        ['', '[UNK]', 'the']
    """
    counts = collections.Counter(word.lower() for sentence in sentences for word in sentence.words)
    ranked = sorted(
        (word for word, count in counts.items() if count >= min_count),
        key=lambda word: (-counts[word], word),
    )
    return [PADDING, OOV_TOKEN, *ranked[: max_words - 2]]


def char_vocabulary(sentences: Sequence[Sentence]) -> list[str]:
    """Lists the characters of a split's words, sorted, after padding and unknown.

    Args:
        sentences: The train sentences.

    Returns:
        ``["", "[UNK]", *characters]`` in id order.

    Example:
        >>> char_vocabulary([Sentence(("Hi",), ("INTJ",))])
        ['', '[UNK]', 'H', 'i']
    """
    characters = {char for sentence in sentences for word in sentence.words for char in word}
    return [PADDING, OOV_TOKEN, *sorted(characters)]


class TokenEncoder(tf.Module):
    """Maps words to the tagger's inputs, in a pipeline and in an exported graph alike.

    A ``tf.Module``, so a SavedModel that holds it tracks its lookup tables.

    Args:
        metadata: The loader's metadata: ``word_vocabulary``, ``char_vocabulary``
            (may be empty: no character features) and ``max_word_length``.

    Example:
        >>> encoder = TokenEncoder(bundle.metadata)  # doctest: +SKIP
        >>> encoder(tf.constant([["The", "cat", ""]]))["word_ids"].shape  # doctest: +SKIP
        TensorShape([1, 3])
    """

    def __init__(self, metadata: dict[str, Any]):
        super().__init__(name="token_encoder")
        self.words = _lookup(metadata["word_vocabulary"])
        chars = metadata.get("char_vocabulary") or []
        self.chars = _lookup(chars) if chars else None
        self.max_word_length = metadata["max_word_length"]

    def __call__(self, words: tf.Tensor) -> dict[str, tf.Tensor]:
        """Encodes words (any shape; ``""`` is padding) as ``word_ids`` and ``char_ids``.

        Args:
            words: A string tensor of words.

        Returns:
            ``{"word_ids": int32 words.shape}``, plus ``"char_ids"`` int32
            ``[*words.shape, max_word_length]`` when the metadata has characters.

        Example:
            >>> encoder(tf.constant(["Hello"]))["char_ids"].shape  # doctest: +SKIP
            TensorShape([1, 16])
        """
        encoded = {"word_ids": tf.cast(self.words(tf.strings.lower(words)), tf.int32)}
        if self.chars is not None:
            spelled = tf.strings.unicode_split(words, "UTF-8")
            shape = tf.concat([tf.shape(words, tf.int64), [self.max_word_length]], axis=0)
            encoded["char_ids"] = tf.cast(self.chars(spelled).to_tensor(0, shape=shape), tf.int32)
        return encoded


def _lookup(vocabulary: Sequence[str]) -> keras.layers.StringLookup:
    return keras.layers.StringLookup(
        vocabulary=list(vocabulary[2:]), mask_token=PADDING, oov_token=OOV_TOKEN
    )


def tag_names() -> list[str]:
    """Returns the tag of each output id: padding ``""`` (id 0), then the 17 UPOS tags.

    Returns:
        18 strings in id order.

    Example:
        >>> tag_names()[:3]
        ['', 'ADJ', 'ADP']
    """
    return [PADDING, *UPOS_TAGS]


def rare_word_drop_rates(vocabulary: Sequence[str], counts: dict[str, int], alpha: float):
    """Each word id's probability of becoming the out-of-vocabulary id in training.

    Args:
        vocabulary: The word vocabulary in id order (padding and out-of-vocabulary first).
        counts: Train occurrences of each lower-cased word.
        alpha: α of α / (α + count); 0 drops nothing.

    Returns:
        A float32 array, one rate per id; padding and the out-of-vocabulary id get 0.

    Example:
        >>> rare_word_drop_rates(["", "[UNK]", "the"], {"the": 3}, 1.0).tolist()
        [0.0, 0.0, 0.25]
    """
    rates = [alpha / (alpha + counts[word]) for word in vocabulary[2:]]
    return np.array([0.0, 0.0, *rates], np.float32)


def drop_rare_words(dataset: tf.data.Dataset, rates: np.ndarray, seed: int) -> tf.data.Dataset:
    """Replaces word ids by the out-of-vocabulary id at their rates, new draws each epoch.

    Args:
        dataset: ``(inputs, tags)`` elements whose ``inputs["word_ids"]`` are word ids.
        rates: Each id's probability of being replaced (see :func:`rare_word_drop_rates`).
        seed: Seed of the draws; each pass over the dataset draws afresh.

    Returns:
        The dataset with the replaced ids, other inputs and the tags unchanged.

    Example:
        >>> drop_rare_words(train, rare_word_drop_rates(vocabulary, counts, 0.25), seed=0)
        ... # doctest: +SKIP
    """
    table = tf.constant(rates)
    draws = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)

    def drop(example, key):
        inputs, tags = example
        ids = inputs["word_ids"]
        uniform = tf.random.stateless_uniform(tf.shape(ids), seed=tf.stack([key, 0]))
        dropped = tf.where(uniform < tf.gather(table, ids), 1, ids)
        return {**inputs, "word_ids": dropped}, tags

    return tf.data.Dataset.zip(dataset, draws).map(drop)


def _pipeline(
    sentences: Sequence[Sentence],
    encoder: TokenEncoder,
    *,
    batch_size: int,
    seed: int,
    train: bool,
    drop_rates: np.ndarray | None = None,
) -> tf.data.Dataset:
    flat_words = tf.constant([word for sentence in sentences for word in sentence.words])
    tag_ids = {tag: index for index, tag in enumerate(tag_names())}
    flat_tags = tf.constant([tag_ids[tag] for s in sentences for tag in s.tags], tf.int32)
    flat_inputs = encoder(flat_words)
    bounds = tf.constant(np.cumsum([0, *(len(sentence.words) for sentence in sentences)]))

    def sentence(index):
        start, stop = bounds[index], bounds[index + 1]
        inputs = {key: value[start:stop] for key, value in flat_inputs.items()}
        return inputs, flat_tags[start:stop]

    dataset = tf.data.Dataset.range(len(sentences)).map(sentence).cache()
    if train:
        dataset = dataset.shuffle(len(sentences), seed=seed, reshuffle_each_iteration=True)
    if drop_rates is not None:
        dataset = drop_rare_words(dataset, drop_rates, seed)
    dataset = batch_by_length(
        dataset,
        batch_size=batch_size,
        length_of=lambda inputs, tags: tf.shape(tags)[0],
        widths=[*LENGTH_BUCKETS, max(len(sentence.words) for sentence in sentences)],
    )
    return dataset.prefetch(tf.data.AUTOTUNE)


def predict_tags(
    model: keras.Model,
    encoder: TokenEncoder,
    sentences: Sequence[Sequence[str]],
    *,
    batch_size: int = 32,
) -> list[list[str]]:
    """The tagger's likeliest UPOS tag for every word of every sentence.

    Sentences are tagged in batches of similar length (sorted by length, so little is
    padded) and returned in their own order. The padding id 0 is never chosen.

    Args:
        model: A trained tagger (one distribution over :func:`tag_names` per word).
        encoder: The :class:`TokenEncoder` of its data's metadata.
        sentences: Each sentence's words; an empty sentence gets no tags.
        batch_size: Sentences per model call. Defaults to 32.

    Returns:
        One list of tags per sentence, one tag per word.

    Example:
        >>> predict_tags(model, TokenEncoder(metadata), [["The", "cat", "sat"]])
        ... # doctest: +SKIP
        [['DET', 'NOUN', 'VERB']]
    """
    check_int("batch_size", batch_size)
    names = tag_names()
    order = sorted(range(len(sentences)), key=lambda index: len(sentences[index]))
    tags: list[list[str]] = [[] for _ in sentences]
    for start in range(0, len(order), batch_size):
        chunk = [index for index in order[start : start + batch_size] if sentences[index]]
        if not chunk:
            continue
        width = max(len(sentences[index]) for index in chunk)
        words = [list(sentences[i]) + [PADDING] * (width - len(sentences[i])) for i in chunk]
        scores = model.predict_on_batch(encoder(tf.constant(words)))  # NumPy
        best = np.argmax(scores[..., 1:], axis=-1) + 1  # id 0 is padding, never a tag
        for index, row in zip(chunk, best, strict=True):
            tags[index] = [names[tag] for tag in row[: len(sentences[index])]]
    return tags


def upos_report(
    model: keras.Model,
    encoder: TokenEncoder,
    sentences: Sequence[Sentence],
    seen: set[str],
    *,
    batch_size: int = 32,
) -> dict[str, float]:
    """UPOS accuracy on every word and on the words never seen in training.

    Args:
        model: A trained tagger.
        encoder: The :class:`TokenEncoder` of its data's metadata.
        sentences: The gold sentences.
        seen: The lower-cased words of the train split.
        batch_size: Sentences per model call (see :func:`predict_tags`). Defaults to 32.

    Returns:
        ``{"upos_accuracy", "unseen_word_accuracy", "unseen_words"}``.

    Example:
        >>> upos_report(model, encoder, read_conllu(test_file), seen)  # doctest: +SKIP
        {'upos_accuracy': 0.947, 'unseen_word_accuracy': 0.78, 'unseen_words': 1882.0}
    """
    predicted = predict_tags(
        model, encoder, [sentence.words for sentence in sentences], batch_size=batch_size
    )
    correct = unseen_correct = unseen = total = 0
    for sentence, tags in zip(sentences, predicted, strict=True):
        for word, tag, gold in zip(sentence.words, tags, sentence.tags, strict=True):
            total += 1
            correct += tag == gold
            if word.lower() not in seen:
                unseen += 1
                unseen_correct += tag == gold
    return {
        "upos_accuracy": correct / max(total, 1),
        "unseen_word_accuracy": unseen_correct / max(unseen, 1),
        "unseen_words": float(unseen),
    }


def load_conllu(
    path: str | os.PathLike | None = None,
    *,
    batch_size: int = 32,
    seed: int = 0,
    fraction: float = 1.0,
    max_words: int = 20000,
    min_word_count: int = 2,
    char_features: bool = True,
    max_word_length: int = 16,
    rare_word_dropout: float = 0.0,
) -> DataBundle:
    """Loads UD English EWT for UPOS tagging, with its official train/dev/test split.

    See the module docstring for the files, the vocabularies and the batching.

    Args:
        path: A directory holding the three ``.conllu`` files (or their
            ``ud_english_ewt/`` folder); defaults to the lookup order of
            :func:`rnn_zoo.data.sources.resolve_file`.
        batch_size: Sentences per batch. Defaults to 32.
        seed: Seed of the train shuffle. Defaults to 0.
        fraction: Share of each split to keep (its leading sentences), in ``(0, 1]``,
            for quick runs; vocabularies come from the kept train sentences.
            Defaults to 1.0.
        max_words: Largest word vocabulary, padding and out-of-vocabulary ids
            included. Defaults to 20000.
        min_word_count: Train occurrences a word needs for its own id; rarer words
            share the out-of-vocabulary id, which the model thereby learns. Defaults to 2.
        char_features: Also spell each word as character ids (input ``"char_ids"``).
            Defaults to True.
        max_word_length: Characters kept per word for the character features (longer
            words are cut). Defaults to 16.
        rare_word_dropout: α of the train pipeline's frequency-scaled word dropout
            (a word id becomes the out-of-vocabulary id with probability α / (α +
            its train count)), at least 0; 0 (default) drops nothing.

    Returns:
        A :class:`DataBundle` named ``"ud_english_ewt"`` whose elements are
        ``({"word_ids": int32 [batch, time], "char_ids": int32 [batch, time,
        max_word_length]}, tags int32 [batch, time])``, right-padded with 0.
        ``metadata`` holds the vocabularies, ``max_word_length``, ``tag_names`` and the
        sentence and word counts of each split (rebuild the encoding with
        :class:`TokenEncoder`); ``model_kwargs`` holds ``vocab_size``, ``num_tags``,
        ``char_features``, ``char_vocab_size`` and ``max_word_length``;
        ``test_report`` adds ``upos_accuracy`` (padding excluded) and the accuracy on
        test words never seen in training (``unseen_word_accuracy``).

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument is out of range or ``path`` is a file (before any
            file is read), or a file is not readable CoNLL-U (the message names the
            file and line), or ``fraction`` leaves a split fewer sentences than
            :data:`rnn_zoo.data.windows.MIN_EXAMPLES` asks.
        rnn_zoo.data.sources.DataNotFoundError: If a file is nowhere to be found.
        rnn_zoo.data.sources.ChecksumError: If a copy found by name is not the
            published file.

    Example:
        >>> bundle = load_conllu("../shared/data", fraction=0.1)  # doctest: +SKIP
        >>> bundle.model_kwargs["num_tags"]  # doctest: +SKIP
        18
    """
    check_int("batch_size", batch_size)
    check_int("seed", seed, minimum=0)
    fraction = check_data_fraction(fraction)
    check_int("max_words", max_words, minimum=3)
    check_int("min_word_count", min_word_count)
    check_bool("char_features", char_features)
    check_int("max_word_length", max_word_length)
    check_float("rare_word_dropout", rare_word_dropout, minimum=0.0)
    if path is not None and Path(path).is_file():
        names = ", ".join(remote.filename for remote in TREEBANK_FILES.values())
        raise ValueError(
            f"path={os.fspath(path)!r} is a file; expected a directory holding {names}"
        )

    splits = {}
    for split in SPLITS:
        sentences = read_conllu(resolve_file(TREEBANK_FILES[split], path))
        splits[split] = sentences[: leading_count(len(sentences), fraction)]
    check_split_counts(
        {split: len(sentences) for split, sentences in splits.items()},
        source="the UD English EWT treebank",
        unit="sentences",
        fraction=fraction,
    )
    train = splits["train"]
    metadata = {
        "word_vocabulary": word_vocabulary(train, max_words=max_words, min_count=min_word_count),
        "char_vocabulary": char_vocabulary(train) if char_features else [],
        "max_word_length": max_word_length,
        "tag_names": tag_names(),
        "sentences": {split: len(sentences) for split, sentences in splits.items()},
        "words": {
            split: sum(len(s.words) for s in sentences) for split, sentences in splits.items()
        },
    }
    encoder = TokenEncoder(metadata)
    counts = collections.Counter(word.lower() for sentence in train for word in sentence.words)
    drop_rates = (
        rare_word_drop_rates(metadata["word_vocabulary"], counts, rare_word_dropout)
        if rare_word_dropout
        else None
    )
    datasets = {
        split: _pipeline(
            sentences,
            encoder,
            batch_size=batch_size,
            seed=seed,
            train=split == "train",
            drop_rates=drop_rates if split == "train" else None,
        )
        for split, sentences in splits.items()
    }
    seen = {word.lower() for sentence in train for word in sentence.words}
    return DataBundle(
        name="ud_english_ewt",
        train=datasets["train"],
        validation=datasets["validation"],
        test=datasets["test"],
        model_kwargs={
            "vocab_size": len(metadata["word_vocabulary"]),
            "num_tags": len(metadata["tag_names"]),
            "char_features": char_features,
            "char_vocab_size": max(len(metadata["char_vocabulary"]), 2),
            "max_word_length": max_word_length,
        },
        metadata=metadata,
        preprocessor=encoder,
        test_report=functools.partial(
            upos_report, encoder=encoder, sentences=splits["test"], seen=seen
        ),
    )
