"""plot_history: every input kind, the figure's content, the PNG, and every error path."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import keras
import matplotlib.image
import numpy as np
import pytest
from matplotlib.figure import Figure

from rnn_zoo.plotting import plot_history

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
HISTORY = {
    "accuracy": [0.5, 0.7, 0.8],
    "loss": [0.9, 0.6, 0.4],
    "val_accuracy": [0.45, 0.6, 0.65],
    "val_loss": [1.0, 0.8, 0.75],
}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A real 2-epoch fit of a tiny Dense model: its History and its CSVLogger file."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(64, 4)).astype("float32")
    labels = (inputs.sum(axis=1) > 0).astype("int32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    csv_path = tmp_path_factory.mktemp("log") / "training.csv"
    history = model.fit(
        inputs,
        labels,
        epochs=2,
        batch_size=16,
        validation_split=0.25,
        callbacks=[keras.callbacks.CSVLogger(str(csv_path))],
        verbose=0,
    )
    return history, csv_path


def write_csv(path, text):
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def tick_values(axes):
    low, high = axes.get_xlim()
    return [tick for tick in axes.get_xticks() if low <= tick <= high]


def assert_draws(figure, history, metrics):
    """The figure has one subplot per metric, with lines equal to the history's values."""
    epochs = list(range(1, len(history[metrics[0]]) + 1))
    assert [axes.get_title() for axes in figure.axes] == metrics
    for axes, metric in zip(figure.axes, metrics, strict=True):
        assert axes.get_xlabel() == "epoch"
        assert axes.get_ylabel() == metric
        series = {"training": history[metric], "validation": history.get(f"val_{metric}")}
        expected = {label: values for label, values in series.items() if values is not None}
        lines = {line.get_label(): line for line in axes.get_lines()}
        assert list(lines) == list(expected)
        assert [text.get_text() for text in axes.get_legend().get_texts()] == list(expected)
        for label, values in expected.items():
            np.testing.assert_array_equal(lines[label].get_xdata(), epochs)
            np.testing.assert_allclose(lines[label].get_ydata(), values, rtol=1e-6)
        ticks = tick_values(axes)
        assert ticks and all(float(tick).is_integer() for tick in ticks)


@pytest.mark.parametrize("kind", ["History", "dict", "csv path", "csv str"])
def test_every_input_kind_draws_the_same_subplots(kind, trained):
    history, csv_path = trained
    source = {
        "History": history,
        "dict": history.history,
        "csv path": csv_path,
        "csv str": str(csv_path),
    }[kind]

    figure = plot_history(source)

    assert isinstance(figure, Figure)
    assert len(figure.axes) == 2
    assert_draws(figure, history.history, ["loss", "accuracy"])


def test_the_csv_log_holds_the_same_values_as_the_history(trained):
    history, csv_path = trained
    from_csv = plot_history(csv_path, "accuracy").axes[0].get_lines()
    np.testing.assert_allclose(from_csv[1].get_ydata(), history.history["val_accuracy"])


def test_metrics_choose_and_order_the_subplots():
    assert_draws(plot_history(HISTORY, ["accuracy", "loss"]), HISTORY, ["accuracy", "loss"])
    assert_draws(plot_history(HISTORY, "accuracy"), HISTORY, ["accuracy"])
    assert_draws(plot_history(HISTORY, ("loss",)), HISTORY, ["loss"])


def test_default_metrics_are_the_training_ones_loss_first():
    history = {"mae": [3.0, 2.0], "loss": [2.0, 1.0], "val_loss": [2.5, 1.5], "mse": [9.0, 4.0]}
    assert_draws(plot_history(history), history, ["loss", "mae", "mse"])


def test_a_metric_without_validation_values_draws_one_line():
    figure = plot_history({"loss": [1.0, 0.5]})
    assert [line.get_label() for line in figure.axes[0].get_lines()] == ["training"]


def test_title_and_figsize():
    figure = plot_history(HISTORY, title="tiny model", figsize=(7, 3.5))
    assert figure.get_suptitle() == "tiny model"
    assert tuple(figure.get_size_inches()) == (7.0, 3.5)
    assert plot_history(HISTORY).get_suptitle() == ""
    assert tuple(plot_history(HISTORY, ["loss"]).get_size_inches()) == (5.0, 4.0)
    assert tuple(plot_history(HISTORY).get_size_inches()) == (10.0, 4.0)


def test_csv_na_cells_are_drawn_as_gaps(tmp_path):
    path = write_csv(
        tmp_path / "log.csv",
        """
        epoch,loss,val_loss
        0,0.9,NA
        1,0.5,0.7
        """,
    )
    validation = plot_history(path).axes[0].get_lines()[1].get_ydata()
    assert np.isnan(validation[0]) and validation[1] == 0.7


def test_save_path_writes_a_png_of_the_figure_size(tmp_path):
    target = tmp_path / "reports" / "run 1" / "curves.png"

    figure = plot_history(HISTORY, figsize=(6, 2.5), save_path=target)

    assert target.read_bytes()[:8] == PNG_MAGIC
    width, height = figure.get_size_inches() * figure.dpi
    assert matplotlib.image.imread(target).shape == (round(height), round(width), 4)
    assert os.listdir(target.parent) == ["curves.png"]  # no temporary file left beside it


def test_save_path_replaces_an_existing_png(tmp_path):
    target = tmp_path / "curves.png"
    target.write_bytes(b"old")
    plot_history(HISTORY, save_path=str(target))
    assert target.read_bytes()[:8] == PNG_MAGIC


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_save_into_a_read_only_directory_leaves_no_file(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        with pytest.raises(PermissionError):
            plot_history(HISTORY, save_path=locked / "curves.png")
        assert os.listdir(locked) == []
    finally:
        locked.chmod(0o755)


def test_save_under_a_file_fails_and_leaves_nothing(tmp_path):
    blocker = tmp_path / "not_a_directory"
    blocker.write_text("a file where a directory should be")
    with pytest.raises(OSError):
        plot_history(HISTORY, save_path=blocker / "curves.png")
    assert os.listdir(tmp_path) == ["not_a_directory"]


def test_a_failed_rename_removes_the_written_temporary_file(tmp_path):
    (tmp_path / "curves.png").mkdir()  # os.replace cannot put a file over a directory
    with pytest.raises(OSError):
        plot_history(HISTORY, save_path=tmp_path / "curves.png")
    assert os.listdir(tmp_path) == ["curves.png"]
    assert os.listdir(tmp_path / "curves.png") == []


def test_a_failure_while_writing_keeps_the_old_file_and_no_partial_one(tmp_path, monkeypatch):
    target = tmp_path / "curves.png"
    target.write_bytes(b"previous figure")

    def fail_halfway(figure, handle, **kwargs):
        handle.write(PNG_MAGIC)
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", fail_halfway)
    with pytest.raises(OSError, match="disk full"):
        plot_history(HISTORY, save_path=target)
    assert os.listdir(tmp_path) == ["curves.png"]
    assert target.read_bytes() == b"previous figure"


def test_headless_without_pyplot_or_a_chosen_backend(tmp_path):
    script = f"""
        import sys
        import matplotlib
        from rnn_zoo.plotting import plot_history
        from IPython.core.pylabtools import print_figure
        figure = plot_history({{"loss": [1.0, 0.5]}}, save_path={str(tmp_path / "a.png")!r})
        png = print_figure(figure, "png")  # what Jupyter's inline display calls
        assert png[:8] == {PNG_MAGIC!r}, png[:8]
        assert "matplotlib.pyplot" not in sys.modules
        assert matplotlib.rcParams._get_backend_or_none() is None
        """
    environment = {key: value for key, value in os.environ.items() if key != "MPLBACKEND"}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        env={**environment, "DISPLAY": ""},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def test_an_unknown_metric_is_named_with_the_available_ones():
    with pytest.raises(ValueError, match=r"metrics='mae' .*available metrics: loss, accuracy"):
        plot_history(HISTORY, ["loss", "mae"])
    with pytest.raises(ValueError, match=r"metrics='val_loss' .*without the 'val_' prefix"):
        plot_history(HISTORY, "val_loss")


@pytest.mark.parametrize(
    ("history", "error", "match"),
    [
        ({}, ValueError, "history is empty"),
        (keras.callbacks.History(), ValueError, "history is empty"),
        ({"loss": [], "val_loss": []}, ValueError, "history has no epochs"),
        (
            {"loss": [1.0, 0.5], "val_loss": [1.0]},
            ValueError,
            r"different lengths \(loss: 2, val_loss: 1\)",
        ),
        ({"val_loss": [1.0]}, ValueError, r"only validation metrics \['val_loss'\]"),
        (42, TypeError, r"history=42 \(type int\) is not accepted"),
        ([0.9, 0.5], TypeError, r"history=\[0.9, 0.5\] \(type list\) is not accepted"),
        (None, TypeError, r"history=None \(type NoneType\)"),
        ({"loss": 0.5}, TypeError, r"history\['loss'\]=0.5 \(type float\)"),
        ({"loss": "0.5"}, TypeError, r"history\['loss'\]='0.5' \(type str\)"),
        ({"loss": [1.0, "x"]}, TypeError, r"history\['loss'\] holds 'x' \(type str\)"),
        ({1: [1.0]}, TypeError, "history has a metric named 1"),
    ],
)
def test_bad_histories_are_refused_naming_the_value(history, error, match):
    with pytest.raises(error, match=match):
        plot_history(history)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("loss,val_loss\n0.9,1.0\n", r"has columns \['loss', 'val_loss'\], with no 'epoch'"),
        ("", r"has columns \[\], with no 'epoch'"),
        ("epoch,loss\n", "has a header but no epochs"),
        ("epoch,loss\n0,0.9\n1,oops\n", r"line 3 has loss='oops'; expected a number"),
        ("epoch,loss,val_loss\n0,0.9\n", r"line 2 has no 'val_loss' cell"),
    ],
)
def test_bad_csv_logs_are_refused_naming_the_file(tmp_path, text, match):
    path = tmp_path / "log.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=match) as error:
        plot_history(path)
    assert f"history={str(path)!r}" in str(error.value)


def test_a_missing_csv_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.csv"):
        plot_history(tmp_path / "nowhere.csv")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"metrics": 42}, TypeError, r"metrics=42 \(type int\) is not accepted"),
        ({"metrics": []}, ValueError, r"metrics=\[\] is empty"),
        ({"metrics": [7]}, TypeError, r"metrics=7 \(type int\)"),
        ({"metrics": [""]}, ValueError, "metrics='' is empty"),
        ({"metrics": ["loss", "loss"]}, ValueError, "names a metric twice"),
        ({"title": 3}, TypeError, r"title=3 \(type int\)"),
        ({"title": " "}, ValueError, "title=' ' is empty"),
        ({"figsize": "big"}, TypeError, "figsize='big'"),
        ({"figsize": (4,)}, ValueError, r"figsize=\(4,\) is not accepted"),
        ({"figsize": (4, 0)}, ValueError, "figsize=0 is out of range"),
        ({"figsize": (4, True)}, TypeError, r"figsize=True \(type bool\)"),
        ({"save_path": 5}, TypeError, r"save_path=5 \(type int\)"),
        ({"save_path": "curves.jpg"}, ValueError, "save_path='curves.jpg' does not end in .png"),
    ],
)
def test_bad_arguments_are_refused_before_the_file_is_read(tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        plot_history(tmp_path / "never_read.csv", **kwargs)
