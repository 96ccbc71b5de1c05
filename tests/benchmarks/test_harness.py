"""The benchmark harness's bookkeeping: adding seeds to recorded results."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import harness  # noqa: E402

RECIPE = {"epochs": 6, "batch_size": 64, "steps": (1, 2)}


@pytest.fixture
def results(tmp_path, monkeypatch):
    monkeypatch.setattr(harness, "RESULTS", tmp_path)
    return tmp_path


def record(results: Path, recipe: dict, seeds: list[int]) -> None:
    runs = [{"seed": seed, "test": {"loss": 1.0 + seed}} for seed in seeds]
    document = {"recipe": recipe, "runs": runs}
    (results / "quality_demo.json").write_text(json.dumps(document), encoding="utf-8")


def test_no_results_file_means_no_earlier_runs(results):
    assert harness.earlier_seeds("quality_demo", {"recipe": RECIPE}, [0]) == []


def test_keeps_only_the_seeds_not_being_rerun(results):
    record(results, RECIPE, [0, 1, 2])
    kept = harness.earlier_seeds("quality_demo", {"recipe": RECIPE}, [1, 3])
    assert [run["seed"] for run in kept] == [0, 2]
    assert kept[1]["test"] == {"loss": 3.0}


def test_a_different_recipe_is_refused_and_named(results):
    record(results, {**RECIPE, "epochs": 1}, [0])
    with pytest.raises(ValueError, match="quality_demo.json holds runs of a different recipe"):
        harness.earlier_seeds("quality_demo", {"recipe": RECIPE}, [1])


def test_other_records_are_what_the_rewrite_leaves_out(results):
    record(results, RECIPE, [0])
    document = json.loads((results / "quality_demo.json").read_text(encoding="utf-8"))
    document["earlier_recipe_runs"] = [{"seed": 0}]
    (results / "quality_demo.json").write_text(json.dumps(document), encoding="utf-8")

    kept = harness.other_records("quality_demo", ["recipe", "runs"])
    assert kept == {"earlier_recipe_runs": [{"seed": 0}]}
    assert harness.other_records("quality_missing", ["runs"]) == {}
