"""UD English EWT loader on the real treebank files, and on broken copies of them."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from rnn_zoo.data.sources import DataNotFoundError
from rnn_zoo.data.ud_treebank import (
    TREEBANK_FILES,
    UPOS_TAGS,
    TokenEncoder,
    drop_rare_words,
    load_conllu,
    rare_word_drop_rates,
    read_conllu,
    tag_names,
)

# The counts the data README gives (sentences / syntactic words per split).
README_COUNTS = {
    "train": (12_544, 204_577),
    "validation": (2_001, 25_147),
    "test": (2_077, 25_094),
}


@pytest.fixture(scope="module")
def folder(shared_data):
    return shared_data / "ud_english_ewt"


@pytest.fixture(scope="module")
def bundle(shared_data):
    return load_conllu(shared_data)


@pytest.fixture(scope="module")
def dev(folder):
    return read_conllu(folder / TREEBANK_FILES["validation"].filename)


def test_counts_match_the_treebank_readme(bundle):
    for split, (sentences, words) in README_COUNTS.items():
        assert bundle.metadata["sentences"][split] == sentences
        assert bundle.metadata["words"][split] == words


def test_multiword_ranges_and_empty_nodes_are_skipped(dev):
    tagged = {" ".join(s.words): s.tags for s in dev}
    assert not any("didn't" in s.words or "Today's" in s.words for s in dev)
    sentence = next(words for words in tagged if words.startswith("Today 's incident"))
    assert tagged[sentence][:3] == ("NOUN", "PART", "NOUN")
    assert all(len(s.words) == len(s.tags) and set(s.tags) <= set(UPOS_TAGS) for s in dev)


def test_batches_are_right_padded_with_matching_masks(bundle):
    for inputs, tags in bundle.train.take(20):
        words, chars, tags = (t.numpy() for t in (inputs["word_ids"], inputs["char_ids"], tags))
        real = tags > 0
        assert np.array_equal(real, words > 0)  # padding is exactly where there is no tag
        lengths = real.sum(axis=1)
        assert all(real[row, :n].all() and not real[row, n:].any() for row, n in enumerate(lengths))
        assert chars.shape == (*words.shape, 16) and not chars[~real].any()
        assert tags.max() <= len(UPOS_TAGS)


def test_batches_group_sentences_of_similar_length(bundle, folder):
    longest = max(len(s.words) for s in read_conllu(folder / "en_ewt-ud-train.conllu"))
    widths = [int(tags.shape[1]) for _, tags in bundle.train]
    padding = sum(int(tf.reduce_sum(tf.cast(tags == 0, tf.int32))) for _, tags in bundle.train)
    assert padding < 0.5 * README_COUNTS["train"][1]  # random batches pad about 1.5x the words
    assert set(widths) == {8, 16, 24, 32, 48, 64, longest}


def test_vocabularies_come_from_train_only(bundle, folder):
    vocabulary = set(bundle.metadata["word_vocabulary"])
    test_words = {w.lower() for s in read_conllu(folder / "en_ewt-ud-test.conllu") for w in s.words}
    train = read_conllu(folder / "en_ewt-ud-train.conllu")
    train_words = {w.lower() for s in train for w in s.words}
    assert vocabulary - {"", "[UNK]"} <= train_words
    unseen = sorted(test_words - train_words)
    assert unseen and not set(unseen) & vocabulary
    encoded = TokenEncoder(bundle.metadata)(tf.constant([unseen[0], "the", ""]))
    assert encoded["word_ids"].numpy().tolist()[0] == 1  # out of vocabulary
    assert encoded["word_ids"].numpy().tolist()[2] == 0  # padding


def test_token_encoder_spells_words_with_case_and_cuts_long_ones(bundle):
    encoder = TokenEncoder(bundle.metadata)
    chars = bundle.metadata["char_vocabulary"]
    encoded = encoder(tf.constant([["Paris", "x" * 40]]))["char_ids"].numpy()
    assert [chars[i] for i in encoded[0, 0, :5]] == list("Paris") and not encoded[0, 0, 5:].any()
    assert encoded.shape == (1, 2, 16)


def test_model_kwargs_and_metadata(bundle):
    assert bundle.model_kwargs["num_tags"] == 18 == len(tag_names())
    assert bundle.model_kwargs["vocab_size"] == len(bundle.metadata["word_vocabulary"])
    assert bundle.metadata["tag_names"][0] == "" and bundle.metadata["tag_names"][1:] == list(
        UPOS_TAGS
    )


def test_registered_name_and_fraction(shared_data):
    small = load_conllu(path=shared_data, fraction=0.01, char_features=False)
    assert small.metadata["sentences"] == {"train": 126, "validation": 21, "test": 21}
    inputs, _ = next(iter(small.train))
    assert set(inputs) == {"word_ids"}


def _copy_with(tmp_path, folder, split, content: str):
    for name, remote in TREEBANK_FILES.items():
        text = content if name == split else (folder / remote.filename).read_text("utf-8")
        (tmp_path / remote.filename).write_text(text, encoding="utf-8")
    return tmp_path / TREEBANK_FILES[split].filename


@pytest.mark.parametrize(
    "content, match",
    [
        ("", "holds no sentence"),
        ("# only a comment\n\n", "holds no sentence"),
        ("1\tThe\tthe\tDET\tDT\t_\t2\tdet\t2:det\t_\n2\tca", "line 2: 2 tab-separated fields"),
        ("1\tThe\tthe\tXYZ\tDT\t_\t2\tdet\t2:det\t_\n", "UPOS tag 'XYZ' is not one of"),
    ],
)
def test_broken_files_name_the_file_and_line(tmp_path, folder, content, match):
    broken = tmp_path / "broken.conllu"
    broken.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=match) as caught:
        read_conllu(broken)
    assert str(broken) in str(caught.value)


def test_a_file_cut_in_the_middle_is_refused_by_its_hash(tmp_path, folder):
    original = (folder / "en_ewt-ud-test.conllu").read_text("utf-8")
    _copy_with(tmp_path, folder, "test", original[: len(original) // 2])
    with pytest.raises(ValueError, match="en_ewt-ud-test.conllu has sha256"):
        load_conllu(tmp_path)


def test_a_single_file_is_refused_with_what_is_expected(folder):
    with pytest.raises(ValueError, match="is a file; expected a directory holding en_ewt-ud-"):
        load_conllu(folder / "en_ewt-ud-dev.conllu")


def test_non_utf8_is_named(tmp_path):
    broken = tmp_path / "latin1.conllu"
    broken.write_bytes("1\tcafé\t".encode("latin-1"))
    with pytest.raises(ValueError, match="latin1.conllu is not UTF-8"):
        read_conllu(broken)


@pytest.mark.parametrize(
    "arguments, error",
    [
        ({"batch_size": 0}, ValueError),
        ({"batch_size": 2.5}, TypeError),
        ({"seed": -1}, ValueError),
        ({"fraction": 0.0}, ValueError),
        ({"max_words": 2}, ValueError),
        ({"min_word_count": 0}, ValueError),
        ({"char_features": "yes"}, TypeError),
        ({"max_word_length": 0}, ValueError),
        ({"rare_word_dropout": -0.5}, ValueError),
        ({"rare_word_dropout": "high"}, TypeError),
    ],
)
def test_bad_arguments_raise_before_reading(tmp_path, arguments, error):
    with pytest.raises(error, match=next(iter(arguments))):
        load_conllu(tmp_path / "absent", **arguments)
    with pytest.raises(DataNotFoundError):
        load_conllu(tmp_path / "absent")


def test_rare_word_rates_follow_the_train_counts():
    rates = rare_word_drop_rates(["", "[UNK]", "the", "cat"], {"the": 9, "cat": 1}, 1.0)
    np.testing.assert_allclose(rates, [0.0, 0.0, 0.1, 0.5])


def _word_ids(dataset, batches: int) -> np.ndarray:
    return np.concatenate([x["word_ids"].numpy().ravel() for x, _ in dataset.take(batches)])


def test_rare_word_dropout_replaces_only_train_ids_by_the_unknown_id(shared_data):
    options = {"fraction": 0.1, "char_features": False}
    plain = load_conllu(shared_data, **options)
    dropping = load_conllu(shared_data, **options, rare_word_dropout=2.0)
    kept, seen = _word_ids(plain.train, 40), _word_ids(dropping.train, 40)
    real = kept > 1  # same shuffle seed: the same sentences in the same order
    assert np.all((seen == kept) | (real & (seen == 1)))
    vocabulary = plain.metadata["word_vocabulary"]
    rank = np.arange(len(vocabulary))  # most frequent first: a low id is a frequent word
    dropped = real & (seen == 1)
    assert 0 < dropped.sum() < real.sum()
    assert rank[kept[dropped]].mean() > rank[kept[real]].mean()  # rare words go more often
    for split in ("validation", "test"):
        np.testing.assert_array_equal(
            _word_ids(getattr(dropping, split), 5), _word_ids(getattr(plain, split), 5)
        )


def test_rare_word_draws_are_new_each_epoch_at_the_given_rates():
    ids = np.tile(np.arange(8, dtype="int32"), (500, 1))  # 0 padding, 1 unknown, 2-7 words
    dataset = tf.data.Dataset.from_tensor_slices(({"word_ids": ids}, ids))
    rates = np.array([0.0, 0.0, 0.5, 0.5, 0.5, 0.1, 0.1, 0.1], np.float32)
    dropped = drop_rare_words(dataset, rates, seed=3)
    epochs = [np.stack([x["word_ids"].numpy() for x, _ in dropped]) for _ in range(2)]
    assert not np.array_equal(*epochs)
    for epoch in epochs:
        np.testing.assert_array_equal(epoch[:, :2], ids[:, :2])  # padding and unknown stay
        share = (epoch == 1)[:, 2:].mean(axis=0)
        np.testing.assert_allclose(share, rates[2:], atol=0.07)
