"""Model families: one module per family, each a ``build_*`` factory and its registry entry.

Importing this package registers every family.
"""

from rnn_zoo.models.baseline import build_baseline
from rnn_zoo.models.classifier import build_gru_classifier
from rnn_zoo.models.forecaster import build_lstm
from rnn_zoo.models.tagger import build_sequence_tagger
from rnn_zoo.models.text_generator import build_text_generator
from rnn_zoo.models.translator import build_seq2seq

__all__ = [
    "build_baseline",
    "build_gru_classifier",
    "build_lstm",
    "build_seq2seq",
    "build_sequence_tagger",
    "build_text_generator",
]
