"""Serving the character generator: a prompt in, generated text out, stepping in the graph."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from rnn_zoo.models.text_generator.generation import CharGenerator
from rnn_zoo.serving import ServingModule

EXAMPLE_PROMPT = "ROMEO:"


class TextGeneratorServing(ServingModule):
    """``generate`` (also ``serving_default``) and ``next_char_logits``.

    ``generate``: ``prompt`` string, ``num_chars`` int32, ``temperature`` float32,
    ``seed`` int32 → ``text``. ``next_char_logits``: ``prompts`` string ``[batch]`` →
    ``logits`` ``[batch, vocabulary]``.

    Args:
        model: The trained character model (next-character logits).
        metadata: The run's data metadata (``vocabulary``).
        head: ``"logits"``.
    """

    signature_name = "generate"
    heads = ("logits",)

    def __init__(self, model: keras.Model, metadata: dict[str, Any], *, head: str):
        super().__init__(model, metadata, head=head)
        self.generator = CharGenerator(model, metadata["vocabulary"])
        self.generate = self.signature(
            self._generate,
            {
                "prompt": tf.TensorSpec([], tf.string),
                "num_chars": tf.TensorSpec([], tf.int32),
                "temperature": tf.TensorSpec([], tf.float32),
                "seed": tf.TensorSpec([], tf.int32),
            },
        )
        self.next_char_logits = self.signature(
            self._next_char_logits,
            {"prompts": tf.TensorSpec([None], tf.string)},
            examples={"prompts": np.array([EXAMPLE_PROMPT], dtype=object)},
        )

    def _generate(self, prompt, num_chars, temperature, seed):
        texts = self.generator.generate(
            tf.reshape(prompt, [1]), num_chars, temperature, seed, tf.constant(0)
        )
        return {"text": texts[0]}

    def _next_char_logits(self, prompts):
        return {"logits": self.generator.next_char_logits(prompts)}

    def signatures(self) -> dict[str, Any]:
        """Returns ``generate`` (also as ``serving_default``) and ``next_char_logits``.

        Returns:
            Signature name → concrete function.
        """
        return {
            "serving_default": self.generate,
            "generate": self.generate,
            "next_char_logits": self.next_char_logits,
        }

    def example_inputs(self) -> dict[str, np.ndarray]:
        """A prompt and 40 characters to add at temperature 0.8, seed 3.

        Returns:
            The ``generate`` signature's arguments.
        """
        return {
            "prompt": np.array(EXAMPLE_PROMPT, dtype=object),
            "num_chars": np.int32(40),
            "temperature": np.float32(0.8),
            "seed": np.int32(3),
        }
