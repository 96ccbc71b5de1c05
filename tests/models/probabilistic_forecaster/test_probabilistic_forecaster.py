"""The probabilistic forecaster: its serving graph, predict on CSV slices, the backtest.

One tiny run (the session's ``trained_run``: 3 steps on 5% of PM2.5) serves every test;
the serving module is checked against the model called on the loader's own inputs.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from rnn_zoo import get_spec
from rnn_zoo.backtest import BACKTEST_CSV, BACKTEST_PNG, backtest
from rnn_zoo.cli import main
from rnn_zoo.data.calendar import future_calendar
from rnn_zoo.data.horizons import load_horizon_windows
from rnn_zoo.data.scaling import denormalize_target, normalize
from rnn_zoo.export import load_serving_module
from rnn_zoo.models.probabilistic_forecaster.model import build_probabilistic_forecaster
from rnn_zoo.rolling import score_origins

NAME = "probabilistic_forecaster"
PM25 = "PRSA_data_2010.1.1-2014.12.31.csv"


@pytest.fixture(scope="module")
def run(trained_run):
    return trained_run(NAME)


@pytest.fixture(scope="module")
def served(run):
    module, _ = load_serving_module(run.run_dir)
    return module


@pytest.fixture(scope="module")
def bundle(shared_data, served):
    return load_horizon_windows(shared_data, fraction=0.05, **_options(served.metadata))


def _options(metadata):
    return {
        "input_width": metadata["input_width"],
        "horizons": metadata["horizons"],
        "log_columns": metadata["log_features"],
    }


def cli(*arguments) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(arguments))
    return code, out.getvalue(), err.getvalue()


def test_the_served_quantiles_are_the_models_on_the_loaders_inputs(run, served, bundle):
    metadata = served.metadata
    origins = bundle.series["origins"]["test"][:50]
    steps = np.arange(-metadata["input_width"] + 1, 1)
    raw = bundle.series["rows"][origins[:, None] + steps[None, :]]
    outputs = served.serving_default(windows=raw)
    inputs = {
        "window": normalize(raw, metadata),
        "future": keras.ops.convert_to_numpy(future_calendar(raw[:, -1], metadata)),
    }
    members = keras.ops.convert_to_numpy(run.model(inputs))
    expected = np.maximum(denormalize_target(members.mean(axis=1), metadata), 0)
    np.testing.assert_allclose(outputs["quantiles"].numpy(), expected, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(outputs["levels"].numpy(), [[0.1, 0.25, 0.5, 0.75, 0.9]] * 50)
    # the loader's own test inputs are what the graph builds from the raw windows
    loaded, _ = next(iter(bundle.test))
    np.testing.assert_allclose(loaded["window"][:50], inputs["window"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(loaded["future"][:50], inputs["future"], atol=1e-5)


def test_quantiles_never_cross_nor_go_negative_even_for_a_wild_window(served):
    windows = served.example_inputs()["windows"] * 50.0
    windows[..., served.metadata["features"].index("pm2.5")] = np.abs(windows[..., 0])
    quantiles = served.serving_default(windows=windows)["quantiles"].numpy()
    assert quantiles.shape == (4, 24, 5)
    assert (quantiles >= 0).all() and (np.diff(quantiles, axis=-1) >= 0).all()


def test_the_recipe_loss_has_the_factory_levels():
    spec = get_spec(NAME)
    loss = keras.losses.get(spec.recipe.loss)
    assert loss.levels == spec.factory_arguments()["levels"]


def test_members_are_averaged_and_shaped_by_member():
    model = build_probabilistic_forecaster(input_shape=(8, 3), horizons=4, members=3, units=4)
    assert model.output_shape == (None, 3, 4, 5)


def write_slice(shared_data, folder, rows, change=None, name="slice.csv"):
    with open(shared_data / PM25, newline="") as handle:
        table = list(csv.reader(handle))
    chosen = [table[0], *table[40000 : 40000 + rows]]
    if change:
        change(chosen)
    (folder / name).write_text("\n".join(",".join(row) for row in chosen) + "\n")
    return str(folder / name)


def test_predict_prints_the_median_and_intervals_of_each_hour_ahead(run, shared_data, tmp_path):
    file = write_slice(shared_data, tmp_path, 100)
    code, out, _ = cli("predict", str(run.run_dir), file)
    assert code == 0
    printed = json.loads(out)
    assert printed["input"] == file and printed["levels"] == [0.1, 0.25, 0.5, 0.75, 0.9]
    assert printed["hours_ahead"] == list(range(1, 25)) and len(printed["median"]) == 24
    for median, wide, narrow in zip(printed["median"], printed["80%"], printed["50%"], strict=True):
        assert wide[0] <= narrow[0] <= median <= narrow[1] <= wide[1]


def test_predict_in_a_fresh_process_loads_the_model_and_its_custom_layers(
    run, shared_data, tmp_path
):
    """A new process imports only the Keras-free registry; loading must still find the
    head's layers (the family's model module registers them)."""
    file = write_slice(shared_data, tmp_path, 30)
    command = [sys.executable, "-m", "rnn_zoo.cli", "predict", str(run.run_dir), file]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)["median"]) == 24


def set_cell(line, column, value):
    def change(table):
        table[line - 1][table[0].index(column)] = value

    return change


def no_pm25(table):
    for row in table[1:]:
        row[table[0].index("pm2.5")] = "NA"


@pytest.mark.parametrize(
    ("rows", "change", "message"),
    [
        (10, None, "has 10 rows; expected at least input_width=24"),
        (100, set_cell(90, "hour", "NA"), "line 90, column 'hour': the value is missing"),
        (100, set_cell(95, "day", "40"), "line 95, columns year, month, day: 2014-7-40"),
        (100, set_cell(1, "Iws", "wind"), "lacks the column(s) 'Iws'"),
        (100, no_pm25, "column 'pm2.5' has no value at all"),
        (100, set_cell(99, "DEWP", "inf"), "line 99, column 'DEWP': 'inf' is not a finite"),
    ],
)
def test_predict_refuses_a_bad_slice_naming_it(run, shared_data, tmp_path, rows, change, message):
    file = write_slice(shared_data, tmp_path, rows, change)
    code, out, err = cli("predict", str(run.run_dir), file)
    assert code == 2 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1, err


def test_backtest_writes_its_table_and_plot_and_agrees_with_the_scores(run, served, bundle):
    table = backtest(run.run_dir, stop=100)
    assert [row["horizon"] for row in table] == list(range(1, 25))
    with open(run.run_dir / BACKTEST_CSV, newline="") as handle:
        written = list(csv.DictReader(handle))
    assert len(written) == 24 and float(written[5]["mae"]) == pytest.approx(table[5]["mae"], 1e-5)
    assert {"coverage_80", "coverage_50", "climatology_pinball"} <= set(written[0])
    assert {"online_coverage_80", "online_coverage_50", "online_mae"} <= set(written[0])
    assert (run.run_dir / BACKTEST_PNG).stat().st_size > 10_000
    expected, *_ = score_origins(served, bundle, 0, 100)
    for got, wanted in zip(table, expected, strict=True):
        assert got == pytest.approx(wanted)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--start", "-3"], "start=-3 is out of range"),
        (["--start", "10", "--stop", "10"], "stop=10 is out of range; expected an integer in [11,"),
        (["--stop", "5000"], "stop=5000 is out of range"),
        (["--week", "9999"], "week=9999 is out of range"),
        (["--step-size", "0"], "step_size=0.0 is out of range"),
    ],
)
def test_backtest_refuses_a_span_outside_the_test_span_before_any_work(run, flags, message):
    before = sorted(path.name for path in run.run_dir.iterdir())
    code, out, err = cli("backtest", str(run.run_dir), *flags)
    assert code == 2 and out == "" and message in err, err
    assert sorted(path.name for path in run.run_dir.iterdir()) == before


def test_backtest_of_a_run_without_it_names_the_models_that_have_it(trained_run):
    code, _, err = cli("backtest", str(trained_run("lstm").run_dir))
    assert code == 2
    assert "model 'lstm' has no 'backtest'; models with 'backtest': probabilistic_forecaster" in err


def test_forecast_calibrates_the_last_window_over_the_files_history(run, shared_data, tmp_path):
    from rnn_zoo.forecast import forecast
    from rnn_zoo.online_calibration import track_quantiles
    from rnn_zoo.rolling import rolling_forecasts

    file = write_slice(shared_data, tmp_path, 400)
    plain = forecast(run.run_dir, file, calibration="none")
    online = forecast(run.run_dir, file, step_size=0.05)
    code, out, _ = cli("predict", str(run.run_dir), file)
    assert code == 0 and plain["as_trained"] == plain["quantiles"] == online["as_trained"]
    # float32 tolerance: one window through predict, many through forecast, the members'
    # mean reduced over batches of different sizes
    np.testing.assert_allclose(
        np.asarray(plain["quantiles"])[:, 2], json.loads(out)["median"], rtol=1e-6
    )
    # what the backtest's code gives for the same rows and the readings that followed
    module, _ = load_serving_module(run.run_dir)
    from rnn_zoo.data.window_reader import read_series

    rows, target = read_series(file, module.metadata)
    origins = np.arange(23, 400)
    quantiles, levels = rolling_forecasts(module, {"rows": rows}, origins, 24)
    expected = track_quantiles(quantiles, levels, origins, target, 0.05)[-1]
    np.testing.assert_allclose(online["quantiles"], expected)
    assert not np.allclose(online["quantiles"], plain["quantiles"])
    assert online["origins"] == 377 and online["feedbacks"][0] == np.isfinite(target[24:]).sum()


def test_forecast_prints_each_hour_and_refuses_bad_options_before_reading(
    run, shared_data, tmp_path
):
    file = write_slice(shared_data, tmp_path, 60)
    code, out, _ = cli("forecast", str(run.run_dir), file)
    assert code == 0 and len(out.strip().splitlines()) == 26
    assert out.splitlines()[0].split() == [
        "hours",
        "ahead",
        "q0.1",
        "q0.25",
        "q0.5",
        "q0.75",
        "q0.9",
    ]
    code, out, err = cli(
        "forecast", str(run.run_dir), str(tmp_path / "absent.csv"), "--step-size", "-1"
    )
    assert code == 2 and out == "" and "step_size=-1.0 is out of range" in err
