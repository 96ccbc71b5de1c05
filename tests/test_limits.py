"""The caps of rnn_zoo.limits, and check_keras_archive read from the zip directory alone."""

from __future__ import annotations

import ast
import inspect
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnn_zoo import limits
from rnn_zoo.limits import (
    MAX_KERAS_ARCHIVE_BYTES,
    MAX_KERAS_ARCHIVE_MEMBERS,
    MAX_KERAS_CONFIG_BYTES,
    check_keras_archive,
)

KERAS_MEMBERS = {"metadata.json": b"{}", "config.json": b"{}", "model.weights.h5": b"\0" * 64}


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


class Refused(Exception):
    """Stands for RunIntegrityError: the class load_run passes as ``error=``."""


def test_every_cap_has_a_comment_saying_why():
    source = inspect.getsource(limits).splitlines()
    caps = [
        node
        for node in ast.parse("\n".join(source)).body
        if isinstance(node, ast.Assign)
        and node.targets[0].id.isupper()
        and not node.targets[0].id.startswith("_")
    ]
    assert {node.targets[0].id for node in caps} >= {
        "MAX_GENERATED_CHARS",
        "MAX_STREAMS",
        "MAX_KERAS_ARCHIVE_BYTES",
        "INT32_MAX",
    }
    for node in caps:
        assert source[node.lineno - 2].startswith("#"), f"{node.targets[0].id} has no comment"


def test_a_keras_saved_archive_is_accepted(tmp_path):
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.save(tmp_path / "model.keras")
    assert check_keras_archive(tmp_path / "model.keras") is None


def test_a_config_that_unzips_past_the_cap_is_refused_without_unzipping(tmp_path, monkeypatch):
    # 16 MiB + 1 of spaces deflates to about 16 KB on disk: a small file, a big config.
    path = write_zip(tmp_path / "model.keras", {"config.json": b" " * (MAX_KERAS_CONFIG_BYTES + 1)})
    assert path.stat().st_size < 100_000

    def unzip(*args, **kwargs):
        raise AssertionError("check_keras_archive decompressed a member")

    monkeypatch.setattr(zipfile.ZipFile, "open", unzip)
    with pytest.raises(Refused, match="'config.json' unzips to 16,777,217 bytes") as error:
        check_keras_archive(path, error=Refused)
    assert str(path) in str(error.value)
    assert "16,777,216 bytes (16.0 MiB) per JSON member" in str(error.value)


def test_more_members_than_the_cap_are_refused_from_the_end_record(tmp_path, monkeypatch):
    members = {f"assets/{index}": b"" for index in range(MAX_KERAS_ARCHIVE_MEMBERS + 1)}
    path = write_zip(tmp_path / "model.keras", members)
    monkeypatch.setattr(zipfile.ZipFile, "__init__", None)  # the directory is never parsed
    with pytest.raises(ValueError, match=f"holds {MAX_KERAS_ARCHIVE_MEMBERS + 1} members") as error:
        check_keras_archive(path)
    assert str(path) in str(error.value)


def test_an_archive_over_the_total_cap_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_KERAS_ARCHIVE_BYTES", 1000)
    path = write_zip(tmp_path / "model.keras", {**KERAS_MEMBERS, "model.weights.h5": b"\0" * 1001})
    with pytest.raises(
        Refused, match=r"model.keras unzips to 1,005 bytes; expected .* 1,000 bytes uncompressed"
    ):
        check_keras_archive(path, error=Refused)


@pytest.mark.parametrize(
    "content, why",
    [
        (b"", "is not a zip archive"),
        (b"PK\x03\x04 not really a zip", "is not a zip archive"),
        (b"{'config': 'a pickled model, not a .keras file'}" * 10, "is not a zip archive"),
    ],
    ids=["empty", "zip_magic_only", "other_format"],
)
def test_a_file_that_is_not_a_zip_is_refused_naming_it(tmp_path, content, why):
    path = tmp_path / "model.keras"
    path.write_bytes(content)
    with pytest.raises(Refused, match=why) as error:
        check_keras_archive(path, error=Refused)
    assert str(path) in str(error.value)


@pytest.mark.parametrize(
    "cut",
    [lambda whole: whole[:-30], lambda whole: whole[:40] + whole[-22:]],
    ids=["end_record_cut", "directory_cut"],
)
def test_a_truncated_archive_is_refused_naming_it(tmp_path, cut):
    whole = write_zip(tmp_path / "whole.keras", KERAS_MEMBERS).read_bytes()
    path = tmp_path / "model.keras"
    path.write_bytes(cut(whole))
    with pytest.raises(Refused) as error:
        check_keras_archive(path, error=Refused)
    assert str(path) in str(error.value) and "zip archive" in str(error.value)


def test_a_missing_archive_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.keras not found"):
        check_keras_archive(tmp_path / "nowhere.keras")


@settings(max_examples=30, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=400), min_size=1, max_size=8),
    json_member=st.booleans(),
)
def test_refused_exactly_when_the_stated_sizes_pass_a_cap(sizes, json_member):
    """Caps shrunk to a few hundred bytes: refused if and only if one of them is passed."""
    caps = {"MAX_KERAS_ARCHIVE_BYTES": 1000, "MAX_KERAS_CONFIG_BYTES": 300}
    members = {
        (f"member{index}.json" if json_member else f"member{index}.bin"): b"x" * size
        for index, size in enumerate(sizes)
    }
    over = sum(sizes) > caps["MAX_KERAS_ARCHIVE_BYTES"] or (
        json_member and max(sizes) > caps["MAX_KERAS_CONFIG_BYTES"]
    )
    saved = {name: getattr(limits, name) for name in caps}
    with tempfile.TemporaryDirectory() as folder:
        path = write_zip(Path(folder) / "model.keras", members)
        try:
            for name, value in caps.items():
                setattr(limits, name, value)
            if over:
                with pytest.raises(Refused) as error:
                    check_keras_archive(path, error=Refused)
                assert str(path) in str(error.value)
            else:
                check_keras_archive(path, error=Refused)
        finally:
            for name, value in saved.items():
                setattr(limits, name, value)


def test_the_caps_leave_room_for_the_zoo_models():
    """The largest zoo model's weights (with Adam's slots) fit fifteen times over."""
    from rnn_zoo import get_spec, list_models

    largest = max(get_spec(name).parameters or 0 for name in list_models())
    assert 3 * 4 * largest * 15 < MAX_KERAS_ARCHIVE_BYTES
