"""TrainOptions: one checked object for train(), train_custom_loop() and `rnn-zoo train`."""

from __future__ import annotations

import dataclasses

import pytest

import rnn_zoo.registry
import rnn_zoo.training
import rnn_zoo.training.fit
import rnn_zoo.training.prepare
import rnn_zoo.training.tape_loop
from rnn_zoo.cli import main
from rnn_zoo.training import TrainOptions, train, train_custom_loop


class Stop(Exception):
    pass


@pytest.fixture
def no_data_loads(monkeypatch):
    """Any dataset load fails the test: the options must be refused before one."""

    def load_data(*args, **kwargs):
        raise AssertionError("a dataset was loaded")

    monkeypatch.setattr(rnn_zoo.registry.ModelSpec, "load_data", load_data)


@pytest.fixture
def prepared(monkeypatch):
    """Stops both loops at preparation; returns the options each was called with."""
    calls = []

    def prepare(model_or_name, data, options):
        calls.append(options)
        raise Stop

    monkeypatch.setattr(rnn_zoo.training.fit, "prepare", prepare)
    monkeypatch.setattr(rnn_zoo.training.tape_loop, "prepare", prepare)
    return calls


def test_the_defaults_are_documented_ones():
    options = TrainOptions()
    assert (options.seed, options.output_dir, options.resume, options.tensorboard) == (
        0,
        "saved_models",
        True,
        False,
    )
    assert (options.verbose, options.device, options.precision, options.strategy) == (
        "auto",
        "auto",
        None,
        "default",
    )
    assert options.epochs is options.early_stopping_patience is options.data_options is None


@pytest.mark.parametrize(
    "fields, error, message",
    [
        ({"epochs": 0}, ValueError, "epochs=0"),
        ({"batch_size": 2.5}, TypeError, "batch_size=2.5"),
        ({"learning_rate": 0.0}, ValueError, "learning_rate=0.0"),
        ({"seed": -1}, ValueError, "seed=-1"),
        ({"resume": "yes"}, TypeError, "resume='yes'"),
        ({"early_stopping_patience": 0}, ValueError, "early_stopping_patience=0"),
        ({"steps_per_epoch": 0}, ValueError, "steps_per_epoch=0"),
        ({"tensorboard": 1}, TypeError, "tensorboard=1"),
        ({"precision": "half"}, ValueError, "precision='half'"),
        ({"strategy": "parameter_server"}, ValueError, "strategy='parameter_server'"),
    ],
)
def test_bad_values_are_refused_on_creation_before_any_data_loads(
    fields, error, message, no_data_loads, tmp_path
):
    with pytest.raises(error, match=message):
        TrainOptions(**fields)
    with pytest.raises(error, match=message):
        train("lstm", output_dir=tmp_path, **fields)
    with pytest.raises(error, match=message):
        dataclasses.replace(TrainOptions(), **fields)
    assert not list(tmp_path.iterdir())


def test_options_that_need_the_model_are_refused_before_any_data_loads(no_data_loads, tmp_path):
    with pytest.raises(TypeError, match="'unitz'"):
        train("lstm", output_dir=tmp_path, model_options={"unitz": 3})
    with pytest.raises(TypeError, match="'fractoin'"):
        train_custom_loop("lstm", output_dir=tmp_path, data_options={"fractoin": 0.1})
    assert not list(tmp_path.iterdir())


def test_keywords_and_an_options_object_are_the_same(prepared):
    fields = {"epochs": 2, "seed": 5, "data_options": {"fraction": 0.1}, "device": "cpu"}
    overridden = TrainOptions(epochs=9, seed=5, data_options={"fraction": 0.1}, device="cpu")
    for call in (
        lambda: train("lstm", **fields),
        lambda: train("lstm", options=TrainOptions(**fields)),
        lambda: train("lstm", options=overridden, epochs=2),  # a keyword overrides
    ):
        with pytest.raises(Stop):
            call()
    assert prepared == [TrainOptions(**fields)] * 3


def test_unknown_keywords_are_refused_as_python_refuses_them():
    with pytest.raises(TypeError, match=r"train\(\) got an unexpected keyword argument 'epoch'"):
        train("lstm", epoch=1)
    with pytest.raises(TypeError, match="options=.* expected a TrainOptions"):
        train("lstm", options={"epochs": 1})


@pytest.mark.parametrize("name", ["resume", "early_stopping_patience", "tensorboard", "verbose"])
def test_the_custom_loop_refuses_what_only_fit_does(name, prepared):
    value = {"resume": True, "early_stopping_patience": 2, "tensorboard": True, "verbose": 0}
    with pytest.raises(TypeError, match=f"unexpected keyword argument '{name}'"):
        train_custom_loop("lstm", **{name: value[name]})
    assert prepared == []


def test_the_custom_loop_refuses_an_options_object_asking_for_fit_only_work(prepared):
    for options in (TrainOptions(early_stopping_patience=2), TrainOptions(tensorboard=True)):
        with pytest.raises(ValueError, match="cannot be used with train_custom_loop"):
            train_custom_loop("lstm", options=options)
    with pytest.raises(Stop):  # the defaults (resume=True, verbose="auto") do not apply
        train_custom_loop("lstm", options=TrainOptions(epochs=1))
    assert prepared == [TrainOptions(epochs=1, resume=False)]


def test_the_command_line_builds_the_options_the_python_api_does(monkeypatch, tmp_path):
    calls = []

    def fake_train(model_or_name, data=None, *, options):
        calls.append((model_or_name, options))
        raise FileNotFoundError("stop here")

    monkeypatch.setattr(rnn_zoo.training, "train", fake_train)
    argv = ["train", "lstm", "--epochs", "2", "--batch-size", "32", "--learning-rate", "0.01"]
    argv += ["--seed", "7", "--output-dir", str(tmp_path), "--no-resume", "--set", "units=8"]
    argv += ["--early-stopping", "3", "--tensorboard", "--steps-per-epoch", "4"]
    argv += ["--device", "cpu", "--precision", "mixed_bfloat16", "--fraction", "0.1"]
    argv += ["--data-dir", str(tmp_path / "data")]
    assert main(argv) == 1
    assert calls == [
        (
            "lstm",
            TrainOptions(
                epochs=2,
                batch_size=32,
                learning_rate=0.01,
                seed=7,
                output_dir=str(tmp_path),
                resume=False,
                early_stopping_patience=3,
                tensorboard=True,
                data_dir=str(tmp_path / "data"),
                data_options={"fraction": 0.1},
                model_options={"units": 8},
                steps_per_epoch=4,
                device="cpu",
                precision="mixed_bfloat16",
            ),
        )
    ]


def test_the_command_line_refuses_bad_values_with_the_same_message(tmp_path, capsys):
    assert main(["train", "lstm", "--epochs", "0", "--output-dir", str(tmp_path)]) == 2
    assert "epochs=0 is out of range" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
