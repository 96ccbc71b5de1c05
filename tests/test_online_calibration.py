"""Online calibration: each quantile reaches its level from the feedback it could have seen."""

from __future__ import annotations

import numpy as np
import pytest

from rnn_zoo.online_calibration import track_quantiles

LEVELS = (0.1, 0.25, 0.5, 0.75, 0.9)
Z = np.array([-1.2816, -0.6745, 0.0, 0.6745, 1.2816])  # standard normal quantiles


def _too_narrow(rows: int, horizons: int, seed: int = 0):
    """A log-normal target and forecasts of half its spread (80% interval covers 48%)."""
    rng = np.random.default_rng(seed)
    target = np.expm1(rng.normal(3.0, 1.0, rows + horizons))
    quantiles = np.tile(np.expm1(3.0 + 0.5 * Z), (rows, horizons, 1))
    return quantiles, np.arange(rows), target


def _share_below(quantiles, origins, target, horizon):
    truth = target[origins + horizon][:, None]
    return (truth <= quantiles[:, horizon - 1]).mean(axis=0)


def test_too_narrow_quantiles_reach_their_levels_and_the_median_stays():
    quantiles, origins, target = _too_narrow(20_000, 3)
    calibrated = track_quantiles(quantiles, LEVELS, origins, target, step_size=0.01)
    for horizon in (1, 3):
        before = _share_below(quantiles, origins, target, horizon)
        after = _share_below(calibrated, origins, target, horizon)
        assert abs(before[0] - 0.1) > 0.1 and abs(before[4] - 0.9) > 0.1
        np.testing.assert_allclose(np.delete(after, 2), np.delete(LEVELS, 2), atol=0.01)
    np.testing.assert_array_equal(calibrated[:, :, 2], quantiles[:, :, 2])
    assert np.all(np.diff(calibrated, axis=-1) >= 0) and calibrated.min() >= 0


def test_a_forecast_uses_only_targets_observed_by_its_origin():
    quantiles, _, target = _too_narrow(60, 4, seed=1)
    origins = np.sort(np.random.default_rng(2).choice(200, size=60, replace=False))
    target = np.resize(target, 210)
    calibrated = track_quantiles(quantiles, LEVELS, origins, target, step_size=0.05)
    for cut in (origins[10], origins[40]):
        changed = target.copy()
        changed[cut + 1 :] = changed[cut + 1 :] * 10 + 100  # everything after the origin
        again = track_quantiles(quantiles, LEVELS, origins, changed, step_size=0.05)
        seen = origins <= cut
        np.testing.assert_array_equal(again[seen], calibrated[seen])
        assert not np.array_equal(again[~seen], calibrated[~seen])


def test_missing_targets_are_skipped():
    quantiles, origins, target = _too_narrow(500, 2, seed=3)
    missing = target.copy()
    missing[::7] = np.nan
    calibrated = track_quantiles(quantiles, LEVELS, origins, missing, step_size=0.02)
    assert np.isfinite(calibrated).all()
    assert not np.array_equal(calibrated, track_quantiles(quantiles, LEVELS, origins, target, 0.02))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"step_size": 0.0}, r"step_size=0\.0 is out of range; expected a number in \(0, inf\)"),
        ({"step_size": float("nan")}, "step_size=nan is out of range"),
        ({"origins": np.array([0, 2, 2])}, "origins must increase"),
        ({"origins": np.arange(4)}, r"quantiles of shape \(3, 2, 5\) do not match 4 origins"),
        ({"levels": (0.1, 0.9)}, "quantiles have 5 levels but 2 were given"),
    ],
)
def test_bad_arguments_are_refused_naming_them(change, message):
    arguments = {
        "quantiles": np.ones((3, 2, 5)),
        "levels": LEVELS,
        "origins": np.arange(3),
        "target": np.ones(6),
        "step_size": 0.01,
        **change,
    }
    with pytest.raises(ValueError, match=message):
        track_quantiles(**arguments)
