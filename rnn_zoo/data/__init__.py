"""Real-data loaders, one module per dataset, each returning a :class:`DataBundle`.

Every loader takes the same core arguments — ``path`` (a file or a directory that
holds the data), ``batch_size``, ``seed`` and ``fraction`` — and finds its files in
the order documented in :mod:`rnn_zoo.data.sources`.
"""

from __future__ import annotations

import importlib
from typing import Any

from rnn_zoo.data.bundle import DataBundle, load_metadata
from rnn_zoo.data.sources import ChecksumError, DataNotFoundError, resolve_file
from rnn_zoo.validation import check_choice

# Dataset name → "module:function". Resolved on use so importing this package stays cheap.
DATASETS = {
    "fashion_mnist": "rnn_zoo.data.fashion_mnist:load_fashion_mnist",
    "imdb": "rnn_zoo.data.imdb:load_imdb",
    "text_corpus": "rnn_zoo.data.text_corpus:load_text_corpus",
    "time_series": "rnn_zoo.data.time_series:load_time_series",
    "translation_pairs": "rnn_zoo.data.translation:load_translation_pairs",
    "ud_english_ewt": "rnn_zoo.data.ud_treebank:load_conllu",
}

_LOADERS = {target.split(":")[1]: name for name, target in DATASETS.items()}

__all__ = [
    "DATASETS",
    "ChecksumError",
    "DataBundle",
    "DataNotFoundError",
    "get_loader",
    "load_dataset",
    "load_metadata",
    "resolve_file",
    *_LOADERS,
]


def get_loader(name: str):
    """Returns the loader function of a dataset.

    Args:
        name: A key of :data:`DATASETS`.

    Returns:
        The ``load_*`` function.

    Raises:
        ValueError: If ``name`` is not a known dataset; the message lists them.

    Example:
        >>> get_loader("imdb").__name__
        'load_imdb'
    """
    module, function = DATASETS[check_choice("dataset", name, DATASETS)].split(":")
    return getattr(importlib.import_module(module), function)


def load_dataset(name: str, **kwargs: Any) -> DataBundle:
    """Loads a dataset by name.

    Args:
        name: A key of :data:`DATASETS`.
        **kwargs: Arguments of that dataset's loader.

    Returns:
        The loader's :class:`DataBundle`.

    Raises:
        ValueError: If ``name`` is not a known dataset or an argument is bad.

    Example:
        >>> bundle = load_dataset("text_corpus", seq_length=50)  # doctest: +SKIP
    """
    return get_loader(name)(**kwargs)


def __getattr__(name: str):
    if name not in _LOADERS:
        raise AttributeError(f"module 'rnn_zoo.data' has no attribute {name!r}")
    return get_loader(_LOADERS[name])
