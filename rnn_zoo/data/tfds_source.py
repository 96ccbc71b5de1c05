"""Loading a dataset through TensorFlow Datasets, prepared from files found locally.

``source="tfds"`` in a loader reads the dataset with TFDS (``tfds.builder(...)`` and
``as_dataset``). When the dataset is not prepared yet in the TFDS data directory,
TFDS is *not* left to download its source files itself: the loader finds them with
:func:`rnn_zoo.data.sources.resolve_file` (``$RNN_ZOO_DATA_DIR``, the Keras cache,
system copies, or a verified download), and :func:`prepare` hands them to TFDS's
download manager under the resource names it expects, then runs
``download_and_prepare``. No network is used beyond ``resolve_file``'s own download.

A file handed over this way is taken by TFDS as the registered one without being
hashed again: ``resolve_file`` has already checked it against the pinned hashes.
(Debian's copy of Fashion-MNIST holds the very same data as the published files in a
gzip wrapper without the original file name, so its own hash differs from the one
TFDS registers.)

TFDS is imported on first use only, so ``source="files"`` never pays for it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from rnn_zoo.files import staging_directory

FilesFinder = Callable[[], Mapping[str, Path]]


def check_data_dir(data_dir: str | os.PathLike | None) -> None:
    """Checks a TFDS data directory argument: ``None``, or a path that is not a file.

    A directory that does not exist yet is accepted: TFDS creates it.

    Args:
        data_dir: The loader's ``path`` argument with ``source="tfds"``.

    Raises:
        ValueError: If ``data_dir`` is an existing file.

    Example:
        >>> check_data_dir("/tmp/tensorflow_datasets")
    """
    if data_dir is not None and Path(data_dir).is_file():
        raise ValueError(
            f"path={os.fspath(data_dir)!r} is a file; with source='tfds' expected a TFDS "
            "data directory (or None for TFDS's default)"
        )


def _builder(name: str, data_dir: str | os.PathLike | None):
    import tensorflow_datasets as tfds

    return tfds.builder(name, data_dir=None if data_dir is None else os.fspath(data_dir))


def _stage(builder, files: Mapping[str, Path], download_dir: Path) -> None:
    from tensorflow_datasets.core.download import resource as resource_lib

    for url, info in builder.url_infos.items():
        if info.filename not in files:
            raise ValueError(
                f"files={sorted(files)!r} lacks {info.filename!r}, which the TFDS dataset "
                f"{builder.name!r} is made from; expected every one of "
                f"{sorted(i.filename for i in builder.url_infos.values())!r}"
            )
        relative = resource_lib.Resource(url=url).relative_download_dir
        target = (
            download_dir / builder.name / relative / resource_lib.get_dl_fname(url, info.checksum)
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(Path(files[info.filename]).resolve(), target)
        resource_lib.write_info_file(
            url=url,
            path=target,
            dataset_name=builder.name,
            original_fname=info.filename,
            url_info=info,
        )


def prepare(
    name: str,
    data_dir: str | os.PathLike | None,
    files: Mapping[str, Path],
    *,
    max_examples_per_split: int | None = None,
) -> Path:
    """Prepares a TFDS dataset from its source files, without any download.

    The files are linked into a temporary TFDS download folder under the names TFDS
    gives the dataset's registered URLs (with their ``.INFO`` records), TFDS
    generates the dataset from them, and the temporary folder (links and extracted
    files) is removed. Only TFDS's prepared records stay in ``data_dir``.

    Args:
        name: The TFDS dataset name, e.g. ``"fashion_mnist"``.
        data_dir: The TFDS data directory, or ``None`` for TFDS's default
            (``$TFDS_DATA_DIR`` or ``~/tensorflow_datasets``).
        files: The dataset's source files by their registered file names, e.g.
            ``{"train-images-idx3-ubyte.gz": Path(...), ...}``. They must be the
            published files (or the same data): TFDS does not hash them again.
        max_examples_per_split: Keep only this many examples per split (TFDS's
            option for quick test builds), or ``None`` for all.

    Returns:
        The folder TFDS wrote the prepared dataset to.

    Raises:
        ValueError: If a file the dataset is made from is missing from ``files``.
        Exception: Whatever TFDS raises when it cannot generate the dataset.

    Example:
        >>> prepare("fashion_mnist", "/tmp/tfds", {  # doctest: +SKIP
        ...     f.name: f for f in Path("/usr/share/datasets/fashion-mnist").glob("*.gz")})
    """
    import tensorflow_datasets as tfds

    builder = _builder(name, data_dir)
    root = Path(builder.data_dir_root)
    root.mkdir(parents=True, exist_ok=True)
    with staging_directory(root, prefix=".rnn_zoo-downloads-") as staging:
        _stage(builder, files, staging)
        config = tfds.download.DownloadConfig(
            try_download_gcs=False, max_examples_per_split=max_examples_per_split
        )
        builder.download_and_prepare(download_dir=os.fspath(staging), download_config=config)
    return Path(builder.data_dir)


def load_arrays(
    name: str,
    data_dir: str | os.PathLike | None,
    splits: Sequence[str],
    find_files: FilesFinder,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Reads whole TFDS splits as ``(inputs, labels)`` numpy arrays.

    Prepares the dataset first with :func:`prepare` if ``data_dir`` does not hold it.

    Args:
        name: The TFDS dataset name, e.g. ``"imdb_reviews"``.
        data_dir: The TFDS data directory, or ``None`` for TFDS's default.
        splits: The split names to read, e.g. ``("train", "test")``.
        find_files: Called only when the dataset must be prepared; returns the source
            files by registered file name (see :func:`prepare`).

    Returns:
        ``{split: (inputs, labels)}`` from the dataset's supervised keys, in TFDS's
        stored order.

    Raises:
        rnn_zoo.data.sources.DataNotFoundError: If preparation needs files that
            ``find_files`` cannot find.

    Example:
        >>> arrays = load_arrays("fashion_mnist", None, ("train", "test"), finder)  # doctest: +SKIP
        >>> arrays["test"][0].shape
        (10000, 28, 28, 1)
    """
    import tensorflow_datasets as tfds

    builder = _builder(name, data_dir)
    if not builder.is_prepared():
        prepare(name, data_dir, find_files())
        builder = _builder(name, data_dir)
    loaded = builder.as_dataset(split=list(splits), batch_size=-1, as_supervised=True)
    return dict(zip(splits, tfds.as_numpy(loaded), strict=True))
