"""The Flatten/Dense image classifier (Fashion-MNIST) family.

``spec`` holds its registry entry, ``model`` the factory, ``serving`` what export writes and
how ``predict`` reads raw inputs, ``twin`` the plain-Keras twin the speed
benchmark trains beside it.
"""

from rnn_zoo.models.baseline.spec import SPEC

__all__ = ["SPEC"]
