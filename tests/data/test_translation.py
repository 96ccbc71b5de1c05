"""The Tatoeba English-French loader on the real fra.txt."""

from __future__ import annotations

import unicodedata
import zipfile

import numpy as np
import pytest
import tensorflow as tf

from rnn_zoo.data.translation import (
    END_TOKEN,
    START_TOKEN,
    TextNormalizer,
    group_by_source,
    load_translation_pairs,
    read_pairs,
)
from rnn_zoo.data.windows import leading_count, split_bounds

LINES = 167_130
KEPT_AT_8 = 78_843  # pairs with at most 8 tokens on both sides
ENGLISH_AT_8 = 54_756  # distinct English sentences among them
FRACTION = 0.05


@pytest.fixture(scope="module")
def bundle(shared_data):
    return load_translation_pairs(shared_data, fraction=FRACTION, batch_size=32)


def reference_normalize(text: str) -> str:
    """The documented normalization, in plain Python."""
    text = unicodedata.normalize("NFKD", text).lower()
    text = "".join(f" {c} " if unicodedata.category(c)[0] in "PS" else c for c in text)
    return " ".join(text.split())


def test_counts_drops_and_split_sizes(bundle):
    meta = bundle.metadata
    assert meta["lines_read"] == LINES and meta["malformed_lines"] == 0
    assert meta["pairs_kept"] == KEPT_AT_8
    assert meta["dropped_too_long"] == LINES - KEPT_AT_8
    full = [stop - start for start, stop in split_bounds(ENGLISH_AT_8, (0.8, 0.1, 0.1))]
    assert list(meta["sentences"].values()) == [leading_count(n, FRACTION) for n in full]
    for split, sentences in meta["sentences"].items():
        several = meta["sentences_with_several_references"][split]
        assert sentences + several <= meta["examples"][split]  # several: two pairs or more
    assert len(bundle.test_texts["sources"]) == meta["sentences"]["test"]
    assert bundle.model_kwargs == {
        "source_vocab_size": len(meta["source_vocabulary"]),
        "target_vocab_size": len(meta["target_vocabulary"]),
    }
    assert meta["max_length"] == 8 and meta["start_token"] == START_TOKEN


def test_batches_are_teacher_forcing_pairs_right_padded(bundle):
    vocabulary = bundle.metadata["target_vocabulary"]
    start, end = vocabulary.index(START_TOKEN), vocabulary.index(END_TOKEN)
    (source, target_in), target_out = next(iter(bundle.validation))
    assert source.dtype == target_in.dtype == target_out.dtype == tf.int32
    assert target_in.shape == target_out.shape
    for ids in (source.numpy(), target_in.numpy(), target_out.numpy()):
        lengths = (ids != 0).sum(axis=1)
        assert all(
            (row[:n] != 0).all() and (row[n:] == 0).all()
            for row, n in zip(ids, lengths, strict=True)
        )
        assert lengths.max() == ids.shape[1]  # each batch cut to its longest sentence
    for row_in, row_out in zip(target_in.numpy(), target_out.numpy(), strict=True):
        n = int((row_out != 0).sum())
        assert row_in[0] == start and row_out[n - 1] == end
        np.testing.assert_array_equal(row_in[1:n], row_out[: n - 1])
        assert (source.numpy() != 0).sum(axis=1).max() <= 8 and n - 1 <= 8


def test_normalization_matches_the_documented_rules(shared_data):
    english, french, _ = read_pairs(shared_data / "fra-eng" / "fra.txt")
    sample = [text for text in french + english if not text.isascii()][:3000] + french[:500]
    normalized = TextNormalizer()(tf.constant(sample)).numpy()
    assert [text.decode() for text in normalized] == [reference_normalize(t) for t in sample]
    examples = TextNormalizer()(tf.constant(["Ça va, Zoë?", "ﬁne…\u00a0“quoted”  l'homme"]))
    assert [text.decode() for text in examples.numpy()] == [
        "c\u0327a va , zoe\u0308 ?",
        "fine . . . “ quoted ” l ' homme",
    ]


def test_vocabularies_are_fitted_on_train_only(bundle):
    vocabulary = bundle.metadata["target_vocabulary"]
    assert len(vocabulary) < 5000  # the kept train pairs hold fewer words than the cap
    assert vocabulary[:2] == ["", "[UNK]"] and {START_TOKEN, END_TOKEN} <= set(vocabulary)
    test_words = {
        word for group in bundle.test_texts["references"] for text in group for word in text.split()
    }
    assert test_words - set(vocabulary), "every test word in the vocabulary: fitted on test?"


def train_sources(bundle) -> set[str]:
    """The English sentences of the train pipeline, read back from their ids."""
    vocabulary = np.array(bundle.metadata["source_vocabulary"])
    return {
        " ".join(vocabulary[row[row != 0]])
        for (source, _), _ in bundle.train
        for row in source.numpy()
    }


def test_no_english_test_sentence_occurs_in_training(bundle):
    assert not set(bundle.test_texts["sources"]) & train_sources(bundle)


def test_every_french_translation_of_an_english_sentence_stays_in_its_split(tmp_path):
    lines = [
        f"Sentence {i}.\tPhrase {i}, version {v} !" for i in range(60) for v in range(i % 3 + 1)
    ]
    (tmp_path / "fra.txt").write_text("\n".join(lines) + "\n", "utf-8")
    data = load_translation_pairs(tmp_path / "fra.txt", batch_size=8, split=(0.6, 0.2, 0.2))
    meta, texts = data.metadata, data.test_texts
    assert meta["sentences"] == {"train": 36, "validation": 12, "test": 12}
    assert sum(meta["examples"].values()) == len(lines) == 120
    for source, references in zip(texts["sources"], texts["references"], strict=True):
        number = int(source.split()[1])
        assert references == [f"phrase {number} , version {v} !" for v in range(number % 3 + 1)]
    assert meta["sentences_with_several_references"]["test"] == sum(
        len(group) > 1 for group in texts["references"]
    )
    assert not set(texts["sources"]) & train_sources(data)


def test_groups_keep_file_order():
    sources = np.array([b"go .", b"hi .", b"go .", b"run ."], dtype=object)
    assert [group.tolist() for group in group_by_source(sources)] == [[0, 2], [1], [3]]


def test_registered_under_its_name(shared_data):
    small = load_translation_pairs(path=shared_data, fraction=0.01, max_length=4)
    assert small.name == "translation_pairs" and small.metadata["max_length"] == 4
    assert small.metadata["pairs_kept"] + small.metadata["dropped_too_long"] == LINES


def test_a_zip_is_extracted_once_and_extra_fields_ignored(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    lines = [f"Sentence {i}.\tPhrase {i} !\tCC-BY attribution" for i in range(20)]
    archive = tmp_path / "fra-eng.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("fra.txt", "\n".join([*lines, "no tab here"]) + "\n")
        bundle.writestr("_about.txt", "about")
    data = load_translation_pairs(archive, batch_size=4)
    assert data.metadata["lines_read"] == 21 and data.metadata["malformed_lines"] == 1
    assert data.metadata["pairs_kept"] == 20
    assert len(list((tmp_path / "keras" / "datasets" / "fra-eng").glob("*/fra.txt"))) == 1


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"max_length": 0}, ValueError, "max_length=0"),
        ({"fraction": 0.0}, ValueError, "fraction=0.0"),
        ({"split": (0.5, 0.5)}, ValueError, r"split=\(0.5, 0.5\) has 2 parts"),
        ({"source_max_tokens": 3}, ValueError, "source_max_tokens=3"),
        ({"target_max_tokens": "8000"}, TypeError, "target_max_tokens='8000'"),
        ({"bleu_sentences": 0}, ValueError, "bleu_sentences=0"),
        ({"batch_size": True}, TypeError, "batch_size=True"),
    ],
)
def test_bad_arguments_raise_before_reading(kwargs, error, message, tmp_path):
    with pytest.raises(error, match=message):
        load_translation_pairs(tmp_path / "missing", **kwargs)
