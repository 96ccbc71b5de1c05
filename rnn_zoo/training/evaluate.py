"""Test metrics: of a model just trained, and of a finished run loaded again."""

from __future__ import annotations

import os

import keras

from rnn_zoo.data import DataBundle
from rnn_zoo.data.windows import with_known_cardinality
from rnn_zoo.registry import ModelSpec, get_spec, resolve
from rnn_zoo.runs import load_run
from rnn_zoo.training.prepare import load_registered_data


def evaluate_test_split(
    model: keras.Model, data: DataBundle, spec: ModelSpec | None
) -> dict[str, float]:
    """Evaluates a model on the test split: its compiled metrics, the data's and family's reports.

    Args:
        model: The trained, compiled model.
        data: Its data; ``data.test_report``, if set, adds figures of its own.
        spec: The registered model, or ``None`` for a ``keras.Model``; its
            ``test_report``, if set, adds the family's own figures (BLEU, say).

    Returns:
        Metric name → value on the test split.

    Example:
        >>> evaluate_test_split(model, data, get_spec("lstm"))  # doctest: +SKIP
        {'loss': 0.41, 'mae': 0.41}
    """
    results = model.evaluate(with_known_cardinality(data.test), verbose=0, return_dict=True)
    metrics = {key: float(value) for key, value in results.items()}
    if data.test_report is not None:
        metrics.update(data.test_report(model))
    if spec is not None and spec.test_report is not None:
        metrics.update(resolve(spec.test_report)(model, data))
    return metrics


def evaluate_run(
    run_dir: str | os.PathLike,
    *,
    data_dir: str | os.PathLike | None = None,
    safe_mode: bool = True,
) -> dict[str, float]:
    """Evaluates a finished run's model on the test split of its dataset.

    The dataset is loaded again with the options the run was trained with
    (``run.json``); the model is loaded with Keras ``safe_mode``.

    Args:
        run_dir: A run directory written by :func:`~rnn_zoo.training.train`.
        data_dir: Where the dataset files are (see :mod:`rnn_zoo.data.sources`).
        safe_mode: Keras safe mode for the model file (see :func:`rnn_zoo.runs.load_run`).

    Returns:
        Metric name → value on the test split.

    Raises:
        FileNotFoundError: If ``run_dir`` is not a finished run directory.
        rnn_zoo.runs.RunIntegrityError: If a file changed after training.

    Example:
        >>> evaluate_run("saved_models/baseline/latest")  # doctest: +SKIP
        {'accuracy': 0.885, 'loss': 0.33}
    """
    run = load_run(run_dir, safe_mode=safe_mode)
    spec = get_spec(run.name)
    data = load_registered_data(
        spec,
        data_dir,
        run.config["recipe"]["batch_size"],
        run.config["seed"],
        run.config["data_options"],
    )
    return evaluate_test_split(run.model, data, spec)
