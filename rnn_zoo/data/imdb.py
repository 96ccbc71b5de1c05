"""IMDB movie reviews for binary sentiment classification (Maas et al., ACL 2011).

The Large Movie Review Dataset holds 25,000 training and 25,000 test reviews, half
negative and half positive in each. The loader accepts, as ``path``:

- an extracted ``aclImdb`` directory (``train/{neg,pos}``, ``test/{neg,pos}``), used as
  it is;
- a directory holding such an ``aclImdb`` directory, or holding the tarball;
- the tarball itself.

Without ``path``, the tarball is found by :func:`rnn_zoo.data.sources.resolve_file`:
the canonical ``aclImdb_v1.tar.gz`` (84 MB, with the unlabeled reviews too) or its
labeled-only repack ``aclImdb_v1_labeled.tar.gz``. A tarball is extracted once, only
its ``{train,test}/{neg,pos}/*.txt`` reviews, into the Keras cache
(``~/.keras/datasets/aclImdb_v1/<first 16 hex digits of its sha256>/``): into a
temporary folder first, renamed into place when complete, so an interrupted extraction
leaves nothing behind. A member whose path is absolute or climbs out with ``..``, or
any link, makes the whole tarball refused.

Reviews are read by ``keras.utils.text_dataset_from_directory``; validation is carved
from ``train`` with its ``validation_split``/``subset``/``seed``, or, with
``validation_by="film"``, as whole films (:func:`film_grouped_validation`). Text becomes token ids
through a ``TextVectorization`` layer adapted on the train split only, whose
standardization (:func:`standardize_review`) lower-cases, turns the ``<br />`` line
breaks of the reviews into spaces and strips punctuation; sequences are cut or padded
on the right to ``sequence_length`` (id 0 is padding, id 1 out-of-vocabulary).
"""

from __future__ import annotations

import os
import re
import string
import tarfile
import zlib
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

import keras
import numpy as np
import tensorflow as tf

from rnn_zoo.data import tfds_source
from rnn_zoo.data.bundle import DataBundle
from rnn_zoo.data.sources import RemoteFile, keras_cache_dir, resolve_file, sha256_of
from rnn_zoo.data.vectorizers import id_vectorizer
from rnn_zoo.data.windows import (
    SPLITS,
    Arrays,
    batch_by_length,
    carve_validation,
    check_data_fraction,
    check_split_counts,
    finish_pipeline,
    keep_leading,
    leading_count,
)
from rnn_zoo.files import atomic_directory
from rnn_zoo.validation import (
    check_bool,
    check_choice,
    check_fraction,
    check_int,
)

ACL_IMDB = RemoteFile(
    filename="aclImdb_v1.tar.gz",
    url="https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
    sha256="c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe",
    aliases=(
        (
            "aclImdb_v1_labeled.tar.gz",
            "02f769933593bea344e190993d30d4bd5e3b99608ce7d90264ad30eafdf7e267",
        ),
    ),
)
CLASS_NAMES = ("neg", "pos")
SOURCES = ("files", "tfds")
VALIDATION_GROUPS = ("review", "film")  # load_imdb's validation_by values
TFDS_NAME = "imdb_reviews"
EXTRACT_SUBDIR = "aclImdb_v1"

_PARTS = ("train", "test")
# What standardize_review replaces and removes; LiteRT and ONNX exports, which take
# token ids, write them beside the vocabulary.
LINE_BREAK = r"<br\s*/?>"
PUNCTUATION = f"[{re.escape(string.punctuation)}]"


@keras.saving.register_keras_serializable(package="rnn_zoo", name="standardize_review")
def standardize_review(text: tf.Tensor) -> tf.Tensor:
    """Standardizes review text: lower case, ``<br />`` breaks to spaces, no punctuation.

    Registered with Keras (``"rnn_zoo>standardize_review"``), so a ``TextVectorization``
    layer using it saves and loads by name, and made of TensorFlow string ops only, so
    it runs inside ``tf.data`` and exported graphs.

    Args:
        text: A string tensor of any shape.

    Returns:
        The standardized strings, same shape.

    Example:
        >>> standardize_review(tf.constant("Great!<br /><br />A MUST-see.")).numpy()
        b'great  a mustsee'
    """
    text = tf.strings.lower(text, encoding="utf-8")
    text = tf.strings.regex_replace(text, LINE_BREAK, " ")
    return tf.strings.regex_replace(text, PUNCTUATION, "")


def build_vectorizer(
    vocabulary: Sequence[str] | None,
    sequence_length: int,
    *,
    max_tokens: int | None = None,
) -> keras.layers.TextVectorization:
    """Builds the review vectorizer, from a saved vocabulary or empty for ``adapt``.

    Args:
        vocabulary: Tokens in id order as saved in ``metadata["vocabulary"]`` (padding
            ``""`` and ``"[UNK]"`` first), or ``None`` for a layer to adapt.
        sequence_length: Length of the id sequences (cut or right-padded with 0).
        max_tokens: Largest vocabulary to learn when adapting, padding and
            out-of-vocabulary ids included; ``None`` for no limit.

    Returns:
        A ``TextVectorization`` layer mapping strings ``[batch]`` to int64 ids
        ``[batch, sequence_length]`` with :func:`standardize_review`.

    Raises:
        TypeError: If ``vocabulary`` is not a list or tuple of strings, or an integer
            argument has the wrong type.
        ValueError: If ``vocabulary`` is empty or an integer is out of range.

    Example:
        >>> vectorizer = build_vectorizer(bundle.metadata["vocabulary"], 200)  # doctest: +SKIP
        >>> vectorizer(["a fine film"]).shape
        TensorShape([1, 200])
    """
    check_int("sequence_length", sequence_length)
    return id_vectorizer(
        vocabulary,
        max_tokens,
        standardize=standardize_review,
        output_sequence_length=sequence_length,
        name="review_vectorizer",
    )


def _has_reviews(directory: Path) -> bool:
    return all((directory / part / label).is_dir() for part in _PARTS for label in CLASS_NAMES)


def _review_target(member: tarfile.TarInfo, archive: Path) -> PurePosixPath | None:
    name = PurePosixPath(member.name)
    if name.is_absolute() or ".." in name.parts or member.issym() or member.islnk():
        raise ValueError(
            f"{archive} holds the unsafe member {member.name!r} (an absolute path, a path "
            "that leaves the archive's folder, or a link); refusing to extract it"
        )
    parts = name.parts
    wanted = (
        member.isfile()
        and len(parts) == 4
        and parts[0] == "aclImdb"
        and parts[1] in _PARTS
        and parts[2] in CLASS_NAMES
        and parts[3].endswith(".txt")
    )
    return name if wanted else None


def _extract_reviews(archive: Path, destination: Path) -> None:
    folders: set[Path] = set()
    try:
        with tarfile.open(archive, "r|gz") as tar:
            for member in tar:
                name = _review_target(member, archive)
                if name is None:
                    continue
                target = destination.joinpath(*name.parts[1:])  # without aclImdb/
                if target.parent not in folders:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    folders.add(target.parent)
                source = tar.extractfile(member)
                target.write_bytes(source.read())
    except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
        raise ValueError(
            f"{archive} is not a readable .tar.gz archive ({error}): it is truncated or "
            "corrupt; expected the aclImdb tarball"
        ) from error
    if not _has_reviews(destination):
        raise ValueError(
            f"{archive} holds no aclImdb/{{train,test}}/{{neg,pos}}/*.txt reviews; "
            "expected the aclImdb tarball"
        )


def extract_reviews(archive: str | os.PathLike) -> Path:
    """Extracts the labeled reviews of an aclImdb tarball once, into the Keras cache.

    Args:
        archive: The ``.tar.gz`` file.

    Returns:
        The extracted ``aclImdb`` directory, holding ``{train,test}/{neg,pos}/*.txt``.
        A later call for the same tarball (same sha256) returns it without extracting.

    Raises:
        ValueError: If the archive is not a readable ``.tar.gz``, holds an unsafe
            member (absolute path, ``..``, link) or no reviews; nothing is cached then.

    Example:
        >>> extract_reviews("../shared/data/aclImdb_v1_labeled.tar.gz")  # doctest: +SKIP
        PosixPath('/home/me/.keras/datasets/aclImdb_v1/02f769933593bea3')
    """
    archive = Path(archive)
    cache = keras_cache_dir(ACL_IMDB) / EXTRACT_SUBDIR
    target = cache / sha256_of(archive)[:16]
    if _has_reviews(target):
        return target
    cache.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_directory(target) as staging:
            _extract_reviews(archive, staging)
    except OSError:
        if not _has_reviews(target):  # not another process finishing first
            raise
    return target


def _reviews_dir(path: str | os.PathLike | None) -> Path:
    if path is not None:
        for directory in (Path(path), Path(path) / "aclImdb"):
            if _has_reviews(directory):
                return directory
    return extract_reviews(resolve_file(ACL_IMDB, path))


def _to_arrays(dataset: tf.data.Dataset, count: int) -> Arrays:
    texts, labels = [], []
    for text, label in dataset.take(count).batch(1024).prefetch(tf.data.AUTOTUNE):
        texts.append(text.numpy())
        labels.append(label.numpy())
    return np.concatenate(texts), np.concatenate(labels).astype(np.int32)


def film_grouped_validation(
    ids: np.ndarray, labels: np.ndarray, validation_split: float, seed: int
) -> np.ndarray:
    """Picks validation reviews as one run of consecutive review ids per class.

    The release numbers each class's reviews film by film: its README puts a review's
    film on the line of its id in ``urls_*.txt``, and consecutive ids share a rare
    capitalized name 38% (pos) and 24% (neg) of the time against 0.2% for two ids at
    random (the train split). So one run of consecutive ids holds whole films, but
    for the two at its ends, and the films of validation reviews are (nearly) never
    seen in training, as test films never are. The run starts at a seeded id and
    wraps around past the last.

    Args:
        ids: Each review's id (the number before ``_`` in its file name).
        labels: Each review's class.
        validation_split: Share of each class's reviews to hold out, in ``(0, 1)``.
        seed: Seed of where each class's run starts.

    Returns:
        A boolean mask over the reviews, True for validation.

    Example:
        >>> held = film_grouped_validation(np.arange(10), np.zeros(10, int), 0.3, seed=0)
        >>> np.flatnonzero(held).tolist()
        [8, 9, 0]
    """
    rng = np.random.default_rng(seed)
    held = np.zeros(len(ids), dtype=bool)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        by_id = members[np.argsort(ids[members], kind="stable")]
        count = round(validation_split * len(by_id))
        start = int(rng.integers(len(by_id)))
        held[by_id[(start + np.arange(count)) % len(by_id)]] = True
    return held


def _split_by_film(train_dir: Path, validation_split: float, seed: int):
    """The train reviews as (train, validation) datasets, validation grouped by film."""
    files = [
        (path, label)
        for label, name in enumerate(CLASS_NAMES)
        for path in sorted((train_dir / name).glob("*.txt"))
    ]
    paths = np.array([os.fspath(path) for path, _ in files])
    labels = np.array([label for _, label in files], np.int32)
    ids = np.array([int(path.name.partition("_")[0]) for path, _ in files])
    held = film_grouped_validation(ids, labels, validation_split, seed)
    order = np.random.default_rng(seed).permutation(len(paths))

    def reviews(mask):
        chosen = order[mask[order]]
        listed = tf.data.Dataset.from_tensor_slices((paths[chosen], labels[chosen]))
        return listed.map(lambda path, label: (tf.io.read_file(path), label))

    return reviews(~held), reviews(held)


def _from_files(
    path, validation_split: float, seed: int, fraction: float, validation_by: str
) -> dict[str, Arrays]:
    directory = _reviews_dir(path)
    options = {"class_names": list(CLASS_NAMES), "batch_size": None, "seed": seed}
    if validation_by == "film":
        train, validation = _split_by_film(directory / "train", validation_split, seed)
    else:
        train, validation = keras.utils.text_dataset_from_directory(
            directory / "train",
            validation_split=validation_split,
            subset="both",
            verbose=False,
            **options,
        )
    test = keras.utils.text_dataset_from_directory(directory / "test", verbose=False, **options)
    datasets = {"train": train, "validation": validation, "test": test}
    counts = {
        split: leading_count(int(dataset.cardinality()), fraction)
        for split, dataset in datasets.items()
    }
    check_split_counts(counts, source=os.fspath(directory), unit="reviews", fraction=fraction)
    return {split: _to_arrays(datasets[split], counts[split]) for split in SPLITS}


def _tfds_files() -> dict[str, Path]:
    archive = resolve_file(ACL_IMDB)
    if archive.name != ACL_IMDB.filename:
        raise ValueError(
            f"{archive} is the labeled-only IMDB tarball, but TFDS's {TFDS_NAME!r} builder "
            f"also makes its 'unsupervised' split from the full {ACL_IMDB.filename} "
            f"({ACL_IMDB.url}); supply that file, or use source='files'"
        )
    return {ACL_IMDB.filename: archive}


def _from_tfds(data_dir, validation_split: float, seed: int, fraction: float):
    arrays = tfds_source.load_arrays(TFDS_NAME, data_dir, _PARTS, _tfds_files)
    texts, labels = arrays["train"]
    count = int(validation_split * len(labels))
    train, validation = carve_validation(texts, labels.astype(np.int32), count, seed)
    test = (arrays["test"][0], arrays["test"][1].astype(np.int32))
    splits = keep_leading({"train": train, "validation": validation, "test": test}, fraction)
    counts = {split: len(labels) for split, (_, labels) in splits.items()}
    check_split_counts(counts, source=TFDS_NAME, unit="reviews", fraction=fraction)
    return splits


def _bucketed_pipeline(
    arrays: Arrays, vectorizer, *, batch_size: int, seed: int, shuffle: bool, length: int
) -> tf.data.Dataset:
    """Vectorized once and cached, each review cut to its own length, batched by length."""
    ids = (
        tf.data.Dataset.from_tensor_slices(arrays)
        .batch(1024)
        .map(lambda text, label: (vectorizer(text), label), num_parallel_calls=tf.data.AUTOTUNE)
        .unbatch()
        .map(lambda ids, label: (ids[: tf.math.count_nonzero(ids, dtype=tf.int32)], label))
        .cache()
    )
    if shuffle:
        ids = ids.shuffle(len(arrays[1]), seed=seed, reshuffle_each_iteration=True)
    batches = batch_by_length(
        ids,
        batch_size=batch_size,
        length_of=lambda ids, label: tf.shape(ids)[0],
        widths=[length * quarter // 4 for quarter in (1, 2, 3, 4)],
    )
    return batches.prefetch(tf.data.AUTOTUNE)


def _pipeline(
    arrays: Arrays, vectorizer, *, batch_size: int, seed: int, shuffle: bool
) -> tf.data.Dataset:
    dataset = finish_pipeline(
        tf.data.Dataset.from_tensor_slices(arrays),
        batch_size=batch_size,
        shuffle_buffer=len(arrays[1]) if shuffle else 0,
        seed=seed,
    )
    if vectorizer is None:
        return dataset
    return dataset.map(
        lambda text, label: (vectorizer(text), label), num_parallel_calls=tf.data.AUTOTUNE
    ).prefetch(tf.data.AUTOTUNE)


def load_imdb(
    path: str | os.PathLike | None = None,
    *,
    batch_size: int = 64,
    validation_split: float = 0.2,
    seed: int = 0,
    fraction: float = 1.0,
    max_tokens: int = 20000,
    sequence_length: int = 200,
    vectorize: bool = True,
    source: str = "files",
    bucket_by_length: bool = False,
    validation_by: str = "review",
) -> DataBundle:
    """Loads IMDB reviews for sentiment classification (0 = negative, 1 = positive).

    See the module docstring for the accepted paths, the extraction and the text
    processing. The train split is shuffled (seeded, reshuffled each epoch);
    validation and test keep a fixed order.

    Args:
        path: With ``source="files"``, an ``aclImdb`` directory, a directory holding
            it or the tarball, or the tarball (defaults to the lookup order of
            :func:`rnn_zoo.data.sources.resolve_file`). With ``source="tfds"``, the
            TFDS data directory (defaults to TFDS's own).
        batch_size: Reviews per batch. Defaults to 64.
        validation_split: Share of the 25,000 training reviews moved to validation,
            in ``(0, 1)``. Defaults to 0.2 (20,000 / 5,000).
        seed: Seed of the validation split, the review order and the train shuffle.
            Defaults to 0.
        fraction: Share of each split to keep (its leading reviews), in ``(0, 1]``,
            for quick runs. The vectorizer adapts on the kept train reviews.
            Defaults to 1.0.
        max_tokens: Vocabulary size, padding and out-of-vocabulary ids included.
            Defaults to 20000.
        sequence_length: Token ids per review (cut or right-padded). Defaults to 200.
        vectorize: Map reviews to ids in the pipelines (``int64 [batch,
            sequence_length]``); with ``False`` they yield the raw strings ``[batch]``
            and the model or the caller applies ``bundle.preprocessor``. Defaults to True.
        bucket_by_length: With ``vectorize``, cut each review's ids to its own length
            (at most ``sequence_length``) and batch reviews of similar length together,
            right-padded to a quarter, a half, three quarters or all of
            ``sequence_length``, instead of padding every review to ``sequence_length``.
            Defaults to False.
        source: ``"files"`` reads the review files; ``"tfds"`` reads TFDS's
            ``imdb_reviews`` (train and test), preparing it first, if needed, from the
            full ``aclImdb_v1.tar.gz`` found by ``resolve_file`` (see
            :mod:`rnn_zoo.data.tfds_source`); validation is then carved from train by a
            seeded permutation. Defaults to ``"files"``.
        validation_by: ``"review"`` carves validation from the train reviews at
            random, so most validation reviews share their film with training reviews
            (up to 30 reviews a film); ``"film"`` (with ``source="files"``) holds out
            one run of consecutive review ids per class, whole films but for two (see
            :func:`film_grouped_validation`), as the test films are unseen. Defaults to
            ``"review"``.

    Returns:
        A :class:`DataBundle` named ``"imdb"`` with ``(reviews, labels)`` elements,
        ``int32`` labels ``[batch]``. ``preprocessor`` is the adapted
        ``TextVectorization``; ``metadata`` holds ``vocabulary``,
        ``sequence_length``, ``max_tokens``, ``class_names`` and the ``examples`` of
        each split (rebuild the layer with :func:`build_vectorizer`);
        ``model_kwargs`` is ``{"vocab_size": <vocabulary size>}``.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument is out of range (before any file is read), or if a
            tarball is unreadable or unsafe, or (``source="tfds"``) only the
            labeled-only tarball is available to prepare from, or if ``fraction`` or
            ``validation_split`` leaves a split fewer reviews than
            :data:`rnn_zoo.data.windows.MIN_EXAMPLES` asks (before the reviews are read).
        rnn_zoo.data.sources.DataNotFoundError: If ``path`` does not exist or no
            tarball is found or downloaded.
        rnn_zoo.data.sources.ChecksumError: If a tarball found by name is not the
            published one.

    Example:
        >>> bundle = load_imdb("../shared/data", fraction=0.1)  # doctest: +SKIP
        >>> bundle.train.element_spec[0].shape
        TensorShape([None, 200])
    """
    check_int("batch_size", batch_size)
    validation_split = check_fraction("validation_split", validation_split)
    check_int("seed", seed, minimum=0)
    fraction = check_data_fraction(fraction)
    check_int("max_tokens", max_tokens, minimum=3)
    check_int("sequence_length", sequence_length)
    check_bool("vectorize", vectorize)
    check_choice("source", source, SOURCES)
    check_bool("bucket_by_length", bucket_by_length)
    check_choice("validation_by", validation_by, VALIDATION_GROUPS)
    if source == "tfds":
        if validation_by == "film":
            raise ValueError(
                "validation_by='film' needs each review's id, which source='tfds' does not "
                "keep; use source='files', or validation_by='review'"
            )
        tfds_source.check_data_dir(path)

    if source == "files":
        splits = _from_files(path, validation_split, seed, fraction, validation_by)
    else:
        splits = _from_tfds(path, validation_split, seed, fraction)
    vectorizer = build_vectorizer(None, sequence_length, max_tokens=max_tokens)
    vectorizer.adapt(splits["train"][0], batch_size=1024)
    options = {"batch_size": batch_size, "seed": seed}
    if vectorize and bucket_by_length:
        datasets = {
            split: _bucketed_pipeline(
                splits[split],
                vectorizer,
                shuffle=split == "train",
                length=sequence_length,
                **options,
            )
            for split in SPLITS
        }
    else:
        datasets = {
            split: _pipeline(
                splits[split],
                vectorizer if vectorize else None,
                shuffle=split == "train",
                **options,
            )
            for split in SPLITS
        }
    return DataBundle(
        name="imdb",
        train=datasets["train"],
        validation=datasets["validation"],
        test=datasets["test"],
        model_kwargs={"vocab_size": vectorizer.vocabulary_size()},
        metadata={
            "vocabulary": [str(token) for token in vectorizer.get_vocabulary()],
            "sequence_length": sequence_length,
            "max_tokens": max_tokens,
            "class_names": list(CLASS_NAMES),
            "examples": {split: len(labels) for split, (_, labels) in splits.items()},
        },
        preprocessor=vectorizer,
    )
