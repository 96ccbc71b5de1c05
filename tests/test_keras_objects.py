"""After ``import rnn_zoo``, ``keras.saving.load_model`` reads a model made of its objects.

The model is saved here and loaded in fresh processes, each importing things in another
order; without ``import rnn_zoo`` the same load must fail, or the test would prove nothing.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from rnn_zoo.blocks.layers import MaskedGlobalPooling1D, recurrent_layer
from rnn_zoo.blocks.metrics import MaskedAccuracy
from rnn_zoo.blocks.quantiles import PinballLoss
from rnn_zoo.keras_objects import SERIALIZABLE_MODULES

PACKAGE = Path(__file__).resolve().parents[1] / "rnn_zoo"


def _registering_modules() -> set[str]:
    """The package modules whose source calls ``register_keras_serializable``."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if any(
            isinstance(node, ast.Attribute) and node.attr == "register_keras_serializable"
            for node in ast.walk(tree)
        ):
            parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
            found.add(".".join(parts))
    return found


def test_every_module_that_registers_objects_is_listed():
    assert _registering_modules() == set(SERIALIZABLE_MODULES)


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    from rnn_zoo.data.scaling import FeatureScaling

    ids = keras.Input(shape=(None,), dtype="int32")
    steps = keras.layers.Embedding(20, 4, mask_zero=True)(ids)
    steps = recurrent_layer("lstm", 3, return_sequences=True, bidirectional=False)(steps)
    pooled = MaskedGlobalPooling1D("max")(steps)
    scaled = FeatureScaling([0.0, 0.0, 0.0], [1.0, 2.0, 3.0])(pooled)
    model = keras.Model(ids, keras.layers.Dense(2, activation="softmax")(scaled))
    model.compile("adam", PinballLoss(levels=(0.1, 0.5)), metrics=[MaskedAccuracy()])
    path = tmp_path_factory.mktemp("keras_objects") / "model.keras"
    model.save(path)
    return path, np.asarray(model(np.array([[3, 4, 5, 0]])))


LOAD = (
    "import keras, numpy as np; model = keras.saving.load_model({path!r}); "
    "print(np.asarray(model(np.array([[3, 4, 5, 0]]))).tolist())"
)


@pytest.mark.parametrize(
    "imports",
    [
        "import rnn_zoo",  # Keras imported afterwards, by the load line
        "import keras, rnn_zoo",  # Keras first
        "import rnn_zoo.blocks.hoisted_lstm",  # Keras first imported inside an rnn_zoo module
    ],
)
def test_keras_load_model_reads_it_after_import_rnn_zoo(saved_model, imports):
    path, expected = saved_model
    done = _run(f"{imports}; {LOAD.format(path=str(path))}")
    assert done.returncode == 0, done.stderr[-2000:]
    np.testing.assert_allclose(np.array(eval(done.stdout)), expected, rtol=1e-5)


def test_without_import_rnn_zoo_the_load_fails(saved_model):
    path, _ = saved_model
    done = _run(LOAD.format(path=str(path)))
    assert done.returncode != 0 and "rnn_zoo>" in done.stderr


def _run(code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
