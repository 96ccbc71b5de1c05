"""Bad data files the other loader tests do not try: each is refused by name, nothing cached.

The truncated idx file and tarball, the ``../`` and link members, non-numeric CSV cells
and a one-character-kind corpus are in the loaders' own test files; these are the
empty files, the wrong formats under the right names and the malformed CSV rows.
"""

from __future__ import annotations

import gzip
import io
import shutil
import tarfile
from pathlib import Path

import pytest

from rnn_zoo.data import load_fashion_mnist, load_imdb, load_text_corpus, load_time_series
from rnn_zoo.data.fashion_mnist import FILES, TRAIN_LABELS, read_idx
from rnn_zoo.data.sources import ChecksumError

SYSTEM_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
GOOD_ROWS = ["t,y,w", *(f"{row},{row},7" for row in range(50))]


# Every test here sees an empty Keras cache and no data directory variable.
pytestmark = pytest.mark.usefixtures("keras_home")


def assert_nothing_cached(home: Path) -> None:
    """No file in the Keras cache (empty folders aside; Keras writes its keras.json)."""
    assert [p for p in home.rglob("*") if p.is_file() and p.name != "keras.json"] == []


def tar_gz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.mark.parametrize(
    "content",
    [b"", gzip.compress(b"")],
    ids=["zero-bytes", "gzip-of-nothing"],
)
def test_an_empty_idx_file_is_named(tmp_path, content):
    empty = tmp_path / "empty-labels.gz"
    empty.write_bytes(content)
    with pytest.raises(
        ValueError, match=r"empty-labels\.gz is not an idx file.*starts with nothing"
    ):
        read_idx(empty, ndim=1)


def test_an_empty_file_under_a_fashion_mnist_name_is_refused(tmp_path, keras_home):
    if not SYSTEM_FASHION_MNIST.is_dir():
        pytest.skip("Debian's dataset-fashion-mnist is not installed")
    folder = tmp_path / "fashion"
    folder.mkdir()
    for remote in FILES:
        shutil.copy(SYSTEM_FASHION_MNIST / remote.filename, folder / remote.filename)
    (folder / TRAIN_LABELS.filename).write_bytes(b"")
    with pytest.raises(ChecksumError, match=str(folder / TRAIN_LABELS.filename)):
        load_fashion_mnist(folder)
    assert_nothing_cached(keras_home)


@pytest.mark.parametrize(
    "content, problem",
    [
        (b"", r"not a readable \.tar\.gz archive"),
        (b"PK\x03\x04 a zip, not a gzip" * 20, r"not a readable \.tar\.gz archive \(not a gzip"),
        (gzip.compress(b"plain text, not a tar archive\n" * 50), r"not a readable \.tar\.gz"),
        (tar_gz({}), r"holds no aclImdb/"),
    ],
    ids=["zero-bytes", "not-gzip", "gzip-not-tar", "empty-tar"],
)
def test_a_review_tarball_that_is_not_one_is_named(tmp_path, keras_home, content, problem):
    archive = tmp_path / "reviews.tar.gz"
    archive.write_bytes(content)
    with pytest.raises(ValueError, match=rf"{archive} .*{problem}"):
        load_imdb(archive)
    assert_nothing_cached(keras_home)


def write_rows(tmp_path: Path, rows: list[str], name: str = "readings.csv") -> Path:
    file = tmp_path / name
    file.write_text("\n".join(rows) + "\n")
    return file


@pytest.mark.parametrize(
    "line, text, problem",
    [
        (6, "4,4", r"line 6 has 2 fields; expected 3"),  # a missing column in one row
        (6, "4," + "9" * 200_000 + ",7", r"line 6 is not readable as CSV \(field larger"),
    ],
    ids=["row-missing-a-column", "oversized-field"],
)
def test_a_malformed_csv_row_is_named(tmp_path, line, text, problem):
    rows = list(GOOD_ROWS)
    rows[line - 1] = text
    with pytest.raises(ValueError, match=rf"readings\.csv {problem}"):
        load_time_series(write_rows(tmp_path, rows), target="y", input_width=3)


def test_a_csv_with_a_header_and_no_rows_is_named(tmp_path):
    with pytest.raises(ValueError, match=r"readings\.csv has 0 rows"):
        load_time_series(write_rows(tmp_path, GOOD_ROWS[:1]), target="y", input_width=3)


def test_a_gzip_given_as_csv_is_named(tmp_path):
    packed = tmp_path / "readings.csv"
    packed.write_bytes(gzip.compress("\n".join(GOOD_ROWS).encode()))
    with pytest.raises(ValueError, match=r"readings\.csv is not valid UTF-8"):
        load_time_series(packed, target="y")


@pytest.mark.parametrize("content", ["a", "\n" * 500], ids=["one-character", "only-newlines"])
def test_a_corpus_of_one_character_is_named(tmp_path, content):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(content)
    with pytest.raises(ValueError, match=r"corpus\.txt holds .* 1 distinct"):
        load_text_corpus(corpus)
