"""English → French sentence pairs from Tatoeba, for sequence-to-sequence translation.

The corpus is manythings.org's ``fra.txt`` (from ``fra-eng.zip``): one pair a line,
``English<TAB>French``, newer releases adding a third attribution field (only the first
two are read; a line with fewer than two fields is skipped and counted in
``metadata["malformed_lines"]``). The pinned copy is the 2019-04-07 release, 167,130
lines, and the loader accepts, as ``path``:

- the text file itself (used as it is, whatever its hash);
- a directory holding ``fra.txt`` or ``fra-eng/fra.txt`` (checked against the pin);
- the ``fra-eng.zip`` archive: its ``fra.txt`` is extracted once into the Keras cache
  (``~/.keras/datasets/fra-eng/<first 16 hex digits of the archive's sha256>/``).

Without ``path`` the file is found by :func:`rnn_zoo.data.sources.resolve_file`; as a
last resort the zip is downloaded from manythings.org, its ``fra.txt`` extracted and
checked against the pinned sha256 before it is renamed into the cache. manythings.org
republishes the archive with new sentences from time to time, so a fresh download can
be refused as not the pinned release: pass the extracted file (or the zip) as ``path``
to use it anyway.

Text processing (:mod:`rnn_zoo.data.translation_text`, the same in training, decoding
and exported models): NFKD, lower case, punctuation set apart, spaces collapsed.
Sentences are then sequences of space-separated tokens. A pair in which either
sentence has more than ``max_length`` tokens is dropped (``metadata["dropped_too_long"]``
counts them). The French side gets the start and end tokens: the decoder reads
``[start] w1 … wn`` and predicts ``w1 … wn [end]``.

Tatoeba often gives one English sentence several French translations ("Go." is
"Va !", "Marche." and "Bouge !"). The kept pairs are therefore grouped by their
normalized English sentence, and the groups, not the pairs, are split by a seeded
permutation (80 % / 10 % / 10 % of the English sentences by default): every pair of
an English sentence lands in the same split, so no English sentence of the test (or
validation) split occurs in training, and the test split holds all the French
references of each of its English sentences. Each split keeps the random order of its
groups, so a leading ``fraction`` (of the groups) is a random sample and not the
corpus's shortest sentences. Vocabularies (``TextVectorization``, split on spaces, id
0 padding, id 1 ``[UNK]``) are fitted on the train split only.
"""

from __future__ import annotations

import logging
import os
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from rnn_zoo.data.bundle import DataBundle
from rnn_zoo.data.sources import (
    ChecksumError,
    DataNotFoundError,
    RemoteFile,
    candidate_dirs,
    keras_cache_dir,
    resolve_file,
    sha256_of,
)
from rnn_zoo.data.translation_text import (
    NORMALIZATION,
    TextNormalizer,
    build_translation_vectorizer,
)
from rnn_zoo.data.windows import (
    SPLITS,
    check_data_fraction,
    check_split,
    check_split_counts,
    finish_pipeline,
    leading_count,
    report_dropped,
    split_bounds,
)
from rnn_zoo.files import atomic_path
from rnn_zoo.validation import check_int

PAIRS_SHA256 = "0bb85dbaa1c896844649094d7eaf2e34bee34e84fe362b26ce7e8f2e12aae104"
FRA_ENG = RemoteFile(
    filename="fra-eng/fra.txt",
    url="http://www.manythings.org/anki/fra-eng.zip",
    sha256=PAIRS_SHA256,
    aliases=(("fra.txt", PAIRS_SHA256),),
)
ARCHIVE_MEMBER = "fra.txt"
EXTRACT_SUBDIR = "fra-eng"
START_TOKEN = "[start]"
END_TOKEN = "[end]"
PADDING_ID = 0


def extract_pairs(archive: str | os.PathLike) -> Path:
    """Extracts ``fra.txt`` from a manythings.org ``fra-eng.zip`` once, into the Keras cache.

    Args:
        archive: The zip file.

    Returns:
        The extracted text file. A later call for the same archive (same sha256)
        returns it without extracting.

    Raises:
        ValueError: If the archive is not a readable zip or holds no ``fra.txt``.

    Example:
        >>> extract_pairs("fra-eng.zip")  # doctest: +SKIP
        PosixPath('/home/me/.keras/datasets/fra-eng/3f1c0d2e9a8b7c6d/fra.txt')
    """
    archive = Path(archive)
    target = keras_cache_dir(FRA_ENG) / EXTRACT_SUBDIR / sha256_of(archive)[:16] / ARCHIVE_MEMBER
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(archive) as bundle, atomic_path(target) as staging:
            staging.write_bytes(bundle.read(ARCHIVE_MEMBER))
    except (zipfile.BadZipFile, KeyError, OSError) as error:
        raise ValueError(
            f"{archive} is not a readable zip holding {ARCHIVE_MEMBER} ({error}); expected "
            f"manythings.org's fra-eng.zip ({FRA_ENG.url})"
        ) from error
    return target


def _download_pairs() -> Path:
    """Downloads the zip, extracts ``fra.txt``, checks the pin, renames it into the cache."""
    cache = keras_cache_dir(FRA_ENG)
    final = cache / FRA_ENG.filename
    final.parent.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(dir=cache, prefix=".download-") as staging,
        atomic_path(final) as text,
    ):
        fetched = keras.utils.get_file(
            fname="fra-eng.zip", origin=FRA_ENG.url, cache_dir=staging, cache_subdir="."
        )
        with zipfile.ZipFile(fetched) as bundle:
            text.write_bytes(bundle.read(ARCHIVE_MEMBER))
        actual = sha256_of(text)
        if actual != FRA_ENG.sha256:
            raise ChecksumError(
                f"the fra.txt in {FRA_ENG.url} has sha256 {actual}, expected {FRA_ENG.sha256} "
                "(the 2019-04-07 release): manythings.org has republished it. It was discarded; "
                "pass the zip or its fra.txt as path= to use that release anyway"
            )
    return final


def pairs_file(path: str | os.PathLike | None = None) -> Path:
    """Finds ``fra.txt``: an explicit file or zip, a local copy, or a download.

    Args:
        path: ``fra.txt`` (used as it is), ``fra-eng.zip`` (extracted once), a
            directory holding ``fra.txt`` or ``fra-eng/fra.txt``, or ``None``.

    Returns:
        The text file of pairs.

    Raises:
        DataNotFoundError: If nothing is found and the download fails.
        ChecksumError: If a copy found by name, or the download, is not the pinned file.

    Example:
        >>> pairs_file("../shared/data")  # doctest: +SKIP
        PosixPath('../shared/data/fra-eng/fra.txt')
    """
    if path is not None and Path(path).is_file() and zipfile.is_zipfile(path):
        return extract_pairs(path)
    try:
        return resolve_file(FRA_ENG, path, allow_download=False)
    except DataNotFoundError:
        if path is not None and not Path(path).exists():
            raise
        try:
            return _download_pairs()
        except ChecksumError:
            raise
        except Exception as error:  # noqa: BLE001 - any network failure is reported
            looked = "\n".join(f"  - {folder}" for folder in candidate_dirs(FRA_ENG, path))
            raise DataNotFoundError(
                f"fra.txt (or fra-eng/fra.txt) not found. Looked in:\n{looked}\nand the "
                f"download of {FRA_ENG.url} failed: {error}.\nDownload fra-eng.zip yourself "
                "and pass it (or its fra.txt) as path=, or set RNN_ZOO_DATA_DIR to a folder "
                "holding fra.txt or fra-eng/fra.txt."
            ) from error


def _first_undecodable_line(path: str | os.PathLike) -> int:
    """The number of the first line of a file that is not UTF-8 (0 if none is)."""
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 0


def read_pairs(path: str | os.PathLike) -> tuple[list[str], list[str], int]:
    """Reads the first two tab-separated fields of every line.

    Args:
        path: A ``fra.txt`` file.

    Returns:
        ``(english, french, malformed)``: the sentences, and how many lines had
        fewer than two fields (skipped).

    Raises:
        ValueError: If the file is not UTF-8 text, or no line has two tab-separated
            fields; the message names the file.

    Example:
        >>> english, french, _ = read_pairs("../shared/data/fra-eng/fra.txt")  # doctest: +SKIP
        >>> english[0], french[0]
        ('Go.', 'Va !')
    """
    english, french, malformed = [], [], 0
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                fields = line.rstrip("\r\n").split("\t")
                if len(fields) < 2:
                    malformed += 1
                    continue
                english.append(fields[0])
                french.append(fields[1])
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{os.fspath(path)} line {_first_undecodable_line(path)} is not valid UTF-8 text "
            f"({error.reason}); expected English<TAB>French lines in UTF-8"
        ) from None
    if not english:
        raise ValueError(
            f"{os.fspath(path)} holds no line with two tab-separated fields ({malformed} "
            "lines read); expected English<TAB>French lines, as in manythings.org's fra.txt"
        )
    return english, french, malformed


def _token_counts(texts: tf.Tensor) -> np.ndarray:
    return tf.strings.split(texts).row_lengths().numpy()


def _ids(vectorizer, texts: np.ndarray) -> np.ndarray:
    return vectorizer(tf.constant(texts)).numpy().astype(np.int32)


def _marked(french: np.ndarray) -> np.ndarray:
    """``[start] w1 … wn [end]`` for each normalized French sentence (bytes)."""
    return tf.strings.join([f"{START_TOKEN} ", french, f" {END_TOKEN}"]).numpy()


def _target_arrays(vectorizer, french: np.ndarray, end_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Decoder input ``[start] w1 … wn`` and target ``w1 … wn [end]``, right-padded."""
    ids = _ids(vectorizer, _marked(french))
    decoder_input = np.where(ids == end_id, PADDING_ID, ids)[:, :-1]
    return decoder_input, ids[:, 1:]


def _trim(inputs, target_out):
    """Cuts a batch to its longest source and target sentences (right padding stays)."""
    source, target_in = inputs

    def longest(ids):
        return tf.reduce_max(tf.reduce_sum(tf.cast(ids != PADDING_ID, tf.int32), axis=1))

    source_length, target_length = longest(source), longest(target_out)
    return (source[:, :source_length], target_in[:, :target_length]), target_out[:, :target_length]


def _pipeline(arrays, *, batch_size: int, seed: int, shuffle: bool) -> tf.data.Dataset:
    source, target_in, target_out = arrays
    dataset = finish_pipeline(
        tf.data.Dataset.from_tensor_slices(((source, target_in), target_out)),
        batch_size=batch_size,
        shuffle_buffer=len(source) if shuffle else 0,
        seed=seed,
    )
    return dataset.map(_trim, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def group_by_source(sources: np.ndarray) -> list[np.ndarray]:
    """Groups pair indices by their source sentence, groups in order of first occurrence.

    Args:
        sources: The (normalized) source sentence of each pair.

    Returns:
        One array of pair indices per distinct sentence, each in file order.

    Example:
        >>> group_by_source(np.array([b"go .", b"hi .", b"go ."], dtype=object))
        [array([0, 2]), array([1])]
    """
    if not len(sources):
        return []
    _, first, inverse, counts = np.unique(
        sources, return_index=True, return_inverse=True, return_counts=True
    )
    members = np.split(np.argsort(inverse, kind="stable"), np.cumsum(counts)[:-1])
    return [members[g] for g in np.argsort(first, kind="stable")]


def _test_texts(english, french, groups) -> dict[str, list]:
    """Each scored test sentence, once, with every French reference it has."""
    return {
        "sources": [english[group[0]].decode("utf-8") for group in groups],
        "references": [[french[i].decode("utf-8") for i in group] for group in groups],
    }


def _check_arguments(batch_size, seed, fraction, split, max_length, max_tokens, bleu_sentences):
    check_int("batch_size", batch_size)
    check_int("seed", seed, minimum=0)
    fraction = check_data_fraction(fraction)
    split = check_split("split", split)
    check_int("max_length", max_length)
    for name, value in max_tokens.items():
        check_int(name, value, minimum=4)
    if bleu_sentences is not None:
        check_int("bleu_sentences", bleu_sentences)
    return fraction, split


def load_translation_pairs(
    path: str | os.PathLike | None = None,
    *,
    batch_size: int = 128,
    seed: int = 0,
    fraction: float = 1.0,
    split: Sequence[float] = (0.8, 0.1, 0.1),
    max_length: int = 8,
    source_max_tokens: int = 4000,
    target_max_tokens: int = 5000,
    bleu_sentences: int | None = None,
) -> DataBundle:
    """Loads English → French pairs for a sequence-to-sequence translator.

    See the module docstring for the accepted paths and the text processing.

    Args:
        path: ``fra.txt``, ``fra-eng.zip`` or a directory holding the file (defaults
            to the lookup order of :func:`rnn_zoo.data.sources.resolve_file`).
        batch_size: Pairs per batch. Defaults to 128.
        seed: Seed of the split permutation and of the train shuffle. Defaults to 0.
        fraction: Share of each split to keep (its leading, randomly ordered English
            sentences, with all their pairs), in ``(0, 1]``, for quick runs.
            Vocabularies are fitted on the kept train pairs. Defaults to 1.0.
        split: Train, validation and test shares of the distinct English sentences
            (each with all its pairs), summing to 1. Defaults to ``(0.8, 0.1, 0.1)``.
        max_length: Most tokens per sentence, on either side (start and end tokens
            not counted); longer pairs are dropped and counted. Defaults to 8
            (78,843 of the 167,130 pairs; 10 keeps 118,507, 15 keeps 158,782).
        source_max_tokens: Largest English vocabulary, padding and ``[UNK]``
            included. Defaults to 4000.
        target_max_tokens: Largest French vocabulary, padding, ``[UNK]``, start and
            end tokens included. Defaults to 5000.
        bleu_sentences: How many English test sentences (the first ones of the test
            split, each with all its French references) ``test_texts`` keeps for a
            BLEU score; ``None`` (default) keeps them all (5,476 at the defaults).

    Returns:
        A :class:`DataBundle` named ``"translation_pairs"`` whose pipelines yield
        ``((source_ids, target_in_ids), target_out_ids)``, int32 ``[batch, time]``
        right-padded with 0, each batch cut to its longest sentence. ``metadata``
        holds ``source_vocabulary``, ``target_vocabulary``, ``max_length``,
        ``start_token``, ``end_token``, ``normalization``, ``lines_read``,
        ``malformed_lines``, ``dropped_too_long``, ``pairs_kept``, and for each split
        its ``examples`` (pairs), its distinct English ``sentences`` and how many of
        them have several French translations
        (``sentences_with_several_references``); ``model_kwargs`` the two vocabulary
        sizes; ``preprocessor`` is the English vectorizer (for normalized text);
        ``test_texts`` holds the first ``bleu_sentences`` distinct normalized English
        test ``sources`` and, for each, the list of all its French ``references`` (in
        file order), which the translator family's test report scores (corpus BLEU,
        see :func:`rnn_zoo.models.translator.bleu.bleu_report`).

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument is out of range (before any file is read), a
            zip is unreadable, the file is not UTF-8 or holds no pair, or a split
            keeps fewer pairs than :data:`rnn_zoo.data.windows.MIN_EXAMPLES` asks.
            Skipped lines and dropped pairs are counted in ``metadata`` and said at
            load time through the ``rnn_zoo`` logger.
        rnn_zoo.data.sources.DataNotFoundError: If no file is found or downloaded.
        rnn_zoo.data.sources.ChecksumError: If a file found by name is not the pinned one.

    Example:
        >>> bundle = load_translation_pairs("../shared/data", fraction=0.1)  # doctest: +SKIP
        >>> (source, target_in), target_out = next(iter(bundle.train))
        >>> source.dtype, target_in.shape == target_out.shape
        (tf.int32, True)
    """
    max_tokens = {"source_max_tokens": source_max_tokens, "target_max_tokens": target_max_tokens}
    fraction, split = _check_arguments(
        batch_size, seed, fraction, split, max_length, max_tokens, bleu_sentences
    )
    file = pairs_file(path)
    english, french, malformed = read_pairs(file)
    lines = len(english) + malformed
    report_dropped(
        os.fspath(file),
        dropped=malformed,
        total=lines,
        unit="lines",
        reason="skipped: fewer than two tab-separated fields (English<TAB>French)",
        level=logging.WARNING,
    )
    normalizer = TextNormalizer()
    english, french = normalizer(tf.constant(english)), normalizer(tf.constant(french))
    short = (_token_counts(english) <= max_length) & (_token_counts(french) <= max_length)
    english, french = english.numpy()[short], french.numpy()[short]
    report_dropped(
        os.fspath(file),
        dropped=int((~short).sum()),
        total=len(short),
        unit="pairs",
        reason=f"dropped: a sentence longer than max_length={max_length} tokens",
    )

    groups = group_by_source(english)
    order = np.random.default_rng(seed).permutation(len(groups))
    split_groups, splits = {}, {}
    for name, (start, stop) in zip(SPLITS, split_bounds(len(groups), split), strict=True):
        split_groups[name] = [
            groups[g] for g in order[start:stop][: leading_count(stop - start, fraction)]
        ]
        chosen = np.concatenate([np.zeros(0, np.int64), *split_groups[name]])
        splits[name] = (english[chosen], french[chosen])
    check_split_counts(
        {name: len(pair[0]) for name, pair in splits.items()},
        source=f"{os.fspath(file)} (max_length={max_length})",
        unit="pairs",
        fraction=fraction,
        advice="use more pairs, a larger max_length or a larger fraction",
    )

    source_vectorizer = build_translation_vectorizer(max_tokens=source_max_tokens)
    source_vectorizer.adapt(splits["train"][0], batch_size=4096)
    target_vectorizer = build_translation_vectorizer(max_tokens=target_max_tokens)
    target_vectorizer.adapt(_marked(splits["train"][1]), batch_size=4096)
    target_vocabulary = [str(token) for token in target_vectorizer.get_vocabulary()]
    end_id = target_vocabulary.index(END_TOKEN)
    datasets = {
        name: _pipeline(
            (_ids(source_vectorizer, src), *_target_arrays(target_vectorizer, tgt, end_id)),
            batch_size=batch_size,
            seed=seed,
            shuffle=name == "train",
        )
        for name, (src, tgt) in splits.items()
    }
    metadata = {
        "source_vocabulary": [str(token) for token in source_vectorizer.get_vocabulary()],
        "target_vocabulary": target_vocabulary,
        "max_length": max_length,
        "start_token": START_TOKEN,
        "end_token": END_TOKEN,
        "normalization": NORMALIZATION,
        "lines_read": lines,
        "malformed_lines": malformed,
        "dropped_too_long": int((~short).sum()),
        "pairs_kept": int(short.sum()),
        "examples": {name: len(pair[0]) for name, pair in splits.items()},
        "split_by": "English sentence",
        "sentences": {name: len(kept) for name, kept in split_groups.items()},
        "sentences_with_several_references": {
            name: sum(len(group) > 1 for group in kept) for name, kept in split_groups.items()
        },
    }
    return DataBundle(
        name="translation_pairs",
        train=datasets["train"],
        validation=datasets["validation"],
        test=datasets["test"],
        model_kwargs={
            "source_vocab_size": len(metadata["source_vocabulary"]),
            "target_vocab_size": len(target_vocabulary),
        },
        metadata=metadata,
        preprocessor=source_vectorizer,
        test_texts=_test_texts(english, french, split_groups["test"][:bleu_sentences]),
    )
