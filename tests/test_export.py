"""Exports loaded in another Python process that never imports rnn_zoo (``clean_python``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from clean_python import run_clean
from tensorflow.core.framework import types_pb2

from rnn_zoo import get_model, list_models
from rnn_zoo.export import export_saved_model, load_serving_module, next_version

# Loads the export, calls one signature with arguments saved as .npy files, saves the outputs.
CALL_EXPORT = """
import json, sys
import numpy as np
import tensorflow as tf
export, signature, folder = sys.argv[1:]
loaded = tf.saved_model.load(export)
arguments = json.load(open(f"{folder}/arguments.json"))
inputs = {n: tf.constant(np.load(f"{folder}/{n}.npy", allow_pickle=True)) for n in arguments}
outputs = loaded.signatures[signature](**inputs)
for name, value in outputs.items():
    np.save(f"{folder}/out_{name}.npy", value.numpy(), allow_pickle=True)
json.dump(sorted(outputs), open(f"{folder}/outputs.json", "w"))
assert "rnn_zoo" not in sys.modules, "the export must not need rnn_zoo"
"""


def call_in_clean_process(export: Path, signature: str, inputs: dict, folder: Path) -> dict:
    folder.mkdir()
    for name, value in inputs.items():
        np.save(folder / f"{name}.npy", value, allow_pickle=True)
    (folder / "arguments.json").write_text(json.dumps(sorted(inputs)))
    run_clean(CALL_EXPORT, export, signature, folder, cwd=folder, check=True, text=False)
    names = json.loads((folder / "outputs.json").read_text())
    return {name: np.load(folder / f"out_{name}.npy", allow_pickle=True) for name in names}


@pytest.mark.parametrize("name", list_models())
def test_export_answers_raw_inputs_in_another_process(name, trained_run, tmp_path):
    result = trained_run(name)
    export = export_saved_model(result.run_dir, output_dir=tmp_path)
    assert export == tmp_path / result.run_dir.parent.name / "1"
    module, _ = load_serving_module(result.run_dir)
    inputs = module.example_inputs()
    expected = module.signatures()[module.signature_name](**inputs)
    outputs = call_in_clean_process(export, module.signature_name, inputs, tmp_path / "call")
    assert set(outputs) == set(expected)
    for key, value in expected.items():
        value = np.asarray(value.numpy())
        if value.dtype.kind in "SO":
            assert outputs[key].tolist() == value.tolist()
        else:
            np.testing.assert_allclose(outputs[key], value, rtol=1e-4, atol=1e-5)


def input_dtypes(function) -> set[str]:
    """The DataType names (``DT_STRING``, ...) of a concrete function's inputs."""
    specs = tf.nest.flatten(function.structured_input_signature)
    return {types_pb2.DataType.Name(spec.dtype.as_datatype_enum) for spec in specs}


@pytest.mark.parametrize("name", list_models())
def test_saved_model_cli_lists_the_documented_signature(name, served):
    module, export = served(name)
    shown = subprocess.run(
        [
            str(Path(sys.executable).with_name("saved_model_cli")),
            "show",
            "--dir",
            str(export),
            "--all",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    for signature in module.signatures():
        assert f"signature_def['{signature}']" in shown
    dtypes = input_dtypes(module.signatures()["serving_default"])
    assert dtypes and all(dtype in shown for dtype in dtypes)


def test_a_model_with_recurrent_dropout_exports(tmp_path):
    # Dropout keeps a seed variable that the inference graph references; it must be saved.
    model = get_model("lstm", units=4, dropout=0.3)
    metadata = {"mean": [0.0], "std": [1.0], "target_index": 0, "input_width": 10}
    export = export_saved_model(model, tmp_path, metadata=metadata, task="forecasting")
    windows = np.random.default_rng(0).normal(size=(2, 10, 1)).astype("float32")
    forecast = tf.saved_model.load(str(export)).signatures["serving_default"](windows=windows)
    np.testing.assert_allclose(forecast["forecast"].numpy(), model(windows).numpy()[:, 0], 1e-5)


def test_versions_are_numbered_and_never_overwritten(trained_run, tmp_path):
    run_dir = trained_run("lstm").run_dir
    first = export_saved_model(run_dir, tmp_path / "lstm")
    second = export_saved_model(run_dir, tmp_path / "lstm")
    assert (first.name, second.name) == ("1", "2")
    assert next_version(tmp_path / "lstm") == 3
    with pytest.raises(ValueError, match="version=2 already exists"):
        export_saved_model(run_dir, tmp_path / "lstm", version=2)
    assert sorted(p.name for p in (tmp_path / "lstm").iterdir()) == ["1", "2"]


def test_a_failed_export_leaves_nothing_behind(trained_run, tmp_path, monkeypatch):
    run_dir = trained_run("lstm").run_dir

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tf.saved_model, "save", disk_full)
    with pytest.raises(OSError, match="No space left"):
        export_saved_model(run_dir, tmp_path / "lstm")
    assert list((tmp_path / "lstm").iterdir()) == []


def test_bad_export_arguments(trained_run, tmp_path):
    with pytest.raises(FileNotFoundError, match="metrics.json not found"):
        export_saved_model(tmp_path)
    with pytest.raises(TypeError, match="model_or_run_dir=42"):
        export_saved_model(42)
    model = trained_run("lstm").model
    with pytest.raises(TypeError, match="metadata="):
        export_saved_model(model, tmp_path)
    with pytest.raises(ValueError, match="task='forecast' is not one of"):
        export_saved_model(model, tmp_path, metadata={}, task="forecast")
    with pytest.raises(ValueError, match="version=0"):
        export_saved_model(trained_run("lstm").run_dir, tmp_path, version=0)
