"""Serving the translator: English in, French out, beam search inside the graph."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from rnn_zoo.models.translator.decoding import REPORT_BEAM_WIDTH, Translator
from rnn_zoo.serving import ServingModule

EXPORT_BEAM_WIDTH = REPORT_BEAM_WIDTH
EXAMPLE_SENTENCES = ("Hello.", "I am cold.", "Tom is here!")


class TranslatorServing(ServingModule):
    """``translate`` (also ``serving_default``): ``texts`` English ``[batch]`` → ``translation``.

    The beam width is fixed at export (:data:`EXPORT_BEAM_WIDTH`); output is at most
    the training length limit (``max_length``) of tokens. An empty sentence gives
    ``""``; a sentence longer than the limit is cut to its first ``max_length``
    tokens (see :mod:`rnn_zoo.models.translator.decoding`).

    Args:
        model: The trained ``build_seq2seq`` model (next-token logits).
        metadata: The run's data metadata (vocabularies, normalization, limits).
        head: ``"logits"``.
    """

    signature_name = "translate"
    heads = ("logits",)

    def __init__(self, model: keras.Model, metadata: dict[str, Any], *, head: str):
        super().__init__(model, metadata, head=head)
        self.translator = Translator(model, metadata)
        self.serving_default = self.signature(
            self._translate, {"texts": tf.TensorSpec([None], tf.string)}
        )

    def _translate(self, texts):
        translation = self.translator.translate(
            texts, tf.constant(EXPORT_BEAM_WIDTH), tf.constant(self.translator.max_length)
        )
        return {"translation": translation}

    def signatures(self) -> dict[str, Any]:
        """Returns ``translate``, also as ``serving_default``.

        Returns:
            Signature name → concrete function.
        """
        return {"serving_default": self.serving_default, "translate": self.serving_default}

    def example_inputs(self) -> dict[str, np.ndarray]:
        """Three short English sentences.

        Returns:
            ``{"texts": string [3]}``.
        """
        return {"texts": np.array(EXAMPLE_SENTENCES, dtype=object)}
