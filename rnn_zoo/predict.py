"""Predictions from a run directory on raw inputs, through the export's serving graph.

``predict`` reads the raw inputs a person has — image files, review texts, a CSV of
readings — with the reader its family's registry entry names (``ModelSpec.read_inputs``),
and runs them through the same serving module that
:func:`rnn_zoo.export.export_saved_model` writes, so a prediction here and one from the
exported SavedModel agree.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from rnn_zoo.limits import MAX_PREDICT_INPUTS


def predict(
    run_dir: str | os.PathLike, inputs: Sequence[str], *, safe_mode: bool = True
) -> list[dict[str, Any]]:
    """Predicts from raw inputs with a trained run.

    Args:
        run_dir: A run directory written by ``rnn-zoo train``.
        inputs: Raw inputs as the family's reader takes them: image files (``.npy``,
            ``.png``) for image classification, review texts (or ``@file``) for
            sentiment, CSV files of readings for forecasting, sentences (words
            separated by spaces) for tagging and translation.
        safe_mode: Keras safe mode for the model file (see :func:`rnn_zoo.runs.load_run`).

    Returns:
        One dict per example, in input order, each naming the ``input`` it came from
        (and, for an input holding several examples, such as a batch of images in one
        ``.npy`` file, its ``example`` index there), e.g. ``{"input": "shoe.png",
        "class_name": "Sneaker", "probabilities": [...]}``, or for tagging ``{"input":
        "I saw her .", "tags": ["PRON", "VERB", ...], "num_words": 4}``.

    Raises:
        ValueError: If the run's family takes no raw input here (text generation: use
            ``rnn-zoo generate``), no input or more than
            :data:`rnn_zoo.limits.MAX_PREDICT_INPUTS` inputs are given, or an input is
            malformed.
        FileNotFoundError: If the run directory lacks its files.

    Example:
        >>> predict("saved_models/gru_classifier/latest", ["What a wonderful film!"])
        ... # doctest: +SKIP
        [{'probability': 0.97}]
    """
    from rnn_zoo.export import load_serving_module

    if not inputs:
        raise ValueError("no input given; expected at least one raw input")
    if len(inputs) > MAX_PREDICT_INPUTS:
        raise ValueError(
            f"{len(inputs)} inputs given; expected at most {MAX_PREDICT_INPUTS} in one call "
            "(rnn_zoo.limits.MAX_PREDICT_INPUTS): predict the rest in further calls"
        )
    module, spec = load_serving_module(run_dir, safe_mode=safe_mode)
    reader = spec.get_reader()
    parts = [reader([raw], module.metadata, module.model.input_shape[1:]) for raw in inputs]
    signature = module.signatures()[module.signature_name]
    predictions = module.per_example(signature(tf.constant(np.concatenate(parts))))
    sources = [
        {"input": raw, **({"example": index} if len(part) > 1 else {})}
        for raw, part in zip(inputs, parts, strict=True)
        for index in range(len(part))
    ]
    return [{**source, **row} for source, row in zip(sources, predictions, strict=True)]
