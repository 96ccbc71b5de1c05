"""The seq2seq translator with attention (Tatoeba English → French) family.

``spec`` holds its registry entry, ``model`` the factory, ``serving`` what export writes and
how ``predict`` reads raw inputs, ``decoding`` greedy and beam search,
``twin`` the plain-Keras twin the speed benchmark trains beside it.
"""

from rnn_zoo.models.translator.spec import SPEC

__all__ = ["SPEC"]
