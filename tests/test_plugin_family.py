"""A family defined in one file of tests/ trains, exports and predicts through rnn_zoo."""

from __future__ import annotations

import importlib
import json
import sys

import numpy as np
import pytest
from clean_python import run_clean

from rnn_zoo import get_spec, list_models
from rnn_zoo.export import export_saved_model
from rnn_zoo.predict import predict
from rnn_zoo.registry import unregister
from rnn_zoo.training import train

CALL = """
import json, sys
import tensorflow as tf
serving = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
print(json.dumps(serving(texts=tf.constant(json.loads(sys.argv[2])))["probability"].numpy().tolist()))
assert "rnn_zoo" not in sys.modules
"""


@pytest.fixture
def plugin_family():
    module = importlib.import_module("plugin_family")
    yield module.SPEC
    unregister(module.SPEC.name)
    sys.modules.pop("plugin_family")


def test_a_family_in_one_file_trains_exports_and_predicts(plugin_family, shared_data, tmp_path):
    assert plugin_family.name in list_models()
    assert get_spec(plugin_family.name) is plugin_family
    result = train(
        plugin_family.name,
        steps_per_epoch=1,
        data_dir=shared_data,
        data_options={"fraction": 0.02},
        output_dir=tmp_path / "runs",
        verbose=0,
    )
    assert (result.run_dir / "metrics.json").is_file()
    reviews = ["A fine, warm film.", "Dull and long."]
    predicted = [row["probability"] for row in predict(result.run_dir, reviews)]
    export = export_saved_model(result.run_dir, output_dir=tmp_path / "exports")
    shown = run_clean(CALL, export, json.dumps(reviews), check=True).stdout
    np.testing.assert_allclose(json.loads(shown.splitlines()[-1]), predicted, rtol=1e-5)
    assert all(0 < value < 1 for value in predicted)


def test_the_family_is_gone_once_unregistered(plugin_family):
    unregister(plugin_family.name)
    assert plugin_family.name not in list_models()
    with pytest.raises(ValueError, match="'bag_of_words' is not registered"):
        get_spec(plugin_family.name)
    from rnn_zoo.registry import register

    register(plugin_family)  # the fixture unregisters it again
