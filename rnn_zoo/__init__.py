"""rnn_zoo: a Keras 3 model zoo of recurrent networks.

The public API is imported lazily: ``import rnn_zoo`` is cheap and builds nothing;
TensorFlow and Keras load the first time a name below is used.

Example:
    >>> from rnn_zoo import build_lstm, list_models
    >>> list_models()
    ['baseline', 'gru_classifier', 'lstm', 'seq2seq', 'sequence_tagger', 'text_generator']
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_PUBLIC = {
    "build_baseline": "rnn_zoo.models.baseline",
    "build_lstm": "rnn_zoo.models.forecaster",
    "build_text_generator": "rnn_zoo.models.text_generator",
    "build_gru_classifier": "rnn_zoo.models.classifier",
    "build_seq2seq": "rnn_zoo.models.translator",
    "build_sequence_tagger": "rnn_zoo.models.tagger",
    "list_models": "rnn_zoo.registry",
    "get_model": "rnn_zoo.registry",
    "get_spec": "rnn_zoo.registry",
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'rnn_zoo' has no attribute {name!r}")
    value = getattr(importlib.import_module(_PUBLIC[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
