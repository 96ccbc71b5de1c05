"""Shared fixtures: the real datasets beside the checkout, a fixed seed, trained runs."""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
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


QUICK_TRAINING = ["--epochs", "1", "--steps-per-epoch", "3", "--fraction", "0.05"]


def session_root(tmp_path_factory) -> Path:
    """A folder shared by every test worker of this session (pytest-xdist or not)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextlib.contextmanager
def exclusive(lock_path: Path):
    """Holds an exclusive lock on ``lock_path`` across the session's worker processes."""
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


class TrainedRuns:
    """``trained_run(name)``: a registered model trained briefly by ``rnn-zoo train``.

    Each model is trained once per test session on a slice of its real data, by the
    command line's main job (train, evaluate, plot, export), recurrent models with 16
    units so that the whole registry trains in seconds. The first test worker to ask for
    a model trains it; the others load its finished run directory.
    """

    def __init__(self, root: Path, shared_data: Path):
        self.root = root
        self.shared_data = shared_data
        self.results = {}

    def __call__(self, name: str):
        if name not in self.results:
            finished = self.root / f"{name}.run_dir"
            with exclusive(self.root / f"{name}.lock"):
                if not finished.exists():
                    finished.write_text(str(self.train(name)))
            self.results[name] = self.load(Path(finished.read_text()))
        return self.results[name]

    def printed(self, name: str) -> str:
        """What ``rnn-zoo train NAME`` printed."""
        self(name)
        return (self.root / f"{name}.out").read_text()

    def export(self, name: str) -> Path:
        """The SavedModel that ``rnn-zoo train NAME`` exported."""
        return self(name).run_dir.parent / "1"

    def train(self, name: str) -> Path:
        from rnn_zoo.cli import main
        from rnn_zoo.registry import get_spec

        small = ["--set", "units=16"] if "units" in get_spec(name).factory_arguments() else []
        arguments = ["train", name, *QUICK_TRAINING, *small]
        folders = ["--data-dir", str(self.shared_data), "--output-dir", str(self.root)]
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            code = main([*arguments, *folders])
        (self.root / f"{name}.out").write_text(printed.getvalue())
        assert code == 0, f"rnn-zoo {' '.join(arguments)} exited {code}:\n{printed.getvalue()}"
        return (self.root / name / "latest").resolve()

    @staticmethod
    def load(run_dir: Path):
        from rnn_zoo.runs import load_run, read_history
        from rnn_zoo.training import TrainResult

        metrics = json.loads((run_dir / "metrics.json").read_text())
        return TrainResult(
            model=load_run(run_dir).model,
            history=read_history(run_dir),
            test_metrics=metrics["test"],
            run_dir=run_dir,
            wall_time=metrics["wall_time_s"],
            samples_per_second=metrics["samples_per_second"],
        )


@pytest.fixture(scope="session")
def trained_run(shared_data, tmp_path_factory) -> TrainedRuns:
    """The session's :class:`TrainedRuns`, shared by its test workers."""
    root = session_root(tmp_path_factory) / "trained_runs"
    root.mkdir(exist_ok=True)
    return TrainedRuns(root, shared_data)


@pytest.fixture(scope="session")
def served(trained_run):
    """``served(name)``: ``(serving module, export directory)`` of ``trained_run(name)``."""
    from rnn_zoo.export import load_serving_module

    cache = {}

    def get(name: str):
        if name not in cache:
            module = load_serving_module(trained_run(name).run_dir)[0]
            cache[name] = (module, trained_run.export(name))
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
