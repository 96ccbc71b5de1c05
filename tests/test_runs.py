"""Run directories: files are verified against metrics.json, untrusted code is refused."""

from __future__ import annotations

import json
import shutil

import keras
import pytest

from rnn_zoo.cli import main
from rnn_zoo.runs import (
    RunIntegrityError,
    claim_run_dir,
    file_hashes,
    load_run,
    lock_run_dir,
    verify_run,
)


@pytest.fixture
def run_copy(trained_run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(trained_run("lstm").run_dir, copy)
    return copy


def test_a_finished_run_lists_its_file_hashes(run_copy):
    listed = json.loads((run_copy / "metrics.json").read_text())["files"]
    assert listed == file_hashes(run_copy)
    assert set(listed) == {"model.keras", "data.json", "run.json"}
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


def test_a_run_being_trained_is_not_resumed_by_a_second_process(tmp_path):
    config = {"model": "lstm", "seed": 0}
    interrupted = tmp_path / "lstm" / "20260101-000000"
    (interrupted / "backup").mkdir(parents=True)
    (interrupted / "run.json").write_text(json.dumps({"config": config}))

    first_dir, first_lock = claim_run_dir(tmp_path / "lstm", config, resume=True)
    assert first_dir == interrupted  # the interrupted run is picked up
    second_dir, second_lock = claim_run_dir(tmp_path / "lstm", config, resume=True)
    assert second_dir != interrupted  # ...but not twice at once
    assert lock_run_dir(interrupted) is None
    first_lock.close()  # the first process ends (a kill frees the lock the same way)
    assert lock_run_dir(interrupted) is not None
    second_lock.close()
