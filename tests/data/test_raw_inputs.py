"""read_texts and the shared raw-input file reader: ``@file`` inputs capped, decoded, named.

The cap (``MAX_INPUT_BYTES``) is checked with ``stat`` before a byte is read; a file that
is not UTF-8 is named with its first bad byte; an input that is not a string is refused
as such. Texts come from a slice of tiny Shakespeare.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnn_zoo.data import raw_inputs
from rnn_zoo.serving import read_texts


@pytest.fixture(scope="module")
def passage(shared_data) -> str:
    return (shared_data / "tinyshakespeare.txt").read_text(encoding="utf-8")[:2000]


def test_an_at_file_is_read_and_a_utf8_bom_dropped(passage, tmp_path):
    (tmp_path / "speech.txt").write_bytes(b"\xef\xbb\xbf" + passage.encode())
    texts = read_texts([f"@{tmp_path / 'speech.txt'}", "Plain words."], {}, (None,))
    assert texts.tolist() == [passage, "Plain words."]


@pytest.mark.parametrize(
    "encoding, byte",
    [("latin-1", None), ("utf-16", 0), ("cp1252", None)],
    ids=["latin-1", "utf-16", "cp1252"],
)
def test_an_at_file_that_is_not_utf8_is_named_with_its_byte(passage, tmp_path, encoding, byte):
    text = passage[:300] + " — café"
    data = text.encode(encoding, errors="replace")
    (tmp_path / "speech.txt").write_bytes(data)
    given_name = f"@{tmp_path / 'speech.txt'}"
    with pytest.raises(ValueError) as caught:
        read_texts([given_name], {}, (None,))
    message = str(caught.value)
    first_bad = byte if byte is not None else next(i for i, b in enumerate(data) if b >= 0x80)
    assert f"input {given_name!r}: " in message and "is not valid UTF-8 text" in message
    assert f"(byte {first_bad}: " in message and "expected @path to a UTF-8 text file" in message


def test_an_at_file_over_the_cap_is_refused_before_it_is_read(tmp_path, monkeypatch):
    huge = tmp_path / "huge.txt"
    with open(huge, "wb") as handle:
        handle.truncate(raw_inputs.MAX_INPUT_BYTES + 1)  # sparse: no disk used
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail(f"{self} was read"))
    with pytest.raises(ValueError) as caught:
        read_texts([f"@{huge}"], {}, (None,))
    assert re.search(
        r"@.*huge\.txt' holds 10,485,761 bytes, more than the 10,485,760", str(caught.value)
    )


@settings(max_examples=20, deadline=None)
@given(cap=st.integers(1, 64), extra=st.integers(-1, 1))
def test_the_cap_is_inclusive(tmp_path_factory, cap, extra):
    file = tmp_path_factory.mktemp("cap") / "text.txt"
    file.write_text("x" * (cap + extra + 1))  # one byte above, at or below the cap
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(raw_inputs, "MAX_INPUT_BYTES", cap + 1)
        if extra == 1:
            with pytest.raises(ValueError, match=rf"holds {cap + 2} bytes, more than the"):
                read_texts([f"@{file}"], {}, (None,))
        else:
            assert read_texts([f"@{file}"], {}, (None,))[0] == "x" * (cap + extra + 1)


@pytest.mark.parametrize("where", ["absent.txt", "."], ids=["missing", "directory"])
def test_an_at_name_that_is_no_file_is_refused(tmp_path, where):
    given_name = f"@{tmp_path / where}"
    with pytest.raises(ValueError, match=re.escape(f"input {given_name!r} is not a file")):
        read_texts([given_name], {}, (None,))


def test_an_at_file_of_blanks_names_the_input_not_its_content(tmp_path):
    (tmp_path / "blank.txt").write_text(" \n\t\n")
    given_name = f"@{tmp_path / 'blank.txt'}"
    with pytest.raises(ValueError, match=re.escape(f"input {given_name!r} is empty")):
        read_texts([given_name], {}, (None,))


@pytest.mark.parametrize("value", [3, None, b"bytes", ["a list"]], ids=repr)
def test_an_input_that_is_not_a_string_is_refused_by_type(value):
    with pytest.raises(
        TypeError, match=re.escape(f"input {value!r} (type {type(value).__name__})")
    ):
        read_texts(["A fine film.", value], {}, (None,))
