"""Atomic writes: a reader sees the old file or the new one, and a failure leaves no trace."""

from __future__ import annotations

import os

import pytest

from rnn_zoo.files import (
    atomic_directory,
    atomic_path,
    replace_symlink,
    staging_directory,
    write_text_atomically,
)


class Interrupted(Exception):
    pass


def test_a_complete_write_replaces_the_target(tmp_path):
    target = tmp_path / "model.keras"
    target.write_text("old")
    with atomic_path(target) as temporary:
        assert temporary.parent == tmp_path and temporary.suffix == ".keras"
        assert not temporary.exists()
        temporary.write_text("new")
        assert target.read_text() == "old"  # nothing is visible before the block ends
    assert target.read_text() == "new"
    assert os.listdir(tmp_path) == ["model.keras"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "metrics.json"
    target.write_text("old")
    with pytest.raises(Interrupted), atomic_path(target) as temporary:
        temporary.write_text("half")
        raise Interrupted
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["metrics.json"]


def test_a_failed_first_write_leaves_nothing(tmp_path):
    with pytest.raises(Interrupted), atomic_path(tmp_path / "data.json") as temporary:
        temporary.write_text("half")
        raise Interrupted
    assert os.listdir(tmp_path) == []


def test_a_failed_rename_removes_the_temporary(tmp_path):
    target = tmp_path / "full"
    (target / "inside").mkdir(parents=True)  # a directory is not replaced by a file
    with pytest.raises(OSError), atomic_path(target) as temporary:
        temporary.write_text("new")
    assert os.listdir(tmp_path) == ["full"] and os.listdir(target) == ["inside"]


def test_write_text_atomically(tmp_path):
    target = write_text_atomically(tmp_path / "README.md", "# lstm\n")
    assert target.read_text(encoding="utf-8") == "# lstm\n"


def test_a_directory_is_published_whole_or_not_at_all(tmp_path):
    target = tmp_path / "extracted"
    with pytest.raises(Interrupted), atomic_directory(target) as staged:
        (staged / "train").mkdir()
        raise Interrupted
    assert os.listdir(tmp_path) == []
    with atomic_directory(target) as staged:
        assert staged.is_dir() and not target.exists()
        (staged / "train").mkdir()
    assert os.listdir(tmp_path) == ["extracted"] and os.listdir(target) == ["train"]
    with pytest.raises(OSError), atomic_directory(target) as staged:  # not over a full one
        (staged / "test").mkdir()
    assert os.listdir(tmp_path) == ["extracted"] and os.listdir(target) == ["train"]


def test_a_staging_directory_keeps_only_what_was_renamed_away(tmp_path):
    with staging_directory(tmp_path, prefix=".export-") as staging:
        umask = os.umask(0)
        os.umask(umask)
        assert staging.name.startswith(".export-")
        assert staging.stat().st_mode & 0o777 == 0o777 & ~umask  # a served model is readable
        (staging / "saved_model.pb").write_text("graph")
        os.rename(staging, tmp_path / "1")
    assert os.listdir(tmp_path) == ["1"]
    with pytest.raises(Interrupted), staging_directory(tmp_path) as staging:
        (staging / "partial").write_text("half")
        raise Interrupted
    assert os.listdir(tmp_path) == ["1"]


def test_replace_symlink_switches_in_one_rename(tmp_path):
    for name in ("run-1", "run-2"):
        (tmp_path / name).mkdir()
    replace_symlink(tmp_path / "latest", "run-1")
    replace_symlink(tmp_path / "latest", "run-2")
    assert os.readlink(tmp_path / "latest") == "run-2"
    assert sorted(os.listdir(tmp_path)) == ["latest", "run-1", "run-2"]


def test_load_metadata_names_a_damaged_data_json(tmp_path):
    from rnn_zoo.data import load_metadata

    (tmp_path / "data.json").write_text("{")
    with pytest.raises(ValueError, match="data.json is not valid JSON") as error:
        load_metadata(tmp_path)
    assert str(tmp_path / "data.json") in str(error.value)
    (tmp_path / "data.json").write_text('{"name": "x"}')
    with pytest.raises(ValueError, match="has no 'metadata' entry"):
        load_metadata(tmp_path)
