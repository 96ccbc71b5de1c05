"""The translator's serving module against ``translate`` with the export's beam."""

from __future__ import annotations

import json

import tensorflow as tf

from rnn_zoo.export import load_serving_module
from rnn_zoo.models.translator.decoding import translate
from rnn_zoo.models.translator.serving import EXPORT_BEAM_WIDTH


def test_texts_give_the_beam_search_translation(trained_run):
    result = trained_run("seq2seq")
    metadata = json.loads((result.run_dir / "data.json").read_text())["metadata"]
    module, _ = load_serving_module(result.run_dir)
    texts = module.example_inputs()["texts"]
    served = module.serving_default(texts=texts)["translation"].numpy()
    expected = translate(result.model, list(texts), metadata=metadata, beam_width=EXPORT_BEAM_WIDTH)
    assert [text.decode() for text in served] == expected


def test_an_empty_batch_gives_no_translations(trained_run):
    module, _ = load_serving_module(trained_run("seq2seq").run_dir)
    translation = module.serving_default(texts=tf.constant([], tf.string))["translation"]
    assert translation.shape == (0,)
