"""load_text_corpus on tiny Shakespeare and on small corpora written by the tests."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf

from rnn_zoo.data.sources import DataNotFoundError
from rnn_zoo.data.text_corpus import char_lookups, load_text_corpus

SEQ = 100


@pytest.fixture(scope="module")
def text(shared_data) -> str:
    return (shared_data / "tinyshakespeare.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def bundle(shared_data):
    return load_text_corpus(shared_data, seq_length=SEQ)


def decode(ids, vocabulary) -> str:
    return "".join(vocabulary[i] for i in np.asarray(ids))


def write(tmp_path, content: bytes | str, name="corpus.txt"):
    file = tmp_path / name
    file.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return file


def test_tiny_shakespeare_counts(bundle, text):
    metadata = bundle.metadata
    assert metadata["num_characters"] == len(text) == 1_115_394
    assert metadata["vocabulary"] == sorted(set(text))
    assert len(metadata["vocabulary"]) == 65
    assert bundle.model_kwargs == {"vocab_size": 65}
    assert bundle.preprocessor.vocabulary_size() == 65
    characters = metadata["characters"]
    assert sum(characters.values()) == len(text)
    assert characters["validation"] == pytest.approx(0.1 * len(text), abs=1)
    assert characters["test"] == pytest.approx(0.1 * len(text), abs=1)
    assert metadata["sequences"] == {
        split: characters[split] // (SEQ + 1) for split in ("train", "validation", "test")
    }
    json.dumps(metadata)


def test_shapes_and_dtypes(bundle):
    inputs, targets = bundle.train.element_spec
    assert inputs.shape.as_list() == [64, SEQ] and inputs.dtype == tf.int32
    assert targets.shape.as_list() == [64, SEQ] and targets.dtype == tf.int32
    for split in (bundle.validation, bundle.test):
        inputs, targets = split.element_spec
        assert inputs.shape.as_list() == [None, SEQ] and targets.dtype == tf.int32


def test_target_is_input_shifted_by_one_in_text_order(bundle, text):
    vocabulary = bundle.metadata["vocabulary"]
    start = bundle.metadata["characters"]["train"]
    inputs, targets = next(iter(bundle.validation))
    np.testing.assert_array_equal(inputs[:, 1:], targets[:, :-1])
    assert decode(inputs[0], vocabulary) == text[start : start + SEQ]
    assert decode(targets[0], vocabulary) == text[start + 1 : start + SEQ + 1]
    second = start + SEQ + 1
    assert decode(inputs[1], vocabulary) == text[second : second + SEQ]


def test_splits_do_not_overlap(bundle, text):
    vocabulary = bundle.metadata["vocabulary"]
    characters = bundle.metadata["characters"]
    train_end = characters["train"]
    test_start = train_end + characters["validation"]
    step = SEQ + 1
    sequences = bundle.metadata["sequences"]
    in_order = [text[i : i + SEQ] for i in range(0, sequences["train"] * step, step)]
    seen = [decode(row, vocabulary) for inputs, _ in bundle.train for row in inputs]
    assert len(seen) == len(set(seen)) == sequences["train"] // 64 * 64
    assert set(seen) <= set(in_order)
    assert seen[:64] != in_order[:64]  # shuffled
    test_inputs, _ = next(iter(bundle.test))
    assert decode(test_inputs[0], vocabulary) == text[test_start : test_start + SEQ]
    last_validation = next(iter(bundle.validation.skip(sequences["validation"] // 64)))[0][-1]
    assert decode(last_validation, vocabulary) in text[train_end:test_start]


def test_a_smaller_validation_slice_keeps_the_same_test_text(shared_data, bundle, text):
    narrow = load_text_corpus(shared_data, seq_length=SEQ, validation_split=0.02, test_split=0.1)
    characters, default = narrow.metadata["characters"], bundle.metadata["characters"]
    assert characters["test"] == default["test"]
    assert characters["validation"] == pytest.approx(0.02 * len(text), abs=1)
    assert characters["train"] == len(text) - characters["validation"] - characters["test"]
    vocabulary = narrow.metadata["vocabulary"]
    first_test = decode(next(iter(narrow.test))[0][0], vocabulary)
    assert first_test == decode(next(iter(bundle.test))[0][0], vocabulary)
    assert narrow.metadata["test_split"] == 0.1 and bundle.metadata["test_split"] == 0.1


def test_train_order_is_seeded(tmp_path):
    file = write(tmp_path, "".join(chr(97 + i % 26) + chr(65 + i % 7) for i in range(5000)))

    def first_batch(seed):
        bundle = load_text_corpus(file, seq_length=10, batch_size=8, seed=seed)
        return next(iter(bundle.train))[0].numpy()

    np.testing.assert_array_equal(first_batch(3), first_batch(3))
    assert not np.array_equal(first_batch(3), first_batch(4))


def test_char_lookups_round_trip(bundle, text):
    ids_from_chars, chars_from_ids = char_lookups(bundle.metadata["vocabulary"])
    ids = ids_from_chars(tf.strings.unicode_split(text[:500], "UTF-8"))
    assert ids.numpy().max() < 65
    assert tf.strings.reduce_join(chars_from_ids(ids)).numpy().decode() == text[:500]
    assert chars_from_ids.vocabulary_size() == 65


@pytest.mark.parametrize(
    "vocabulary, error", [("abc", TypeError), ([], ValueError), (["a", "a"], ValueError)]
)
def test_char_lookups_refuses_bad_vocabularies(vocabulary, error):
    with pytest.raises(error, match="vocabulary"):
        char_lookups(vocabulary)


def test_any_utf8_file_and_fraction(tmp_path):
    content = "héllo wörld, ça va?\n" * 200
    bundle = load_text_corpus(write(tmp_path, content), seq_length=20, batch_size=4, fraction=0.5)
    assert bundle.metadata["vocabulary"] == sorted(set(content))
    assert bundle.model_kwargs == {"vocab_size": len(set(content))}
    full = {"train": 3200 // 21, "validation": 400 // 21, "test": 400 // 21}
    assert bundle.metadata["sequences"] == {split: -(-count // 2) for split, count in full.items()}
    inputs, _ = next(iter(bundle.validation))
    assert decode(inputs[0], bundle.metadata["vocabulary"]) == content[3200:3220]


@pytest.mark.parametrize(
    "content, match",
    [
        (b"ok\xff\xfe text", "not valid UTF-8"),
        (b"", "is empty"),
        (b"a" * 5000, "at least 2 distinct characters"),
        (b"ab" * 300, r"too short.*seq_length \+ 1 = 101"),
    ],
)
def test_bad_corpus_names_file_and_requirement(tmp_path, content, match):
    file = write(tmp_path, content, name="bad_corpus.txt")
    with pytest.raises(ValueError, match=match) as caught:
        load_text_corpus(file)
    assert "bad_corpus.txt" in str(caught.value)


def test_batch_larger_than_train_split(tmp_path):
    with pytest.raises(ValueError, match="batch_size=1000 is larger than the 145 train"):
        load_text_corpus(write(tmp_path, "abcdefghij" * 200), seq_length=10, batch_size=1000)


@pytest.mark.parametrize(
    "arguments, error",
    [
        ({"seq_length": 0}, ValueError),
        ({"seq_length": 10.0}, TypeError),
        ({"batch_size": "64"}, TypeError),
        ({"validation_split": 0.5}, ValueError),
        ({"validation_split": 0.0}, ValueError),
        ({"test_split": 0.5}, ValueError),
        ({"test_split": "0.1"}, TypeError),
        ({"seed": -1}, ValueError),
        ({"fraction": 0.0}, ValueError),
        ({"fraction": 1.5}, ValueError),
    ],
)
def test_bad_arguments_raise_before_reading(tmp_path, arguments, error):
    with pytest.raises(error, match=next(iter(arguments))):
        load_text_corpus(tmp_path / "absent.txt", **arguments)
    with pytest.raises(DataNotFoundError):
        load_text_corpus(tmp_path / "absent.txt")
