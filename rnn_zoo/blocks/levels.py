"""Quantile levels, without Keras: the default levels and the intervals they bound.

Kept apart from :mod:`rnn_zoo.blocks.quantiles` (the Keras head and loss) so that
registry entries and scoring code (:mod:`rnn_zoo.rolling`, a benchmark in another
environment) can use them without importing Keras.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

DEFAULT_LEVELS = (0.1, 0.25, 0.5, 0.75, 0.9)
"""The median and the 50% and 80% central intervals."""


def central_intervals(levels: Sequence[float]) -> dict[int, tuple[int, int]]:
    """The central intervals the levels bound: width in percent → (lower, upper) positions.

    Args:
        levels: Quantile levels, increasing.

    Returns:
        E.g. ``{80: (0, 4), 50: (1, 3)}`` for ``(0.1, 0.25, 0.5, 0.75, 0.9)``, widest first.

    Example:
        >>> central_intervals((0.1, 0.25, 0.5, 0.75, 0.9))
        {80: (0, 4), 50: (1, 3)}
    """
    intervals = {}
    for lower, level in enumerate(levels):
        for upper in range(len(levels) - 1, lower, -1):
            if math.isclose(levels[upper] + level, 1.0, abs_tol=1e-9):
                intervals[round(100 * (levels[upper] - level))] = (lower, upper)
    return intervals
