"""DataBundle: what a loader hands to training, and what serving needs to keep."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rnn_zoo.files import read_json_object, write_text_atomically

METADATA_FILE = "data.json"


@dataclasses.dataclass
class DataBundle:
    """Train/validation/test pipelines plus the preprocessing a trained model needs.

    Attributes:
        name: The dataset's name, e.g. ``"fashion_mnist"``.
        train: Batched, shuffled ``tf.data.Dataset`` of ``(inputs, targets)``.
        validation: Batched ``tf.data.Dataset`` for model selection.
        test: Batched ``tf.data.Dataset`` held out for the final evaluation.
        model_kwargs: Factory arguments the data implies (``vocab_size``,
            ``input_shape``, ``num_classes``, ...), passed to ``get_model``.
        metadata: JSON-serializable facts needed at serving time (class names, the
            vocabulary, normalization statistics, window sizes, ...). It is written
            beside a trained model as ``data.json`` so export and prediction can
            rebuild the preprocessing without the dataset.
        preprocessor: A Keras layer mapping raw inputs to model inputs (for example
            an adapted ``TextVectorization``), or ``None`` when the model takes raw
            inputs already.
        test_report: Optional ``model -> {name: value}`` giving test-split figures in
            the data's own units (forecast error in µg/m³ and the persistence baseline,
            say); training adds them to the run's test metrics.
        test_texts: Optional raw test texts that a family's own report scores with
            its own inference (``{"sources": [...], "references": [...]}`` for a
            translator's BLEU); see ``ModelSpec.test_report``.
        series: Optional raw rows of a time series and the forecast origin of each
            example, for rolling-origin backtests (:mod:`rnn_zoo.backtest`):
            ``{"rows": encoded features in raw units [rows, features], "target": the
            target as read [rows] (NaN where missing), "origins": {split: origin rows}}``.
    """

    name: str
    train: Any
    validation: Any
    test: Any
    model_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)
    preprocessor: Any = None
    test_report: Callable[[Any], dict[str, float]] | None = None
    test_texts: dict[str, list[str]] | None = None
    series: dict[str, Any] | None = None

    def save_metadata(self, directory: str | os.PathLike) -> Path:
        """Writes ``name`` and ``metadata`` to ``<directory>/data.json``.

        Args:
            directory: An existing directory (usually a run directory).

        Returns:
            The path written.

        Example:
            >>> bundle.save_metadata("saved_models/baseline/latest")  # doctest: +SKIP
        """
        target = Path(directory) / METADATA_FILE
        payload = {"name": self.name, "metadata": self.metadata}
        return write_text_atomically(target, json.dumps(payload, indent=2, ensure_ascii=False))


def load_metadata(directory: str | os.PathLike) -> dict[str, Any]:
    """Reads what :meth:`DataBundle.save_metadata` wrote.

    Args:
        directory: The directory that holds ``data.json``.

    Returns:
        A dict with the dataset ``name`` and its ``metadata``.

    Raises:
        FileNotFoundError: If ``data.json`` is missing.
        ValueError: If it is not UTF-8 JSON holding ``name`` and ``metadata``; the
            message names the file and its problem.

    Example:
        >>> load_metadata("saved_models/baseline/latest")["name"]  # doctest: +SKIP
        'fashion_mnist'
    """
    target = Path(directory) / METADATA_FILE
    if not target.is_file():
        raise FileNotFoundError(f"{target} not found; a run directory holds data.json")
    return read_json_object(
        target, {"name": str, "metadata": dict}, advice="expected what save_metadata writes"
    )
