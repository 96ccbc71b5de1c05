"""The seq2seq translator with attention (Tatoeba English → French) family.

``model`` holds the factory and its registry entry, ``serving`` what export writes and
how ``predict`` reads raw inputs, ``decoding`` greedy and beam search,
``twin`` the plain-Keras twin the speed benchmark trains beside it.
"""

from rnn_zoo.models.translator.model import SPEC, build_seq2seq

__all__ = ["SPEC", "build_seq2seq"]
