"""HoistedLSTM trains to the same function and gradients as keras.layers.LSTM."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnn_zoo.blocks.hoisted_lstm import HOIST_MIN_UNITS, HoistedLSTM, hoisted_lstm

BATCH, STEPS, FEATURES, UNITS = 3, 6, 5, HOIST_MIN_UNITS


def twin_layers(**options):
    """A HoistedLSTM and a keras.layers.LSTM with the same options and weights."""
    hoisted = HoistedLSTM(UNITS, return_sequences=True, return_state=True, **options)
    plain = keras.layers.LSTM(UNITS, return_sequences=True, return_state=True, **options)
    hoisted.build((None, None, FEATURES))
    plain.build((None, None, FEATURES))
    rng = np.random.default_rng(0)
    # Weights on Keras' initializers' scale, biases included, so no gate saturates.
    scale = 1 / np.sqrt(UNITS)
    plain.set_weights(
        [rng.normal(scale=scale, size=w.shape).astype("float32") for w in hoisted.get_weights()]
    )
    hoisted.set_weights(plain.get_weights())
    return hoisted, plain


def outputs_and_gradients(layer, inputs, initial_state, **call_options):
    """The layer's outputs and the gradients of a loss on all of them."""
    with tf.GradientTape() as tape:
        tape.watch([inputs, *initial_state])
        outputs = layer(inputs, initial_state=initial_state, **call_options)
        # Different weights on each output, so that every upstream gradient matters.
        loss = sum(
            tf.reduce_sum(output * (index + 1.0) * output) for index, output in enumerate(outputs)
        )
    sources = [inputs, *initial_state, *layer.trainable_weights]
    return outputs, tape.gradient(loss, sources)


def random_batch():
    rng = np.random.default_rng(1)
    inputs = tf.constant(rng.normal(size=(BATCH, STEPS, FEATURES)), "float32")
    state = [tf.constant(rng.normal(size=(BATCH, UNITS)), "float32") for _ in range(2)]
    return inputs, state


@pytest.mark.parametrize("options", [{}, {"go_backwards": True}], ids=["forward", "backwards"])
def test_training_pass_matches_keras_lstm(options):
    hoisted, plain = twin_layers(**options)
    inputs, state = random_batch()
    assert hoisted._hoists(None, True)
    ours, our_gradients = outputs_and_gradients(hoisted, inputs, state, training=True)
    theirs, their_gradients = outputs_and_gradients(plain, inputs, state, training=True)
    for mine, reference in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=1e-6)
    assert len(our_gradients) == 6
    for mine, reference in zip(our_gradients, their_gradients, strict=True):
        np.testing.assert_allclose(mine, reference, rtol=1e-4, atol=1e-5)


def test_input_dropout_is_one_mask_per_sequence_as_in_keras():
    hoisted, plain = twin_layers(dropout=0.5, seed=7)
    inputs, state = random_batch()
    ours = hoisted(inputs, initial_state=state, training=True)
    assert not np.allclose(ours[0], hoisted(inputs, initial_state=state)[0])
    theirs = plain(inputs, initial_state=state, training=True)
    for mine, reference in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=1e-6)


def test_function_runs_on_mixed_bfloat16_inputs():
    hoisted, plain = twin_layers()
    inputs, state = random_batch()
    weights = [tf.cast(w, "bfloat16") for w in hoisted.get_weights()]
    outputs, h, c = hoisted_lstm(
        tf.cast(inputs, "bfloat16"), *(tf.cast(s, "bfloat16") for s in state), *weights
    )
    reference = plain(inputs, initial_state=state)
    assert outputs.dtype == "bfloat16"
    np.testing.assert_allclose(tf.cast(outputs, "float32"), reference[0], atol=0.05)


@pytest.mark.parametrize(
    "options, mask, training",
    [
        ({}, None, False),
        ({}, tf.ones((BATCH, STEPS), "bool"), True),
        ({"recurrent_dropout": 0.1}, None, True),
        ({"unroll": True}, None, True),
        ({"use_bias": False}, None, True),
        ({"activation": "relu"}, None, True),
        ({"recurrent_activation": "hard_sigmoid"}, None, True),
    ],
    ids=["inference", "mask", "recurrent_dropout", "unroll", "no_bias", "relu", "hard_sigmoid"],
)
def test_keras_loop_runs_where_the_hoisted_pass_does_not_apply(options, mask, training):
    hoisted, _ = twin_layers(**options)
    assert not hoisted._hoists(mask, training)


def test_small_layers_keep_the_keras_loop():
    small = HoistedLSTM(HOIST_MIN_UNITS - 1)
    small.build((None, None, FEATURES))
    assert not small._hoists(None, True)


def test_saves_and_loads_as_itself(tmp_path):
    inputs = keras.Input((None, FEATURES))
    model = keras.Model(inputs, HoistedLSTM(UNITS)(inputs))
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert isinstance(loaded.layers[-1], HoistedLSTM)
    batch = np.ones((2, STEPS, FEATURES), "float32")
    np.testing.assert_allclose(loaded.predict_on_batch(batch), model.predict_on_batch(batch))
