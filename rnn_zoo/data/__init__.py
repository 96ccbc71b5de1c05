"""Real-data loaders, one module per dataset, each returning a :class:`DataBundle`.

Every loader takes the same core arguments — ``path`` (a file or a directory that
holds the data), ``batch_size``, ``seed`` and ``fraction`` — and finds its files in
the order documented in :mod:`rnn_zoo.data.sources`. A model family names its loader
in its registry entry (``ModelSpec.loader``); the loaders are also names of this
package (``from rnn_zoo.data import load_imdb``), imported on first use so that
importing the package stays cheap.
"""

from __future__ import annotations

import importlib
import pkgutil

from rnn_zoo.data.bundle import DataBundle, load_metadata
from rnn_zoo.data.sources import ChecksumError, DataNotFoundError, resolve_file

__all__ = ["ChecksumError", "DataBundle", "DataNotFoundError", "load_metadata", "resolve_file"]


def _loaders() -> dict:
    """Every ``load_*`` function of the dataset modules of this package, by name."""
    found = {}
    for module in pkgutil.iter_modules(__path__, f"{__name__}."):
        loaded = importlib.import_module(module.name)
        for name, value in vars(loaded).items():
            if name.startswith("load_") and getattr(value, "__module__", None) == module.name:
                found[name] = value
    return found


def __getattr__(name: str):
    if not name.startswith("load_") or name not in _loaders():
        raise AttributeError(f"module 'rnn_zoo.data' has no attribute {name!r}")
    return _loaders()[name]
