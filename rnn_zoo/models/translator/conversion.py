"""The translator's LiteRT and ONNX exports: the encoder and one decoder step.

The SavedModel's ``translate`` normalizes and looks up strings and beam-searches in
its graph; what converts is the numeric part it loops: the encoder, run once on the
source ids, and the decoder step, one target token and the states in, the next
token's logits and the new states out. :func:`rnn_zoo.runtimes.greedy_decode` runs
them, as the manifest's ``decoding`` says; beam search can be written on the same
step.
"""

from __future__ import annotations

import unicodedata
from typing import Any

import numpy as np
import tensorflow as tf

from rnn_zoo.conversion import Conversion, PortableFunction
from rnn_zoo.data.translation import PADDING_ID


class TranslatorConversion(Conversion):
    """``encoder``: ``source_ids`` → states (and attention inputs); ``decoder_step``.

    ``decoder_step``: ``ids`` int32 ``[batch]``, ``state_<layer>_<k>`` and, with
    attention, ``values``, ``keys`` float32 ``[batch, source_time, units]`` and
    ``mask`` bool ``[batch, source_time]`` → ``logits`` ``[batch, vocabulary]`` (padding
    and ``[start]`` at -inf: never produced) and ``next_state_<layer>_<k>``.
    """

    measure = "texts"
    preprocessing = (
        "source_ids int32 [batch, source_time]: the English sentence normalized as in "
        "training (NFKD, lower case, punctuation set apart), each token's index in "
        "source_vocabulary.json (1 unknown, 0 padding), at most max_length tokens "
        "(decoding.json). Decode from start_id; stop at end_id or after max_length + 1 "
        "tokens; the output tokens index target_vocabulary.json"
    )

    @property
    def translator(self):
        """The serving module's :class:`~rnn_zoo.models.translator.decoding.Translator`."""
        return self.module.translator

    def _states(self) -> list[list[tuple[str, int]]]:
        """Each decoder layer's states: ``(name, size)``."""
        return [
            [(f"state_{layer}_{index}", int(size)) for index, size in enumerate(sizes)]
            for layer, sizes in enumerate(
                tf.nest.flatten(cell.state_size) for cell in self.translator.cells
            )
        ]

    def _attention_specs(self) -> dict[str, tf.TensorSpec]:
        if not self.translator.has_attention:
            return {}
        units = self.translator.encoder.outputs[0].shape[-1]
        return {
            "values": tf.TensorSpec([None, None, units], tf.float32),
            "keys": tf.TensorSpec([None, None, self.translator.key.units], tf.float32),
            "mask": tf.TensorSpec([None, None], tf.bool),
        }

    def _encode(self, source_ids):
        values, keys, mask, states = self.translator.encode(source_ids)
        outputs = {
            name: state
            for layer, group in zip(self._states(), states, strict=True)
            for (name, _), state in zip(layer, group, strict=True)
        }
        if self.translator.has_attention:
            outputs.update(values=values, keys=keys, mask=mask)
        return outputs

    def _step(self, ids, values=None, keys=None, mask=None, **states):
        layers = self._states()
        grouped = [[states[name] for name, _ in layer] for layer in layers]
        if mask is None:  # no attention: the step reads no encoder outputs
            mask = tf.ones([tf.shape(ids)[0], 1], tf.bool)
        logits, new, _ = self.translator.step(ids, grouped, values, keys, mask)
        outputs = {"logits": tf.cast(logits, tf.float32) + self.translator.never}
        for layer, group in zip(layers, new, strict=True):
            outputs.update(
                {f"next_{name}": state for (name, _), state in zip(layer, group, strict=True)}
            )
        return outputs

    def functions(self) -> dict[str, Any]:
        """Returns ``{"encoder": ..., "decoder_step": ...}``."""
        step_specs = {"ids": tf.TensorSpec([None], tf.int32), **self._attention_specs()}
        for layer in self._states():
            step_specs.update(
                {name: tf.TensorSpec([None, size], tf.float32) for name, size in layer}
            )
        source = {"source_ids": tf.TensorSpec([None, None], tf.int32)}
        return {
            "encoder": PortableFunction(self.model, self._encode, source),
            "decoder_step": PortableFunction(self.model, self._step, step_specs),
        }

    def assets(self) -> dict[str, Any]:
        """Returns both vocabularies (the target's in NFC) and the decoding constants."""
        vocabulary = self.metadata["target_vocabulary"]
        target = [unicodedata.normalize("NFC", token) for token in vocabulary]
        decoding = {
            "max_length": self.translator.max_length,
            "start_id": self.translator.start_id,
            "end_id": self.translator.end_id,
            "padding_id": PADDING_ID,
        }
        return {
            "source_vocabulary": self.metadata["source_vocabulary"],
            "target_vocabulary": target,
            "decoding": decoding,
        }

    def decoding(self) -> dict[str, Any]:
        """The encoder, then the step until ``end_id``."""
        states = {name: f"next_{name}" for layer in self._states() for name, _ in layer}
        return {
            "encoder": "encoder",
            "step": "decoder_step",
            "token": "ids",
            "logits": "logits",
            "states": states,
            "end_id": self.translator.end_id,
        }

    def test_inputs(self, bundle, data_dir, count: int) -> list[str]:
        """The first English test sentences."""
        return list(bundle.test_texts["sources"][:count])

    def expected(self, inputs: list[str]) -> np.ndarray:
        """The greedy translations of the SavedModel's translator (``beam_width=1``)."""
        texts = self.translator.translate(
            tf.constant(inputs), tf.constant(1), tf.constant(self.translator.max_length)
        )
        return np.array([text.decode("utf-8") for text in texts.numpy()])

    def request(self, inputs: list[str]) -> dict[str, np.ndarray]:
        """Greedy decoding of each sentence from ``[start]``."""
        source_ids = self.translator.source_ids(tf.constant(inputs)).numpy()
        forced = np.array([[self.translator.start_id]] * len(inputs) + [None], object)[:-1]
        return {
            "decode": np.array(True),
            "forced": forced,
            "steps": np.array(self.translator.max_length + 1),
            "source/source_ids": source_ids,
        }

    def answers(self, outputs, inputs) -> np.ndarray:
        """The runtime's tokens joined as ``translate`` joins them."""
        words = self.assets()["target_vocabulary"]
        hidden = {PADDING_ID, self.translator.end_id}
        return np.array(
            [" ".join(words[t] for t in tokens if t not in hidden) for tokens in outputs["tokens"]]
        )
