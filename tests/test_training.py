"""Training on the real PM2.5 and Shakespeare data, kept short."""

from __future__ import annotations

import dataclasses
import json
import math
import re
import warnings

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnn_zoo import get_spec, list_models
from rnn_zoo.cli import main
from rnn_zoo.data import DataBundle, load_text_corpus, load_time_series
from rnn_zoo.training import TrainingDivergedError, evaluate_run, train, train_custom_loop
from rnn_zoo.training.prepare import check_data_implied, check_factory_arguments


@pytest.fixture(scope="module")
def series(shared_data):
    return load_time_series(path=shared_data, batch_size=256, fraction=0.2)


@pytest.fixture(scope="module")
def corpus(shared_data):
    return load_text_corpus(path=shared_data, batch_size=16, seq_length=40, fraction=0.05)


def test_train_writes_a_complete_run_directory(series, tmp_path):
    result = train("lstm", series, epochs=2, output_dir=tmp_path, seed=3, verbose=0)
    run_dir = result.run_dir
    for name in (
        "model.keras",
        "history.csv",
        "history.png",
        "metrics.json",
        "data.json",
        "README.md",
        "run.json",
    ):
        assert (run_dir / name).is_file(), name
    assert (tmp_path / "lstm" / "latest").resolve() == run_dir.resolve()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["epochs"] == 2 and metrics["seed"] == 3
    assert set(metrics["test"]) == {
        "loss",
        "mae",
        "mae_raw",
        "persistence_mae_raw",
        "seasonal_naive_mae_raw",
        "skill_vs_persistence",
    }
    assert metrics["test"]["mae_raw"] == pytest.approx(
        metrics["test"]["mae"] * series.metadata["std"][series.metadata["target_index"]], rel=1e-3
    )
    assert metrics["samples_per_second"] > 0
    assert metrics["versions"]["keras"] == keras.__version__
    assert len(result.history["loss"]) == 2 and len(result.history["val_loss"]) == 2
    assert result.test_metrics == pytest.approx(metrics["test"])
    assert (run_dir / "history.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_best_validation_checkpoint_is_the_returned_model(series, tmp_path):
    result = train("lstm", series, epochs=3, output_dir=tmp_path, verbose=0)
    saved = keras.saving.load_model(result.run_dir / "model.keras")
    batch = next(iter(series.test))[0]
    np.testing.assert_allclose(
        saved.predict(batch, verbose=0), result.model.predict(batch, verbose=0)
    )
    best = min(result.history["val_loss"])
    assert saved.evaluate(series.validation, verbose=0, return_dict=True)["loss"] == pytest.approx(
        best, rel=1e-4
    )


def test_same_seed_gives_identical_history(shared_data, tmp_path):
    def run(seed, folder):
        return train(
            "lstm",
            epochs=2,
            seed=seed,
            steps_per_epoch=6,
            output_dir=tmp_path / folder,
            verbose=0,
            data_dir=shared_data,
            data_options={"fraction": 0.2},
        )

    first, second, other = run(11, "a"), run(11, "b"), run(12, "c")
    assert first.history == second.history
    assert first.history != other.history


def test_exploding_learning_rate_stops_without_a_nan_checkpoint(series, tmp_path):
    with pytest.raises(TrainingDivergedError, match="diverged at epoch 1"):
        train(
            "lstm",
            series,
            epochs=3,
            learning_rate=1e30,
            output_dir=tmp_path,
            verbose=0,
            recipe=get_spec("lstm").recipe.replace(loss="mse"),  # MAE never overflows
        )
    for checkpoint in tmp_path.rglob("*.keras"):
        model = keras.saving.load_model(checkpoint)
        assert all(np.isfinite(w).all() for w in model.get_weights())


def test_fit_and_custom_loop_reach_the_same_loss(corpus, tmp_path):
    # One layer, no dropout: the two loops draw dropout masks in different orders, and
    # with the registered two layers their float rounding drifts apart faster (2.8e-3
    # relative after 16 steps, against 1.5e-4 with one layer; BENCHMARKS.md, issue 22).
    options = {"units": 32, "embedding_dim": 16, "dropout": 0.0, "num_layers": 1}
    fitted = train(
        "text_generator",
        corpus,
        epochs=2,
        model_options=options,
        steps_per_epoch=8,
        output_dir=tmp_path / "fit",
        verbose=0,
    )
    looped = train_custom_loop(
        "text_generator",
        corpus,
        epochs=2,
        model_options=options,
        steps_per_epoch=8,
        output_dir=tmp_path / "loop",
    )
    assert looped.history["loss"] == pytest.approx(fitted.history["loss"], rel=1e-3)
    assert looped.history["val_loss"] == pytest.approx(fitted.history["val_loss"], rel=1e-3)
    assert looped.test_metrics["loss"] == pytest.approx(fitted.test_metrics["loss"], rel=1e-3)
    assert math.log(65) > fitted.history["loss"][-1]


def test_evaluate_run_reproduces_the_test_metrics(series, tmp_path, shared_data):
    result = train(
        "lstm",
        epochs=1,
        steps_per_epoch=4,
        output_dir=tmp_path,
        data_dir=shared_data,
        data_options={"fraction": 0.2},
        verbose=0,
    )
    assert evaluate_run(result.run_dir, data_dir=shared_data) == pytest.approx(
        result.test_metrics, rel=1e-5
    )


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"epochs": 0}, ValueError, "epochs=0"),
        ({"epochs": 1.5}, TypeError, "epochs=1.5"),
        ({"learning_rate": -1.0}, ValueError, "learning_rate=-1.0"),
        ({"seed": -1}, ValueError, "seed=-1"),
        ({"resume": "yes"}, TypeError, "resume='yes'"),
        ({"batch_size": 8}, ValueError, "batch_size=8 cannot be applied"),
        ({"early_stopping_patience": 0}, ValueError, "early_stopping_patience=0"),
        ({"steps_per_epoch": 0}, ValueError, "steps_per_epoch=0"),
        ({"model_options": {"unitz": 3}}, TypeError, "'unitz'"),
    ],
)
def test_bad_arguments_raise_before_training(series, tmp_path, kwargs, error, message):
    with pytest.raises(error, match=message):
        train("lstm", series, output_dir=tmp_path, verbose=0, **kwargs)
    assert not list((tmp_path).rglob("*.keras"))


def test_unknown_model_and_model_without_recipe(series, tmp_path):
    with pytest.raises(ValueError, match="'lstn' is not registered"):
        train("lstn", series, output_dir=tmp_path)
    with pytest.raises(TypeError, match="recipe=None"):
        train(keras.Sequential([keras.layers.Dense(1)]), series, output_dir=tmp_path)


def test_device_precision_and_strategy_are_recorded(series, tmp_path):
    result = train(
        "lstm",
        series,
        epochs=1,
        output_dir=tmp_path,
        verbose=0,
        device="cpu",
        precision="mixed_bfloat16",
    )
    metrics = json.loads(result.metrics_path.read_text())
    assert metrics["device"] == "/device:CPU:0"
    assert (metrics["precision"], metrics["strategy"], metrics["replicas"]) == (
        "mixed_bfloat16",
        "default",
        1,
    )
    assert metrics["cudnn_fallbacks"] == []
    assert metrics["hardware"]["cpu"]
    assert result.model.get_layer("lstm_1").dtype_policy.name == "mixed_bfloat16"
    assert result.model.output.dtype == "float32"
    assert np.isfinite(result.test_metrics["loss"])


@pytest.mark.parametrize("asked, trained", [(None, "mixed_bfloat16"), ("float32", "float32")])
def test_the_entry_precision_applies_unless_another_is_asked(series, tmp_path, asked, trained):
    spec = dataclasses.replace(get_spec("lstm"), precision="mixed_bfloat16")
    result = train(spec, series, epochs=1, output_dir=tmp_path, verbose=0, precision=asked)
    assert json.loads(result.metrics_path.read_text())["precision"] == trained
    assert json.loads((result.run_dir / "run.json").read_text())["config"]["precision"] == trained
    assert result.model.get_layer("lstm_1").dtype_policy.name == trained


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"device": "gpu"}, "device='gpu'"),
        ({"device": "tpu"}, "tpu"),
        ({"precision": "mixed_float16"}, "mixed_float16"),
        ({"precision": "half"}, "precision='half'"),
        ({"strategy": "parameter_server"}, "strategy='parameter_server'"),
    ],
)
def test_bad_device_choices_raise_before_training(series, tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        train("lstm", series, output_dir=tmp_path, verbose=0, **kwargs)
    assert not list(tmp_path.rglob("*"))


@pytest.mark.parametrize("monitor, best", [("val_auc", 0.99), ("val_loss", 0.45)])
def test_a_resumed_run_continues_from_its_best_value_in_the_metrics_direction(
    monitor, best, tmp_path
):
    from rnn_zoo.training.callbacks import STAGED_MODEL, BestCheckpoint

    # A killed run's files: its best checkpoint, and three finished epochs. AUC is better
    # higher (its name has no "acc"); the loss is better lower.
    (tmp_path / "model.keras").write_text("the checkpoint of epoch 2")
    (tmp_path / "history.csv").write_text(
        "epoch,auc,loss,val_auc,val_loss\n"
        "0,0.5,0.7,0.30,0.69\n"
        "1,0.9,0.5,0.99,0.45\n"
        "2,0.6,0.6,0.20,0.71\n"
    )
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy", metrics=[keras.metrics.AUC(name="auc")])
    rng = np.random.default_rng(0)
    inputs, labels = rng.normal(size=(64, 4)), rng.integers(0, 2, size=(64, 1))  # no signal
    checkpoint = BestCheckpoint(tmp_path, monitor)
    model.fit(
        inputs,
        labels,
        validation_data=(inputs[:32], labels[:32]),
        epochs=1,
        callbacks=[checkpoint],
        verbose=0,
    )
    assert checkpoint.best == best  # the resumed epoch did not beat epoch 2...
    assert not (tmp_path / STAGED_MODEL).exists()  # ...so it did not replace its checkpoint


# Factory overrides are checked by the factory's own validation before any data loads,
# then against what the data implies; a refused run leaves no run directory.


@pytest.fixture
def no_data_loads(monkeypatch):
    """Any dataset load fails the test: the overrides must be refused before one."""
    import rnn_zoo.registry

    def load_data(*args, **kwargs):
        raise AssertionError("a dataset was loaded")

    monkeypatch.setattr(rnn_zoo.registry.ModelSpec, "load_data", load_data)


@pytest.mark.parametrize(
    "name, overrides, error, message",
    [
        ("lstm", {"units": -4}, ValueError, "units=-4"),
        ("text_generator", {"units": 0}, ValueError, "units=0"),
        ("baseline", {"num_classes": 1}, ValueError, "num_classes=1"),
        ("baseline", {"dropout": 1.5}, ValueError, "dropout=1.5"),
        ("gru_classifier", {"cell": "lstn"}, ValueError, "cell='lstn'"),
        ("sequence_tagger", {"vocab_size": "x"}, TypeError, "vocab_size='x'"),
        ("seq2seq", {"embedding_dim": 2.5}, TypeError, "embedding_dim=2.5"),
        ("text_generator", {"bidirectional": True}, ValueError, "bidirectional=True"),
        ("lstm", {"input_shape": (0, 3)}, ValueError, "input_shape"),
    ],
)
def test_bad_overrides_are_refused_before_the_data_loads(
    name, overrides, error, message, no_data_loads, tmp_path
):
    output = tmp_path / "runs"
    with pytest.raises(error, match=re.escape(message)):
        train(name, output_dir=output, model_options=overrides, verbose=0)
    with pytest.raises(error, match=re.escape(message)):
        train_custom_loop(name, output_dir=output, model_options=overrides)
    assert not output.exists()


INT_ARGUMENTS = sorted(
    (name, argument)
    for name in list_models()
    for argument, default in get_spec(name).factory_arguments().items()
    if isinstance(default, int) and not isinstance(default, bool)
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(pick=st.sampled_from(INT_ARGUMENTS), value=st.integers(max_value=-1))
def test_any_negative_size_is_refused_naming_it_before_the_data_loads(
    pick, value, no_data_loads, tmp_path_factory
):
    name, argument = pick
    output = tmp_path_factory.mktemp("runs") / "out"
    with pytest.raises(ValueError, match=re.escape(f"{argument}={value}")):
        train(name, output_dir=output, model_options={argument: value}, verbose=0)
    assert not output.exists()


def test_the_command_line_refuses_a_bad_override_before_loading(no_data_loads, tmp_path, capsys):
    output = tmp_path / "runs"
    assert main(["train", "lstm", "--set", "units=-4", "--output-dir", str(output)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "units=-4" in err and "Traceback" not in err
    assert not output.exists()


@pytest.mark.parametrize("name", list_models())
def test_checking_the_overrides_builds_no_layer(name, layers_built):
    spec = get_spec(name)
    with layers_built() as built:
        check_factory_arguments(spec, {})
    assert built == []
    assert keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]).count_params() == 3


@pytest.mark.parametrize(
    "name, bundle, overrides, key",
    [
        ("text_generator", "corpus", {"vocab_size": 10}, "vocab_size"),
        ("text_generator", "corpus", {"vocab_size": 1000}, "vocab_size"),
        ("lstm", "series", {"input_shape": (10, 1)}, "input_shape"),
        ("lstm", "series", {"num_features": 2}, "num_features"),
    ],
    ids=["smaller vocabulary", "larger vocabulary", "other input shape", "more features"],
)
def test_an_override_contradicting_the_data_is_refused_before_the_run_directory(
    name, bundle, overrides, key, request, tmp_path
):
    data = request.getfixturevalue(bundle)
    with pytest.raises(ValueError, match="contradicts the data") as error:
        train(name, data, output_dir=tmp_path, model_options=overrides, verbose=0)
    message = str(error.value)
    assert f"{key}={overrides[key]!r}" in message
    assert f"{key}={data.model_kwargs[key]!r}" in message  # the value the data implies
    assert not list(tmp_path.iterdir())


def test_the_command_line_refuses_fewer_classes_than_the_data_has(tmp_path, capsys):
    output = tmp_path / "runs"
    argv = ["train", "baseline", "--set", "num_classes=3", "--fraction", "0.05"]
    assert main([*argv, "--output-dir", str(output)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "num_classes=3" in err and "num_classes=10" in err
    assert not output.exists()


def test_an_override_equal_to_what_the_data_implies_is_accepted(series):
    implied = series.model_kwargs
    check_data_implied(series, {"input_shape": list(implied["input_shape"]), "num_features": 1})
    check_data_implied(series, {"units": 3})  # not decided by the data: the factory checks it
    with pytest.raises(ValueError, match="num_features=True"):
        check_data_implied(series, {"num_features": True})  # a bool is not the count 1


@settings(max_examples=60, deadline=None)
@given(
    implied=st.dictionaries(st.sampled_from(["a", "b", "c"]), st.integers(1, 5), min_size=1),
    overrides=st.dictionaries(st.sampled_from(["a", "b", "d"]), st.integers(1, 5)),
)
def test_an_override_is_refused_exactly_when_it_differs_from_the_data(implied, overrides):
    bundle = DataBundle("drawn", None, None, None, model_kwargs=implied)
    differing = [k for k, v in overrides.items() if k in implied and implied[k] != v]
    if not differing:
        check_data_implied(bundle, overrides)
        return
    with pytest.raises(ValueError, match="contradicts the data") as error:
        check_data_implied(bundle, overrides)
    assert f"{differing[0]}={overrides[differing[0]]!r}" in str(error.value)


def test_batches_tf_cannot_count_are_counted_before_training_and_no_cut_is_reported(tmp_path):
    import tensorflow as tf

    from rnn_zoo.recipe import Recipe

    rng = np.random.default_rng(0)
    rows = tf.data.Dataset.from_tensor_slices(
        (rng.normal(size=(96, 4)).astype("float32"), rng.integers(0, 2, (96, 1)).astype("float32"))
    )
    uncounted = rows.filter(lambda features, label: True).batch(16)  # as length buckets are
    assert int(uncounted.cardinality()) == tf.data.UNKNOWN_CARDINALITY
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    recipe = Recipe(loss="binary_crossentropy", epochs=2, batch_size=16, schedule="cosine")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = train(
            model,
            DataBundle("uncounted", uncounted, uncounted, uncounted),
            recipe=recipe,
            output_dir=tmp_path,
            verbose=0,
        )
    assert [str(w.message) for w in caught if "ran out of data" in str(w.message)] == []
    assert len(result.history["loss"]) == 2
    assert model.optimizer.iterations.numpy() == 2 * 6  # every batch of both epochs
