"""The benchmarks reach the families through their registry entries only (issue 20).

No dict keyed by a registered model or task name, and no comparison with one, may
remain in ``benchmarks/*.py``: what differs between families lives in the entry
(``spec.plain_twin``, ``spec.anchor``, ``spec.load_data``, the serving module).
A study of one model may still name it as its subject.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import numpy as np
import pytest

from rnn_zoo import get_spec, list_models

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
SCRIPTS = sorted(BENCHMARKS.glob("*.py"))


def family_names() -> set[str]:
    names = set(list_models())
    return names | {get_spec(name).task for name in names}


def _strings(nodes) -> list[str]:
    return [n.value for n in nodes if isinstance(n, ast.Constant) and isinstance(n.value, str)]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_no_table_or_branch_keyed_by_a_family(script):
    names = family_names()
    found = []
    for node in ast.walk(ast.parse(script.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Dict):
            keyed = [key for key in _strings(node.keys) if key in names]
        elif isinstance(node, ast.Compare):
            keyed = [value for value in _strings([node.left, *node.comparators]) if value in names]
        else:
            continue
        found += [f"line {node.lineno}: {key!r}" for key in keyed]
    assert not found, f"{script.name} dispatches on family names: {found}"


def test_every_registered_model_has_a_twin_for_the_speed_benchmark():
    import training_speed

    assert training_speed.twinned_models() == list_models()


@pytest.fixture
def serving(monkeypatch):
    """``benchmarks/serving.py``, imported without pointing the loaders at shared data."""
    import harness

    monkeypatch.setattr(harness, "use_shared_data", lambda: None)
    import serving

    return serving


def test_serving_cuts_batched_arguments_to_one_example(serving):
    raw = {
        "prompt": np.array("ROMEO:", dtype=object),
        "num_chars": np.int32(40),
        "texts": np.array(["a", "b", "c"], dtype=object),
    }
    one = serving.one_example(raw)
    assert one["texts"].tolist() == ["a"] and one["num_chars"] == 40
    assert serving.describe_raw(one) == "prompt='ROMEO:', num_chars=40, string texts [1]"


def test_serving_counts_the_calls_of_a_model(serving):
    import keras

    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    with serving.counting_calls(model) as calls:
        model(np.zeros((1, 3), "float32"))
    model(np.zeros((1, 3), "float32"))  # counted no more
    assert len(calls) == 1
