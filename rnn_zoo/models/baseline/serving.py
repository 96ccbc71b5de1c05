"""Serving the image classifier: uint8 images in, class probabilities and names out."""

from __future__ import annotations

from collections.abc import Sequence
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
        self.serving_default = self.signature(self.classify, {"images": spec})

    def classify(self, images):
        """Probabilities and the likeliest class's name of uint8 images.

        Args:
            images: uint8 ``[batch, height, width]``.

        Returns:
            ``{"probabilities": [batch, classes], "class_name": [batch]}``.
        """
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


_IMAGE_FORMATS = {  # what a file starts with → its format; decided by content, not name
    b"\x93NUMPY": "npy",
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"\xff\xd8\xff": "JPEG",
    b"GIF87a": "GIF",
    b"GIF89a": "GIF",
    b"BM": "BMP",
}
_IMAGE_EXPECTED = (
    "a .npy array of integers 0-255 (uint8 or another integer dtype; one image or a batch) "
    "or a PNG, JPEG, GIF or BMP image"
)


def _npy_images(name: str, raw: bytes) -> np.ndarray:
    import io

    try:
        array = np.load(io.BytesIO(raw), allow_pickle=False)
    except (ValueError, EOFError, OSError) as error:
        raise ValueError(
            f"input {name!r} is not a readable .npy array ({error}); expected {_IMAGE_EXPECTED}"
        ) from None
    if array.dtype.kind not in "ui":
        hint = " (scale images in [0, 1] by 255 and round them)" if array.dtype.kind == "f" else ""
        raise ValueError(
            f"input {name!r} holds a {array.dtype} array{hint}; expected {_IMAGE_EXPECTED}"
        )
    return array


def _decoded_image(name: str, raw: bytes, kind: str) -> np.ndarray:
    import re

    try:
        decoded = tf.io.decode_image(raw, channels=1, expand_animations=False)
    except (tf.errors.InvalidArgumentError, tf.errors.UnknownError) as error:
        reason = re.sub(r"\{\{.*?\}\}|\[Op:\w+\]", "", error.message or "").strip()
        raise ValueError(
            f"input {name!r} starts like a {kind} image but does not decode ({reason}); "
            f"expected {_IMAGE_EXPECTED}"
        ) from None
    return decoded.numpy()[..., 0]


def read_images(inputs: Sequence[str], metadata: dict[str, Any], shape) -> np.ndarray:
    """Reads images from ``.npy`` arrays or PNG/JPEG/GIF/BMP files as uint8 ``[n, *shape]``.

    A file's format is read from its first bytes, whatever its name. A ``.npy`` file
    holds one image or a batch of them, as an integer array (any integer dtype) with
    values 0-255; float arrays (images scaled to [0, 1], NaN), complex, boolean and
    object arrays are refused rather than cast. Image files are decoded to grayscale.
    Each file is at most :data:`rnn_zoo.data.raw_inputs.MAX_INPUT_BYTES` (10 MiB).

    Args:
        inputs: File paths.
        metadata: The run's data metadata (unused; kept for a uniform reader signature).
        shape: The image shape the model takes, e.g. ``(28, 28)``.

    Returns:
        The images, uint8.

    Raises:
        ValueError: If a file is missing, too large, of another format, does not
            decode, holds no image, or an image's dtype, shape or values do not fit;
            the message names the input.

    Example:
        >>> read_images(["shoe.png"], {}, (28, 28)).shape  # doctest: +SKIP
        (1, 28, 28)
    """
    from rnn_zoo.data.raw_inputs import read_input_bytes

    images = []
    for name in inputs:
        raw = read_input_bytes(name, expected=_IMAGE_EXPECTED)
        kind = next((kind for magic, kind in _IMAGE_FORMATS.items() if raw.startswith(magic)), None)
        if kind is None:
            raise ValueError(
                f"input {name!r} is not an image: it starts with {raw[:8]!r}; expected "
                f"{_IMAGE_EXPECTED}"
            )
        array = _npy_images(name, raw) if kind == "npy" else _decoded_image(name, raw, kind)
        if array.ndim == len(shape):
            array = array[None]
        if array.shape[1:] != tuple(shape) or array.shape[0] == 0:
            raise ValueError(
                f"input {name!r} has shape {array.shape}; expected one image of shape "
                f"{tuple(shape)} or a non-empty batch [n, {', '.join(map(str, shape))}]"
            )
        if array.min() < 0 or array.max() > 255:
            raise ValueError(
                f"input {name!r} has values in [{array.min()}, {array.max()}]; expected "
                "pixel values 0-255"
            )
        images.append(array.astype("uint8"))
    return np.concatenate(images)
