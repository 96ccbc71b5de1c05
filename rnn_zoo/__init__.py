"""rnn_zoo: a Keras 3 model zoo of recurrent networks.

The public API is imported lazily: ``import rnn_zoo`` is cheap and builds nothing;
TensorFlow and Keras load the first time a name below is used. Every registered
family's factory is a name here (``build_lstm``, ...), found through the registry.
Once Keras is imported, by anything, rnn_zoo's layers, losses and metrics are
registered with it (:mod:`rnn_zoo.keras_objects`), so ``keras.saving.load_model``
reads a saved rnn_zoo model after a plain ``import rnn_zoo``.

Example:
    >>> from rnn_zoo import build_lstm, list_models
    >>> list_models()[:4]
    ['baseline', 'gru_classifier', 'lstm', 'probabilistic_forecaster']
"""

from __future__ import annotations

import importlib

from rnn_zoo.keras_objects import register_when_keras_is_imported

__version__ = "0.1.0"

_REGISTRY_NAMES = ("list_models", "get_model", "get_spec")

__all__ = ["__version__", *_REGISTRY_NAMES]


register_when_keras_is_imported()


def _factories() -> dict:
    """Factory name → its registry entry, without importing any factory."""
    registry = importlib.import_module("rnn_zoo.registry")
    specs = [registry.get_spec(name) for name in registry.list_models()]
    return {spec.factory_name: spec for spec in specs}


def __getattr__(name: str):
    if name in _REGISTRY_NAMES:
        value = getattr(importlib.import_module("rnn_zoo.registry"), name)
    elif name.startswith("build_") and name in (factories := _factories()):
        value = factories[name].get_factory()
    else:
        raise AttributeError(f"module 'rnn_zoo' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted({*__all__, *_factories()})
