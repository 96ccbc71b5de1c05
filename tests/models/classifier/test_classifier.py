"""The review classifier's factory: word dropout acts in training only."""

import numpy as np
import pytest

from rnn_zoo.models.classifier.model import build_gru_classifier


def test_word_dropout_changes_training_outputs_and_leaves_inference_alone():
    sizes = {"vocab_size": 50, "embedding_dim": 8, "units": 4, "dropout": 0.0}
    dropping = build_gru_classifier(**sizes, word_dropout=0.5)
    plain = build_gru_classifier(**sizes)
    plain.set_weights(dropping.get_weights())
    ids = np.random.default_rng(0).integers(2, 50, size=(8, 12)).astype("int32")

    np.testing.assert_allclose(dropping(ids, training=False), plain(ids, training=False))
    np.testing.assert_allclose(plain(ids, training=True), plain(ids, training=False))
    assert not np.allclose(dropping(ids, training=True), plain(ids, training=False))


def test_word_dropout_outside_zero_to_one_is_refused():
    with pytest.raises(ValueError, match="word_dropout"):
        build_gru_classifier(word_dropout=1.0)
