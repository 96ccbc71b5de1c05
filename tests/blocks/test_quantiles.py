"""The quantile head never crosses, and the pinball loss is the textbook one, NaN left out."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from rnn_zoo.blocks.levels import central_intervals
from rnn_zoo.blocks.quantiles import MonotoneQuantiles, PinballLoss
from rnn_zoo.validation import check_levels

LEVELS = (0.1, 0.25, 0.5, 0.75, 0.9)


def pinball_by_hand(truth, quantiles, levels, weights):
    """Weighted mean over known targets of the mean pinball loss over the levels."""
    total = 0.0
    for row in range(truth.shape[0]):
        for hour in range(truth.shape[1]):
            if np.isnan(truth[row, hour]):
                continue
            losses = [
                max(tau * (truth[row, hour] - q), (tau - 1) * (truth[row, hour] - q))
                for tau, q in zip(levels, quantiles[row, hour], strict=True)
            ]
            total += weights[hour] * np.mean(losses)
    return total / truth.size


@pytest.mark.parametrize("exponent", [0.0, 1.0])
def test_pinball_loss_matches_the_formula_and_skips_nan_targets(exponent):
    rng = np.random.default_rng(0)
    truth = rng.normal(size=(6, 4))
    truth[1, 2] = truth[4, 0] = np.nan
    quantiles = np.sort(rng.normal(size=(6, 4, 5)), axis=-1)
    weights = np.arange(1, 5) ** -exponent
    weights = weights * 4 / weights.sum()
    loss = PinballLoss(LEVELS, horizon_exponent=exponent)
    got = float(loss(truth.astype("float32"), quantiles.astype("float32")))
    assert got == pytest.approx(pinball_by_hand(truth, quantiles, LEVELS, weights), rel=1e-5)


def test_members_are_scored_each_on_its_own():
    rng = np.random.default_rng(1)
    truth = rng.normal(size=(3, 2)).astype("float32")
    members = np.sort(rng.normal(size=(3, 2, 2, 5)), axis=-1).astype("float32")
    loss = PinballLoss(LEVELS, horizon_exponent=0.0)
    alone = [float(loss(truth, members[:, index])) for index in range(2)]
    assert float(loss(truth, members)) == pytest.approx(np.mean(alone), rel=1e-5)


def test_the_median_level_is_half_the_absolute_error():
    loss = PinballLoss((0.5,), horizon_exponent=0.0)
    truth, median = np.array([[1.0, 4.0]]), np.array([[[2.0], [1.0]]])
    assert float(loss(truth, median)) == pytest.approx(0.5 * np.mean([1.0, 3.0]))


def test_a_model_with_other_levels_than_the_loss_is_refused():
    with pytest.raises(ValueError, match="predictions have 3 quantiles .* levels=\\(0.1, 0.25"):
        PinballLoss(LEVELS)(np.zeros((1, 2)), np.zeros((1, 2, 3)))


def test_the_loss_survives_a_keras_round_trip():
    loss = keras.losses.deserialize(keras.losses.serialize(PinballLoss((0.2, 0.5, 0.8), 0.5)))
    assert loss.levels == (0.2, 0.5, 0.8) and loss.horizon_exponent == 0.5


@settings(max_examples=30, deadline=None)
@given(arrays("float32", (2, 3, 5), elements=st.floats(-30, 30, width=32)))
def test_monotone_quantiles_never_cross_and_the_median_is_the_baseline_plus_its_output(free):
    head = MonotoneQuantiles(LEVELS)
    baseline = np.full((2, 1, 1), 1.5, "float32")
    quantiles = keras.ops.convert_to_numpy(head([free, baseline]))
    assert (np.diff(quantiles, axis=-1) >= 0).all()
    np.testing.assert_allclose(quantiles[..., 2], free[..., 2] + 1.5, rtol=1e-6)


@pytest.mark.parametrize(
    ("levels", "error", "message"),
    [
        ((0.1, 0.9), ValueError, "lacks the median 0.5"),
        ((0.0, 0.5, 1.0), ValueError, r"outside \(0, 1\): \[0.0, 1.0\]"),
        ((0.5, 0.9, 0.1), ValueError, "is not strictly increasing"),
        ((0.1, 0.5, 0.5), ValueError, "is not strictly increasing"),
        ("0.5", TypeError, r"levels='0.5' \(type str\) is not accepted"),
        ((0.5, True), TypeError, "is not accepted"),
    ],
)
def test_bad_levels_are_refused_naming_them(levels, error, message):
    for build in (
        lambda: check_levels("levels", levels),
        lambda: MonotoneQuantiles(levels),
        lambda: PinballLoss(levels),
    ):
        with pytest.raises(error, match=message):
            build()


def test_central_intervals_pair_the_levels_around_the_median():
    assert central_intervals(LEVELS) == {80: (0, 4), 50: (1, 3)}
    assert central_intervals((0.05, 0.5, 0.9)) == {}
