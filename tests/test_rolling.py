"""Rolling-origin scores on a small hourly series, against figures computed by hand.

A stand-in serving module forecasts the last observed value as its median and a fixed
spread around it, so every figure of the backtest has a value known in advance.
"""

from __future__ import annotations

import datetime
import math

import numpy as np
import pytest
import tensorflow as tf

from rnn_zoo.data.horizons import load_horizon_windows
from rnn_zoo.rolling import (
    check_span,
    climatology,
    hours_of_day,
    pinball,
    score_origins,
    span_origins,
    summarize,
)

LEVELS = (0.1, 0.25, 0.5, 0.75, 0.9)
WIDTH, HORIZONS, ROWS = 30, 30, 900


class LastValue:
    """Quantiles: the window's last target value plus ``spread * (-2, -1, 0, 1, 2)``."""

    signature_name = "serving_default"

    def __init__(self, spread: float):
        self.spread = spread

    def signatures(self):
        def serve(windows):
            last = windows[:, -1, 0][:, None, None]
            steps = tf.constant([-2.0, -1.0, 0.0, 1.0, 2.0]) * self.spread
            quantiles = tf.tile(last, [1, HORIZONS, 1]) + steps
            rows = tf.shape(windows)[0]
            return {"quantiles": quantiles, "levels": tf.tile([LEVELS], [rows, 1])}

        return {"serving_default": serve}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    start = datetime.datetime(2014, 1, 1)
    rng = np.random.default_rng(0)
    lines = ["year,month,day,hour,y,x"]
    for row in range(ROWS):
        when = start + datetime.timedelta(hours=row)
        value = "NA" if row % 97 == 5 else f"{50 + 30 * math.sin(row / 5) + rng.normal():.3f}"
        lines.append(f"{when.year},{when.month},{when.day},{when.hour},{value},{row % 3}")
    file = tmp_path_factory.mktemp("rolling") / "series.csv"
    file.write_text("\n".join(lines) + "\n")
    return load_horizon_windows(file, target="y", input_width=WIDTH, horizons=HORIZONS)


def test_a_last_value_forecast_scores_as_persistence_and_the_baselines_by_hand(bundle):
    table, origins, quantiles, levels = score_origins(LastValue(1.0), bundle)
    assert levels == LEVELS and len(table) == HORIZONS
    series, first = bundle.series, ROWS - bundle.metadata["rows"]["test"]
    assert origins[0] == first - 1 and origins[-1] == ROWS - 2
    filled, target = series["rows"][:, 0], series["target"]
    for row in table:
        horizon = row["horizon"]
        ahead = origins + horizon
        keep = ahead < ROWS
        truth = target[ahead[keep]]
        known = ~np.isnan(truth)
        truth = truth[known]
        chosen = origins[keep][known]
        persistence = np.abs(filled[chosen] - truth)
        days = 24 * math.ceil(horizon / 24)
        seasonal = np.abs(filled[chosen + horizon - days] - truth)
        assert row["count"] == len(truth)
        assert row["mae"] == pytest.approx(persistence.mean(), rel=1e-5)
        assert row["persistence_mae"] == pytest.approx(persistence.mean(), rel=1e-5)
        assert row["rmse"] == pytest.approx(np.sqrt((persistence**2).mean()), rel=1e-5)
        assert row["seasonal_naive_mae"] == pytest.approx(seasonal.mean(), rel=1e-5)
        error = truth - filled[chosen]
        assert row["coverage_80"] == pytest.approx(np.mean(np.abs(error) <= 2.0), abs=1e-9)
        assert row["coverage_50"] == pytest.approx(np.mean(np.abs(error) <= 1.0), abs=1e-9)
    assert table[23]["seasonal_naive_mae"] == pytest.approx(table[23]["persistence_mae"])


def test_climatology_is_the_train_quantiles_of_each_hour_of_day(bundle):
    series, metadata = bundle.series, bundle.metadata
    by_hour = climatology(series, metadata, LEVELS)
    train = metadata["rows"]["train"]
    hours = np.arange(train) % 24  # the series starts at midnight
    values = series["target"][:train]
    for hour in (0, 7, 23):
        chosen = values[(hours == hour) & ~np.isnan(values)]
        np.testing.assert_allclose(by_hour[hour], np.quantile(chosen, LEVELS))
    np.testing.assert_array_equal(
        hours_of_day(series["rows"][:48], metadata["features"]), np.arange(48) % 24
    )


def test_pinball_of_a_wider_spread_and_the_summary(bundle):
    narrow, *_ = score_origins(LastValue(0.0), bundle)
    wide, *_ = score_origins(LastValue(1000.0), bundle)
    assert all(row["coverage_80"] == 1.0 for row in wide)
    assert narrow[0]["pinball"] == pytest.approx(0.5 * narrow[0]["mae"], rel=1e-5)
    summary = summarize(narrow)
    assert summary["mae_6h"] == narrow[5]["mae"] and summary["skill_6h"] == pytest.approx(0.0)
    assert "mae_24h" in summary and summary["coverage_80_min"] <= summary["coverage_80_max"]
    assert summary["pinball"] == pytest.approx(np.mean([row["pinball"] for row in narrow]))


def test_pinball_by_hand():
    loss = pinball(
        np.array([1.0, 3.0]), np.array([[0.0, 1.0, 2.0], [0.0, 1.0, 2.0]]), (0.1, 0.5, 0.9)
    )
    np.testing.assert_allclose(loss, [(0.1 + 0 + 0.1) / 3, (0.3 + 1.0 + 0.9) / 3])


def test_a_span_selects_the_origins_of_its_first_target_hours(bundle):
    hours = bundle.metadata["rows"]["test"]
    first = ROWS - hours
    origins = span_origins(bundle.series, bundle.metadata, 10, 20)
    np.testing.assert_array_equal(origins + 1 - first, np.arange(10, 20))
    assert len(span_origins(bundle.series, bundle.metadata, 0, None)) == hours


@pytest.mark.parametrize(
    ("start", "stop", "message"),
    [
        (-1, None, r"start=-1 is out of range; expected an integer in \[0, 89\]"),
        (90, None, r"start=90 is out of range; expected an integer in \[0, 89\]"),
        (5, 5, r"stop=5 is out of range; expected an integer in \[6, 90\]"),
        (0, 91, r"stop=91 is out of range; expected an integer in \[1, 90\]"),
    ],
)
def test_a_span_outside_the_test_span_is_refused(bundle, start, stop, message):
    with pytest.raises(ValueError, match=message):
        span_origins(bundle.series, bundle.metadata, start, stop)


def test_data_without_raw_rows_is_refused(bundle):
    import dataclasses

    with pytest.raises(ValueError, match="keeps no raw series rows"):
        score_origins(LastValue(1.0), dataclasses.replace(bundle, series=None))


def test_a_span_is_checked_against_the_test_span_length():
    assert check_span(0, None, 168) == 168
    assert check_span(24, 48, 168) == 48
    with pytest.raises(ValueError, match="start=168"):
        check_span(168, None, 168)
    with pytest.raises(ValueError, match="stop=24"):
        check_span(24, 24, 168)
    with pytest.raises(ValueError, match="stop=169"):
        check_span(0, 169, 168)


def test_online_calibration_is_scored_beside_the_forecasts_as_trained(bundle):
    plain, _, served, _ = score_origins(LastValue(0.5), bundle, calibration="none")
    table, _, calibrated, _ = score_origins(LastValue(0.5), bundle, step_size=0.05)
    assert not any(key.startswith("online_") for key in plain[0])
    for before, row in zip(plain, table, strict=True):
        assert {key: row[key] for key in before} == pytest.approx(before)
        assert row["online_coverage_80"] > row["coverage_80"]  # 0.5 is far too narrow
    assert not np.allclose(calibrated, served)
    summary = summarize(table)
    assert summary["online_coverage_80_min"] == min(row["online_coverage_80"] for row in table)
    assert summary["online_skill_6h"] == pytest.approx(
        1 - table[5]["online_mae"] / table[5]["persistence_mae"]
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"calibration": "conformal"}, "calibration='conformal'.*'online', 'none'"),
        ({"step_size": -1.0}, "step_size=-1.0 is out of range"),
    ],
)
def test_a_bad_calibration_is_refused_before_any_forecast(bundle, options, message):
    class Unused:
        def signatures(self):
            raise AssertionError("forecast before the options were checked")

    with pytest.raises(ValueError, match=message):
        score_origins(Unused(), bundle, **options)


def test_a_span_at_the_end_scores_only_the_horizons_it_observes(bundle):
    import warnings

    hours = bundle.metadata["rows"]["test"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no mean of an empty slice
        table, *_ = score_origins(LastValue(1.0), bundle, hours - 3)
    assert [row["horizon"] for row in table] == [1, 2, 3]
    assert [row["count"] for row in table] == [3, 2, 1]
    assert "mae_6h" not in summarize(table) and "mae_1h" in summarize(table)


def test_a_span_without_any_observed_target_is_refused(bundle):
    from rnn_zoo.rolling import score_forecasts

    series = dict(bundle.series)
    origins = span_origins(series, bundle.metadata, 10, 12)
    series["target"] = series["target"].copy()
    series["target"][origins[0] + 1 :] = np.nan
    quantiles = np.zeros((len(origins), HORIZONS, len(LEVELS)))
    with pytest.raises(ValueError, match="none of the 2 forecast origins has an observed"):
        score_forecasts(quantiles, LEVELS, series, origins, bundle.metadata)
