"""The tagger's serving module against the model called on the encoded words."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf

from rnn_zoo.data.ud_treebank import TokenEncoder
from rnn_zoo.export import load_serving_module


def test_sentences_give_one_tag_per_word(trained_run):
    result = trained_run("sequence_tagger")
    metadata = json.loads((result.run_dir / "data.json").read_text())["metadata"]
    module, _ = load_serving_module(result.run_dir)
    sentences = module.example_inputs()["sentences"]
    outputs = module.serving_default(sentences=sentences)
    words = [sentence.split() for sentence in sentences]
    width = max(len(row) for row in words)
    padded = tf.constant([row + [""] * (width - len(row)) for row in words])
    probabilities = result.model(TokenEncoder(metadata)(padded)).numpy()
    names = np.array(metadata["tag_names"])[probabilities[..., 1:].argmax(-1) + 1]
    tags = np.where(padded.numpy() != b"", names, "")
    assert outputs["tags"].numpy().astype(str).tolist() == tags.tolist()
    assert outputs["num_words"].numpy().tolist() == [len(row) for row in words]


def test_per_example_cuts_the_tags_to_each_sentence(trained_run):
    module, _ = load_serving_module(trained_run("sequence_tagger").run_dir)
    sentences = module.example_inputs()["sentences"]
    examples = module.per_example(module.serving_default(sentences=sentences))
    assert [len(example["tags"]) for example in examples] == [len(s.split()) for s in sentences]


def test_an_empty_batch_gives_no_tags(trained_run):
    # The model's word and spelling branches disagreed on an empty batch (ConcatOp error).
    module, _ = load_serving_module(trained_run("sequence_tagger").run_dir)
    outputs = module.serving_default(sentences=tf.constant([], tf.string))
    assert outputs["tags"].shape[0] == 0
    assert outputs["num_words"].shape == (0,)
    assert module.per_example(outputs) == []


def test_a_matrix_of_sentences_is_refused_at_the_signature(trained_run):
    module, _ = load_serving_module(trained_run("sequence_tagger").run_dir)
    matrix = np.array([["The cat"], ["sat"]], dtype=object)
    with pytest.raises(TypeError, match=r"sentences.*shape=\(None,\)"):  # a NumPy array: bound
        module.serving_default(sentences=matrix)
    with pytest.raises(  # a tensor reaches the graph, whose first op refuses it
        tf.errors.InvalidArgumentError,
        match=r"Shape of tensor sentences \[2,1\] is not compatible with expected shape \[\?\]",
    ):
        module.serving_default(sentences=tf.constant(matrix.astype(str)))
