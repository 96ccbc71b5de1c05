"""The character-level text generator (tiny Shakespeare) family.

``spec`` holds its registry entry, ``model`` the factory, ``serving`` what export writes and
how ``predict`` reads raw inputs, ``generation`` the stepped, in-graph sampling,
``twin`` the plain-Keras twin the speed benchmark trains beside it.
"""

from rnn_zoo.models.text_generator.spec import SPEC

__all__ = ["SPEC"]
