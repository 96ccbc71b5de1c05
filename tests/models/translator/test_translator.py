"""The seq2seq translator: stepped decoding equals the teacher-forced model, greedy, beam."""

from __future__ import annotations

import unicodedata

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnn_zoo import build_seq2seq, get_spec
from rnn_zoo.data.translation import load_translation_pairs
from rnn_zoo.models.translator.bleu import bleu_score
from rnn_zoo.models.translator.decoding import Translator, attention_weights, translate
from rnn_zoo.models.translator.serving import TranslatorServing
from rnn_zoo.training import compile_model

SENTENCES = ["Hello.", "I am cold.", "Tom is here.", "We won!", "Zoë rocks?"]


@pytest.fixture(scope="module")
def data(shared_data):
    return load_translation_pairs(shared_data, fraction=0.02, batch_size=32)


@pytest.fixture(scope="module")
def trained(data):
    """A tiny attention model trained two short epochs (enough for non-trivial outputs)."""
    keras.utils.set_random_seed(0)
    model = build_seq2seq(**data.model_kwargs, embedding_dim=16, units=24)
    recipe = get_spec("seq2seq").recipe.replace(learning_rate=1e-2, schedule="constant")
    compile_model(model, recipe)
    model.fit(data.train, epochs=2, verbose=0)
    return model


def small_model(data, **kwargs):
    return build_seq2seq(**data.model_kwargs, embedding_dim=8, units=12, **kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"attention": False},
        {"cell": "lstm", "bidirectional": True, "num_layers": 2},
        {"cell": "simple_rnn"},
    ],
    ids=["gru-attention", "gru-plain", "bilstm-2-layers", "simple_rnn"],
)
def test_stepped_decoder_gives_the_teacher_forced_logits(data, kwargs):
    model = small_model(data, **kwargs)
    (source, target_in), _ = next(iter(data.validation))
    full = model((source, target_in)).numpy()
    translator = Translator(model, data.metadata)
    values, keys, mask, states = translator.encode(source)
    for t in range(target_in.shape[1]):
        logits, states, _ = translator.step(target_in[:, t], states, values, keys, mask)
        valid = target_in[:, t].numpy() != 0
        np.testing.assert_allclose(logits.numpy()[valid], full[valid, t], atol=1e-5)


def test_greedy_equals_beam_width_one(trained, data):
    greedy = translate(trained, SENTENCES, metadata=data.metadata)
    assert translate(trained, SENTENCES, metadata=data.metadata, beam_width=1) == greedy
    # An untrained model rarely says [end]: long token sequences to compare.
    translator = Translator(small_model(data), data.metadata)
    source = translator.source_ids(tf.constant(SENTENCES))
    tokens, _ = translator.greedy(source, tf.constant(9))
    beam = translator.beam_search(source, tf.constant(1), tf.constant(9)).numpy()
    assert tokens.shape[1] > 3
    np.testing.assert_array_equal(beam[:, : tokens.shape[1]], tokens.numpy())
    assert (beam[:, tokens.shape[1] :] == 0).all()


def test_beam_search_returns_vocabulary_words(trained, data):
    outputs = translate(trained, SENTENCES, metadata=data.metadata, beam_width=4)
    assert len(outputs) == len(SENTENCES) and all(isinstance(text, str) for text in outputs)
    words = {unicodedata.normalize("NFC", w) for w in data.metadata["target_vocabulary"][1:]}
    for text in outputs:
        assert set(text.split()) <= words - {"[start]", "[end]"}
        assert len(text.split()) <= data.metadata["max_length"]
    assert isinstance(translate(trained, "Hello.", metadata=data.metadata, beam_width=3), str)


def test_factory_refuses_bad_arguments_before_building(layers_built):
    for kwargs, message in [
        ({"attention": 1}, "attention=1"),
        ({"target_vocab_size": 3}, "target_vocab_size=3"),
        ({"cell": "lstn"}, "cell='lstn' is not one of 'simple_rnn', 'lstm', 'gru'"),
    ]:
        with layers_built() as built, pytest.raises((ValueError, TypeError), match=message):
            build_seq2seq(**kwargs)
        assert built == []


def test_attention_weights_for_a_heat_map(trained, data):
    heat = attention_weights(trained, "I am cold.", metadata=data.metadata)
    assert heat.source_tokens == ["i", "am", "cold", "."]
    assert heat.weights.shape == (len(heat.output_tokens), 4)
    np.testing.assert_allclose(heat.weights.sum(axis=1), 1.0, rtol=1e-5)
    plain = small_model(data, attention=False)
    with pytest.raises(ValueError, match="attention=False"):
        attention_weights(plain, "I am cold.", metadata=data.metadata)


@pytest.mark.parametrize(
    "sentences, kwargs, error, message",
    [
        ("", {}, ValueError, "sentence '' is empty"),
        (["Hi.", "  "], {}, ValueError, "sentence '  ' is empty"),
        ("one two three four five six seven eight nine", {}, ValueError, "has 9 tokens"),
        ("Hi.", {"beam_width": 0}, ValueError, "beam_width=0 is out of range"),
        ("Hi.", {"beam_width": 33}, ValueError, r"beam_width=33 .*\[1, 32\]"),
        ("Hi.", {"beam_width": "4"}, TypeError, "beam_width='4'"),
        ("Hi.", {"max_length": 0}, ValueError, "max_length=0"),
        ([], {}, TypeError, r"sentences=\[\]"),
        (["Hi.", 3], {}, TypeError, "sentences="),
    ],
)
def test_bad_inputs_are_refused_clearly(trained, data, sentences, kwargs, error, message):
    with pytest.raises(error, match=message):
        translate(trained, sentences, metadata=data.metadata, **kwargs)


def test_a_model_needs_its_metadata(trained):
    with pytest.raises(TypeError, match="metadata=None"):
        translate(trained, "Hi.")
    with pytest.raises(TypeError, match="model_or_run_dir=3"):
        translate(3, "Hi.")


def test_serving_translates_empty_to_empty_and_truncates_long_sentences(trained, data):
    serving = TranslatorServing(trained, data.metadata, head="logits")
    long = "I am cold and I am tired and I am hungry."
    outputs = serving.serving_default(texts=tf.constant(["", long, "I am cold and I am tired and"]))
    texts = [text.decode() for text in outputs["translation"].numpy()]
    assert texts[0] == "" and texts[1] == texts[2]  # cut to its first 8 tokens


def test_run_directory_translates_and_predicts(trained_run):
    from rnn_zoo.predict import predict

    run_dir = trained_run("seq2seq").run_dir
    expected = translate(run_dir, ["Hello.", "I am cold."], beam_width=4)
    predicted = predict(run_dir, ["Hello.", "I am cold."])
    assert [row["translation"] for row in predicted] == expected


def test_bleu_counts_a_sentence_matched_by_any_of_its_references():
    hypotheses = ["il fait très froid ce matin .", "tom est encore ici ."]
    other = ["il fait un froid de canard .", "tom n ' est plus là ."]
    both = [[o, h] for o, h in zip(other, hypotheses, strict=True)]
    assert bleu_score(hypotheses, both) == pytest.approx(100)
    assert bleu_score(hypotheses, [pair[::-1] for pair in both]) == pytest.approx(100)
    alone = bleu_score(hypotheses, other)
    assert 0 < alone < 100
    assert bleu_score(hypotheses, [[o] for o in other]) == alone
    # references are normalized as the training data was: case, accents, punctuation
    assert bleu_score(hypotheses[:1], ["Il fait très froid ce matin."]) == pytest.approx(100)
    with pytest.raises(TypeError, match="a string or a non-empty list of strings"):
        bleu_score(hypotheses, [[], ["x"]])


def test_the_test_report_scores_beam_search_against_all_references(trained_run, shared_data):
    metrics = trained_run("seq2seq").test_metrics
    data = load_translation_pairs(shared_data, fraction=0.05)
    references = data.test_texts["references"]
    assert metrics["bleu_sentences"] == len(references) == data.metadata["sentences"]["test"]
    several = sum(len(group) > 1 for group in references)
    assert metrics["bleu_sentences_with_several_references"] == several > 0
    assert {"bleu", "bleu_single_reference", "bleu_greedy", "accuracy"} <= set(metrics)
