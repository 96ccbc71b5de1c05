"""The tagger's LiteRT and ONNX exports: word and character ids in, tag ids out.

The SavedModel splits sentences and looks words and characters up in string tables,
which have no builtin LiteRT kernels; the converted model takes the ids the
:class:`~rnn_zoo.data.ud_treebank.TokenEncoder` produces, with the vocabularies beside it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from rnn_zoo.conversion import Conversion, PortableFunction
from rnn_zoo.data.sources import resolve_file
from rnn_zoo.data.ud_treebank import TREEBANK_FILES, read_conllu


class TaggerConversion(Conversion):
    """``model``: ``word_ids`` int32 ``[batch, words]`` (and ``char_ids``) → ``tag_ids``.

    ``char_ids`` int32 ``[batch, words, max_word_length]`` where the model reads
    character features. ``tag_ids`` int32 ``[batch, words]`` index ``tag_names.json``;
    padding words (id 0) get a tag too: cut each sentence to its words.

    Agreement is counted over words: every word of the test sentences is an example.
    """

    measure = "labels"
    preprocessing = (
        "word_ids int32 [batch, words]: each whitespace-separated word lower-cased, its "
        "index in word_vocabulary.json (1 for an unknown word, 0 pads a sentence); "
        "char_ids int32 [batch, words, max_word_length]: each character of the word as "
        "written, its index in char_vocabulary.json (1 unknown, 0 padding), cut to "
        "max_word_length (encoding.json); tag_ids index tag_names.json"
    )

    def _specs(self) -> dict[str, tf.TensorSpec]:
        width = self.metadata["max_word_length"]
        shapes = {"word_ids": [None, None], "char_ids": [None, None, width]}
        return {name: tf.TensorSpec(shapes[name], tf.int32) for name in self.module.input_names}

    def functions(self) -> dict[str, Any]:
        """Returns ``{"model": ...}`` over word (and character) ids."""

        def tag(**encoded):
            return {"tag_ids": tf.cast(self.module.best_tags(encoded), tf.int32)}

        return {"model": PortableFunction(self.model, tag, self._specs())}

    def assets(self) -> dict[str, Any]:
        """Returns the word and character vocabularies, the tag names and the word width."""
        keys = ("word_vocabulary", "char_vocabulary", "tag_names")
        encoding = {"max_word_length": self.metadata["max_word_length"], "lower_case_words": True}
        return {**{key: self.metadata[key] for key in keys}, "encoding": encoding}

    def test_inputs(self, bundle, data_dir, count: int) -> np.ndarray:
        """The first test sentences of the treebank, words joined by spaces."""
        sentences = read_conllu(resolve_file(TREEBANK_FILES["test"], data_dir))[:count]
        return np.array([" ".join(sentence.words) for sentence in sentences], dtype=object)

    def expected(self, inputs: np.ndarray) -> np.ndarray:
        """The SavedModel's tag of every word."""
        outputs = self.module.serving_default(sentences=tf.constant(inputs))
        examples = self.module.per_example(outputs)
        return np.array([tag for example in examples for tag in example["tags"]])

    def _words(self, inputs: np.ndarray) -> tf.Tensor:
        return tf.strings.split(tf.constant(inputs)).to_tensor("")

    def request(self, inputs: np.ndarray) -> dict[str, np.ndarray]:
        """One call of ``model`` on the sentences' ids."""
        encoded = self.module.encoder(self._words(inputs))
        ids = {name: encoded[name].numpy() for name in self.module.input_names}
        return {"function": np.array("model"), **ids}

    def answers(self, outputs, inputs) -> np.ndarray:
        """The runtime's tag of every word."""
        is_word = self._words(inputs).numpy() != b""
        names = np.array(self.metadata["tag_names"])[np.asarray(outputs["tag_ids"])]
        return names[is_word]
