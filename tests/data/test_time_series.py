"""load_time_series on Beijing PM2.5 and on small CSV files written by the tests."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
import tensorflow as tf

from rnn_zoo.data.forecast_scores import persistence_forecast
from rnn_zoo.data.readings import encode_columns
from rnn_zoo.data.scaling import FeatureScaling, denormalize_target, normalize
from rnn_zoo.data.sources import DataNotFoundError
from rnn_zoo.data.time_series import load_time_series

PM25_FILE = "PRSA_data_2010.1.1-2014.12.31.csv"
WIDTH = 24


@pytest.fixture(scope="module")
def columns(shared_data) -> dict[str, list[str]]:
    with open(shared_data / PM25_FILE, newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {name: [row[name] for row in rows] for name in rows[0]}


@pytest.fixture(scope="module")
def pm25(columns) -> np.ndarray:
    return np.array([math.nan if cell == "NA" else float(cell) for cell in columns["pm2.5"]])


@pytest.fixture(scope="module")
def bundle(shared_data):
    return load_time_series(shared_data)


def forward_filled(values: np.ndarray) -> np.ndarray:
    filled, last = values.copy(), values[~np.isnan(values)][0]
    for i, value in enumerate(values):
        last = last if math.isnan(value) else value
        filled[i] = last
    return filled


def window_starts(bundle, split: str, target: np.ndarray) -> np.ndarray:
    """Start rows of the windows a split yields, in order: those with a known target."""
    metadata = bundle.metadata
    order = ("train", "validation", "test")
    start = sum(metadata["rows"][name] for name in order[: order.index(split)])
    ahead = metadata["input_width"] + metadata["horizon"] - 1
    count = metadata["windows"][split] + metadata["dropped_windows"][split]
    return np.array([s for s in range(start, start + count) if not math.isnan(target[s + ahead])])


def write_csv(tmp_path, rows, name="series.csv"):
    file = tmp_path / name
    file.write_text("\n".join(",".join(map(str, row)) for row in rows) + "\n")
    return file


def small_series(tmp_path, rows=100, missing=(), categories="ab"):
    """time,value,wind with value = 10 * row, some values NA, wind cycling categories."""
    table = [("time", "value", "wind")]
    for row in range(rows):
        value = "NA" if row in missing else 10 * row
        table.append((row, value, categories[row % len(categories)]))
    return write_csv(tmp_path, table)


def test_beijing_counts_and_features(bundle, columns):
    metadata = bundle.metadata
    assert sum(metadata["rows"].values()) == len(columns["No"]) == 43_824
    assert metadata["missing_values"]["pm2.5"] == 2_067
    assert metadata["features"] == [
        "month_sin", "month_cos", "hour_sin", "hour_cos", "pm2.5", "DEWP", "TEMP", "PRES",
        "cbwd=NE", "cbwd=NW", "cbwd=SE", "cbwd=cv", "Iws", "Is", "Ir",
    ]  # fmt: skip
    assert metadata["target"] == "pm2.5" and metadata["target_index"] == 4
    assert bundle.model_kwargs == {"input_shape": (WIDTH, 15), "num_features": 1}
    for split, rows in metadata["rows"].items():
        windows = metadata["windows"][split] + metadata["dropped_windows"][split]
        assert windows == rows - WIDTH
    assert metadata["rows"]["train"] == round(0.7 * 43_824)
    json.dumps(metadata)


def test_shapes_and_dtypes(bundle):
    for split in (bundle.train, bundle.validation, bundle.test):
        windows, targets = split.element_spec
        assert windows.shape.as_list() == [None, WIDTH, 15] and windows.dtype == tf.float32
        assert targets.shape.as_list() == [None, 1] and targets.dtype == tf.float32
    windows, _ = next(iter(bundle.train))
    assert windows.shape == (256, WIDTH, 15)


def test_no_window_has_a_missing_target(bundle):
    for split in ("validation", "test"):
        targets = np.concatenate([y for _, y in getattr(bundle, split)])
        assert len(targets) == bundle.metadata["windows"][split]
        assert np.isfinite(targets).all()


def test_targets_and_windows_match_the_csv(bundle, columns, pm25):
    metadata = bundle.metadata
    starts = window_starts(bundle, "test", pm25)[:256]
    windows, targets = next(iter(bundle.test))
    np.testing.assert_allclose(
        denormalize_target(targets, metadata)[:, 0], pm25[starts + WIDTH], rtol=1e-5
    )
    raw = encode_columns(columns, metadata)
    expected = normalize(np.stack([raw[s : s + WIDTH] for s in starts]), metadata)
    np.testing.assert_allclose(windows, expected, atol=1e-5)
    dewp = metadata["features"].index("DEWP")
    restored = windows[0, :, dewp] * metadata["std"][dewp] + metadata["mean"][dewp]
    raw_dewp = np.array(columns["DEWP"][starts[0] : starts[0] + WIDTH], dtype=float)
    np.testing.assert_allclose(restored, raw_dewp, atol=1e-3)


def test_denormalize_inverts_normalize(bundle):
    raw = np.random.default_rng(0).normal(50, 30, size=(4, WIDTH, 15))
    index = bundle.metadata["target_index"]
    normalized = normalize(raw, bundle.metadata)
    np.testing.assert_allclose(
        denormalize_target(normalized[..., index], bundle.metadata), raw[..., index], rtol=1e-5
    )
    np.testing.assert_allclose(bundle.preprocessor(raw), normalized, atol=1e-4)
    with pytest.raises(ValueError, match="15 features"):
        normalize(raw[..., :3], bundle.metadata)


@pytest.fixture(scope="module")
def logged_bundle(shared_data):
    return load_time_series(shared_data, horizon=6, log_columns=["pm2.5"])


def test_log_columns_are_normalized_as_log1p(logged_bundle, columns, pm25):
    metadata, index = logged_bundle.metadata, logged_bundle.metadata["target_index"]
    assert metadata["log_features"] == ["pm2.5"]
    train = forward_filled(pm25)[: metadata["rows"]["train"]]
    assert metadata["mean"][index] == pytest.approx(np.log1p(train).mean())
    assert metadata["std"][index] == pytest.approx(np.log1p(train).std())
    starts = window_starts(logged_bundle, "test", pm25)[:256]
    windows, targets = next(iter(logged_bundle.test))
    np.testing.assert_allclose(
        denormalize_target(targets, metadata)[:, 0], pm25[starts + WIDTH + 5], rtol=1e-4
    )
    raw = encode_columns(columns, metadata)
    raw_windows = np.stack([raw[s : s + WIDTH] for s in starts])
    np.testing.assert_allclose(windows, normalize(raw_windows, metadata), atol=1e-5)
    restored = windows[..., index] * metadata["std"][index] + metadata["mean"][index]
    np.testing.assert_allclose(np.expm1(restored), raw_windows[..., index], rtol=1e-3, atol=1e-2)
    naive = persistence_forecast(windows, metadata)[:, 0]
    np.testing.assert_allclose(naive, forward_filled(pm25)[starts + WIDTH - 1], rtol=1e-3)


def test_feature_scaling_layer_matches_normalize(logged_bundle):
    metadata = logged_bundle.metadata
    raw = np.abs(np.random.default_rng(0).normal(50, 30, size=(4, WIDTH, 15)))
    scaling = logged_bundle.preprocessor
    assert isinstance(scaling, FeatureScaling)
    np.testing.assert_allclose(scaling(raw), normalize(raw, metadata), atol=1e-4)
    outputs = np.linspace(-2, 2, 9)
    np.testing.assert_allclose(
        scaling.target_from_outputs(outputs), denormalize_target(outputs, metadata), rtol=1e-4
    )
    rebuilt = FeatureScaling.from_config(scaling.get_config())
    np.testing.assert_allclose(rebuilt(raw), scaling(raw))
    raw[1, 3, metadata["target_index"]] = -5
    with pytest.raises(ValueError, match="negative 'pm2.5' value"):
        normalize(raw, metadata)


@pytest.mark.parametrize(
    "log_columns, match",
    [
        (["wind"], "'wind' is not a numeric input column.*expected some of time, value"),
        (["nope"], "'nope' is not a numeric input column"),
        (["value"], "line 4, column 'value': -20.0 is negative"),
    ],
)
def test_bad_log_columns_name_the_column(tmp_path, log_columns, match):
    file = small_series(tmp_path)
    text = file.read_text().replace("\n2,20,", "\n2,-20,")
    file.write_text(text)
    with pytest.raises(ValueError, match=match):
        load_time_series(file, target="value", input_width=5, log_columns=log_columns)


def test_normalization_stats_come_from_train_rows(bundle, columns, pm25):
    metadata = bundle.metadata
    train = metadata["rows"]["train"]
    dewp = np.array(columns["DEWP"], dtype=float)
    index = metadata["features"].index("DEWP")
    assert metadata["mean"][index] == pytest.approx(dewp[:train].mean())
    assert metadata["std"][index] == pytest.approx(dewp[:train].std())
    assert metadata["mean"][index] != pytest.approx(dewp.mean())
    filled = forward_filled(pm25)
    assert metadata["mean"][4] == pytest.approx(filled[:train].mean())
    assert metadata["std"][4] == pytest.approx(filled[:train].std())


def test_persistence_forecast_is_the_last_raw_value(bundle, pm25):
    starts = window_starts(bundle, "validation", pm25)[:256]
    windows, _ = next(iter(bundle.validation))
    naive = persistence_forecast(windows, bundle.metadata)
    assert naive.shape == (256, 1)
    np.testing.assert_allclose(naive[:, 0], forward_filled(pm25)[starts + WIDTH - 1], atol=1e-3)


def test_missing_values_filled_and_windows_dropped(tmp_path):
    file = small_series(tmp_path, missing=(0, 1, 30, 70, 71), categories="abc")
    bundle = load_time_series(
        file, target="value", features=["wind"], input_width=5, horizon=2, split=(0.6, 0.2, 0.2)
    )
    metadata = bundle.metadata
    assert metadata["features"] == ["value", "wind=a", "wind=b", "wind=c"]
    assert metadata["rows"] == {"train": 60, "validation": 20, "test": 20}
    # A window starting at s has its target at s + 6: rows 30 (train), 70 and 71
    # (validation) are missing targets; rows 0 and 1 only feed inputs.
    assert metadata["dropped_windows"] == {"train": 1, "validation": 2, "test": 0}
    assert metadata["windows"] == {"train": 53, "validation": 12, "test": 14}
    assert metadata["missing_values"] == {"value": 5, "wind": 0}
    windows, targets = next(iter(bundle.validation))
    expected = [10 * (s + 6) for s in range(60, 74) if s + 6 not in (70, 71)]
    np.testing.assert_allclose(denormalize_target(targets, metadata)[:, 0], expected)
    values = windows[..., 0] * metadata["std"][0] + metadata["mean"][0]
    np.testing.assert_allclose(values[0], [600, 610, 620, 630, 640], atol=1e-3)
    train_values = [10 * r for r in range(60)]
    train_values[0] = train_values[1] = 20  # back-filled from the first known value
    train_values[30] = 290  # forward-filled
    assert metadata["mean"][0] == pytest.approx(np.mean(train_values))


def test_unseen_category_encodes_as_zeros(tmp_path):
    rows = [("t", "y", "kind")] + [(r, r, "x" if r < 70 else "z") for r in range(100)]
    bundle = load_time_series(write_csv(tmp_path, rows), target="y", input_width=3)
    metadata = bundle.metadata
    assert metadata["columns"][2] == {"name": "kind", "kind": "categorical", "categories": ["x"]}
    assert metadata["std"][metadata["features"].index("kind=x")] == 1.0  # constant in train
    raw = encode_columns({"t": [1, 2], "y": ["5", "NA"], "kind": ["z", "x"]}, metadata)
    np.testing.assert_array_equal(raw, [[1, 5, 0], [2, 5, 1]])


def test_train_order_is_seeded_and_fraction_keeps_leading_windows(tmp_path):
    file = small_series(tmp_path, rows=400)

    def first(seed, **options):
        bundle = load_time_series(
            file, target="value", input_width=4, batch_size=8, seed=seed, **options
        )
        return bundle, next(iter(bundle.train))[1].numpy()

    assert np.array_equal(first(1)[1], first(1)[1])
    assert not np.array_equal(first(1)[1], first(2)[1])
    bundle, _ = first(0, fraction=0.1)
    assert bundle.metadata["windows"] == {"train": 28, "validation": 8, "test": 4}
    targets = denormalize_target(np.concatenate([y for _, y in bundle.test]), bundle.metadata)
    np.testing.assert_allclose(targets[:, 0], [10 * (s + 4) for s in range(360, 364)], atol=1e-3)


def test_horizon_and_explicit_features(shared_data, pm25):
    bundle = load_time_series(
        shared_data, features=["DEWP", "TEMP"], input_width=6, horizon=3, fraction=0.05
    )
    assert bundle.metadata["features"] == ["pm2.5", "DEWP", "TEMP"]
    assert bundle.model_kwargs == {"input_shape": (6, 3), "num_features": 1}
    starts = window_starts(bundle, "test", pm25)[:10]
    _, targets = next(iter(bundle.test))
    expected = pm25[[s + 6 + 3 - 1 for s in starts]]
    np.testing.assert_allclose(denormalize_target(targets[:10], bundle.metadata)[:, 0], expected)


@pytest.mark.parametrize(
    "arguments, listed",
    [({"target": "pm25"}, "target: 'pm25'"), ({"features": ["DEWP", "wind"]}, "features: 'wind'")],
)
def test_unknown_column_lists_the_columns(shared_data, arguments, listed):
    with pytest.raises(ValueError, match=listed) as caught:
        load_time_series(shared_data, **arguments)
    assert "No, year, month, day, hour, pm2.5, DEWP, TEMP, PRES, cbwd, Iws, Is, Ir" in str(
        caught.value
    )


def test_unknown_column_is_found_from_the_header_alone(tmp_path):
    file = write_csv(tmp_path, [("a", "b"), (1, 2, 3, 4), ("x",)])
    with pytest.raises(ValueError, match="target: 'c' is not a column.*columns are a, b"):
        load_time_series(file, target="c")


@pytest.mark.parametrize(
    "line, row, match",
    [
        (4, (2, "oops", "n"), r"series.csv line 4, column 'y': 'oops' is not a number"),
        (5, (3, 4, "calm"), r"series.csv line 5, column 'w': 'calm' is not a number"),
        (3, (1, 2, "n", 3), r"series.csv line 3 has 4 fields; expected 3"),
        (2, (0, "north", "n"), r"series.csv line 2, column 'y': 'north'"),
    ],
)
def test_bad_csv_cell(tmp_path, line, row, match):
    rows = [("t", "y", "w")] + [(r, r, 7) for r in range(50)]
    rows[line - 1] = row
    with pytest.raises(ValueError, match=match):
        load_time_series(write_csv(tmp_path, rows), target="y", input_width=3)


@pytest.mark.parametrize(
    "rows, match",
    [
        ([("t", "y")] + [(r, "NA") for r in range(50)], r"column 'y' has no value"),
        (
            [("t", "y")] + [(r, r) for r in range(20)],
            r"series.csv has 20 rows.*horizon=\d+ with input_width=3 needs at least",
        ),
    ],
)
def test_csv_without_values_or_too_short(tmp_path, rows, match):
    with pytest.raises(ValueError, match=match):
        load_time_series(write_csv(tmp_path, rows), target="y", input_width=3)


def test_not_utf8_and_empty_csv(tmp_path):
    latin = tmp_path / "latin.csv"
    latin.write_bytes("t,y\n0,1\n1,caf\xe9\n".encode("latin-1"))
    with pytest.raises(ValueError, match="latin.csv is not valid UTF-8"):
        load_time_series(latin, target="y")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ValueError, match="empty.csv is empty"):
        load_time_series(empty, target="y")


def test_split_without_known_target(tmp_path):
    file = small_series(tmp_path, missing=range(75, 100))
    with pytest.raises(ValueError, match="every test window has a missing 'value' target"):
        load_time_series(file, target="value", input_width=3, split=(0.6, 0.2, 0.2))


def test_window_longer_than_series(shared_data):
    with pytest.raises(
        ValueError, match="horizon=1 with input_width=40000 needs at least 40000 \\+ 1"
    ):
        load_time_series(shared_data, input_width=40_000)


@pytest.mark.parametrize(
    "arguments, error",
    [
        ({"split": (0.7, 0.2)}, ValueError),
        ({"split": (0.7, 0.2, 0.2)}, ValueError),
        ({"split": (0.8, 0.3, -0.1)}, ValueError),
        ({"split": "0.7,0.2,0.1"}, TypeError),
        ({"horizon": 0}, ValueError),
        ({"input_width": 0}, ValueError),
        ({"batch_size": 2.5}, TypeError),
        ({"features": "DEWP"}, TypeError),
        ({"features": []}, ValueError),
        ({"features": ["DEWP", "DEWP"]}, ValueError),
        ({"target": ""}, ValueError),
        ({"seed": -1}, ValueError),
        ({"fraction": 0}, ValueError),
        ({"log_columns": "pm2.5"}, TypeError),
        ({"log_columns": [4]}, TypeError),
        ({"log_columns": ["pm2.5", "pm2.5"]}, ValueError),
    ],
)
def test_bad_arguments_raise_before_reading(tmp_path, arguments, error):
    with pytest.raises(error, match=next(iter(arguments))):
        load_time_series(tmp_path / "absent.csv", **arguments)
    with pytest.raises(DataNotFoundError):
        load_time_series(tmp_path / "absent.csv")
