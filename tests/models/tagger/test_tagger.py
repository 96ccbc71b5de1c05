"""The sequence tagger: padding never changes a tag, and accuracy counts real words only."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from rnn_zoo import build_sequence_tagger
from rnn_zoo.blocks.layers import PaddingMask
from rnn_zoo.blocks.metrics import MaskedAccuracy


def tagger_inputs(words: list[list[int]], width: int, char_features: bool = True) -> dict:
    word_ids = np.array([row + [0] * (width - len(row)) for row in words], "int32")
    inputs = {"word_ids": word_ids}
    if char_features:
        chars = np.random.default_rng(0).integers(2, 20, (*word_ids.shape, 16)).astype("int32")
        inputs["char_ids"] = chars * (word_ids[..., None] > 0)
    return inputs


@pytest.mark.parametrize(
    ("char_features", "char_encoder", "char_widths"),
    [
        (True, "convolution", (3,)),
        (True, "convolution", (2, 3, 5)),
        (True, "bilstm", (3,)),
        (True, "convolution_and_bilstm", (2, 3)),
        (False, "convolution", (3,)),
    ],
)
def test_padding_does_not_change_the_tags_of_real_words(char_features, char_encoder, char_widths):
    model = build_sequence_tagger(
        vocab_size=30,
        units=8,
        char_features=char_features,
        char_vocab_size=20,
        char_filters=6,
        char_widths=char_widths,
        char_encoder=char_encoder,
        char_units=4,
        word_dropout=0.2,
    )
    sentence = [[4, 9, 17, 3]]
    short = model(tagger_inputs(sentence, 4, char_features))
    padded = model(tagger_inputs(sentence, 11, char_features))
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(padded)[:, :4], keras.ops.convert_to_numpy(short), atol=1e-5
    )


def test_both_character_encoders_concatenate_their_spelling_features():
    model = build_sequence_tagger(
        vocab_size=30,
        units=4,
        char_filters=6,
        char_widths=[2, 4],
        char_encoder="convolution_and_bilstm",
        char_units=5,
    )
    assert model.get_layer("spelling_features").output.shape[-1] == 12 + 2 * 5
    assert model.get_layer("char_embedding") is not model.get_layer("char_rnn_embedding")


def test_each_convolution_width_adds_its_filters_to_the_spelling_feature():
    model = build_sequence_tagger(vocab_size=30, units=4, char_filters=6, char_widths=[2, 4])
    assert model.get_layer("word_spelling").output.shape[-1] == 12
    assert [model.get_layer(f"char_convolution_{width}").kernel.shape[1] for width in (2, 4)] == [
        2,
        4,
    ]


def test_a_model_without_character_features_takes_only_word_ids():
    model = build_sequence_tagger(vocab_size=30, units=8, char_features=False)
    assert [tensor.name for tensor in model.inputs] == ["word_ids"]
    assert model.output_shape == (None, None, 18)


def test_padding_mask_comes_from_the_ids():
    features = keras.ops.ones((2, 3, 4))
    ids = keras.ops.convert_to_tensor(np.array([[5, 0, 0], [1, 2, 3]]))
    mask = keras.ops.convert_to_numpy(PaddingMask().compute_mask([features, ids]))
    assert mask.tolist() == [[True, False, False], [True, True, True]]


def test_masked_accuracy_counts_every_real_token_once_across_ragged_batches():
    rng = np.random.default_rng(0)
    metric, correct, total = MaskedAccuracy(), 0, 0
    for width in (3, 9, 20):  # batches of different padded lengths
        targets = rng.integers(1, 5, (4, width))
        targets[:, rng.integers(1, width) :] = 0
        scores = rng.uniform(size=(4, width, 5)).astype("float32")
        metric.update_state(targets, scores)
        real = targets > 0
        correct += (scores.argmax(-1) == targets)[real].sum()
        total += real.sum()
    assert float(metric.result()) == pytest.approx(correct / total, rel=1e-6)
    metric.reset_state()
    assert float(metric.result()) == 0.0


def test_masked_accuracy_round_trips_with_the_model(tmp_path):
    model = build_sequence_tagger(vocab_size=30, units=4, char_features=False)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=[MaskedAccuracy()])
    inputs = tagger_inputs([[4, 9, 17], [3, 5]], 3, char_features=False)
    targets = np.array([[1, 2, 3], [4, 5, 0]])
    model.fit(inputs, targets, epochs=1, verbose=0)
    model.save(tmp_path / "tagger.keras")
    restored = keras.saving.load_model(tmp_path / "tagger.keras")
    np.testing.assert_allclose(
        restored.evaluate(inputs, targets, verbose=0), model.evaluate(inputs, targets, verbose=0)
    )
