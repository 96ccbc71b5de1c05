"""The calibration layer keeps quantiles sorted and is saved; its fit is the empirical quantile."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from rnn_zoo.blocks.calibration import QuantileCalibration, fit_calibration

LEVELS = (0.1, 0.5, 0.9)


def constant_model(horizons: int, members: int | None = None) -> keras.Model:
    """Quantiles that ignore their input: 0 at every level, then the calibration."""
    inputs = keras.Input((1,), name="x")
    shape = (horizons, len(LEVELS)) if members is None else (members, horizons, len(LEVELS))
    zeros = keras.layers.Dense(int(np.prod(shape)), kernel_initializer="zeros")(inputs)
    zeros = keras.layers.Reshape(shape)(zeros)
    return keras.Model(inputs, QuantileCalibration(LEVELS, name="calibration")(zeros))


def batches(targets: np.ndarray, size: int = 7):
    inputs = np.zeros((len(targets), 1), "float32")
    return [(inputs[i : i + size], targets[i : i + size]) for i in range(0, len(targets), size)]


finite = st.floats(-1e3, 1e3, width=32, allow_subnormal=False)


@settings(max_examples=25, deadline=None)
@given(
    quantiles=arrays("float32", (2, 4, 3), elements=finite),
    offsets=arrays("float32", (4, 3), elements=finite),
)
def test_calibrated_quantiles_are_sorted_whatever_the_offsets(quantiles, offsets):
    layer = QuantileCalibration(LEVELS)
    layer(quantiles)
    layer.offsets.assign(offsets)
    calibrated = keras.ops.convert_to_numpy(layer(quantiles))
    assert (np.diff(calibrated, axis=-1) >= 0).all()
    np.testing.assert_allclose(
        calibrated, np.sort(quantiles + offsets, axis=-1), rtol=1e-6, atol=1e-6
    )


def test_zero_offsets_pass_sorted_quantiles_through_and_the_offsets_are_not_trained():
    layer = QuantileCalibration(LEVELS)
    quantiles = np.sort(np.random.default_rng(0).normal(size=(3, 4, 3)), axis=-1).astype("float32")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(quantiles)), quantiles)
    assert layer.trainable_weights == [] and layer.non_trainable_weights[0].shape == (4, 3)


def test_fit_sets_each_offset_to_the_empirical_quantile_of_the_known_targets():
    rng = np.random.default_rng(1)
    targets = rng.normal(size=(50, 2)).astype("float32")
    targets[::5, 1] = np.nan
    model = constant_model(horizons=2, members=2)
    offsets = fit_calibration(model, batches(targets))
    expected = [np.quantile(targets[~np.isnan(targets[:, h]), h], LEVELS) for h in range(2)]
    np.testing.assert_allclose(offsets, expected, rtol=1e-6)
    np.testing.assert_allclose(model.get_layer("calibration").offsets.numpy(), expected, rtol=1e-5)


def test_a_refit_starts_from_the_uncalibrated_quantiles():
    targets = np.random.default_rng(2).normal(size=(30, 2)).astype("float32")
    model = constant_model(horizons=2)
    first = fit_calibration(model, batches(targets))
    np.testing.assert_allclose(fit_calibration(model, batches(targets)), first)


def test_the_offsets_are_saved_with_the_model(tmp_path):
    model = constant_model(horizons=2)
    fit_calibration(model, batches(np.arange(20, dtype="float32").reshape(10, 2)))
    model.save(tmp_path / "model.keras")
    restored = keras.saving.load_model(tmp_path / "model.keras")
    np.testing.assert_array_equal(
        restored.get_layer("calibration").offsets.numpy(),
        model.get_layer("calibration").offsets.numpy(),
    )


def test_fit_refuses_a_horizon_without_a_known_target():
    targets = np.ones((10, 3), "float32")
    targets[:, 1] = np.nan
    with pytest.raises(ValueError, match=r"no known target at horizon\(s\) \[2\]"):
        fit_calibration(constant_model(horizons=3), batches(targets))


def test_fit_refuses_a_model_that_does_not_end_with_a_calibration():
    inputs = keras.Input((1,))
    model = keras.Model(inputs, keras.layers.Dense(3)(inputs), name="plain")
    with pytest.raises(ValueError, match="has 0 QuantileCalibration layer"):
        fit_calibration(model, batches(np.ones((4, 1), "float32")))


def test_the_layer_refuses_quantiles_of_other_levels():
    with pytest.raises(ValueError, match="inputs have 5 quantiles on their last axis"):
        QuantileCalibration(LEVELS)(np.zeros((1, 2, 5), "float32"))
