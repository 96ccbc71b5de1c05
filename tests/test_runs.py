"""Run directories: files are verified against metrics.json, untrusted code is refused."""

from __future__ import annotations

import json
import shutil

import keras
import pytest

from rnn_zoo.cli import main
from rnn_zoo.runs import RunIntegrityError, file_hashes, load_run, verify_run


@pytest.fixture
def run_copy(trained_run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(trained_run("lstm").run_dir, copy)
    return copy


def test_a_finished_run_lists_its_file_hashes(run_copy):
    listed = json.loads((run_copy / "metrics.json").read_text())["files"]
    assert listed == file_hashes(run_copy)
    assert set(listed) == {"model.keras", "data.json"}
    verify_run(run_copy)
    assert load_run(run_copy).name == "lstm"


@pytest.mark.parametrize("changed", ["model.keras", "data.json"])
def test_a_changed_file_is_named(run_copy, changed, capsys):
    with open(run_copy / changed, "ab") as handle:
        handle.write(b" ")
    with pytest.raises(RunIntegrityError, match=f"{changed} has sha256 .* metrics.json lists"):
        load_run(run_copy)
    assert main(["export", str(run_copy), "--output-dir", str(run_copy.parent / "out")]) == 1
    assert f"{changed} has sha256" in capsys.readouterr().err
    assert not (run_copy.parent / "out").exists()


def test_a_missing_file_is_named(run_copy):
    (run_copy / "data.json").unlink()
    with pytest.raises(RunIntegrityError, match="data.json is missing"):
        verify_run(run_copy)


def test_a_model_carrying_code_is_refused_unless_unsafe(run_copy, capsys):
    inputs = keras.Input((24, 15))
    outputs = keras.layers.Lambda(lambda x: x[:, -1, :1] * 2.0)(inputs)
    keras.Model(inputs, outputs, name="lstm_forecaster").save(run_copy / "model.keras")
    metrics = json.loads((run_copy / "metrics.json").read_text())
    metrics["files"] = file_hashes(run_copy)  # a consistent but untrusted run directory
    (run_copy / "metrics.json").write_text(json.dumps(metrics))

    with pytest.raises(ValueError, match="safe mode refuses"):
        load_run(run_copy)
    assert main(["export", str(run_copy), "--output-dir", str(run_copy.parent / "out")]) == 2
    assert "--unsafe" in capsys.readouterr().err
    assert load_run(run_copy, safe_mode=False).model.count_params() == 0


def test_an_unfinished_run_is_not_loaded(tmp_path):
    with pytest.raises(FileNotFoundError, match="metrics.json not found"):
        load_run(tmp_path)
    with pytest.raises(TypeError, match="safe_mode='no'"):
        load_run(tmp_path, safe_mode="no")
