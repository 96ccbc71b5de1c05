"""The recurrent forecaster (Beijing PM2.5) family.

``model`` holds the factory and its registry entry, ``serving`` what export writes and
how ``predict`` reads raw inputs, ``twin`` the plain-Keras twin the speed
benchmark trains beside it.
"""

from rnn_zoo.models.forecaster.model import SPEC, build_lstm

__all__ = ["SPEC", "build_lstm"]
