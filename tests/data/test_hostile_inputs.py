"""Hostile and careless data at the loaders: refused by value, file and row, or counted aloud.

Slices of the real files of ../shared/data are copied into ``tmp_path`` and spoiled:
non-finite and out-of-range readings (refused naming file, line, column and the value),
splits too small to mean anything (refused by every loader with the minimum per split),
malformed files (named), and partly malformed data (counted at load time through the
``rnn_zoo`` logger). The Keras cache is an empty folder per test, and each refusal is
checked to leave no file in it.
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnn_zoo.cli import main
from rnn_zoo.data import (
    load_conllu,
    load_fashion_mnist,
    load_imdb,
    load_text_corpus,
    load_time_series,
    load_translation_pairs,
)
from rnn_zoo.data.readings import MAX_READING, encode_columns
from rnn_zoo.data.translation import read_pairs
from rnn_zoo.data.ud_treebank import read_conllu
from rnn_zoo.data.windows import MIN_EXAMPLES, check_split_counts

PM25 = "PRSA_data_2010.1.1-2014.12.31.csv"
FASHION = Path("/usr/share/datasets/fashion-mnist")
DEV = "ud_english_ewt/en_ewt-ud-dev.conllu"
CPU = ["--device", "cpu"]  # no line about the device: the refusal is the only one
NEEDED = ", ".join(f"{split} {count}" for split, count in MIN_EXAMPLES.items())


# Every test here sees an empty Keras cache and no data directory variable.
pytestmark = pytest.mark.usefixtures("keras_home")


def files_in(folder: Path) -> list[Path]:
    """Files under a folder (Keras's own keras.json aside)."""
    return [p for p in folder.rglob("*") if p.is_file() and p.name != "keras.json"]


@pytest.fixture(scope="module")
def pm25_rows(shared_data) -> list[list[str]]:
    with open(shared_data / PM25, newline="") as handle:
        return list(csv.reader(handle))


def write_rows(folder: Path, rows: list[list[str]], name: str = "readings.csv") -> Path:
    file = folder / name
    file.write_text("\n".join(",".join(row) for row in rows) + "\n")
    return file


def pm25_slice(pm25_rows, folder: Path, *, rows: int = 600, change=None) -> Path:
    """The header and the first ``rows`` rows of Beijing PM2.5, ``change(rows)`` applied."""
    table = [list(row) for row in pm25_rows[: rows + 1]]
    if change is not None:
        change(table)
    return write_rows(folder, table)


def set_cell(line: int, column: str, value: str):
    """Sets the cell of a file line (1 is the header) and column of the PM2.5 table."""

    def change(table):
        table[line - 1][table[0].index(column)] = value

    return change


# Class 3: non-finite and out-of-range readings, at the loader.

NON_FINITE_TEXT = st.one_of(
    st.sampled_from(["inf", "-inf", "Infinity", "+inf", "1e308", "-1e39", "1e400", "3.5e38"]),
    st.floats(min_value=3.5e38, max_value=1e308).map(lambda value: f"{value!r}"),
    st.floats(min_value=3.5e38, max_value=1e308).map(lambda value: f"{-value!r}"),
)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    text=NON_FINITE_TEXT,
    column=st.sampled_from(["pm2.5", "DEWP", "TEMP", "PRES", "Iws"]),
    line=st.integers(min_value=2, max_value=401),
)
def test_a_reading_that_is_not_a_finite_float32_is_refused_by_the_loader(
    pm25_rows, tmp_path, keras_home, text, column, line
):
    file = pm25_slice(pm25_rows, tmp_path, rows=400, change=set_cell(line, column, text))
    with pytest.raises(ValueError) as caught:
        load_time_series(file, input_width=6)
    message = str(caught.value)
    assert f"readings.csv line {line}, column {column!r}: {text!r}" in message
    assert "magnitude at most 3.403e+38" in message
    assert files_in(keras_home) == []


def test_the_largest_float32_is_still_a_reading(pm25_rows, tmp_path):
    big = f"{MAX_READING!r}"
    file = pm25_slice(pm25_rows, tmp_path, rows=400, change=set_cell(300, "Iws", big))
    bundle = load_time_series(file, input_width=6)
    assert bundle.metadata["windows"]["train"] > 0


def test_a_negative_logged_reading_names_file_line_and_column(pm25_rows, tmp_path):
    file = pm25_slice(pm25_rows, tmp_path, rows=400, change=set_cell(57, "pm2.5", "-4"))
    with pytest.raises(ValueError, match=r"readings\.csv line 57, column 'pm2\.5': -4\.0 is neg"):
        load_time_series(file, input_width=6, log_columns=["pm2.5"])


def test_encode_columns_refuses_an_infinite_number_given_as_a_number():
    metadata = {"columns": [{"name": "y", "kind": "numeric"}]}
    with pytest.raises(ValueError, match=r"row 1, column 'y': inf is not a finite number"):
        encode_columns({"y": [1.0, float("inf")]}, metadata)


# Class 7: minimum data, by every loader.


def test_the_minimum_helper_lists_every_split_and_names_the_fraction():
    with pytest.raises(ValueError) as caught:
        check_split_counts(
            {"train": 1, "validation": 1, "test": 1}, source="data", unit="images", fraction=1e-9
        )
    message = str(caught.value)
    assert "data with fraction=1e-09 gives train 1, validation 1, test 1 images" in message
    assert f"needs at least {NEEDED} images" in message


@pytest.mark.parametrize(
    "counts",
    [
        {"train": MIN_EXAMPLES["train"] - 1, "validation": 100, "test": 100},
        {"train": 100, "validation": MIN_EXAMPLES["validation"] - 1, "test": 100},
        {"train": 100, "validation": 100, "test": MIN_EXAMPLES["test"] - 1},
    ],
    ids=["train", "validation", "test"],
)
def test_one_short_split_is_enough_to_refuse(counts):
    short = next(split for split, count in counts.items() if count < MIN_EXAMPLES[split])
    with pytest.raises(ValueError, match=f"{short} {counts[short]}"):
        check_split_counts(counts, source="data")
    assert check_split_counts(MIN_EXAMPLES, source="data") == MIN_EXAMPLES


def test_fashion_mnist_refuses_a_fraction_that_keeps_one_image(keras_home):
    if not FASHION.is_dir():
        pytest.skip("Debian's dataset-fashion-mnist is not installed")
    with pytest.raises(ValueError, match=r"Fashion-MNIST with fraction=1e-09 gives train 1, va"):
        load_fashion_mnist(FASHION, fraction=1e-9)
    assert files_in(keras_home) == []


def test_fashion_mnist_refuses_a_validation_split_of_one_image():
    with pytest.raises(ValueError, match=r"validation_size=1 is out of range.*\[2, 59999\]"):
        load_fashion_mnist(FASHION, validation_size=1)


def test_the_time_series_refuses_a_fraction_that_keeps_one_window(shared_data, keras_home):
    with pytest.raises(ValueError, match=rf"{PM25} with fraction=1e-09 gives train 1, "):
        load_time_series(shared_data / PM25, fraction=1e-9)
    assert files_in(keras_home) == []


def test_the_time_series_counts_only_windows_with_a_known_target(pm25_rows, tmp_path):
    def blank_test_targets(table):
        for row in table[-30:-1]:  # every test target but the last missing
            row[table[0].index("pm2.5")] = "NA"

    file = pm25_slice(pm25_rows, tmp_path, rows=300, change=blank_test_targets)
    with pytest.raises(ValueError, match=r"windows with a known 'pm2\.5' target\) gives .*test 1"):
        load_time_series(file, input_width=6)


def test_the_text_corpus_refuses_a_fraction_that_keeps_one_sequence(shared_data, keras_home):
    with pytest.raises(ValueError, match=r"\(seq_length=100\) with fraction=1e-09 gives train 1"):
        load_text_corpus(shared_data / "tinyshakespeare.txt", fraction=1e-9, batch_size=1)
    assert files_in(keras_home) == []


def test_the_translation_pairs_refuse_a_fraction_that_keeps_one_pair(shared_data, tmp_path):
    lines = (shared_data / "fra-eng" / "fra.txt").read_text().splitlines()[:400]
    (tmp_path / "fra.txt").write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"fra\.txt \(max_length=8\) with fraction=0\.01 gives"):
        load_translation_pairs(tmp_path / "fra.txt", fraction=0.01)


def test_the_treebank_refuses_a_fraction_that_keeps_one_sentence(shared_data):
    with pytest.raises(ValueError, match=r"treebank with fraction=1e-09 gives train 1, valid"):
        load_conllu(shared_data, fraction=1e-9)


def test_imdb_refuses_before_reading_the_reviews(tmp_path, keras_home, monkeypatch):
    import rnn_zoo.data.imdb as imdb

    for part in ("train", "test"):
        for label in ("neg", "pos"):
            folder = tmp_path / "aclImdb" / part / label
            folder.mkdir(parents=True)
            for index in range(10):
                (folder / f"{index}_1.txt").write_text(f"A {label} review number {index}.")
    monkeypatch.setattr(imdb, "_to_arrays", lambda *_: pytest.fail("reviews were read"))
    with pytest.raises(ValueError, match=r"aclImdb with fraction=0\.1 gives train 2, valid"):
        load_imdb(tmp_path / "aclImdb", fraction=0.1)
    assert files_in(keras_home) == []


def test_the_command_line_refuses_a_fraction_of_one_example_in_one_line(tmp_path):
    if not FASHION.is_dir():
        pytest.skip("Debian's dataset-fashion-mnist is not installed")
    out = tmp_path / "runs"
    stderr = io.StringIO()
    argv = ["train", "baseline", "--data-dir", str(FASHION), "--output-dir", str(out), *CPU]
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        code = main([*argv, "--fraction", "1e-9", "--epochs", "1"])
    lines = stderr.getvalue().strip().splitlines()
    assert code == 2 and len(lines) == 1, lines
    assert "fraction=1e-09" in lines[0] and f"needs at least {NEEDED}" in lines[0]
    assert not out.exists() or files_in(out) == []


def test_the_command_line_refuses_an_infinite_reading_in_one_line(pm25_rows, tmp_path):
    file = pm25_slice(pm25_rows, tmp_path, rows=400, change=set_cell(12, "TEMP", "inf"))
    out = tmp_path / "runs"
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        code = main(["train", "lstm", "--data-dir", str(file), "--output-dir", str(out), *CPU])
    lines = stderr.getvalue().strip().splitlines()
    assert code == 2 and len(lines) == 1, stderr.getvalue()
    assert "Traceback" not in stderr.getvalue()
    assert "readings.csv line 12, column 'TEMP': 'inf'" in lines[0]
    assert not out.exists() or files_in(out) == []


# Class 9: malformed files are named.


@pytest.mark.parametrize(
    "content, problem",
    [
        ("Go.Va !\nHi.Salut !\n" * 50, r"holds no line with two tab-separated fields \(100 lines"),
        ("", r"holds no line with two tab-separated fields \(0 lines"),
    ],
    ids=["no-tab", "empty"],
)
def test_a_fra_txt_without_pairs_is_named(tmp_path, content, problem):
    file = tmp_path / "fra.txt"
    file.write_text(content)
    with pytest.raises(ValueError, match=rf"fra\.txt {problem}"):
        load_translation_pairs(file)


def test_a_fra_txt_that_is_not_utf8_is_named_with_its_line(shared_data, tmp_path):
    lines = (shared_data / "fra-eng" / "fra.txt").read_text().splitlines()[:50]
    file = tmp_path / "fra.txt"
    file.write_bytes(("\n".join(lines) + "\n").encode() + "Café.\tCafé.\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"fra\.txt line 51 is not valid UTF-8 text"):
        read_pairs(file)


@pytest.mark.parametrize(
    "encoding", ["latin-1", "utf-16", "cp1252"], ids=["latin-1", "utf-16", "cp1252"]
)
def test_a_time_series_csv_in_another_encoding_is_named(pm25_rows, tmp_path, encoding):
    text = "\n".join(",".join(row) for row in pm25_rows[:200]).replace("cv", "ç")
    (tmp_path / "readings.csv").write_bytes(text.encode(encoding))
    with pytest.raises(ValueError, match=r"readings\.csv is not valid UTF-8 text"):
        load_time_series(tmp_path / "readings.csv")


# Class 10: partly malformed data, said at load time or refused by file and line.


def test_skipped_fra_lines_are_said_at_load_time(shared_data, tmp_path, caplog):
    lines = (shared_data / "fra-eng" / "fra.txt").read_text().splitlines()[:600]
    spoiled = [line.replace("\t", " ") if index % 3 == 0 else line for index, line in
               enumerate(lines)]  # fmt: skip
    (tmp_path / "fra.txt").write_text("\n".join(spoiled) + "\n")
    with caplog.at_level(logging.INFO, logger="rnn_zoo"):
        bundle = load_translation_pairs(tmp_path / "fra.txt", batch_size=16)
    assert bundle.metadata["malformed_lines"] == 200
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "fra.txt: 200 of 600 lines (33.3%) skipped" in warnings[0]
    assert caplog.records[0].name.startswith("rnn_zoo")


def test_filled_cells_and_dropped_windows_are_said_at_load_time(pm25_rows, tmp_path, caplog):
    file = pm25_slice(pm25_rows, tmp_path, rows=400, change=set_cell(100, "pm2.5", "NA"))
    with caplog.at_level(logging.INFO, logger="rnn_zoo"):
        bundle = load_time_series(file, input_width=6)
    said = " | ".join(record.getMessage() for record in caplog.records)
    missing = bundle.metadata["missing_values"]["pm2.5"]
    dropped = sum(bundle.metadata["dropped_windows"].values())
    assert "input cells (" in said and f"(pm2.5 {missing})" in said
    assert f"{dropped} of " in said and "target is missing" in said


def test_a_clean_file_says_nothing(tmp_path, caplog):
    rows = [["t", "y"], *([str(row), str(row % 7)] for row in range(200))]
    with caplog.at_level(logging.INFO, logger="rnn_zoo"):
        load_time_series(write_rows(tmp_path, rows), target="y", input_width=4)
    assert caplog.records == []


@pytest.mark.parametrize("token_id", ["one", "1a", "-1", "0", "1..2", "", "1-", "٣"])
def test_a_conllu_token_id_that_is_not_a_number_names_file_and_line(
    shared_data, tmp_path, token_id
):
    lines = (shared_data / DEV).read_text(encoding="utf-8").splitlines()[:200]
    number = next(i for i, line in enumerate(lines, 1) if line and line[0].isdigit() and i > 40)
    fields = lines[number - 1].split("\t")
    lines[number - 1] = "\t".join([token_id, *fields[1:]])
    file = tmp_path / "dev.conllu"
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    expected = re.escape(f"dev.conllu, line {number}: token ID {token_id!r} is not a number")
    with pytest.raises(ValueError, match=expected):
        read_conllu(file)


def test_conllu_ranges_and_empty_nodes_still_read(shared_data, tmp_path):
    shutil.copy(shared_data / DEV, tmp_path / "dev.conllu")
    sentences = read_conllu(tmp_path / "dev.conllu")
    assert len(sentences) == 2001
