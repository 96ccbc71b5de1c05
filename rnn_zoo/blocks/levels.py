"""The default quantile levels of the quantile forecasters: the median, 50% and 80% intervals.

Kept apart from :mod:`rnn_zoo.blocks.quantiles` (the Keras head and loss) so that registry
entries can give their loss the same levels without importing Keras.
"""

DEFAULT_LEVELS = (0.1, 0.25, 0.5, 0.75, 0.9)
