"""The character generator's LiteRT and ONNX exports: one recurrent step, looped outside.

The SavedModel's ``generate`` loops over characters inside its graph, with string
lookups and a ``TensorArray`` of the drawn ids; what converts is the step it loops: a
character id and the recurrent states in, the next character's logits and the new
states out. :func:`rnn_zoo.runtimes.greedy_decode` runs it, as the manifest's
``decoding`` says.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from rnn_zoo.conversion import Conversion, PortableFunction, split_examples

PROMPT_CHARS = 20  # characters of each test sequence used as a prompt
GREEDY_CHARS = 100  # characters generated after each prompt in the agreement check


class TextGeneratorConversion(Conversion):
    """``step``: ``ids`` int32 ``[batch]`` and ``state_<layer>_<k>`` → ``logits`` and ``next_*``.

    The first layer's input projection is folded into a per-character table, as in
    :class:`~rnn_zoo.models.text_generator.generation.CharGenerator`, whose step this is.
    """

    measure = "texts"
    preprocessing = (
        "ids int32 [batch]: the previous character's index in vocabulary.json; "
        "state_<layer>_<k> float32 [batch, units], zeros before the first character, "
        "each replaced by next_state_<layer>_<k> after a step. Feed the prompt a character "
        "at a time, then the argmax of logits (greedy) or a sample from them"
    )

    def _state_names(self) -> list[tuple[str, int]]:
        cells = self.module.generator.cells
        return [
            (f"state_{layer}_{index}", int(size))
            for layer, cell in enumerate(cells)
            for index, size in enumerate(tf.nest.flatten(cell.state_size))
        ]

    def _step(self, ids, **states):
        generator = self.module.generator
        flat = iter(states[name] for name, _ in self._state_names())
        grouped = [
            [next(flat) for _ in tf.nest.flatten(cell.state_size)] for cell in generator.cells
        ]
        logits, new = generator.step(ids, grouped, generator.input_projections())
        names = [name for name, _ in self._state_names()]
        return {
            "logits": logits,
            **dict(zip(map("next_{}".format, names), tf.nest.flatten(new), strict=True)),
        }

    def functions(self) -> dict[str, Any]:
        """Returns ``{"step": ...}``."""
        specs = {"ids": tf.TensorSpec([None], tf.int32)}
        specs.update(
            {name: tf.TensorSpec([None, size], tf.float32) for name, size in self._state_names()}
        )
        return {"step": PortableFunction(self.model, self._step, specs)}

    def assets(self) -> dict[str, Any]:
        """Returns the ``vocabulary``: the characters in id order."""
        return {"vocabulary": self.metadata["vocabulary"]}

    def decoding(self) -> dict[str, Any]:
        """The step loop: states replaced by their ``next_`` outputs, no end token."""
        states = {name: f"next_{name}" for name, _ in self._state_names()}
        return {"step": "step", "token": "ids", "logits": "logits", "states": states}

    def test_inputs(self, bundle, data_dir, count: int) -> list[str]:
        """Prompts: the first characters of the first test sequences."""
        ids = split_examples(bundle.test, count)[:, :PROMPT_CHARS]
        vocabulary = self.metadata["vocabulary"]
        return ["".join(vocabulary[i] for i in row) for row in ids]

    def expected(self, inputs: list[str]) -> np.ndarray:
        """The greedy continuations of the SavedModel's generator (``top_k=1``)."""
        texts = self.module.generator.generate(
            tf.constant(inputs), GREEDY_CHARS, 1.0, 0, tf.constant(1)
        )
        return np.array([text.decode("utf-8") for text in texts.numpy()])

    def request(self, inputs: list[str]) -> dict[str, np.ndarray]:
        """Greedy decoding of each prompt."""
        index = {char: i for i, char in enumerate(self.metadata["vocabulary"])}
        forced = np.array([[index[char] for char in text] for text in inputs] + [None], object)
        return {"decode": np.array(True), "forced": forced[:-1], "steps": np.array(GREEDY_CHARS)}

    def answers(self, outputs, inputs) -> np.ndarray:
        """Each prompt followed by the runtime's characters."""
        vocabulary = self.metadata["vocabulary"]
        return np.array(
            [
                prompt + "".join(vocabulary[i] for i in tokens)
                for prompt, tokens in zip(inputs, outputs["tokens"], strict=True)
            ]
        )
