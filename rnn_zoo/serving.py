"""The base of every family's serving module: a trained model with its preprocessing.

A family's ``serving.py`` subclasses :class:`ServingModule`, and its registry entry
names the subclass (``ModelSpec.serving``). :func:`rnn_zoo.export.export_saved_model`
writes the module as a SavedModel, and :func:`rnn_zoo.predict.predict` calls it in
process, so the two always agree. A module knows three things about its family:

- its signatures, which take the raw inputs a person has (texts, uint8 images, windows
  in raw units) and run the preprocessing in the graph;
- :meth:`ServingModule.example_inputs`: raw inputs for its main signature, which the
  contract tests and the serving benchmark feed every registered family;
- :meth:`ServingModule.per_example`: one signature call's outputs as plain Python,
  one dict per example (what ``rnn-zoo predict`` prints).

The head the registry entry declares (``"logits"``, ``"probabilities"`` or
``"values"``) decides :meth:`ServingModule.probabilities`: logits pass through a
softmax (a sigmoid for one unit), probabilities pass as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from rnn_zoo.registry import HEADS
from rnn_zoo.validation import check_choice


class ServingModule(tf.Module):
    """A trained model wrapped with its preprocessing; subclasses set the signatures.

    Args:
        model: The trained model. Every one of its variables is tracked, the seed
            states of dropout layers included: a recurrent layer with ``dropout > 0``
            references its seed even at inference, and an untracked one fails the save.
        metadata: The data metadata of the run (``data.json``'s ``metadata``).
        head: What the model outputs: one of :data:`rnn_zoo.registry.HEADS`.

    Attributes:
        signature_name: The signature that ``predict`` calls and that the examples feed.
        heads: The heads a subclass can serve; others are refused at construction.
    """

    signature_name = "serving_default"
    heads: tuple[str, ...] = HEADS

    def __init__(self, model: keras.Model, metadata: dict[str, Any], *, head: str):
        super().__init__()
        check_choice("head", head, self.heads)
        self.model = model
        self.metadata = metadata
        self.model_variables = list(model.variables)
        self.head = head

    def signatures(self) -> dict[str, Any]:
        """Returns the signatures to export, name → concrete function.

        Returns:
            ``{"serving_default": ...}``; subclasses add their named signatures.
        """
        return {"serving_default": self.serving_default}

    def probabilities(self, outputs: tf.Tensor) -> tf.Tensor:
        """The model's outputs as probabilities, following the declared head.

        Args:
            outputs: The model's outputs, ``[..., classes]`` (or ``[..., 1]``).

        Returns:
            Probabilities of the same shape: a softmax (one unit: a sigmoid) of
            logits, or the outputs themselves when the head emits probabilities.
        """
        if self.head != "logits":
            return outputs
        if outputs.shape[-1] == 1:
            return tf.sigmoid(outputs)
        return tf.nn.softmax(outputs)

    def example_inputs(self) -> dict[str, np.ndarray]:
        """Raw inputs for :attr:`signature_name`, as a person would pass them.

        Returns:
            Argument name → NumPy array.
        """
        raise NotImplementedError(f"{type(self).__name__} defines no example inputs")

    def per_example(self, outputs: dict[str, tf.Tensor]) -> list[dict[str, Any]]:
        """One call's outputs as plain Python, one dict per example.

        Args:
            outputs: What a batched signature returned.

        Returns:
            A list of ``{output name: value}``; strings decoded from UTF-8.
        """
        plain = {key: _plain(value) for key, value in outputs.items()}
        count = len(next(iter(plain.values()))) if plain else 0
        return [{key: values[index] for key, values in plain.items()} for index in range(count)]


def _plain(tensor) -> Any:
    value = np.asarray(tensor.numpy())
    if value.dtype.kind in "SO":
        decoded = np.vectorize(lambda item: item.decode("utf-8"), otypes=[object])(value)
        return decoded.tolist()
    return value.tolist()


def read_texts(inputs: Sequence[str], metadata: dict[str, Any], shape) -> np.ndarray:
    """Takes each input as a text; ``@path`` reads the text from a file.

    The raw-input reader of every family whose serving signature takes strings. An
    ``@file`` must be UTF-8 text of at most
    :data:`rnn_zoo.data.raw_inputs.MAX_INPUT_BYTES` (10 MiB), checked before it is read.

    Args:
        inputs: Texts, or ``@file`` references.
        metadata: The run's data metadata (unused).
        shape: The model's input shape (unused).

    Returns:
        An array of strings.

    Raises:
        TypeError: If an input is not a string.
        ValueError: If a text is empty, or an ``@file`` is not a file, is too large or
            is not UTF-8 (the message names the input).

    Example:
        >>> read_texts(["A moving, funny film."], {}, (None,))
        array(['A moving, funny film.'], dtype=object)
    """
    from rnn_zoo.data.raw_inputs import read_input_text

    texts = []
    for given in inputs:
        if not isinstance(given, str):
            raise TypeError(
                f"input {given!r} (type {type(given).__name__}) is not accepted; expected a "
                "text (str) or '@path' to a UTF-8 text file"
            )
        text = given
        if given.startswith("@"):
            text = read_input_text(given[1:], label=given, expected="@path to a UTF-8 text file")
        if not text.strip():
            raise ValueError(f"input {given!r} is empty; expected a non-empty text")
        texts.append(text)
    return np.array(texts, dtype=object)
