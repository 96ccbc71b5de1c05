"""Shared fixtures: the real datasets beside the checkout, and a fixed seed."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import keras
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("RNN_ZOO_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real datasets in ../shared/data (CI lays them beside the clone)."""
    assert SHARED_DATA.is_dir(), f"real datasets expected at {SHARED_DATA}"
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)


QUICK_FRACTION = 0.05


@pytest.fixture(scope="session")
def trained_run(shared_data, tmp_path_factory):
    """Trains a registered model briefly on a slice of its real data, once per session.

    Recurrent models get 16 units so the whole registry trains in seconds; the run
    directory is the real one `train` writes.
    """
    from rnn_zoo.registry import get_spec
    from rnn_zoo.training import train

    runs = {}

    def run(name: str):
        if name not in runs:
            small = {"units": 16} if "units" in get_spec(name).factory_arguments() else {}
            runs[name] = train(
                name,
                epochs=1,
                steps_per_epoch=3,
                data_dir=shared_data,
                data_options={"fraction": QUICK_FRACTION},
                model_options=small,
                output_dir=tmp_path_factory.mktemp("runs"),
                verbose=0,
            )
        return runs[name]

    return run


@pytest.fixture(scope="session")
def served(trained_run, tmp_path_factory):
    """``served(name)``: ``(module, export directory)`` of ``trained_run(name)``, once."""
    from rnn_zoo.export import export_saved_model, load_serving_module

    cache = {}

    def get(name: str):
        if name not in cache:
            run_dir = trained_run(name).run_dir
            export = export_saved_model(run_dir, output_dir=tmp_path_factory.mktemp("exports"))
            cache[name] = (load_serving_module(run_dir)[0], export)
        return cache[name]

    return get


@pytest.fixture(scope="session")
def loaded(served):
    """``loaded(name)``: the SavedModel of ``served(name)``, loaded by TensorFlow once."""
    import tensorflow as tf

    cache = {}

    def get(name: str):
        if name not in cache:
            cache[name] = tf.saved_model.load(str(served(name)[1]))
        return cache[name]

    return get


@pytest.fixture
def layers_built():
    """``with layers_built() as built:`` records the layers a block creates."""
    return _layers_built


@contextlib.contextmanager
def _layers_built():
    """Records the Keras layers created inside the block (validation must come first)."""
    built: list[str] = []
    original = keras.layers.Layer.__init__

    def record(self, *args, **kwargs):
        built.append(type(self).__name__)
        original(self, *args, **kwargs)

    keras.layers.Layer.__init__ = record
    try:
        yield built
    finally:
        keras.layers.Layer.__init__ = original
