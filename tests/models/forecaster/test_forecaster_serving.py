"""The forecaster's serving module against the model and the NumPy preprocessing."""

from __future__ import annotations

import json

import numpy as np

from rnn_zoo.data.time_series import denormalize_target, normalize
from rnn_zoo.export import load_serving_module


def test_raw_windows_give_the_forecast_in_raw_units(trained_run):
    result = trained_run("lstm")
    metadata = json.loads((result.run_dir / "data.json").read_text())["metadata"]
    module, _ = load_serving_module(result.run_dir)
    raw = module.example_inputs()["windows"]
    forecast = module.serving_default(windows=raw)["forecast"].numpy()
    expected = denormalize_target(result.model(normalize(raw, metadata)).numpy(), metadata)
    np.testing.assert_allclose(forecast, expected[:, 0], rtol=1e-4, atol=1e-4)
