"""Run directories: files are verified against metrics.json, untrusted code is refused."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys

import keras
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnn_zoo.cli import main
from rnn_zoo.registry import list_models
from rnn_zoo.runs import (
    HASHED_FILES,
    RunIntegrityError,
    claim_run_dir,
    config_differences,
    file_hashes,
    load_run,
    lock_run_dir,
    read_run_json,
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


@pytest.mark.parametrize("changed", ["model.keras", "data.json", "run.json"])
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


# Hostile edits of a run directory: each is refused with RunIntegrityError naming the file,
# and the command line exits 1 with one line, writing nothing.


def rehash(run_dir):
    """Makes metrics.json list the files as they are now: a consistent, edited run."""
    metrics = json.loads((run_dir / "metrics.json").read_text())
    metrics["files"] = file_hashes(run_dir)
    (run_dir / "metrics.json").write_text(json.dumps(metrics))


def assert_cli_refuses(run_dir, capsys, *fragments):
    """`rnn-zoo export` and `evaluate` exit 1 with one line naming the problem, writing nothing."""
    out = run_dir.parent / "exports"
    capsys.readouterr()
    assert main(["export", str(run_dir), "--output-dir", str(out)]) == 1
    assert main(["evaluate", str(run_dir)]) == 1
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 2 and "Traceback" not in err, err
    for line in lines:
        for fragment in fragments:
            assert fragment in line, line
    assert not out.exists()


def test_a_metrics_json_without_its_file_list_is_a_changed_run(run_copy, trained_run, capsys):
    metrics = json.loads((run_copy / "metrics.json").read_text())
    del metrics["files"]
    (run_copy / "metrics.json").write_text(json.dumps(metrics))
    other = trained_run("baseline").run_dir / "model.keras"
    shutil.copy(other, run_copy / "model.keras")  # the swapped model is never used
    with pytest.raises(RunIntegrityError, match=r"metrics\.json has no 'files' entry"):
        load_run(run_copy)
    assert_cli_refuses(run_copy, capsys, "metrics.json", "'files'")


@pytest.mark.parametrize("dropped", HASHED_FILES)
def test_a_file_missing_from_the_hash_list_is_a_changed_run(run_copy, dropped, capsys):
    metrics = json.loads((run_copy / "metrics.json").read_text())
    del metrics["files"][dropped]
    (run_copy / "metrics.json").write_text(json.dumps(metrics))
    with pytest.raises(RunIntegrityError, match=f"lists no sha256 for {dropped}"):
        verify_run(run_copy)
    assert_cli_refuses(run_copy, capsys, "metrics.json", dropped)


DAMAGED = {
    "invalid JSON": (b'{"config": ', "is not valid JSON"),
    "a JSON list": (b"[1, 2, 3]", "holds a list, expected a JSON object"),
    "a JSON number": (b"4.5", "holds a number, expected a JSON object"),
    "not UTF-8": (b"\xff\xfe\x00garbage", "is not UTF-8 text"),
    "empty": (b"", "is not valid JSON"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGED))
@pytest.mark.parametrize("file", ["metrics.json", "run.json", "data.json"])
def test_a_damaged_json_file_is_named_with_its_problem(run_copy, file, damage, capsys):
    content, problem = DAMAGED[damage]
    (run_copy / file).write_bytes(content)
    if file != "metrics.json":
        rehash(run_copy)  # hashes that match: the reader itself must name the damage
    with pytest.raises(RunIntegrityError, match=problem) as error:
        load_run(run_copy)
    assert str(run_copy / file) in str(error.value)
    assert_cli_refuses(run_copy, capsys, file, problem)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    value=st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False),
        st.text(max_size=8),
        st.lists(st.integers(), max_size=3),
    )
)
def test_any_json_that_is_not_an_object_is_named(value, tmp_path_factory):
    path = tmp_path_factory.mktemp("json") / "metrics.json"
    path.write_text(json.dumps(value))
    with pytest.raises(RunIntegrityError, match="expected a JSON object") as error:
        read_run_json(path)
    assert str(path) in str(error.value)


@pytest.mark.parametrize(
    "edit, fragment",
    [
        (lambda config: config.update(model="lstn"), "names model 'lstn', which is not registered"),
        (lambda config: config.pop("model"), "has no 'model' entry"),
        (lambda config: config.update(seed="zero"), "'seed' = 'zero' (a string), expected an int"),
        (lambda config: config["recipe"].pop("batch_size"), "recipe batch_size=None"),
        (lambda config: config.update(data_options=[1]), "'data_options' = [1] (a list)"),
    ],
    ids=["unregistered model", "no model", "seed a string", "no batch size", "options a list"],
)
def test_a_consistently_edited_run_json_is_named(run_copy, edit, fragment, capsys):
    payload = json.loads((run_copy / "run.json").read_text())
    edit(payload["config"])
    (run_copy / "run.json").write_text(json.dumps(payload))
    with pytest.raises(RunIntegrityError, match="changed after training"):
        load_run(run_copy)  # the hash catches the edit...
    rehash(run_copy)
    with pytest.raises(RunIntegrityError) as error:
        load_run(run_copy)  # ...and the reader names what is wrong, even with its hash
    assert str(run_copy / "run.json") in str(error.value) and fragment in str(error.value)
    assert_cli_refuses(run_copy, capsys, "run.json", fragment)


def test_a_model_file_keras_cannot_read_is_named(run_copy, capsys):
    import zipfile

    with zipfile.ZipFile(run_copy / "model.keras", "w") as archive:
        archive.writestr("config.json", "not a Keras config")
    rehash(run_copy)
    with pytest.raises(RunIntegrityError, match="could not be loaded as a Keras model") as error:
        load_run(run_copy)
    assert str(run_copy / "model.keras") in str(error.value)
    assert_cli_refuses(run_copy, capsys, "model.keras")


def test_a_model_file_that_is_not_a_zip_is_named(run_copy, capsys):
    (run_copy / "model.keras").write_bytes(b"PK\x03\x04 not really a zip")
    rehash(run_copy)
    with pytest.raises(RunIntegrityError, match="is not a zip archive") as error:
        load_run(run_copy)
    assert str(run_copy / "model.keras") in str(error.value)
    assert_cli_refuses(run_copy, capsys, "model.keras")


def test_a_damaged_resume_state_is_named(tmp_path):
    from rnn_zoo.training.callbacks import keep_backed_up_history

    state = tmp_path / "backup" / "current"
    state.mkdir(parents=True)
    (state / "training_metadata.json").write_text('{"epoch": "two"}')
    (tmp_path / "history.csv").write_text("epoch,loss\n0,1.0\n")
    with pytest.raises(RunIntegrityError, match="'epoch' = 'two'") as error:
        keep_backed_up_history(tmp_path)
    assert "training_metadata.json" in str(error.value)
    assert (tmp_path / "history.csv").read_text() == "epoch,loss\n0,1.0\n"  # left as it was


def interrupted(model_dir, name, config):
    run_dir = model_dir / name
    (run_dir / "backup").mkdir(parents=True)
    (run_dir / "run.json").write_text(json.dumps({"config": config}))
    return run_dir


def test_an_interrupted_run_of_another_configuration_is_left_alone_and_named(tmp_path, caplog):
    config = {"model": "lstm", "seed": 0, "data": {"files": {"a.csv": "1" * 64}}}
    other = interrupted(tmp_path / "lstm", "20260101-000000", {**config, "seed": 1})
    with caplog.at_level(logging.INFO, logger="rnn_zoo"):
        run_dir, lock = claim_run_dir(tmp_path / "lstm", config, resume=True)
    lock.close()
    assert run_dir != other and not (run_dir / "run.json").exists()
    assert f"not resuming {other}" in caplog.text and "different seed" in caplog.text
    assert str(run_dir) in caplog.text


def test_an_interrupted_run_whose_run_json_is_damaged_is_not_resumed(tmp_path, caplog):
    damaged = tmp_path / "lstm" / "20260101-000000"
    (damaged / "backup").mkdir(parents=True)
    (damaged / "run.json").write_text("[")
    with caplog.at_level(logging.INFO, logger="rnn_zoo"):
        run_dir, lock = claim_run_dir(tmp_path / "lstm", {"model": "lstm"}, resume=True)
    lock.close()
    assert run_dir != damaged
    assert f"not resuming {damaged}" in caplog.text and "is not valid JSON" in caplog.text


def test_config_differences_name_the_nested_entries():
    old = {"seed": 0, "data": {"files": {"a.csv": "1", "b.csv": "2"}}, "recipe": {"epochs": 2}}
    new = {"seed": 0, "data": {"files": {"a.csv": "3"}}, "recipe": {"epochs": 2}, "extra": 1}
    assert config_differences(old, new) == ["data.files.a.csv", "data.files.b.csv", "extra"]
    assert config_differences(old, old) == []


def test_a_model_archive_that_unzips_past_the_cap_is_refused_with_exit_1(run_copy, capsys):
    # A small model.keras whose config states 16 MiB + 1, with metrics.json rewritten to match:
    # the hashes pass, and the archive is refused before Keras reads it.
    import zipfile

    from rnn_zoo.limits import MAX_KERAS_CONFIG_BYTES

    with zipfile.ZipFile(run_copy / "model.keras", "w", compression=zipfile.ZIP_DEFLATED) as bomb:
        bomb.writestr("config.json", b" " * (MAX_KERAS_CONFIG_BYTES + 1))
    metrics = json.loads((run_copy / "metrics.json").read_text())
    metrics["files"] = file_hashes(run_copy)
    (run_copy / "metrics.json").write_text(json.dumps(metrics))
    with pytest.raises(RunIntegrityError, match="config.json' unzips to 16,777,217 bytes"):
        load_run(run_copy)
    assert main(["predict", str(run_copy), "x.csv"]) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and str(run_copy / "model.keras") in error[0]


@pytest.mark.parametrize("name", list_models())
def test_the_model_card_snippet_loads_the_model_in_a_fresh_process(name, trained_run):
    run_dir = trained_run(name).run_dir
    card = (run_dir / "README.md").read_text(encoding="utf-8")
    snippet = re.search(r"## How to load\n\n```python\n(.*?)```", card, re.S).group(1)
    check = f"{snippet}print(model.count_params())"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    shown = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, env=env, check=False
    )
    assert shown.returncode == 0, shown.stderr[-2000:]
    expected = json.loads((run_dir / "metrics.json").read_text())["parameters"]
    assert shown.stdout.split()[-1] == str(expected)
