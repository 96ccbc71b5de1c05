"""Does a LiteRT or ONNX export answer as the SavedModel does, run by its own runtime?

:func:`check_agreement` feeds the same real test examples to both: the SavedModel's
graph (the family's serving module, in this process) on raw inputs, and the export, in
another Python process that imports only NumPy and the format's runtime
(``python -m rnn_zoo.runtimes``), on the numeric inputs the family's conversion makes
of them. It compares the answers as the family's conversion measures them
(``Conversion.measure``), against the goals of :data:`GOALS`:

- ``"labels"`` (classifiers, the tagger's words): the share given the same label,
  at least 0.995;
- ``"values"`` (the forecaster): the largest absolute difference, at most 1e-3 in
  the target's units (µg/m³);
- ``"texts"`` (generation, translation): the share of identical greedy outputs, 1.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from rnn_zoo.conversion import MEASURES, Conversion

# measure → (goal, "at least" or "at most")
GOALS = {"labels": (0.995, "at least"), "values": (1e-3, "at most"), "texts": (1.0, "at least")}


@dataclasses.dataclass(frozen=True)
class Agreement:
    """How closely an export answered as the SavedModel did.

    Attributes:
        measure: ``"labels"``, ``"values"`` or ``"texts"``.
        value: The share of equal answers, or the largest absolute difference.
        examples: How many answers were compared.
        mismatches: Up to five ``(expected, got)`` pairs that differ (for values: the
            five furthest apart).
        scale: For values, the largest expected magnitude (float32 rounding grows
            with it); 1 otherwise.
    """

    measure: str
    value: float
    examples: int
    mismatches: tuple[tuple[Any, Any], ...] = ()
    scale: float = 1.0

    @property
    def goal(self) -> float:
        """The measure's goal (:data:`GOALS`)."""
        return GOALS[self.measure][0]

    @property
    def met(self) -> bool:
        """Whether the value meets the goal."""
        goal, direction = GOALS[self.measure]
        return self.value >= goal if direction == "at least" else self.value <= goal


def compare(measure: str, expected: np.ndarray, got: np.ndarray) -> Agreement:
    """Compares two answer arrays as ``measure`` says.

    Args:
        measure: One of :data:`rnn_zoo.conversion.MEASURES`.
        expected: The SavedModel's answers.
        got: The export's answers, as many.

    Returns:
        An :class:`Agreement`.

    Raises:
        ValueError: If the arrays differ in length (or, for values, in size).

    Example:
        >>> compare("labels", np.array([1, 2]), np.array([1, 3])).value
        0.5
    """
    if len(expected) != len(got):
        raise ValueError(f"{len(expected)} expected answers but {len(got)} from the export")
    if measure == "values":
        # Every value of every example (a forecast per hour and quantile, say) counts.
        if np.size(expected) != np.size(got):
            raise ValueError(
                f"expected values of shape {np.shape(expected)} but the export gave "
                f"{np.shape(got)}; expected as many values per example"
            )
        expected_values = np.asarray(expected, "float64").reshape(-1)
        got_values = np.asarray(got, "float64").reshape(-1)
        difference = np.abs(expected_values - got_values)
        worst = np.argsort(-difference)[:5]
        return Agreement(
            measure,
            float(difference.max(initial=0.0)),
            len(expected),
            tuple((float(expected_values[i]), float(got_values[i])) for i in worst),
            float(np.abs(expected_values).max(initial=1.0)),
        )
    same = np.asarray(expected) == np.asarray(got)
    differ = np.flatnonzero(~same)[:5]
    return Agreement(
        measure,
        float(same.mean()) if len(same) else 1.0,
        len(expected),
        tuple((expected[i].item(), got[i].item()) for i in differ),
    )


def run_in_runtime(export_dir: str | os.PathLike, request: dict[str, np.ndarray]) -> dict:
    """Answers a request with the export's own runtime, in a fresh Python process.

    Args:
        export_dir: A LiteRT or ONNX export folder.
        request: What :func:`rnn_zoo.runtimes.answer` takes.

    Returns:
        Its outputs.

    Raises:
        RuntimeError: If the process fails; the message holds the end of its stderr.
    """
    package_parent = str(Path(__file__).resolve().parents[1])
    python_path = os.pathsep.join(filter(None, [package_parent, os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": python_path, "TF_CPP_MIN_LOG_LEVEL": "3"}
    with tempfile.TemporaryDirectory(prefix="rnn-zoo-runtime-") as folder:
        asked, answered = Path(folder) / "request.npz", Path(folder) / "answer.npz"
        np.savez(asked, **request)
        done = subprocess.run(
            [sys.executable, "-m", "rnn_zoo.runtimes", str(export_dir), str(asked), str(answered)],
            env=env,
            cwd=folder,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"the runtime failed on {export_dir} (exit {done.returncode}): "
                f"{done.stderr[-2000:]}"
            )
        with np.load(answered, allow_pickle=True) as loaded:
            return {key: loaded[key] for key in loaded.files}


def load_test_inputs(run_dir: str | os.PathLike, conversion: Conversion, count: int, data_dir=None):
    """Loads a run's dataset as it was trained on and returns real test examples.

    Args:
        run_dir: The run directory (its ``run.json`` gives the loader options).
        conversion: The run's family conversion (its ``test_data_options`` apply too).
        count: How many test examples.
        data_dir: Where the dataset files are; ``None`` for the loaders' lookup.

    Returns:
        What :meth:`Conversion.test_inputs` returns.

    Example:
        >>> windows = load_test_inputs(run_dir, conversion, 1000)  # doctest: +SKIP
    """
    from rnn_zoo.registry import get_spec
    from rnn_zoo.runs import read_config

    config = read_config(run_dir)
    bundle = get_spec(config["model"]).load_data(
        path=data_dir,
        batch_size=config["recipe"]["batch_size"],
        seed=config["seed"],
        **{**config["data_options"], **conversion.test_data_options},
    )
    return conversion.test_inputs(bundle, data_dir, count)


def check_agreement(export_dir: str | os.PathLike, conversion: Conversion, inputs) -> Agreement:
    """Compares an export, run by its own runtime in another process, with the SavedModel.

    Args:
        export_dir: The family's LiteRT or ONNX export folder.
        conversion: The family's conversion of the same trained model.
        inputs: Real test examples (:meth:`Conversion.test_inputs`).

    Returns:
        An :class:`Agreement`.

    Example:
        >>> check_agreement("saved_models/lstm/onnx/1", conversion, windows).met
        ... # doctest: +SKIP
        True
    """
    if conversion.measure not in MEASURES:
        raise ValueError(f"measure={conversion.measure!r} is not one of {MEASURES}")
    expected = conversion.expected(inputs)
    outputs = run_in_runtime(export_dir, conversion.request(inputs))
    return compare(conversion.measure, expected, conversion.answers(outputs, inputs))
