"""Registry-wide factory tests: every registered model is covered without a new test."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from rnn_zoo import (
    build_baseline,
    build_gru_classifier,
    build_lstm,
    build_sequence_tagger,
    build_text_generator,
    get_model,
    get_spec,
    list_models,
)
from rnn_zoo.blocks.layers import CELLS, MaskedGlobalPooling1D
from rnn_zoo.models.classifier.model import POOLINGS

RECURRENT_MODELS = [name for name in list_models() if "cell" in get_spec(name).factory_arguments()]


def sample_inputs(model: keras.Model, batch: int = 3, steps: int = 7):
    """A small batch that fits each model input: ids for int inputs, values otherwise.

    One input gives an array; several give a dict keyed by the inputs' names.
    """
    rng = np.random.default_rng(0)

    def fit(tensor) -> np.ndarray:
        shape = [batch] + [steps if size is None else size for size in tensor.shape[1:]]
        if "int" in str(tensor.dtype):
            return rng.integers(0, 2, size=shape).astype("int32")
        return rng.uniform(0, 255, size=shape).astype("float32")

    arrays = {tensor.name: fit(tensor) for tensor in model.inputs}
    return next(iter(arrays.values())) if len(arrays) == 1 else arrays


def test_registry_lists_the_four_seed_models():
    factories = {get_spec(name).get_factory() for name in list_models()}
    assert {build_baseline, build_lstm, build_text_generator, build_gru_classifier} <= factories
    assert list_models("gru*") == ["gru_classifier"]


@pytest.mark.parametrize("name", list_models())
def test_default_model_forward_pass(name):
    model = get_model(name)
    outputs = keras.ops.convert_to_numpy(model(sample_inputs(model)))
    assert outputs.shape[0] == 3
    assert outputs.shape[1:] == tuple(size or 7 for size in model.output_shape[1:])
    assert np.isfinite(outputs).all()


@pytest.mark.parametrize("name", list_models())
def test_default_parameter_counts_are_the_documented_ones(name):
    assert get_model(name).count_params() == get_spec(name).parameters


@pytest.mark.parametrize("name", list_models())
def test_keras_round_trip_reproduces_outputs(name, tmp_path):
    overrides = {"units": 16} if "units" in get_spec(name).factory_arguments() else {}
    model = get_model(name, **overrides)
    inputs = sample_inputs(model)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(restored(inputs)),
        keras.ops.convert_to_numpy(model(inputs)),
        rtol=1e-6,
        atol=1e-6,
    )


@pytest.mark.parametrize("name", RECURRENT_MODELS)
@pytest.mark.parametrize("cell", sorted(CELLS))
def test_every_cell_stacks(name, cell):
    def build(num_layers):
        options = {"cell": cell, "units": 8, "num_layers": num_layers}
        try:
            return get_model(name, bidirectional=True, **options)
        except ValueError as error:  # a causal model (the character generator) refuses it
            assert "bidirectional" in str(error)
            return get_model(name, **options)

    def stacked(model):  # recurrent layers, a bidirectional pair counted once
        kinds = (keras.layers.RNN, keras.layers.Bidirectional)
        return sum(isinstance(layer, kinds) for layer in model.layers)

    model = build(num_layers=2)
    # one stack per encoder: an entry with several members holds one stack each
    assert stacked(model) == 2 * stacked(build(num_layers=1)) >= 2
    assert np.isfinite(keras.ops.convert_to_numpy(model(sample_inputs(model)))).all()


def recurrent_layers(layer) -> list:
    """Every recurrent layer inside ``layer``: nested models and both directions included."""
    if isinstance(layer, keras.layers.Bidirectional):
        return [layer.forward_layer, layer.backward_layer]
    if isinstance(layer, keras.layers.RNN):
        return [layer]
    return [found for inner in getattr(layer, "layers", []) for found in recurrent_layers(inner)]


@pytest.mark.parametrize("name", list_models())
def test_defaults_keep_recurrent_layers_cudnn_eligible(name):
    layers = recurrent_layers(get_model(name))
    assert bool(layers) == ("cell" in get_spec(name).choices), [layer.name for layer in layers]
    for layer in layers:
        config = layer.get_config()
        assert config["activation"] == "tanh"
        assert config["recurrent_activation"] == "sigmoid" or "recurrent_activation" not in config
        assert config["recurrent_dropout"] == 0
        assert config["unroll"] is False
        assert config["use_bias"] is True
        if isinstance(layer, keras.layers.GRU):
            assert config["reset_after"] is True


def test_the_recurrent_layer_walk_reaches_nested_and_bidirectional_layers():
    names = {layer.name for layer in recurrent_layers(get_model("seq2seq", bidirectional=True))}
    assert any(name.startswith("forward_") for name in names), names
    assert any(name.startswith("backward_") for name in names), names
    assert len(recurrent_layers(get_model("sequence_tagger"))) == 4  # 2 layers x 2 directions


def test_output_forms_of_the_forecaster():
    assert build_lstm(input_shape=(24, 15)).output_shape == (None, 1)
    assert build_lstm(input_shape=(24, 15), output_steps=6).output_shape == (None, 6, 1)
    assert build_lstm(num_features=3).output_shape == (None, 3)
    assert build_lstm(return_sequences=True).output_shape == (None, 10, 1)
    assert build_lstm(input_shape=(None, 2)).input_shape == (None, None, 2)


def test_classifier_softmax_for_more_than_two_classes():
    model = build_gru_classifier(vocab_size=50, num_classes=4, units=4)
    probabilities = keras.ops.convert_to_numpy(model(np.ones((2, 5), "int32")))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("pooling", POOLINGS)
def test_classifier_ignores_padding(pooling):
    model = build_gru_classifier(vocab_size=50, units=4, pooling=pooling, dropout=0.3)
    short = np.array([[5, 6, 7]], "int32")
    padded = np.array([[5, 6, 7, 0, 0, 0]], "int32")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(model(short)), keras.ops.convert_to_numpy(model(padded)), 1e-6
    )
    empty = keras.ops.convert_to_numpy(model(np.zeros((1, 4), "int32")))
    assert np.isfinite(empty).all(), f"pooling={pooling!r}: an all-padding review gives {empty}"


@pytest.mark.parametrize("mode, expected", [("avg", [[3.0, -2.0]]), ("max", [[5.0, -1.0]])])
def test_masked_pooling_counts_only_kept_steps(mode, expected):
    steps = np.array([[[1.0, -3.0], [5.0, -1.0], [9.0, 7.0]]], "float32")
    kept = np.array([[True, True, False]])
    pooling = MaskedGlobalPooling1D(mode)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(pooling(steps, mask=kept)), expected)
    nothing_kept = pooling(steps, mask=np.zeros((1, 3), bool))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(nothing_kept), [[0.0, 0.0]])
    rebuilt = MaskedGlobalPooling1D.from_config(pooling.get_config())
    np.testing.assert_allclose(keras.ops.convert_to_numpy(rebuilt(steps)), pooling(steps))
    with pytest.raises(ValueError, match="mode='mean' is not one of"):
        MaskedGlobalPooling1D("mean")


def test_get_model_overrides_and_unknown_arguments():
    assert get_model("lstm", units=8).get_layer("lstm_1").units == 8
    with pytest.raises(TypeError, match="'unitz'.*accepted: input_shape, units"):
        get_model("lstm", unitz=8)


def test_unknown_model_name_lists_registered_models():
    with pytest.raises(ValueError, match="'lstn' is not registered \\(did you mean 'lstm'\\?\\)"):
        get_model("lstn")


def test_duplicate_registration_raises():
    from rnn_zoo.registry import register

    with pytest.raises(ValueError, match="'baseline' is already registered"):
        register(get_spec("baseline"))


BAD_ARGUMENTS = [
    (build_lstm, {"cell": "lstn"}, ValueError, "cell='lstn' is not one of 'simple_rnn', 'lstm'"),
    (build_gru_classifier, {"cell": 3}, ValueError, "cell=3 is not one of"),
    (build_lstm, {"units": 0}, ValueError, "units=0 is out of range"),
    (build_lstm, {"units": -4}, ValueError, "units=-4"),
    (build_lstm, {"units": 2.5}, TypeError, "units=2.5"),
    (build_lstm, {"units": True}, TypeError, "units=True"),
    (build_text_generator, {"vocab_size": 0}, ValueError, "vocab_size=0"),
    (build_text_generator, {"vocab_size": "65"}, TypeError, "vocab_size='65'"),
    (build_text_generator, {"embedding_dim": 0}, ValueError, "embedding_dim=0"),
    (build_text_generator, {"embedding_dim": False}, TypeError, "embedding_dim=False"),
    (build_text_generator, {"bidirectional": True}, ValueError, "bidirectional=True"),
    (build_text_generator, {"output_dropout": 1.0}, ValueError, "output_dropout=1.0"),
    (build_gru_classifier, {"num_layers": 0}, ValueError, "num_layers=0"),
    (build_gru_classifier, {"num_layers": 1.0}, TypeError, "num_layers=1.0"),
    (build_gru_classifier, {"num_classes": 1}, ValueError, "num_classes=1"),
    (build_gru_classifier, {"pooling": "mean"}, ValueError, "pooling='mean' is not one of"),
    (build_gru_classifier, {"bidirectional": 1}, TypeError, "bidirectional=1"),
    (build_gru_classifier, {"dropout": 1.0}, ValueError, r"dropout=1.0 .*\[0, 1\)"),
    (build_gru_classifier, {"recurrent_dropout": -0.1}, ValueError, "recurrent_dropout=-0.1"),
    (build_gru_classifier, {"dropout": "0.2"}, TypeError, "dropout='0.2'"),
    (build_gru_classifier, {"name": ""}, ValueError, "name=''"),
    (build_baseline, {"num_classes": 0}, ValueError, "num_classes=0"),
    (build_baseline, {"hidden_units": None}, TypeError, "hidden_units=None"),
    (build_baseline, {"dropout": 1.5}, ValueError, "dropout=1.5"),
    (build_baseline, {"input_shape": (28,)}, ValueError, r"input_shape=\(28,\) has 1 dimensions"),
    (build_baseline, {"input_shape": (28, 0)}, ValueError, r"input_shape=\(28, 0\)"),
    (build_baseline, {"input_shape": "28x28"}, TypeError, "input_shape='28x28'"),
    (build_baseline, {"input_shape": (28, None)}, TypeError, r"input_shape=\(28, None\)"),
    (build_lstm, {"input_shape": (10, 1, 1)}, ValueError, "input_shape"),
    (build_lstm, {"output_steps": 0}, ValueError, "output_steps=0"),
    (build_lstm, {"num_features": True}, TypeError, "num_features=True"),
    (build_lstm, {"return_sequences": True, "output_steps": 3}, ValueError, "output_steps=3"),
    (build_sequence_tagger, {"num_tags": 1}, ValueError, "num_tags=1"),
    (build_sequence_tagger, {"char_features": "yes"}, TypeError, "char_features='yes'"),
    (build_sequence_tagger, {"max_word_length": 0}, ValueError, "max_word_length=0"),
    (build_sequence_tagger, {"char_filters": 2.0}, TypeError, "char_filters=2.0"),
    (build_sequence_tagger, {"char_widths": ()}, TypeError, r"char_widths=\(\)"),
    (build_sequence_tagger, {"char_widths": 3}, TypeError, "char_widths=3"),
    (build_sequence_tagger, {"char_widths": [3, 0]}, ValueError, r"char_widths=\[3, 0\]"),
    (build_sequence_tagger, {"char_widths": (3, 3)}, ValueError, r"char_widths=\(3, 3\)"),
    (build_sequence_tagger, {"char_widths": [3.0]}, TypeError, r"char_widths=\[3.0\]"),
    (build_sequence_tagger, {"cell": "transformer"}, ValueError, "cell='transformer' is not one"),
]


@pytest.mark.parametrize(
    "factory, kwargs, error, message",
    BAD_ARGUMENTS,
    ids=[f"{f.__name__}-{'-'.join(map(str, kw))}" for f, kw, _, _ in BAD_ARGUMENTS],
)
def test_bad_arguments_raise_naming_the_argument(factory, kwargs, error, message, layers_built):
    with layers_built() as built, pytest.raises(error, match=message):
        factory(**kwargs)
    assert built == [], f"layers were built before validation: {built}"


def test_residual_forecaster_starts_from_the_last_observed_value():
    model = build_lstm(input_shape=(24, 15), residual_feature=4, units=8, output_steps=3)
    assert (
        model.count_params()
        == build_lstm(input_shape=(24, 15), units=8, output_steps=3).count_params()
    )
    dense = model.get_layer("forecast")
    dense.set_weights([np.zeros_like(w) for w in dense.get_weights()])
    windows = np.random.default_rng(0).normal(size=(2, 24, 15)).astype("float32")
    forecast = keras.ops.convert_to_numpy(model(windows))
    np.testing.assert_allclose(forecast[:, :, 0], np.repeat(windows[:, -1, 4:5], 3, axis=1))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"residual_feature": 15},
            r"residual_feature=15 is out of range; expected an integer in \[0, 14\]",
        ),
        ({"residual_feature": 0, "num_features": 2}, "num_features=2 cannot be combined"),
        ({"residual_feature": "pm2.5"}, "residual_feature='pm2.5'"),
    ],
)
def test_residual_feature_is_validated(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        build_lstm(input_shape=(24, 15), **kwargs)
