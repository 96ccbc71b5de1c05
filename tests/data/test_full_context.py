"""full_context_loss: every character of a held-out text scored once, given the text before it."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from rnn_zoo.data.full_context import NANOGPT_CONTEXT, full_context_loss
from rnn_zoo.data.text_corpus import load_text_corpus

VOCAB = 7


def recurrent_model(seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    ids = keras.Input((None,), dtype="int32")
    steps = keras.layers.LSTM(16, return_sequences=True)(keras.layers.Embedding(VOCAB, 8)(ids))
    return keras.Model(ids, keras.layers.Dense(VOCAB)(steps))


def next_id_oracle() -> keras.Model:
    """Logits that put all the mass on ``(id + 1) % VOCAB``: right only if aligned."""
    table = 50.0 * np.roll(np.eye(VOCAB), 1, axis=1)
    ids = keras.Input((None,), dtype="int32")
    lookup = keras.layers.Embedding(VOCAB, VOCAB, weights=[table], trainable=False)
    return keras.Model(ids, lookup(ids))


def test_streams_that_read_the_whole_text_before_them_equal_one_stream():
    ids = np.random.default_rng(0).integers(0, VOCAB, 600)
    model = recurrent_model()
    one = full_context_loss(model, ids=ids, streams=1, warmup=0)
    cut = full_context_loss(model, ids=ids, streams=9, warmup=len(ids), batch_size=4)
    assert one["full_context_characters"] == cut["full_context_characters"] == len(ids) - 1
    assert cut["full_context_loss"] == pytest.approx(one["full_context_loss"], rel=1e-5)


def test_short_warmups_lose_context_and_so_change_the_loss():
    ids = np.random.default_rng(1).integers(0, VOCAB, 600)
    model = recurrent_model()
    one = full_context_loss(model, ids=ids, streams=1, warmup=0)["full_context_loss"]
    cold = full_context_loss(model, ids=ids, streams=30, warmup=0)["full_context_loss"]
    assert cold != pytest.approx(one, rel=1e-5)


def test_each_target_is_scored_against_the_character_before_it():
    ids = np.arange(500) % VOCAB
    report = full_context_loss(next_id_oracle(), ids=ids, streams=8, warmup=5)
    assert report["full_context_loss"] < 1e-6
    assert report["full_context_characters"] == 499
    shuffled = np.random.default_rng(2).permutation(ids)
    wrong = full_context_loss(next_id_oracle(), ids=shuffled, streams=8, warmup=5)
    assert wrong["full_context_loss"] > 10


def test_uniform_logits_score_the_log_of_the_vocabulary():
    ids = keras.Input((None,), dtype="int32")
    zeros = keras.layers.Embedding(VOCAB, VOCAB, embeddings_initializer="zeros")(ids)
    model = keras.Model(ids, zeros)
    report = full_context_loss(model, ids=np.arange(100) % VOCAB, streams=3)
    assert report["full_context_loss"] == pytest.approx(math.log(VOCAB))
    assert report["full_context_min_context"] == NANOGPT_CONTEXT


@pytest.mark.parametrize(
    ("ids", "options", "message"),
    [
        (np.zeros((4, 4), int), {}, "1-D text"),
        (np.arange(10), {"streams": 10}, "at least 11 characters"),
        (np.arange(10), {"warmup": -1}, "warmup"),
        (np.arange(10), {"streams": 0}, "streams"),
    ],
)
def test_bad_arguments_are_refused_before_the_model_runs(ids, options, message):
    calls = []
    with pytest.raises(ValueError, match=message):
        full_context_loss(lambda *a, **k: calls.append(a), ids=ids, **options)
    assert calls == []


def test_the_corpus_loader_reports_the_whole_test_text(shared_data):
    bundle = load_text_corpus(shared_data, seq_length=100, fraction=0.05)
    test_characters = bundle.metadata["characters"]["test"]
    vocab_size = bundle.model_kwargs["vocab_size"]
    ids = keras.Input((None,), dtype="int32")
    features = keras.layers.Embedding(vocab_size, 3)(ids)
    report = bundle.test_report(keras.Model(ids, keras.layers.Dense(vocab_size)(features)))
    assert report["full_context_characters"] == math.ceil(test_characters * 0.05) - 1
    assert 0 < report["full_context_loss"] < 10
