"""load_fashion_mnist on the real idx files (Debian's dataset-fashion-mnist copy).

The TFDS test prepares a TFDS data directory locally from the same real files (TFDS's
own fashion_mnist builder, no network), keeping 500 examples per split to stay fast.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnn_zoo.data import tfds_source
from rnn_zoo.data.fashion_mnist import (
    CLASS_NAMES,
    FILES,
    TEST_IMAGES,
    TRAIN_IMAGES,
    load_fashion_mnist,
    read_idx,
)
from rnn_zoo.data.sources import ChecksumError, DataNotFoundError
from rnn_zoo.data.windows import carve_validation, keep_leading
from rnn_zoo.models.baseline.model import build_baseline

SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")


def hashes(images: np.ndarray) -> list[str]:
    return [hashlib.sha1(image.tobytes()).hexdigest() for image in images]


@pytest.fixture(scope="module")
def system_dir() -> Path:
    assert all((SYSTEM_DIR / remote.filename).is_file() for remote in FILES), (
        f"Debian's dataset-fashion-mnist files expected in {SYSTEM_DIR}"
    )
    return SYSTEM_DIR


@pytest.fixture(scope="module")
def arrays(system_dir):
    return load_fashion_mnist(system_dir, as_numpy=True)


@pytest.fixture(scope="module")
def bundle(system_dir):
    return load_fashion_mnist(system_dir, fraction=0.1)


@pytest.fixture
def keras_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "keras_home"
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.delenv("RNN_ZOO_DATA_DIR", raising=False)
    return home


def test_counts_shapes_and_dtypes(arrays):
    sizes = {split: len(arrays[split][1]) for split in ("train", "validation", "test")}
    assert sizes == {"train": 55_000, "validation": 5_000, "test": 10_000}
    for split in ("train", "validation", "test"):
        images, labels = arrays[split]
        assert images.shape == (sizes[split], 28, 28) and images.dtype == np.uint8
        assert labels.dtype == np.int32 and labels.min() == 0 and labels.max() == 9
    assert arrays["train"][0].max() == 255  # unscaled pixels: the model rescales
    assert arrays["class_names"] == list(CLASS_NAMES)
    assert arrays["class_names"][0] == "T-shirt/top" and arrays["class_names"][9] == "Ankle boot"


def test_label_balance(arrays):
    assert np.bincount(arrays["test"][1]).tolist() == [1000] * 10
    train_and_validation = np.concatenate([arrays["train"][1], arrays["validation"][1]])
    assert np.bincount(train_and_validation).tolist() == [6000] * 10


def test_splits_partition_the_files_without_overlap(arrays, system_dir):
    train, validation, test = (
        set(hashes(arrays[split][0])) for split in arrays if split != "class_names"
    )
    assert len(train) == 55_000 and len(validation) == 5_000 and len(test) == 10_000
    assert not train & validation and not train & test and not validation & test
    original = read_idx(system_dir / TRAIN_IMAGES.filename, ndim=3)
    assert train | validation == set(hashes(original))
    assert np.array_equal(arrays["test"][0], read_idx(system_dir / TEST_IMAGES.filename, ndim=3))


def test_validation_is_carved_by_the_seed(arrays, system_dir):
    same = load_fashion_mnist(system_dir, as_numpy=True, fraction=0.1)
    other = load_fashion_mnist(system_dir, as_numpy=True, fraction=0.1, seed=1)
    assert np.array_equal(same["validation"][0], arrays["validation"][0][:500])
    assert np.array_equal(same["train"][1], arrays["train"][1][:5500])
    assert not np.array_equal(other["validation"][0], same["validation"][0])
    assert len(other["validation"][1]) == 500 and len(other["test"][1]) == 1000


def test_carve_validation_and_keep_leading():
    inputs, labels = np.arange(100) * 10, np.arange(100)
    (train_x, train_y), (held_x, held_y) = carve_validation(inputs, labels, 30, seed=3)
    assert len(held_y) == 30 and len(train_y) == 70
    assert sorted([*train_y, *held_y]) == list(range(100))
    assert np.array_equal(held_x, held_y * 10) and list(held_y) == sorted(held_y)
    again = carve_validation(inputs, labels, 30, seed=3)[1][1]
    assert np.array_equal(again, held_y)
    assert not np.array_equal(carve_validation(inputs, labels, 30, seed=4)[1][1], held_y)
    kept = keep_leading({"a": (inputs, labels), "b": (inputs[:3], labels[:3])}, 0.01)
    assert kept["a"][1].tolist() == [0] and kept["b"][1].tolist() == [0]


def test_bundle_pipelines(bundle):
    assert bundle.name == "fashion_mnist"
    assert bundle.model_kwargs == {"input_shape": (28, 28), "num_classes": 10}
    assert bundle.metadata["class_names"] == list(CLASS_NAMES)
    assert bundle.metadata["examples"] == {"train": 5500, "validation": 500, "test": 1000}
    assert bundle.preprocessor is None
    json.dumps(bundle.metadata)
    images, labels = next(iter(bundle.train))
    assert images.shape == (32, 28, 28) and images.dtype == tf.uint8
    assert labels.shape == (32,) and labels.dtype == tf.int32
    counts = {
        split: sum(int(y.shape[0]) for _, y in getattr(bundle, split))
        for split in ("train", "validation", "test")
    }
    assert counts == bundle.metadata["examples"]


def test_train_is_shuffled_and_held_out_splits_keep_their_order(bundle, system_dir):
    first = np.concatenate([y.numpy() for _, y in bundle.train])
    second = np.concatenate([y.numpy() for _, y in bundle.train])
    assert not np.array_equal(first, second)  # reshuffled each epoch
    assert sorted(first) == sorted(second)
    test_labels = np.concatenate([y.numpy() for _, y in bundle.test])
    expected = read_idx(system_dir / "t10k-labels-idx1-ubyte.gz", ndim=1)[:1000]
    assert np.array_equal(test_labels, expected)


def test_baseline_trains_on_raw_pixels(bundle):
    keras.utils.set_random_seed(0)
    model = build_baseline(**bundle.model_kwargs)
    model.compile(
        optimizer="adam",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    history = model.fit(bundle.train.take(40), epochs=1, verbose=0)
    _, accuracy = model.evaluate(bundle.test, verbose=0)
    assert history.history["loss"][0] < 2.0 and accuracy > 0.5


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"source": "hub"}, ValueError, ["source", "'hub'", "'files'", "'tfds'"]),
        ({"fraction": 0}, ValueError, ["fraction", "(0, 1]"]),
        ({"fraction": 1.5}, ValueError, ["fraction", "1.5"]),
        ({"fraction": "half"}, TypeError, ["fraction"]),
        ({"validation_size": 60_000}, ValueError, ["validation_size", "60000", "59999"]),
        ({"validation_size": 0}, ValueError, ["validation_size"]),
        ({"batch_size": 0}, ValueError, ["batch_size", "0"]),
        ({"batch_size": True}, TypeError, ["batch_size", "True"]),
        ({"seed": -1}, ValueError, ["seed"]),
        ({"as_numpy": "yes"}, TypeError, ["as_numpy"]),
    ],
)
def test_bad_arguments_fail_before_reading(tmp_path, kwargs, error, words):
    missing = tmp_path / "nowhere"
    with pytest.raises(error) as raised:
        load_fashion_mnist(missing, **kwargs)  # the path is never looked at
    assert all(word in str(raised.value) for word in words), raised.value


def test_missing_path_is_named(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(DataNotFoundError, match="nowhere"):
        load_fashion_mnist(missing)


@pytest.mark.parametrize("source", ["files", "tfds"])
def test_file_as_path_is_refused(system_dir, source):
    file = system_dir / TRAIN_IMAGES.filename
    with pytest.raises(ValueError, match="is a file"):
        load_fashion_mnist(file, source=source)


def test_truncated_file_is_refused_by_name_and_nothing_is_cached(tmp_path, keras_home, system_dir):
    folder = tmp_path / "copy"
    folder.mkdir()
    for remote in FILES:
        (folder / remote.filename).symlink_to(system_dir / remote.filename)
    truncated = folder / TRAIN_IMAGES.filename
    truncated.unlink()
    truncated.write_bytes((system_dir / TRAIN_IMAGES.filename).read_bytes()[:100_000])
    with pytest.raises(ChecksumError, match=str(truncated)):
        load_fashion_mnist(folder)
    assert not keras_home.exists() or not any(keras_home.rglob("*"))


def test_keras_cache_is_used(keras_home, system_dir):
    cache = keras_home / "datasets" / "fashion-mnist"
    cache.mkdir(parents=True)
    for remote in FILES:
        shutil.copy(system_dir / remote.filename, cache / remote.filename)
    loaded = load_fashion_mnist(as_numpy=True, fraction=0.01)
    assert len(loaded["train"][1]) == 550


def write_gzip(path: Path, payload: bytes) -> Path:
    path.write_bytes(gzip.compress(payload))
    return path


def test_read_idx_checks_the_format(tmp_path, system_dir):
    labels = read_idx(system_dir / "t10k-labels-idx1-ubyte.gz", ndim=1)
    assert labels.shape == (10_000,) and labels[:3].tolist() == [9, 2, 1]
    not_idx = write_gzip(tmp_path / "text.gz", b"hello, this is not an idx file")
    with pytest.raises(ValueError, match=r"text\.gz is not an idx file.*00000801"):
        read_idx(not_idx, ndim=1)
    wrong_ndim = system_dir / "t10k-labels-idx1-ubyte.gz"
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte.gz is not an idx file"):
        read_idx(wrong_ndim, ndim=3)
    short = write_gzip(tmp_path / "short.gz", bytes([0, 0, 8, 1]) + (10).to_bytes(4, "big") + b"12")
    with pytest.raises(ValueError, match=r"short\.gz holds 2 values.*\(10,\)"):
        read_idx(short, ndim=1)
    plain = tmp_path / "plain.gz"
    plain.write_bytes(b"not gzip at all")
    with pytest.raises(ValueError, match=r"plain\.gz is not a readable gzip file"):
        read_idx(plain, ndim=1)
    cut = tmp_path / "cut.gz"
    cut.write_bytes((system_dir / "t10k-labels-idx1-ubyte.gz").read_bytes()[:2000])
    with pytest.raises(ValueError, match=r"cut\.gz is not a readable gzip file"):
        read_idx(cut, ndim=1)


def test_tfds_prepare_needs_every_source_file(tmp_path, system_dir):
    files = {remote.filename: system_dir / remote.filename for remote in FILES[:3]}
    with pytest.raises(ValueError, match="lacks 't10k-labels-idx1-ubyte.gz'"):
        tfds_source.prepare("fashion_mnist", tmp_path / "tfds", files)
    assert not list((tmp_path / "tfds").glob(".rnn_zoo-downloads-*"))


def test_tfds_source_matches_the_files(tmp_path, system_dir):
    data_dir = tmp_path / "tfds"
    files = {remote.filename: system_dir / remote.filename for remote in FILES}
    tfds_source.prepare("fashion_mnist", data_dir, files, max_examples_per_split=500)
    assert not list(data_dir.glob(".rnn_zoo-downloads-*"))  # staging removed

    loaded = load_fashion_mnist(data_dir, source="tfds", as_numpy=True, validation_size=100)
    assert [len(loaded[split][1]) for split in ("train", "validation", "test")] == [400, 100, 500]
    for split in ("train", "validation", "test"):
        images, labels = loaded[split]
        assert images.shape[1:] == (28, 28) and images.dtype == np.uint8
        assert labels.dtype == np.int32
    # TFDS kept the first 500 examples of each file (in its own shuffled order).
    for split, remote in (("test", TEST_IMAGES), ("train", TRAIN_IMAGES)):
        originals = read_idx(system_dir / remote.filename, ndim=3)[:500]
        label_file = remote.filename.replace("images-idx3", "labels-idx1")
        original_labels = read_idx(system_dir / label_file, ndim=1)[:500]
        expected = set(zip(hashes(originals), original_labels.tolist(), strict=True))
        pairs = [loaded[split]] if split == "test" else [loaded["train"], loaded["validation"]]
        got = {
            pair
            for images, labels in pairs
            for pair in zip(hashes(images), labels.tolist(), strict=True)
        }
        assert got == expected

    bundle = load_fashion_mnist(data_dir, source="tfds", validation_size=100, batch_size=50)
    images, labels = next(iter(bundle.train))
    assert images.shape == (50, 28, 28) and images.dtype == tf.uint8 and labels.dtype == tf.int32
