"""The probabilistic multi-horizon forecaster (Beijing PM2.5, every hour 1 to 24 ahead).

``spec`` holds its registry entry, ``model`` the factory, ``serving`` what export writes
(raw windows in, quantiles of every hour ahead out), ``report`` the test figures
training records, ``twin`` the plain-Keras twin the speed benchmark trains beside it.
"""

from rnn_zoo.models.probabilistic_forecaster.spec import SPEC

__all__ = ["SPEC"]
