"""``benchmarks/time_to_quality.py`` joins the recorded quality runs and speed-ups."""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import time_to_quality  # noqa: E402

from rnn_zoo import get_spec, list_models  # noqa: E402


def test_headline_prefers_a_test_figure():
    assert time_to_quality.headline({"validation_loss": 1.5, "test_loss": 1.56}) == (
        "test_loss 1.56"
    )
    assert time_to_quality.headline({"mae_1h": 10.29, "seeds": 3}) == "mae_1h 10.29"


def test_every_registered_model_gets_a_row_and_estimates_follow_the_records():
    rows = {name: time_to_quality.row(get_spec(name)) for name in list_models()}
    assert all(len(cells) == 6 for cells in rows.values())
    estimated = [name for name, cells in rows.items() if cells[4].startswith("≈")]
    assert estimated, "no model has both a quality record and a speed-up"
    name = estimated[0]
    runs = json.loads((BENCHMARKS / "results" / f"quality_{name}.json").read_text())["runs"]
    speed_up = time_to_quality.latest_speed(name)[0]["train_ratio"]["median"]
    wall = statistics.median(run["wall_time_s"] for run in runs)
    assert rows[name][4].startswith(f"≈ {time_to_quality.number(wall * speed_up)} s")


def test_a_model_without_records_says_what_is_missing(monkeypatch, tmp_path):
    monkeypatch.setattr(time_to_quality, "RESULTS", tmp_path)
    cells = time_to_quality.row(get_spec(list_models()[0]))
    assert cells[2] == f"no quality_{list_models()[0]}.json"
    assert cells[3] == "no twin speed-up recorded"
