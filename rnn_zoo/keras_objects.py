"""rnn_zoo's Keras objects, registered as soon as Keras is imported.

A ``model.keras`` file names each custom layer, loss and metric by its registered name
(``rnn_zoo>HoistedLSTM``), and ``keras.saving.load_model`` finds only the objects whose
module has been imported. ``import rnn_zoo`` stays cheap (it imports neither Keras nor
TensorFlow), so it asks ``wrapt`` to import these modules right after Keras itself is
imported, or at once when Keras already is. When Keras is first imported from inside
an rnn_zoo module, whose import is then unfinished, the registration waits until no
rnn_zoo module is being imported: each rnn_zoo module's import, as it finishes, checks.
After ``import rnn_zoo``, then, ``keras.saving.load_model`` reads an rnn_zoo model,
whatever imported Keras and in whatever order.
"""

from __future__ import annotations

import importlib
import importlib.abc
import sys

SERIALIZABLE_MODULES = (
    "rnn_zoo.blocks.hoisted_lstm",
    "rnn_zoo.blocks.layers",
    "rnn_zoo.blocks.metrics",
    "rnn_zoo.blocks.quantiles",
    "rnn_zoo.data.imdb",
    "rnn_zoo.data.scaling",
)
"""Every module that registers a class with ``keras.saving.register_keras_serializable``."""

_state = {"pending": False, "done": False}


def register_keras_objects() -> None:
    """Imports every module of :data:`SERIALIZABLE_MODULES`, registering its objects.

    Example:
        >>> register_keras_objects()
        >>> import keras
        >>> "rnn_zoo>HoistedLSTM" in keras.saving.get_custom_objects()
        True
    """
    for name in SERIALIZABLE_MODULES:
        importlib.import_module(name)
    _state["done"] = True


def _importing_a_submodule() -> bool:
    """Whether an ``rnn_zoo.*`` module is part-way through its import."""
    return any(
        getattr(getattr(module, "__spec__", None), "_initializing", False)
        for name, module in list(sys.modules.items())
        if name.startswith("rnn_zoo.")
    )


def _register_when_safe(_keras_module=None) -> None:
    """Registers now, unless an rnn_zoo import is unfinished (then it waits for it)."""
    if _state["done"]:
        return
    if _importing_a_submodule():
        _state["pending"] = True
        return
    _state["pending"] = False
    register_keras_objects()


class _CheckAfterImport(importlib.abc.Loader):
    """Runs an rnn_zoo module's own loader, then a registration Keras was waiting for."""

    def __init__(self, loader):
        self.loader = loader

    def __getattr__(self, name):
        # Everything else (get_code for ``python -m``, get_resource_reader, ...) is
        # the wrapped loader's.
        return getattr(self.loader, name)

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        if _state["pending"]:
            module.__spec__._initializing = False  # this module's import is finished
            _register_when_safe()


class _RnnZooFinder(importlib.abc.MetaPathFinder):
    """Gives each ``rnn_zoo.*`` module the loader above, found by the usual finders."""

    def find_spec(self, fullname, path, target=None):
        if not fullname.startswith("rnn_zoo."):
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _CheckAfterImport(spec.loader)
                return spec
        return None


def register_when_keras_is_imported() -> None:
    """Registers rnn_zoo's Keras objects once Keras is imported (now, if it is).

    Example:
        >>> register_when_keras_is_imported()
    """
    import wrapt

    if not any(isinstance(finder, _RnnZooFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _RnnZooFinder())
    wrapt.register_post_import_hook(_register_when_safe, "keras")
