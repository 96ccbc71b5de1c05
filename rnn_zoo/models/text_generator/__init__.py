"""The character-level text generator (tiny Shakespeare) family.

``model`` holds the factory and its registry entry, ``serving`` what export writes and
how ``predict`` reads raw inputs, ``generation`` the stepped, in-graph sampling,
``twin`` the plain-Keras twin the speed benchmark trains beside it.
"""

from rnn_zoo.models.text_generator.model import SPEC, build_text_generator

__all__ = ["SPEC", "build_text_generator"]
