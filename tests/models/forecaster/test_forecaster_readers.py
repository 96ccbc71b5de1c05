"""read_windows on slices of Beijing PM2.5, checked by the same code as the training file.

The metadata comes from ``load_time_series`` on the first 3,000 rows of the real file
(PM2.5 read as ``log(1 + x)``, as the registered forecaster does); each input is a
copy of 30 later real rows, spoiled. A refusal names the input, its line and column and
what is accepted, and comes before any graph: these tests call no model, and one calls
``rnn-zoo predict`` on a trained run to see the one line it prints.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnn_zoo.cli import main
from rnn_zoo.data import raw_inputs
from rnn_zoo.data.readings import encode_columns
from rnn_zoo.data.time_series import load_time_series
from rnn_zoo.data.window_reader import read_windows

PM25 = "PRSA_data_2010.1.1-2014.12.31.csv"
WIDTH = 24
FIRST = 2000  # the input's rows are the file's data rows FIRST .. FIRST + 29
NUMERIC = ["pm2.5", "DEWP", "TEMP", "PRES", "Iws", "Is", "Ir"]


@pytest.fixture(scope="module")
def rows(shared_data) -> list[list[str]]:
    with open(shared_data / PM25, newline="") as handle:
        return list(csv.reader(handle))


@pytest.fixture(scope="module")
def metadata(rows, tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("series")
    (folder / "slice.csv").write_text("\n".join(",".join(row) for row in rows[:3001]) + "\n")
    return load_time_series(folder / "slice.csv", log_columns=["pm2.5"]).metadata


def day(rows, folder: Path, change=None, name: str = "day.csv") -> str:
    """Writes the header and 30 real rows; ``change(table)`` may spoil them first."""
    table = [list(rows[0]), *(list(row) for row in rows[FIRST + 1 : FIRST + 31])]
    if change is not None:
        change(table)
    (folder / name).write_text("\n".join(",".join(row) for row in table) + "\n")
    return str(folder / name)


def set_cell(line: int, column: str, value: str):
    def change(table):
        table[line - 1][table[0].index(column)] = value

    return change


def refusal(inputs, metadata) -> str:
    with pytest.raises(ValueError) as caught:
        read_windows(inputs, metadata, (WIDTH, len(metadata["features"])))
    return str(caught.value)


def test_real_rows_give_the_window_training_encodes(rows, metadata, tmp_path):
    name = day(rows, tmp_path)
    window = read_windows([name, name], metadata, (WIDTH, 15))
    last = rows[FIRST + 7 : FIRST + 31]
    columns = {spec["name"]: [r[rows[0].index(spec["name"])] for r in last]
               for spec in metadata["columns"]}  # fmt: skip
    assert window.shape == (2, WIDTH, 15)
    np.testing.assert_array_equal(window[1], encode_columns(columns, metadata))


NON_FINITE_TEXT = st.one_of(
    st.sampled_from(["inf", "-inf", "Infinity", "1e308", "-1e308", "1e39", "1e400"]),
    st.floats(min_value=3.5e38, max_value=1.7e308).map(repr),
)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=NON_FINITE_TEXT, column=st.sampled_from(NUMERIC), line=st.integers(8, 31))
def test_a_reading_that_is_not_a_finite_float32_is_refused(
    rows, metadata, tmp_path, text, column, line
):
    name = day(rows, tmp_path, set_cell(line, column, text))
    message = refusal([name], metadata)
    assert f"input {name!r} line {line}, column {column!r}: {text!r} is not a finite" in message
    assert "magnitude at most 3.403e+38" in message


def test_a_negative_pm25_is_refused_with_its_line_before_the_graph(rows, metadata, tmp_path):
    name = day(rows, tmp_path, set_cell(30, "pm2.5", "-12"))
    message = refusal([name], metadata)
    assert f"input {name!r} line 30, column 'pm2.5': -12.0 is negative" in message
    assert "expected values >= 0" in message


@pytest.mark.parametrize("category", ["N", "ne", "calm", "NEx"])
def test_an_unseen_wind_category_is_refused_with_the_accepted_ones(
    rows, metadata, tmp_path, category
):
    name = day(rows, tmp_path, set_cell(20, "cbwd", category))
    message = refusal([name], metadata)
    assert f"input {name!r} line 20, column 'cbwd': {category!r} is not a category seen" in message
    assert "expected one of 'NE', 'NW', 'SE', 'cv' or a missing value" in message


def test_an_unseen_category_before_the_window_is_not_used_so_not_refused(rows, metadata, tmp_path):
    name = day(rows, tmp_path, set_cell(3, "cbwd", "calm"))  # line 3 is not among the last 24
    assert read_windows([name], metadata, (WIDTH, 15)).shape == (1, WIDTH, 15)


def test_a_reading_that_overflows_normalization_is_refused(rows, metadata, tmp_path):
    numeric = [f for f in NUMERIC if f in metadata["features"]]
    feature = min(numeric, key=lambda f: metadata["std"][metadata["features"].index(f)])
    if metadata["std"][metadata["features"].index(feature)] >= 1:
        pytest.skip("no numeric feature of this slice has a standard deviation below 1")
    name = day(rows, tmp_path, set_cell(25, feature, "3.4e38"))
    message = refusal([name], metadata)
    assert f"input {name!r} line 25, feature {feature!r}: 3.4e+38 is too far from" in message


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16"])
def test_a_csv_that_is_not_utf8_names_the_input(rows, metadata, tmp_path, encoding):
    name = day(rows, tmp_path, set_cell(10, "cbwd", "ç"))
    Path(name).write_bytes(Path(name).read_text().encode(encoding))
    message = refusal([name], metadata)
    assert f"input {name!r}: {name} is not valid UTF-8 text (byte " in message


@pytest.mark.parametrize(
    "change, problem",
    [
        (lambda t: [r.pop(9) for r in t], "lacks the column(s) 'cbwd'"),  # cbwd: 10th
        (lambda t: t.__delitem__(slice(2, None)), "has 1 rows; expected at least input_width=24"),
        (lambda t: t[12].append("7"), "line 13 has 14 fields; expected 13 like the header"),
        (lambda t: t.__setitem__(slice(0, None), []), "is empty; expected a CSV file"),
        (set_cell(15, "TEMP", "warm"), "line 15, column 'TEMP': 'warm' is not a number"),
    ],
    ids=["missing-column", "too-few-rows", "extra-field", "empty", "not-a-number"],
)
def test_a_malformed_csv_names_the_input_and_line(rows, metadata, tmp_path, change, problem):
    name = day(rows, tmp_path, change)
    message = refusal([name], metadata)
    assert f"input {name!r}" in message and problem in message


def test_a_csv_over_the_cap_is_refused_before_it_is_read(metadata, tmp_path, monkeypatch):
    huge = tmp_path / "year.csv"
    with open(huge, "wb") as handle:
        handle.truncate(raw_inputs.MAX_INPUT_BYTES + 1)
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail(f"{self} was read"))
    message = refusal([str(huge)], metadata)
    assert re.search(r"year\.csv' holds 10,485,761 bytes, more than .*\(MAX_INPUT_BYTES", message)


def test_predict_refuses_a_negative_pm25_in_one_line(trained_run, rows, tmp_path):
    run_dir = trained_run("lstm").run_dir
    width = json.loads((run_dir / "data.json").read_text())["metadata"]["input_width"]
    name = day(rows, tmp_path, set_cell(31 - width // 2, "pm2.5", "-1"))
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        code = main(["predict", str(run_dir), name])
    lines = stderr.getvalue().strip().splitlines()
    assert code == 2 and len(lines) == 1, stderr.getvalue()
    assert f"line {31 - width // 2}, column 'pm2.5': -1.0 is negative" in lines[0]
