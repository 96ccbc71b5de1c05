"""The Flatten/Dense image classifier (Fashion-MNIST) family.

``model`` holds the factory and its registry entry, ``serving`` what export writes and
how ``predict`` reads raw inputs, ``twin`` the plain-Keras twin the speed
benchmark trains beside it.
"""

from rnn_zoo.models.baseline.model import SPEC, build_baseline

__all__ = ["SPEC", "build_baseline"]
