"""load_imdb on the real labeled IMDB tarball in ../shared/data.

The reviews are extracted into the Keras cache (``$KERAS_HOME`` or ``~/.keras``) as a
user's first call would, once per machine: creating their 50,000 files is the slowest
step. Tests of failed or fresh extractions use a temporary ``$KERAS_HOME``. One module
fixture loads the full dataset (25,000 + 25,000 reviews); the others use ``fraction``.
The TFDS test builds a TFDS ``imdb_reviews`` directory locally from the real tarball
with TFDS's own example generator (see its docstring).
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import tarfile
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnn_zoo.data.imdb import (
    ACL_IMDB,
    CLASS_NAMES,
    build_vectorizer,
    extract_reviews,
    film_grouped_validation,
    load_imdb,
    standardize_review,
)
from rnn_zoo.data.sources import ChecksumError, DataNotFoundError, sha256_of

LABELED = "aclImdb_v1_labeled.tar.gz"
SMALL = {"fraction": 0.04, "max_tokens": 3000, "sequence_length": 120, "batch_size": 32}


def texts_and_labels(dataset) -> tuple[list[bytes], np.ndarray]:
    texts, labels = [], []
    for text, label in dataset:
        texts.extend(text.numpy().tolist())
        labels.append(label.numpy())
    return texts, np.concatenate(labels)


def digests(texts) -> set[str]:
    return {hashlib.sha1(text).hexdigest() for text in texts}


@pytest.fixture(scope="module")
def tarball(shared_data) -> Path:
    return shared_data / LABELED


@pytest.fixture(scope="module", autouse=True)
def _no_data_dir_variable():
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("RNN_ZOO_DATA_DIR", raising=False)
        yield


@pytest.fixture(scope="module")
def extracted(tarball) -> Path:
    return extract_reviews(tarball)


@pytest.fixture(scope="module")
def full(shared_data, extracted):
    """The whole dataset as raw strings (the vectorizer still adapts on all 20,000)."""
    bundle = load_imdb(shared_data, vectorize=False)
    splits = {
        split: texts_and_labels(getattr(bundle, split)) for split in ("train", "validation", "test")
    }
    return bundle, splits


@pytest.fixture(scope="module")
def small(extracted):
    return load_imdb(extracted, **SMALL)


def test_full_counts_and_balance(full):
    bundle, splits = full
    counts = {split: len(texts) for split, (texts, _) in splits.items()}
    assert counts == {"train": 20_000, "validation": 5_000, "test": 25_000}
    assert bundle.metadata["examples"] == counts
    train_labels = np.concatenate([splits["train"][1], splits["validation"][1]])
    assert np.bincount(train_labels).tolist() == [12_500, 12_500]
    assert np.bincount(splits["test"][1]).tolist() == [12_500, 12_500]
    assert 0.45 < splits["validation"][1].mean() < 0.55
    assert splits["train"][1].dtype == np.int32


def test_full_splits_do_not_overlap(full):
    _, splits = full
    train, validation, test = (digests(splits[split][0]) for split in splits)
    # The published reviews repeat a few texts: 96 within train, 199 within test and 123
    # across train and test. The loader adds no overlap of its own: validation only
    # shares texts that train repeats, and train + validation meet test in those 123.
    assert len(train | validation) == 24_904 and len(test) == 24_801
    assert len(train & validation) <= 96
    assert len((train | validation) & test) == 123


def test_full_vectorizer_is_adapted_on_train_and_strips_markup(full):
    bundle, splits = full
    vocabulary = bundle.metadata["vocabulary"]
    assert vocabulary[:2] == ["", "[UNK]"] and len(vocabulary) == 20_000
    assert bundle.model_kwargs == {"vocab_size": 20_000}
    assert all(type(token) is str for token in vocabulary)
    assert "br" not in vocabulary and "<br" not in vocabulary
    words = vocabulary[2:]
    assert not any(token != token.lower() for token in words)
    assert not any(char in token for token in words for char in ".,!?<>/\"'()[]")
    with_breaks = [text for text in splits["train"][0] if b"<br />" in text][:50]
    assert len(with_breaks) == 50
    standardized = standardize_review(tf.constant(with_breaks)).numpy()
    assert not any(b"<br" in text or b"br " in text for text in standardized)
    ids = bundle.preprocessor(tf.constant(with_breaks[:4]))
    assert ids.shape == (4, 200) and ids.dtype == tf.int64
    json.dumps(bundle.metadata)


def test_raw_strings_pipeline(full):
    bundle, _ = full
    texts, labels = next(iter(bundle.test))
    assert texts.shape == (64,) and texts.dtype == tf.string
    assert labels.shape == (64,) and labels.dtype == tf.int32
    assert isinstance(bundle.preprocessor, keras.layers.TextVectorization)


def test_vectorized_pipeline(small):
    assert small.name == "imdb"
    assert small.metadata["examples"] == {"train": 800, "validation": 200, "test": 1000}
    assert small.metadata["sequence_length"] == 120 and small.metadata["max_tokens"] == 3000
    assert small.metadata["class_names"] == list(CLASS_NAMES) == ["neg", "pos"]
    assert small.model_kwargs["vocab_size"] == len(small.metadata["vocabulary"]) <= 3000
    ids, labels = next(iter(small.train))
    assert ids.shape == (32, 120) and ids.dtype == tf.int64
    assert labels.shape == (32,) and labels.dtype == tf.int32
    assert int(tf.reduce_max(ids)) < small.model_kwargs["vocab_size"]
    lengths = tf.reduce_sum(tf.cast(ids > 0, tf.int32), axis=1)
    padded = ids.numpy()[lengths.numpy() < 120]
    for row in padded:  # padding (id 0) only on the right
        length = int((row > 0).sum())
        assert (row[:length] > 0).all() and (row[length:] == 0).all()
    counts = [sum(int(y.shape[0]) for _, y in getattr(small, s)) for s in ("validation", "test")]
    assert counts == [200, 1000]


def test_length_buckets_keep_every_review_and_its_ids(small, extracted):
    bucketed = load_imdb(extracted, **SMALL, bucket_by_length=True)
    assert bucketed.metadata["vocabulary"] == small.metadata["vocabulary"]
    for split in ("train", "test"):
        fixed_rows = {}
        for ids, labels in getattr(small, split):
            for row, label in zip(ids.numpy(), labels.numpy(), strict=True):
                fixed_rows.setdefault(tuple(row[row > 0]), []).append(int(label))
        bucketed_rows, widths = {}, []
        for ids, labels in getattr(bucketed, split):
            widths.append(ids.shape[1])
            lengths = (ids.numpy() > 0).sum(axis=1)
            assert ids.shape[1] in (30, 60, 90, 120) and lengths.max() <= ids.shape[1]
            for row, label in zip(ids.numpy(), labels.numpy(), strict=True):
                assert (row[: (row > 0).sum()] > 0).all()  # right-padded
                bucketed_rows.setdefault(tuple(row[row > 0]), []).append(int(label))
        assert {k: sorted(v) for k, v in bucketed_rows.items()} == {
            k: sorted(v) for k, v in fixed_rows.items()
        }
        assert min(widths) < 120


def test_vectorizer_rebuilds_from_metadata(small):
    rebuilt = build_vectorizer(small.metadata["vocabulary"], small.metadata["sequence_length"])
    reviews = tf.constant(["A wonderful FILM!<br /><br />Loved it.", "zzzqqqx, awful", ""])
    assert np.array_equal(rebuilt(reviews).numpy(), small.preprocessor(reviews).numpy())
    serialized = json.loads(json.dumps(keras.saving.serialize_keras_object(small.preprocessor)))
    standardize = serialized["config"]["standardize"]
    assert standardize["config"] == "rnn_zoo>standardize_review"  # registered by name
    assert keras.saving.deserialize_keras_object(standardize) is standardize_review


def test_vectorizer_survives_a_saved_model(small, tmp_path):
    inputs = keras.Input(shape=(), dtype="string")
    outputs = small.preprocessor(inputs)
    model = keras.Model(inputs, outputs)
    model.save(tmp_path / "vectorizer.keras")
    reloaded = keras.saving.load_model(tmp_path / "vectorizer.keras")
    reviews = tf.constant(["Great!<br />A must-see.", "Dull, dull, dull"])
    expected = model(reviews).numpy()
    assert np.array_equal(reloaded(reviews).numpy(), expected)
    model.export(tmp_path / "exported", verbose=False)
    served = tf.saved_model.load(str(tmp_path / "exported")).serve(reviews)
    assert np.array_equal(served.numpy(), expected)


def test_validation_is_carved_by_the_seed(extracted):
    options = {**SMALL, "vectorize": False}
    first = texts_and_labels(load_imdb(extracted, **options).validation)[0]
    again = texts_and_labels(load_imdb(extracted, **options).validation)[0]
    other = texts_and_labels(load_imdb(extracted, seed=1, **options).validation)[0]
    assert first == again
    assert len(other) == len(first) == 200 and other != first


def test_film_validation_is_one_run_of_ids_per_class_from_a_seeded_start():
    ids = np.concatenate([np.arange(100), np.arange(50)])
    labels = np.repeat([0, 1], [100, 50])
    held = film_grouped_validation(ids, labels, 0.2, seed=3)

    assert held[labels == 0].sum() == 20 and held[labels == 1].sum() == 10
    for label in (0, 1):
        chosen = np.sort(ids[held & (labels == label)])
        # consecutive, but for one wrap from the last id to the first
        assert np.count_nonzero(np.diff(chosen) != 1) <= 1
    assert np.array_equal(held, film_grouped_validation(ids, labels, 0.2, seed=3))
    assert not np.array_equal(held, film_grouped_validation(ids, labels, 0.2, seed=4))


def test_film_validation_holds_the_reviews_of_its_run_only(extracted):
    bundle = load_imdb(extracted, validation_by="film", vectorize=False, **SMALL)
    validation, labels = texts_and_labels(bundle.validation)
    train = texts_and_labels(bundle.train)[0]

    files = sorted((extracted / "train").glob("*/*.txt"))
    ids = np.array([int(path.name.partition("_")[0]) for path in files])
    classes = np.array([CLASS_NAMES.index(path.parent.name) for path in files])
    held = film_grouped_validation(ids, classes, 0.2, seed=0)
    held_texts = digests(path.read_bytes() for path in np.array(files)[held])
    assert len(validation) == 200 and 0.35 < labels.mean() < 0.65
    assert digests(validation) <= held_texts
    assert len(digests(train) & held_texts) <= 2  # texts the release repeats


def test_every_accepted_path(extracted, tarball, tmp_path):
    holder = tmp_path / "holder"
    holder.mkdir()
    (holder / "aclImdb").symlink_to(extracted)
    for path in (holder, tarball, tarball.parent):
        bundle = load_imdb(path, vectorize=False, **SMALL)
        assert bundle.metadata["examples"]["validation"] == 200
    assert extract_reviews(tarball) == extracted  # extracted once, then reused
    assert extracted.parent.name == "aclImdb_v1" and extracted.name == sha256_of(tarball)[:16]
    assert not list(extracted.parent.glob(".*"))  # no staging folder left beside it


def test_default_lookup_uses_the_data_dir_variable(shared_data, monkeypatch, extracted):
    monkeypatch.setenv("RNN_ZOO_DATA_DIR", str(shared_data))
    bundle = load_imdb(vectorize=False, **SMALL)
    assert bundle.metadata["examples"]["test"] == 1000


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"source": "keras"}, ValueError, ["source", "'keras'", "'files'", "'tfds'"]),
        ({"fraction": 0.0}, ValueError, ["fraction", "(0, 1]"]),
        ({"fraction": 1.01}, ValueError, ["fraction"]),
        ({"validation_split": 1.0}, ValueError, ["validation_split", "(0, 1)"]),
        ({"validation_split": 0}, ValueError, ["validation_split"]),
        ({"batch_size": 0}, ValueError, ["batch_size", "0"]),
        ({"batch_size": False}, TypeError, ["batch_size", "False"]),
        ({"seed": 1.5}, TypeError, ["seed"]),
        ({"max_tokens": 2}, ValueError, ["max_tokens", "[3, "]),
        ({"sequence_length": 0}, ValueError, ["sequence_length"]),
        ({"vectorize": 1}, TypeError, ["vectorize"]),
        ({"bucket_by_length": "yes"}, TypeError, ["bucket_by_length"]),
        ({"validation_by": "movie"}, ValueError, ["validation_by", "'movie'", "'film'"]),
        (
            {"source": "tfds", "validation_by": "film"},
            ValueError,
            ["validation_by='film'", "source='files'"],
        ),
    ],
)
def test_bad_arguments_fail_before_reading(tmp_path, kwargs, error, words):
    with pytest.raises(error) as raised:
        load_imdb(tmp_path / "nowhere", **kwargs)
    assert all(word in str(raised.value) for word in words), raised.value


def test_missing_path_is_named(tmp_path):
    with pytest.raises(DataNotFoundError, match="nowhere"):
        load_imdb(tmp_path / "nowhere")


def test_build_vectorizer_arguments():
    with pytest.raises(TypeError, match="vocabulary"):
        build_vectorizer("the a of", 10)
    with pytest.raises(ValueError, match="vocabulary"):
        build_vectorizer([], 10)
    with pytest.raises(ValueError, match="sequence_length"):
        build_vectorizer(["", "[UNK]", "a"], 0)


@pytest.fixture
def empty_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "fresh_home"
    monkeypatch.setenv("KERAS_HOME", str(home))
    return home


def assert_nothing_cached(home: Path) -> None:
    cache = home / "datasets" / "aclImdb_v1"
    assert not cache.exists() or not any(cache.iterdir())


def test_corrupt_tarball_by_name_is_refused(tmp_path, tarball, empty_home):
    folder = tmp_path / "data"
    folder.mkdir()
    bad = folder / ACL_IMDB.filename
    bad.write_bytes(tarball.read_bytes()[:200_000])
    with pytest.raises(ChecksumError, match=str(bad)):
        load_imdb(folder)
    assert_nothing_cached(empty_home)


def test_truncated_tarball_is_refused_and_nothing_is_cached(tmp_path, tarball, empty_home):
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(tarball.read_bytes()[:2_000_000])
    with pytest.raises(ValueError, match=rf"{cut}.*truncated or corrupt"):
        load_imdb(cut)
    assert_nothing_cached(empty_home)


def write_tar(path: Path, members: list[tarfile.TarInfo]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for member in members:
            data = b"a fine review" if member.isfile() else None
            if data is not None:
                member.size = len(data)
            tar.addfile(member, io.BytesIO(data) if data is not None else None)
    return path


def review_members() -> list[tarfile.TarInfo]:
    names = [
        f"aclImdb/{part}/{label}/0_1.txt" for part in ("train", "test") for label in CLASS_NAMES
    ]
    return [tarfile.TarInfo(name) for name in names]


def link(name: str, target: str, kind: bytes) -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.type = kind
    member.linkname = target
    return member


@pytest.mark.parametrize(
    "unsafe",
    [
        tarfile.TarInfo("../escaped.txt"),
        tarfile.TarInfo("aclImdb/train/pos/../../../../escaped.txt"),
        tarfile.TarInfo("/tmp/absolute.txt"),
        link("aclImdb/train/pos/1_1.txt", "/etc/passwd", tarfile.SYMTYPE),
        link("aclImdb/train/pos/2_1.txt", "aclImdb/train/pos/0_1.txt", tarfile.LNKTYPE),
    ],
    ids=["dotdot", "nested-dotdot", "absolute", "symlink", "hardlink"],
)
def test_unsafe_members_are_refused(tmp_path, empty_home, unsafe):
    archive = write_tar(tmp_path / "evil.tar.gz", [*review_members(), unsafe])
    with pytest.raises(ValueError, match=rf"{archive}.*unsafe member"):
        load_imdb(archive)
    assert_nothing_cached(empty_home)
    assert not (tmp_path / "escaped.txt").exists()


def test_tarball_without_reviews_is_refused(tmp_path, empty_home):
    archive = write_tar(tmp_path / "other.tar.gz", [tarfile.TarInfo("notes/readme.txt")])
    with pytest.raises(ValueError, match="holds no aclImdb"):
        extract_reviews(archive)
    assert_nothing_cached(empty_home)


def test_small_safe_tarball_extracts_only_reviews(tmp_path, empty_home):
    extras = [tarfile.TarInfo("aclImdb/README"), tarfile.TarInfo("aclImdb/train/unsup/0_0.txt")]
    archive = write_tar(tmp_path / "tiny.tar.gz", [*review_members(), *extras])
    root = extract_reviews(archive)
    found = sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())
    assert found == [f"{p}/{label}/0_1.txt" for p in ("test", "train") for label in CLASS_NAMES]


@pytest.fixture(scope="module")
def tfds_dir(tmp_path_factory, tarball) -> Path:
    """A TFDS ``imdb_reviews`` directory made locally from the real labeled tarball.

    TFDS's own ``imdb_reviews`` builder cannot be prepared from the labeled-only tarball:
    it also writes an ``unsupervised`` split, which would be empty, and TFDS refuses an
    empty split. So the train and test examples come from that builder's own example
    generator reading the real tarball, and TFDS's ``store_as_tfds_dataset`` writes them
    (150 reviews of each class per split, to stay fast) under the builder's name,
    config and version, where ``tfds.builder("imdb_reviews")`` reads them.
    """
    import tensorflow_datasets as tfds

    data_dir = tmp_path_factory.mktemp("tfds")
    builder = tfds.builder("imdb_reviews", data_dir=str(data_dir))

    def examples(part: str):
        archive = tfds.download.iter_archive(tarball, tfds.download.ExtractMethod.TAR_GZ)
        generated = builder._generate_examples(archive, f"aclImdb/{part}")
        by_label = sorted(generated, key=lambda item: item[1]["label"])  # neg, then pos
        groups = itertools.groupby(by_label, key=lambda item: item[1]["label"])
        return [example for _, group in groups for example in itertools.islice(group, 150)]

    tfds.dataset_builders.store_as_tfds_dataset(
        name="imdb_reviews",
        version=str(builder.version),
        config=builder.builder_config.name,
        features=builder.info.features,
        split_datasets={part: examples(part) for part in ("train", "test")},
        data_dir=data_dir,
    )
    return data_dir


def test_tfds_source_gives_the_same_structure(tfds_dir, small, full):
    bundle = load_imdb(tfds_dir, source="tfds", max_tokens=3000, sequence_length=120)
    assert bundle.metadata["examples"] == {"train": 240, "validation": 60, "test": 300}
    assert bundle.train.element_spec == small.train.element_spec
    assert bundle.test.element_spec == small.test.element_spec
    texts, labels = texts_and_labels(
        load_imdb(tfds_dir, source="tfds", vectorize=False, seed=0).test
    )
    assert np.bincount(labels).tolist() == [150, 150]
    # The same reviews as the files give (TFDS strips surrounding whitespace).
    test_digests = digests(text.strip() for text in full[1]["test"][0])
    assert digests(texts) <= test_digests
    other = load_imdb(tfds_dir, source="tfds", vectorize=False, seed=1, fraction=0.5)
    assert other.metadata["examples"] == {"train": 120, "validation": 30, "test": 150}


def test_tfds_refuses_to_prepare_from_the_labeled_only_tarball(tmp_path, shared_data, monkeypatch):
    monkeypatch.setenv("RNN_ZOO_DATA_DIR", str(shared_data))
    with pytest.raises(ValueError, match=r"labeled-only.*aclImdb_v1\.tar\.gz"):
        load_imdb(tmp_path / "empty_tfds", source="tfds")
