"""The recurrent review classifier (IMDB sentiment) family.

``model`` holds the factory and its registry entry, ``serving`` what export writes and
how ``predict`` reads raw inputs, ``twin`` the plain-Keras twin the speed
benchmark trains beside it.
"""

from rnn_zoo.models.classifier.model import SPEC, build_gru_classifier

__all__ = ["SPEC", "build_gru_classifier"]
