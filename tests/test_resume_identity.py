"""A resume is tied to its data and options: a rerun that differs starts a new run, saying so.

A killed run leaves ``run.json`` and ``backup/`` without ``metrics.json``; here that state
is made by preparing a run (which claims its directory) and dropping its lock, as a kill
does. The data is the real Shakespeare text, passed as a file, as ``--data-dir`` does.
"""

from __future__ import annotations

import json
import logging
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnn_zoo.cli import main
from rnn_zoo.data import DataBundle
from rnn_zoo.data.sources import recording_resolved_files, resolve_file
from rnn_zoo.data.text_corpus import TINY_SHAKESPEARE
from rnn_zoo.training import TrainOptions
from rnn_zoo.training.prepare import data_identity, prepare

SMALL = {"units": 8, "embedding_dim": 8}


@pytest.fixture(scope="module")
def texts(shared_data, tmp_path_factory):
    """The corpus in two folders (byte-identical) and a different text of the same name."""
    folder = tmp_path_factory.mktemp("texts")
    original = (shared_data / "tinyshakespeare.txt").read_bytes()
    paths = {}
    for name, content in {"a": original, "copy": original, "other": original[::-1]}.items():
        (folder / name).mkdir()
        paths[name] = folder / name / "tinyshakespeare.txt"
        paths[name].write_bytes(content)
    return paths


def options(data_file, output_dir, **changes):
    fields = {
        "data_dir": str(data_file),
        "data_options": {"fraction": 0.05},
        "model_options": SMALL,
        "output_dir": str(output_dir),
        "epochs": 1,
        "steps_per_epoch": 2,
        "verbose": 0,
        **changes,
    }
    return TrainOptions(**fields)


def killed(name, opts):
    """Prepares a run and drops its lock, leaving what a kill leaves; returns its directory."""
    run = prepare(name, None, opts)
    run.lock.close()
    assert (run.run_dir / "backup").is_dir() and not (run.run_dir / "metrics.json").exists()
    return run.run_dir


def rerun(name, opts, caplog):
    with caplog.at_level(logging.INFO, logger="rnn_zoo"):
        run = prepare(name, None, opts)
    run.lock.close()
    return run.run_dir


def test_the_same_command_resumes_the_killed_run(texts, tmp_path, caplog):
    first = killed("text_generator", options(texts["a"], tmp_path))
    assert rerun("text_generator", options(texts["a"], tmp_path), caplog) == first
    assert "not resuming" not in caplog.text
    recorded = json.loads((first / "run.json").read_text())["config"]["data"]
    assert list(recorded["files"]) == ["tinyshakespeare.txt"]


def test_another_data_file_starts_a_new_run_and_says_so(texts, tmp_path, caplog):
    first = killed("text_generator", options(texts["a"], tmp_path))
    second = rerun("text_generator", options(texts["other"], tmp_path), caplog)
    assert second != first
    assert f"not resuming {first}" in caplog.text
    assert "data.files.tinyshakespeare.txt" in caplog.text
    assert not (first / "metrics.json").exists() and (first / "backup").is_dir()  # untouched


def test_byte_identical_data_in_another_folder_resumes(texts, tmp_path, caplog):
    first = killed("text_generator", options(texts["a"], tmp_path))
    assert rerun("text_generator", options(texts["copy"], tmp_path), caplog) == first


@pytest.mark.parametrize(
    "changes, named",
    [
        ({"data_options": {"fraction": 0.06}}, "data_options.fraction"),
        ({"model_options": {**SMALL, "units": 9}}, "model_options.units"),
        ({"epochs": 2}, "recipe.epochs"),
        ({"learning_rate": 0.01}, "recipe.learning_rate"),
        ({"seed": 4}, "seed"),
        ({"steps_per_epoch": 3}, "steps_per_epoch"),
    ],
    ids=["data option", "factory override", "epochs", "learning rate", "seed", "steps"],
)
def test_a_rerun_with_other_options_starts_a_new_run(texts, tmp_path, caplog, changes, named):
    first = killed("text_generator", options(texts["a"], tmp_path))
    second = rerun("text_generator", options(texts["a"], tmp_path, **changes), caplog)
    assert second != first
    assert f"not resuming {first}" in caplog.text and named in caplog.text


def test_no_resume_starts_a_new_run_without_a_word(texts, tmp_path, caplog):
    first = killed("text_generator", options(texts["a"], tmp_path))
    second = rerun("text_generator", options(texts["a"], tmp_path, resume=False), caplog)
    assert second != first and "not resuming" not in caplog.text


def test_the_command_line_never_mixes_two_datasets_in_one_history(texts, tmp_path, capsys):
    first = killed("text_generator", options(texts["a"], tmp_path))
    (first / "history.csv").write_text("epoch,loss,val_loss\n0,4.0,4.1\n")  # an epoch of data a
    flags = ["--set", "units=8", "--set", "embedding_dim=8", "--epochs", "1"]
    code = main(
        [
            "train",
            "text_generator",
            *flags,
            "--steps-per-epoch",
            "2",
            "--fraction",
            "0.05",
            "--no-export",
            "--data-dir",
            str(texts["other"]),
            "--output-dir",
            str(tmp_path),
        ]
    )
    err = capsys.readouterr().err
    assert code == 0, err
    assert f"rnn-zoo: not resuming {first}" in err and "data.files.tinyshakespeare.txt" in err
    runs = [d for d in (tmp_path / "text_generator").iterdir() if not d.is_symlink()]
    finished = [d for d in runs if (d / "metrics.json").exists()]
    assert len(finished) == 1 and finished[0] != first
    assert (finished[0] / "history.csv").read_text().count("\n") == 2  # header + its own epoch
    assert (first / "history.csv").read_text() == "epoch,loss,val_loss\n0,4.0,4.1\n"


def test_resolve_file_reports_what_it_resolved(texts, shared_data):
    with recording_resolved_files() as files:
        resolve_file(TINY_SHAKESPEARE, texts["a"])
        resolve_file(TINY_SHAKESPEARE, shared_data)
    assert files == [texts["a"], shared_data / "tinyshakespeare.txt"]
    resolve_file(TINY_SHAKESPEARE, texts["a"])  # outside the block: nothing recorded
    assert len(files) == 2


BUNDLE = DataBundle("corpus", None, None, None, metadata={"vocabulary": ["a", "b"]})


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    content=st.binary(min_size=1, max_size=64),
    position=st.integers(min_value=0),
    flip=st.integers(min_value=1, max_value=255),
)
def test_any_changed_byte_changes_the_identity_and_a_copy_keeps_it(
    content, position, flip, tmp_path_factory
):
    folder = tmp_path_factory.mktemp("identity")
    for name in ("a", "b", "c"):
        (folder / name).mkdir()
    original = folder / "a" / "data.csv"
    original.write_bytes(content)
    shutil.copy(original, folder / "b" / "data.csv")
    changed = bytearray(content)
    changed[position % len(content)] ^= flip
    (folder / "c" / "data.csv").write_bytes(bytes(changed))

    def identity(name):
        return data_identity([folder / name / "data.csv"], None, BUNDLE)

    assert identity("a") == identity("b")
    assert identity("a") != identity("c")


def test_a_data_dir_file_the_loader_did_not_resolve_is_hashed(tmp_path):
    given = tmp_path / "pairs.zip"
    given.write_bytes(b"one release")
    first = data_identity([], given, BUNDLE)
    given.write_bytes(b"another release")
    assert data_identity([], given, BUNDLE) != first
    assert list(first["files"]) == ["pairs.zip"]


def test_a_data_dir_folder_nothing_was_resolved_from_is_identified_by_its_place(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert data_identity([], tmp_path / "a", BUNDLE)["location"] == str(tmp_path / "a")
    assert data_identity([], tmp_path / "a", BUNDLE) != data_identity([], tmp_path / "b", BUNDLE)


def test_a_data_bundle_passed_in_is_identified_by_its_metadata():
    other = DataBundle("corpus", None, None, None, metadata={"vocabulary": ["a", "c"]})
    assert data_identity([], None, BUNDLE) == data_identity([], None, BUNDLE)
    assert data_identity([], None, BUNDLE) != data_identity([], None, other)
