"""The review classifier's factory: word dropout acts in training only."""

import numpy as np
import pytest

from rnn_zoo.models.classifier.model import build_gru_classifier


def test_word_dropout_changes_training_outputs_and_leaves_inference_alone():
    sizes = {"vocab_size": 50, "embedding_dim": 8, "units": 4, "dropout": 0.0}
    dropping = build_gru_classifier(**sizes, word_dropout=0.5)
    plain = build_gru_classifier(**sizes, word_dropout=0.0)
    plain.set_weights(dropping.get_weights())
    ids = np.random.default_rng(0).integers(2, 50, size=(8, 12)).astype("int32")

    np.testing.assert_allclose(dropping(ids, training=False), plain(ids, training=False))
    np.testing.assert_allclose(plain(ids, training=True), plain(ids, training=False))
    assert not np.allclose(dropping(ids, training=True), plain(ids, training=False))


def test_word_dropout_outside_zero_to_one_is_refused():
    with pytest.raises(ValueError, match="word_dropout"):
        build_gru_classifier(word_dropout=1.0)


def test_bigram_ids_follow_the_pair_and_keep_padding():
    from rnn_zoo.blocks.layers import HashedBigrams

    ids = np.array([[5, 7, 5, 7, 9, 0, 0], [7, 5, 7, 0, 0, 0, 0]], dtype="int32")
    bigrams = np.asarray(HashedBigrams(1000)(ids))

    assert bigrams[0, 1] == bigrams[0, 3] == bigrams[1, 2]  # (5, 7) each time
    assert bigrams[0, 2] == bigrams[1, 1]  # (7, 5)
    assert bigrams[0, 1] != bigrams[0, 2]
    assert bigrams[0, 0] != bigrams[1, 1]  # (start, 5) is not (7, 5)
    np.testing.assert_array_equal(bigrams == 0, ids == 0)
    assert bigrams.min() >= 0 and bigrams.max() < 1000


def test_bigram_features_add_to_the_token_embedding_and_keep_padding_out():
    sizes = {"vocab_size": 50, "embedding_dim": 8, "units": 4, "dropout": 0.0}
    model = build_gru_classifier(**sizes, bigram_buckets=64)
    plain = build_gru_classifier(**sizes)
    for layer in plain.layers:
        layer.set_weights(model.get_layer(layer.name).get_weights())
    ids = np.random.default_rng(0).integers(2, 50, size=(4, 6)).astype("int32")
    padded = np.concatenate([ids, np.zeros((4, 3), "int32")], axis=1)

    np.testing.assert_allclose(model(padded), model(ids), rtol=1e-5, atol=1e-6)
    assert not np.allclose(model(ids), plain(ids))
    bigram_embedding = model.get_layer("bigram_embedding")
    bigram_embedding.set_weights([np.zeros((64, 8), "float32")])
    np.testing.assert_allclose(model(ids), plain(ids), rtol=1e-5, atol=1e-6)


def test_bigram_bag_reaches_the_output_beside_the_recurrent_path_and_ignores_padding():
    sizes = {"vocab_size": 50, "embedding_dim": 8, "units": 4, "dropout": 0.0}
    model = build_gru_classifier(**sizes, bigram_bag_buckets=64, bigram_bag_dim=3)
    ids = np.random.default_rng(0).integers(2, 50, size=(4, 6)).astype("int32")
    padded = np.concatenate([ids, np.zeros((4, 3), "int32")], axis=1)

    assert model.get_layer("bag_embedding").get_weights()[0].shape == (64, 3)
    assert model.get_layer("probability").get_weights()[0].shape == (4 * 4 + 3, 1)
    np.testing.assert_allclose(model(padded), model(ids), rtol=1e-5, atol=1e-6)
    before = np.asarray(model(ids))
    bag = model.get_layer("bag_embedding")
    bag.set_weights([bag.get_weights()[0] + 1.0])
    assert not np.allclose(model(ids), before)


@pytest.mark.parametrize("key", ["bigram_buckets", "bigram_bag_buckets"])
@pytest.mark.parametrize("buckets", [1, -3])
def test_bigram_buckets_out_of_range_are_refused(key, buckets):
    with pytest.raises(ValueError, match=f"{key}={buckets}"):
        build_gru_classifier(**{key: buckets})
