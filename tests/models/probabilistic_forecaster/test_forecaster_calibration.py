"""Training calibrates the forecaster on the validation split, and its export serves that.

The session's small run (``trained_run``) fits the calibration as every run does; the
offsets saved in ``model.keras`` are refitted here from the validation split and
compared, then the exported SavedModel is checked to forecast with them.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnn_zoo.blocks.calibration import fit_calibration
from rnn_zoo.data.horizons import load_horizon_windows
from rnn_zoo.data.scaling import denormalize_target
from rnn_zoo.export import export_model
from rnn_zoo.runs import MODEL_FILE

NAME = "probabilistic_forecaster"


@pytest.fixture(scope="module")
def run(trained_run):
    return trained_run(NAME)


@pytest.fixture(scope="module")
def saved(run):
    return keras.saving.load_model(run.run_dir / MODEL_FILE)


@pytest.fixture(scope="module")
def bundle(shared_data):
    return load_horizon_windows(
        shared_data, fraction=0.05, input_width=24, horizons=24, log_columns=("pm2.5",)
    )


def offsets(model) -> np.ndarray:
    return model.get_layer("calibration").offsets.numpy()


def copy_of(model: keras.Model) -> keras.Model:
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def test_the_saved_offsets_are_fitted_on_the_validation_split_not_the_test_split(saved, bundle):
    stored = offsets(saved)
    assert np.abs(stored).max() > 0  # fitted: not the zeros the model is built with
    refit = copy_of(saved)
    np.testing.assert_allclose(fit_calibration(refit, bundle.validation), stored, atol=1e-5)
    on_test = fit_calibration(refit, bundle.test)
    assert np.abs(on_test - stored).max() > 1e-2  # the comparison tells the splits apart


def test_on_the_validation_split_each_quantile_holds_its_level(saved, bundle):
    quantiles, targets = [], []
    for inputs, target in bundle.validation:
        quantiles.append(keras.ops.convert_to_numpy(saved(inputs)).mean(axis=1))
        targets.append(target.numpy())
    quantiles, targets = np.concatenate(quantiles), np.concatenate(targets)
    assert (np.diff(quantiles, axis=-1) >= 0).all()
    known = ~np.isnan(targets)
    for horizon in (0, 23):
        below = targets[known[:, horizon], horizon, None] <= quantiles[known[:, horizon], horizon]
        count = known[:, horizon].sum()
        np.testing.assert_allclose(below.mean(axis=0), (0.1, 0.25, 0.5, 0.75, 0.9), atol=2 / count)


def test_the_exported_saved_model_serves_the_calibrated_quantiles(run, saved, bundle, tmp_path):
    export = export_model(run.run_dir, output_dir=tmp_path)
    signature = tf.saved_model.load(str(export)).signatures["serving_default"]
    origins = bundle.series["origins"]["test"][:20]
    windows = bundle.series["rows"][origins[:, None] + np.arange(-23, 1)[None, :]]
    served = signature(windows=tf.constant(windows))["quantiles"].numpy()
    inputs, _ = next(iter(bundle.test))
    uncalibrated = copy_of(saved)
    uncalibrated.get_layer("calibration").offsets.assign(np.zeros((24, 5), "float32"))
    for model, same in ((saved, True), (uncalibrated, False)):
        quantiles = keras.ops.convert_to_numpy(model(inputs))[:20, 0]
        expected = np.maximum(denormalize_target(quantiles, bundle.metadata), 0)
        assert np.allclose(served, expected, rtol=1e-4, atol=1e-3) == same
