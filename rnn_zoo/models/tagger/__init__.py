"""The BiLSTM part-of-speech tagger (UD English EWT) family.

``model`` holds the factory and its registry entry, ``serving`` what export writes and
how ``predict`` reads raw inputs, ``twin`` the plain-Keras twin the speed
benchmark trains beside it.
"""

from rnn_zoo.models.tagger.model import SPEC, build_sequence_tagger

__all__ = ["SPEC", "build_sequence_tagger"]
