"""Serving the image classifier: uint8 images in, class probabilities and names out."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from rnn_zoo.serving import ServingModule


class ImageClassifierServing(ServingModule):
    """``images`` uint8 ``[batch, height, width]`` (0–255) → ``probabilities``, ``class_name``.

    Args:
        model: The trained classifier (raw pixels in, its head's outputs out).
        metadata: The run's data metadata; ``class_names`` names the classes.
        head: ``"logits"`` (softmax applied here) or ``"probabilities"``.
    """

    heads = ("logits", "probabilities")

    def __init__(self, model: keras.Model, metadata: dict[str, Any], *, head: str):
        super().__init__(model, metadata, head=head)
        self.class_names = tf.constant(metadata["class_names"])
        spec = tf.TensorSpec([None, *model.input_shape[1:]], tf.uint8)
        self.serving_default = self.signature(self._classify, {"images": spec})

    def _classify(self, images):
        probabilities = self.probabilities(self.model(tf.cast(images, tf.float32), training=False))
        names = tf.gather(self.class_names, tf.argmax(probabilities, axis=-1))
        return {"probabilities": probabilities, "class_name": names}

    def example_inputs(self) -> dict[str, np.ndarray]:
        """Three random uint8 images of the model's input shape.

        Returns:
            ``{"images": uint8 [3, height, width]}``.
        """
        shape = self.model.input_shape[1:]
        return {"images": np.random.default_rng(0).integers(0, 256, (3, *shape)).astype("uint8")}


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
