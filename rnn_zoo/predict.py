"""Predictions from a run directory on raw inputs, through the export's serving graph.

``predict`` reads the raw inputs a person has — image files, review texts, a CSV of
readings — and runs them through the same serving module that
:func:`rnn_zoo.export.export_saved_model` writes, so a prediction here and one from the
exported SavedModel agree.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from rnn_zoo.data.bundle import load_metadata


def read_images(inputs: Sequence[str], metadata: dict[str, Any], shape) -> np.ndarray:
    """Reads images from ``.npy`` arrays or PNG/JPEG files as uint8 ``[n, *shape]``.

    Args:
        inputs: File paths. A ``.npy`` file holds one image or a batch of them.
        metadata: The run's data metadata (unused; kept for a uniform reader signature).
        shape: The image shape the model takes, e.g. ``(28, 28)``.

    Returns:
        The images, uint8.

    Raises:
        ValueError: If a file is missing, or an image's shape or values do not fit.

    Example:
        >>> read_images(["shoe.png"], {}, (28, 28)).shape  # doctest: +SKIP
        (1, 28, 28)
    """
    images = []
    for name in inputs:
        path = Path(name)
        if not path.is_file():
            raise ValueError(f"input {name!r} is not a file; expected a .npy, .png or .jpg image")
        if path.suffix == ".npy":
            array = np.load(path, allow_pickle=False)
        else:
            decoded = tf.io.decode_image(path.read_bytes(), channels=1, expand_animations=False)
            array = decoded.numpy()[..., 0]
        if array.ndim == len(shape):
            array = array[None]
        if array.shape[1:] != tuple(shape) or array.min() < 0 or array.max() > 255:
            raise ValueError(
                f"input {name!r} has shape {array.shape} and values in [{array.min()}, "
                f"{array.max()}]; expected images of shape {tuple(shape)} with values 0-255"
            )
        images.append(array.astype("uint8"))
    return np.concatenate(images)


def read_texts(inputs: Sequence[str], metadata: dict[str, Any], shape) -> np.ndarray:
    """Takes each input as a text; ``@path`` reads the text from a file.

    Args:
        inputs: Texts, or ``@file`` references.
        metadata: The run's data metadata (unused).
        shape: The model's input shape (unused).

    Returns:
        An array of strings.

    Raises:
        ValueError: If a text is empty or an ``@file`` does not exist.

    Example:
        >>> read_texts(["A moving, funny film."], {}, (None,))
        array(['A moving, funny film.'], dtype=object)
    """
    texts = []
    for text in inputs:
        if text.startswith("@"):
            path = Path(text[1:])
            if not path.is_file():
                raise ValueError(f"input {text!r} names no file; expected @path to a text file")
            text = path.read_text(encoding="utf-8")
        if not text.strip():
            raise ValueError(f"input {text!r} is empty; expected a non-empty text")
        texts.append(text)
    return np.array(texts, dtype=object)


def read_windows(inputs: Sequence[str], metadata: dict[str, Any], shape) -> np.ndarray:
    """Reads the last ``input_width`` rows of each CSV as one raw-unit window.

    Each CSV has the columns of the training data (the PM2.5 file's header, say);
    its last ``input_width`` rows are encoded as in training (categories one-hot,
    hour and month as sine and cosine) but not normalized.

    Args:
        inputs: CSV paths.
        metadata: The run's data metadata (column kinds, categories, window width).
        shape: The model's input shape ``(input_width, features)``.

    Returns:
        float32 windows ``[n, input_width, features]`` in raw units.

    Raises:
        ValueError: If a file is missing, lacks a column or has too few rows.

    Example:
        >>> read_windows(["last_day.csv"], metadata, (24, 15)).shape  # doctest: +SKIP
        (1, 24, 15)
    """
    from rnn_zoo.data.time_series import encode_columns

    width = metadata["input_width"]
    windows = []
    for name in inputs:
        path = Path(name)
        if not path.is_file():
            raise ValueError(f"input {name!r} is not a file; expected a CSV of readings")
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        if len(rows) < width:
            raise ValueError(
                f"input {name!r} has {len(rows)} rows; expected at least input_width={width}"
            )
        columns = {key: [row[key] for row in rows[-width:]] for key in rows[0]}
        windows.append(encode_columns(columns, metadata))
    return np.stack(windows)


RAW_READERS = {
    "image_classification": read_images,
    "text_classification": read_texts,
    "forecasting": read_windows,
    "sequence_tagging": read_texts,
    "translation": read_texts,
}


def predict(
    run_dir: str | os.PathLike, inputs: Sequence[str], *, safe_mode: bool = True
) -> list[dict[str, Any]]:
    """Predicts from raw inputs with a trained run.

    Args:
        run_dir: A run directory written by ``rnn-zoo train``.
        inputs: Raw inputs as the task takes them: image files (``.npy``, ``.png``)
            for image classification, review texts (or ``@file``) for sentiment, CSV
            files of readings for forecasting, sentences (words separated by spaces)
            for tagging.
        safe_mode: Keras safe mode for the model file (see :func:`rnn_zoo.runs.load_run`).

    Returns:
        One dict per example, e.g. ``{"class_name": "Sneaker", "probabilities": [...]}``,
        or for tagging ``{"tags": ["PRON", "VERB", ...], "num_words": 5}``.

    Raises:
        ValueError: If the run's task takes no raw input here (text generation: use
            ``generate_text``), no input is given, or an input is malformed.
        FileNotFoundError: If the run directory lacks its files.

    Example:
        >>> predict("saved_models/gru_classifier/latest", ["What a wonderful film!"])
        ... # doctest: +SKIP
        [{'probability': 0.97}]
    """
    from rnn_zoo.export import load_serving_module

    module, task = load_serving_module(run_dir, safe_mode=safe_mode)
    if task not in RAW_READERS:
        raise ValueError(
            f"task {task!r} has no raw-input prediction; tasks accepted: "
            f"{', '.join(RAW_READERS)} (generate text with `rnn-zoo generate`)"
        )
    if not inputs:
        raise ValueError("no input given; expected at least one raw input")
    metadata = load_metadata(run_dir)["metadata"]  # verified by load_serving_module
    batch = RAW_READERS[task](inputs, metadata, module.model.input_shape[1:])
    outputs = module.serving_default(tf.constant(batch))
    return [_example(outputs, index) for index in range(len(batch))]


def _example(outputs: dict[str, tf.Tensor], index: int) -> dict[str, Any]:
    """One example's outputs as plain Python; a tagger's padded tags cut to its words."""
    example = {key: _plain(value[index]) for key, value in outputs.items()}
    if "num_words" in example:
        example["tags"] = example["tags"][: example["num_words"]]
    return example


def _plain(tensor) -> Any:
    value = np.asarray(tensor.numpy())
    if value.dtype.kind in "SO":
        decoded = np.vectorize(lambda item: item.decode("utf-8"), otypes=[object])(value)
        return decoded.tolist()
    return value.tolist()
