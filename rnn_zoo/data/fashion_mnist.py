"""Fashion-MNIST: 28×28 grayscale images of clothing in 10 classes (Xiao et al., 2017).

The data are the four original idx files, found by :func:`rnn_zoo.data.sources.resolve_file`
(an explicit directory, ``$RNN_ZOO_DATA_DIR``, the Keras cache
``~/.keras/datasets/fashion-mnist`` that ``keras.datasets.fashion_mnist`` fills, Debian's
``dataset-fashion-mnist`` package in ``/usr/share/datasets/fashion-mnist``, or a download
from the URL Keras uses). Their pinned sha256 are those of the published files (the
ones TFDS registers too). Debian's package holds the same data (identical once
decompressed) in a gzip wrapper without the original file name; its hashes are
accepted as well.

Splits: the 60,000 training images give ``validation_size`` images (5,000 by default,
drawn by a permutation seeded with ``seed``) to validation and keep the rest for
training; the 10,000 test images are the test split.

Images stay ``uint8`` in ``[0, 255]``, shape ``[28, 28]``: pixel scaling happens inside
the model (:func:`rnn_zoo.models.baseline.model.build_baseline` starts with a
``Rescaling(1/255)`` layer), so the exported model takes raw images as they come.
Labels are ``int32`` class ids in ``[0, 9]``, named by :data:`CLASS_NAMES`.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from rnn_zoo.data import tfds_source
from rnn_zoo.data.bundle import DataBundle
from rnn_zoo.data.sources import RemoteFile, resolve_file
from rnn_zoo.data.windows import (
    MIN_EXAMPLES,
    SPLITS,
    Arrays,
    carve_validation,
    check_data_fraction,
    check_split_counts,
    finish_pipeline,
    keep_leading,
)
from rnn_zoo.validation import check_bool, check_choice, check_int

CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
IMAGE_SHAPE = (28, 28)
TRAIN_SIZE = 60_000
SOURCES = ("files", "tfds")
TFDS_NAME = "fashion_mnist"

_BASE_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


def _remote(filename: str, sha256: str, debian_sha256: str) -> RemoteFile:
    return RemoteFile(
        filename=filename,
        url=_BASE_URL + filename,
        sha256=sha256,
        cache_subdir="datasets/fashion-mnist",
        aliases=((filename, debian_sha256),),
        system_dirs=("/usr/share/datasets/fashion-mnist",),
    )


TRAIN_IMAGES = _remote(
    "train-images-idx3-ubyte.gz",
    "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
)
TRAIN_LABELS = _remote(
    "train-labels-idx1-ubyte.gz",
    "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
)
TEST_IMAGES = _remote(
    "t10k-images-idx3-ubyte.gz",
    "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
)
TEST_LABELS = _remote(
    "t10k-labels-idx1-ubyte.gz",
    "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
)
FILES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)


def read_idx(path: str | os.PathLike, *, ndim: int) -> np.ndarray:
    """Reads a gzip-compressed idx file of unsigned bytes (the MNIST file format).

    Args:
        path: The ``.gz`` file.
        ndim: The number of dimensions the file must declare: 3 for images
            (``[count, rows, columns]``), 1 for labels.

    Returns:
        A ``uint8`` array of the declared shape.

    Raises:
        ValueError: If the file is not gzip, is truncated, has another magic number
            (not idx, not unsigned bytes, or another number of dimensions), or holds
            fewer or more values than its header declares; the message names the file.

    Example:
        >>> read_idx("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz", ndim=1)
        array([9, 2, 1, ..., 8, 1, 5], shape=(10000,), dtype=uint8)
    """
    name = os.fspath(path)
    try:
        with gzip.open(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError, zlib.error) as error:
        raise ValueError(
            f"{name} is not a readable gzip file ({error}); expected a gzip-compressed idx file"
        ) from error
    header = 4 + 4 * ndim
    magic = bytes((0, 0, 0x08, ndim))
    if len(raw) < header or raw[:4] != magic:
        raise ValueError(
            f"{name} is not an idx file of unsigned bytes with {ndim} dimension(s): it starts "
            f"with {raw[:4].hex() or 'nothing'}, expected the magic number {magic.hex()}"
        )
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=np.uint8, offset=header)
    if data.size != math.prod(shape):
        raise ValueError(
            f"{name} holds {data.size} values after its header, but the header declares "
            f"shape {shape} ({math.prod(shape)} values): the file is truncated or corrupt"
        )
    return data.reshape(shape)


def _read_pair(images_file: Path, labels_file: Path) -> Arrays:
    images = read_idx(images_file, ndim=3)
    labels = read_idx(labels_file, ndim=1)
    if images.shape[1:] != IMAGE_SHAPE or len(images) != len(labels):
        raise ValueError(
            f"{images_file} holds images of shape {images.shape} but {labels_file} holds "
            f"{len(labels)} labels; expected [count, 28, 28] images and as many labels"
        )
    return images, labels.astype(np.int32)


def _check_directory(path: str | os.PathLike | None) -> None:
    if path is not None and Path(path).is_file():
        raise ValueError(
            f"path={os.fspath(path)!r} is a file; expected a directory holding the four "
            "Fashion-MNIST idx .gz files"
        )


def _find_files(path: str | os.PathLike | None) -> dict[str, Path]:
    return {remote.filename: resolve_file(remote, path) for remote in FILES}


def _from_files(path: str | os.PathLike | None) -> dict[str, Arrays]:
    files = _find_files(path)
    return {
        "train": _read_pair(files[TRAIN_IMAGES.filename], files[TRAIN_LABELS.filename]),
        "test": _read_pair(files[TEST_IMAGES.filename], files[TEST_LABELS.filename]),
    }


def _from_tfds(data_dir: str | os.PathLike | None) -> dict[str, Arrays]:
    arrays = tfds_source.load_arrays(
        TFDS_NAME, data_dir, ("train", "test"), lambda: _find_files(None)
    )
    return {
        split: (images[..., 0], labels.astype(np.int32))
        for split, (images, labels) in arrays.items()
    }


def load_fashion_mnist(
    path: str | os.PathLike | None = None,
    *,
    batch_size: int = 32,
    validation_size: int = 5000,
    seed: int = 0,
    fraction: float = 1.0,
    as_numpy: bool = False,
    source: str = "files",
) -> DataBundle | dict[str, Any]:
    """Loads Fashion-MNIST for image classification.

    See the module docstring for where the files come from and how the splits are
    made. Elements are ``(images, labels)``: ``uint8`` images ``[batch, 28, 28]`` in
    ``[0, 255]`` (unscaled: the model rescales) and ``int32`` labels ``[batch]``. The
    train split is shuffled (seeded, reshuffled each epoch); validation and test keep
    their order.

    Args:
        path: With ``source="files"``, a directory holding the four idx ``.gz`` files
            (defaults to the lookup order of :func:`rnn_zoo.data.sources.resolve_file`).
            With ``source="tfds"``, the TFDS data directory (defaults to TFDS's own).
        batch_size: Images per batch. Defaults to 32.
        validation_size: Training images moved to validation, in ``[2, 59999]``
            (a split needs :data:`rnn_zoo.data.windows.MIN_EXAMPLES`). Defaults to 5000.
        seed: Seed of the validation split and of the train shuffle. Defaults to 0.
        fraction: Share of each split to keep (its leading examples), in ``(0, 1]``,
            for quick runs. Defaults to 1.0.
        as_numpy: Return numpy arrays instead of a :class:`DataBundle`. Defaults to False.
        source: ``"files"`` reads the idx files with numpy; ``"tfds"`` reads the TFDS
            ``fashion_mnist`` dataset, preparing it first, if needed, from the idx files
            found by ``resolve_file`` (see :mod:`rnn_zoo.data.tfds_source`). Both give
            the same images and labels. Defaults to ``"files"``.

    Returns:
        With ``as_numpy=False``, a :class:`DataBundle` named ``"fashion_mnist"``:
        ``model_kwargs`` is ``{"input_shape": (28, 28), "num_classes": 10}``,
        ``metadata`` holds ``class_names`` and the ``examples`` of each split, and
        there is no preprocessor. With ``as_numpy=True``, a dict with ``"train"``,
        ``"validation"`` and ``"test"`` as ``(images, labels)`` arrays and
        ``"class_names"``.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument is out of range or ``path`` is a file (checked
            before any file is read), if an idx file is not valid, or if ``fraction``
            leaves a split fewer images than
            :data:`rnn_zoo.data.windows.MIN_EXAMPLES` asks.
        rnn_zoo.data.sources.DataNotFoundError: If ``path`` does not exist or a file is
            nowhere to be found and cannot be downloaded.
        rnn_zoo.data.sources.ChecksumError: If a file found by name is not the published
            one (corrupt, truncated or another dataset).

    Example:
        >>> bundle = load_fashion_mnist(batch_size=32)
        >>> bundle.model_kwargs
        {'input_shape': (28, 28), 'num_classes': 10}
    """
    check_int("batch_size", batch_size)
    check_int(
        "validation_size",
        validation_size,
        minimum=MIN_EXAMPLES["validation"],
        maximum=TRAIN_SIZE - 1,
    )
    check_int("seed", seed, minimum=0)
    fraction = check_data_fraction(fraction)
    check_bool("as_numpy", as_numpy)
    check_choice("source", source, SOURCES)
    if source == "files":
        _check_directory(path)
    else:
        tfds_source.check_data_dir(path)

    arrays = _from_files(path) if source == "files" else _from_tfds(path)
    train, validation = carve_validation(*arrays["train"], validation_size, seed)
    splits = keep_leading(
        {"train": train, "validation": validation, "test": arrays["test"]}, fraction
    )
    check_split_counts(
        {split: len(labels) for split, (_, labels) in splits.items()},
        source="Fashion-MNIST",
        unit="images",
        fraction=fraction,
    )
    if as_numpy:
        return {**splits, "class_names": list(CLASS_NAMES)}
    datasets = {
        split: finish_pipeline(
            tf.data.Dataset.from_tensor_slices(splits[split]),
            batch_size=batch_size,
            shuffle_buffer=len(splits[split][1]) if split == "train" else 0,
            seed=seed,
        )
        for split in SPLITS
    }
    return DataBundle(
        name="fashion_mnist",
        train=datasets["train"],
        validation=datasets["validation"],
        test=datasets["test"],
        model_kwargs={"input_shape": IMAGE_SHAPE, "num_classes": len(CLASS_NAMES)},
        metadata={
            "class_names": list(CLASS_NAMES),
            "examples": {split: len(labels) for split, (_, labels) in splits.items()},
        },
    )
