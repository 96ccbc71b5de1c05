"""The forecaster's serving module against the model and the NumPy preprocessing."""

from __future__ import annotations

import json
import re
import subprocess

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_export import call_in_clean_process

from rnn_zoo import get_model
from rnn_zoo.data.scaling import denormalize_target, normalize
from rnn_zoo.export import load_serving_module
from rnn_zoo.models.forecaster.serving import ForecasterServing


def test_raw_windows_give_the_forecast_in_raw_units(trained_run):
    result = trained_run("lstm")
    metadata = json.loads((result.run_dir / "data.json").read_text())["metadata"]
    module, _ = load_serving_module(result.run_dir)
    raw = module.example_inputs()["windows"]
    forecast = module.serving_default(windows=raw)["forecast"].numpy()
    expected = denormalize_target(result.model(normalize(raw, metadata)).numpy(), metadata)
    np.testing.assert_allclose(forecast, expected[:, 0], rtol=1e-4, atol=1e-4)


NOT_FINITE = st.sampled_from([float("nan"), float("inf"), float("-inf")])


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_a_window_with_nan_or_infinity_is_refused_naming_window_and_feature(trained_run, data):
    module, _ = load_forecaster(trained_run)
    windows = module.example_inputs()["windows"].copy()
    features = module.metadata["features"]
    index = data.draw(st.integers(0, len(windows) - 1))
    step = data.draw(st.integers(0, windows.shape[1] - 1))
    feature = data.draw(st.integers(0, len(features) - 1))
    windows[index, step, feature] = data.draw(NOT_FINITE)
    with pytest.raises(tf.errors.InvalidArgumentError) as caught:
        module.serving_default(windows=windows)
    message = str(caught.value)
    assert f"windows [{index}] hold NaN or infinity in features [{features[feature]}]" in message
    assert "expected finite readings" in message


def test_the_saved_model_refuses_a_nan_weather_column_in_another_process(served, tmp_path):
    module, export = served("lstm")
    windows = module.example_inputs()["windows"].copy()
    column = module.metadata["features"].index("DEWP")
    windows[1, 5, column] = np.nan
    with pytest.raises(subprocess.CalledProcessError) as caught:
        call_in_clean_process(export, "serving_default", {"windows": windows}, tmp_path / "call")
    assert caught.value.returncode == 1
    stderr = caught.value.stderr.decode()
    assert "InvalidArgumentError" in stderr
    assert "windows [1] hold NaN or infinity in features [DEWP]; expected finite" in stderr
    assert not list((tmp_path / "call").glob("out_*.npy"))


def test_a_negative_reading_of_a_logged_feature_is_refused_naming_it(trained_run):
    module, _ = load_forecaster(trained_run)
    windows = module.example_inputs()["windows"].copy()
    logged = module.metadata["log_features"][0]
    windows[0, 0, module.metadata["features"].index(logged)] = -3.0
    with pytest.raises(
        tf.errors.InvalidArgumentError,
        match=rf"negative readings of features \[{re.escape(logged)}\]",
    ):
        module.serving_default(windows=windows)


def test_a_bare_model_without_feature_names_numbers_the_features():
    model = get_model("lstm", units=4)
    metadata = {"mean": [0.0], "std": [1.0], "target_index": 0, "input_width": 10}
    module = ForecasterServing(model, metadata, head="values")
    windows = np.zeros((2, 10, 1), "float32")
    windows[1, 3, 0] = np.inf
    with pytest.raises(
        tf.errors.InvalidArgumentError, match=r"windows \[1\] .* features \[feature 0\]"
    ):
        module.serving_default(windows=windows)
    assert module.serving_default(windows=windows[:0])["forecast"].shape == (0,)


def load_forecaster(trained_run):
    run_dir = trained_run("lstm").run_dir
    return load_serving_module(run_dir)[0], run_dir
