"""load_horizon_windows and future_calendar on Beijing PM2.5 and on small CSV files.

The real-data checks load the first 3,000 rows of the PM2.5 file (splits of 2,100,
600 and 300 rows) once per module; the bad-input checks write small files.
"""

from __future__ import annotations

import csv
import datetime
import math

import numpy as np
import pytest

from rnn_zoo.data.calendar import calendar_features, future_calendar
from rnn_zoo.data.horizons import load_horizon_windows

PM25_FILE = "PRSA_data_2010.1.1-2014.12.31.csv"
ROWS = 3000
WIDTH, HORIZONS = 48, 24


@pytest.fixture(scope="module")
def table(shared_data) -> list[list[str]]:
    with open(shared_data / PM25_FILE, newline="") as handle:
        return list(csv.reader(handle))[: ROWS + 1]


@pytest.fixture(scope="module")
def bundle(table, tmp_path_factory):
    file = tmp_path_factory.mktemp("series") / "slice.csv"
    file.write_text("\n".join(",".join(row) for row in table) + "\n")
    return load_horizon_windows(
        file, input_width=WIDTH, horizons=HORIZONS, log_columns=["pm2.5"], batch_size=64
    )


def column(table, name) -> list[str]:
    return [row[table[0].index(name)] for row in table[1:]]


def pm25(table) -> np.ndarray:
    return np.array([math.nan if cell == "NA" else float(cell) for cell in column(table, "pm2.5")])


def examples(dataset):
    windows, futures, targets = [], [], []
    for inputs, target in dataset:
        windows.append(inputs["window"].numpy())
        futures.append(inputs["future"].numpy())
        targets.append(target.numpy())
    return np.concatenate(windows), np.concatenate(futures), np.concatenate(targets)


def test_the_target_comes_first_and_the_calendar_is_known_ahead(bundle):
    metadata = bundle.metadata
    assert metadata["features"][0] == "pm2.5" and metadata["target_index"] == 0
    assert metadata["future"] == [
        "hour_sin", "hour_cos", "weekday_sin", "weekday_cos", "month_sin", "month_cos"
    ]  # fmt: skip
    assert "year" not in metadata["features"] and "day" not in metadata["features"]
    assert bundle.model_kwargs == {
        "input_shape": (WIDTH, len(metadata["features"])),
        "horizons": HORIZONS,
        "future_features": 6,
    }


def test_each_split_is_the_hours_before_its_rows_and_test_windows_reach_back(bundle):
    rows, origins = bundle.metadata["rows"], bundle.series["origins"]
    assert rows == {"train": 2100, "validation": 600, "test": 300}
    assert origins["train"][0] == WIDTH - 1 and origins["train"][-1] <= 2100 - 2
    assert origins["validation"][0] == 2099 and origins["test"][0] == 2699
    np.testing.assert_array_equal(origins["test"], np.arange(2699, 2999))  # no test gap
    assert bundle.metadata["windows"]["test"] == 300


def test_windows_targets_and_future_match_the_file(bundle, table):
    target = pm25(table)
    metadata = bundle.metadata
    windows, futures, targets = examples(bundle.test)
    origins = bundle.series["origins"]["test"]
    mean, std = metadata["mean"][0], metadata["std"][0]
    ahead = origins[:, None] + np.arange(1, HORIZONS + 1)[None, :]
    expected = np.where(ahead < ROWS, target[np.minimum(ahead, ROWS - 1)], np.nan)
    np.testing.assert_allclose(np.expm1(targets * std + mean), expected, rtol=1e-4, atol=1e-3)
    assert np.isnan(targets[-1, 1:]).all()  # past the end of the file
    # the window ends at the origin: its last target feature is the origin's (filled) value
    last = np.expm1(windows[:, -1, 0] * std + mean)
    filled = bundle.series["rows"][origins, 0]
    np.testing.assert_allclose(last, filled, rtol=1e-4, atol=1e-3)
    # the future calendar is the calendar of the rows ahead (month: the origin's)
    times = [
        datetime.datetime(int(y), int(m), int(d), int(h))
        for y, m, d, h in zip(
            *(column(table, n) for n in ("year", "month", "day", "hour")), strict=True
        )
    ]
    origin = int(origins[5])
    for step in range(HORIZONS):
        when = times[origin + step + 1] if origin + step + 1 < ROWS else None
        if when is None:
            continue
        angles = [2 * math.pi * when.hour / 24, 2 * math.pi * when.weekday() / 7]
        expected_row = [f(a) for a in angles for f in (math.sin, math.cos)]
        np.testing.assert_allclose(futures[5, step, :4], expected_row, atol=1e-5)
        month = 2 * math.pi * times[origin].month / 12
        np.testing.assert_allclose(
            futures[5, step, 4:], [math.sin(month), math.cos(month)], atol=1e-5
        )


def test_validation_targets_stop_at_the_end_of_their_split(bundle):
    _, _, targets = examples(bundle.validation)
    origins = bundle.series["origins"]["validation"]
    ahead = origins[:, None] + np.arange(1, HORIZONS + 1)[None, :]
    assert np.isnan(targets[ahead >= 2700]).all()
    assert not np.isnan(targets[ahead < 2700]).all()


def test_statistics_come_from_the_train_rows(bundle, table):
    train = np.log1p(pm25(table)[:2100])
    known = train[~np.isnan(train)]
    # forward-filled for the statistics; close to the known values' mean
    assert abs(bundle.metadata["mean"][0] - known.mean()) < 0.05


def test_future_calendar_steps_over_midnight_and_the_week():
    features = ["hour_sin", "hour_cos", "weekday_sin", "weekday_cos"]
    metadata = {"features": features, "future": calendar_features(features), "horizons": 3}
    hour, day = 2 * math.pi * 23 / 24, 2 * math.pi * 6 / 7  # Sunday 23:00
    row = np.array([[math.sin(hour), math.cos(hour), math.sin(day), math.cos(day)]])
    ahead = np.asarray(future_calendar(row, metadata))[0]
    hours = np.round(np.arctan2(ahead[:, 0], ahead[:, 1]) * 24 / (2 * math.pi)) % 24
    days = np.round(np.arctan2(ahead[:, 2], ahead[:, 3]) * 7 / (2 * math.pi)) % 7
    assert hours.tolist() == [0, 1, 2] and days.tolist() == [0, 0, 0]  # Monday


def write(tmp_path, rows, name="series.csv"):
    file = tmp_path / name
    file.write_text("\n".join(",".join(map(str, row)) for row in rows) + "\n")
    return file


def hourly(rows=400, change=None):
    """year,month,day,hour,y,w: an hourly series from 2014-03-01."""
    start = datetime.datetime(2014, 3, 1)
    table = [["year", "month", "day", "hour", "y", "w"]]
    for row in range(rows):
        when = start + datetime.timedelta(hours=row)
        table.append([when.year, when.month, when.day, when.hour, row % 50, row % 7])
    if change:
        change(table)
    return table


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"horizons": 0}, ValueError, "horizons=0 is out of range"),
        ({"horizons": 2.5}, TypeError, "horizons=2.5"),
        ({"input_width": -1}, ValueError, "input_width=-1"),
        ({"weekday": "yes"}, TypeError, "weekday="),
    ],
)
def test_bad_options_are_refused_before_reading(options, error, message):
    with pytest.raises(error, match=message):
        load_horizon_windows("/nonexistent/series.csv", **options)


def test_a_horizon_past_what_the_splits_hold_is_refused_naming_it(tmp_path):
    file = write(tmp_path, hourly(400))
    with pytest.raises(
        ValueError, match=r"horizons=30 with input_width=24 needs at least 24 \+ 30"
    ):
        load_horizon_windows(file, target="y", input_width=24, horizons=30)


def test_a_series_without_an_hour_is_refused(tmp_path):
    file = write(tmp_path, [row[:3] + row[4:] for row in hourly(400)])
    with pytest.raises(ValueError, match="the series has no hour"):
        load_horizon_windows(file, target="y", input_width=8, horizons=4)


def test_weekday_needs_the_date_columns(tmp_path):
    file = write(tmp_path, [row[1:] for row in hourly(400)])
    with pytest.raises(ValueError, match="the calendar: 'year' is not a column"):
        load_horizon_windows(file, target="y", input_width=8, horizons=4)
    bundle = load_horizon_windows(file, target="y", input_width=8, horizons=4, weekday=False)
    assert bundle.metadata["future"] == ["hour_sin", "hour_cos", "month_sin", "month_cos"]


def set_cell(row, name, value):
    def change(table):
        table[row][table[0].index(name)] = value

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (set_cell(120, "hour", "NA"), r"line 121, column 'hour': the value is missing"),
        (set_cell(50, "day", ""), r"line 51, column 'day': the value is missing"),
        (set_cell(70, "day", "32"), r"line 71, columns year, month, day: 2014-3-32 is not a date"),
        (set_cell(71, "month", "13"), r"line 72, columns year, month, day: 2014-13-3 is not a"),
        (set_cell(72, "year", "2014.5"), r"line 73, columns year, month, day: 2014.5-3-3 is not"),
    ],
)
def test_a_missing_or_impossible_calendar_value_is_refused_naming_its_line(
    tmp_path, change, message
):
    file = write(tmp_path, hourly(400, change))
    with pytest.raises(ValueError, match=message):
        load_horizon_windows(file, target="y", input_width=8, horizons=4)
