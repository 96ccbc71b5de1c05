"""CoNLL-U documents: every line kept, one column of the words changed, nothing else."""

from __future__ import annotations

import pytest

from rnn_zoo.data.conllu import FORM, UPOS, is_word, parse_conllu, token_fields

# A multiword token (1-2), an empty node (3.1), a comment, a CRLF line and no final newline.
SAMPLE = "\n".join(
    [
        "# sent_id = a",
        "# text = don't go",
        "1-2\tdon't\t_\t_\t_\t_\t_\t_\t_\t_",
        "1\tdo\tdo\tAUX\tVBP\t_\t3\taux\t3:aux\t_",
        "2\tn't\tnot\tPART\tRB\t_\t3\tadvmod\t3:advmod\t_",
        "3\tgo\tgo\tVERB\tVB\t_\t0\troot\t0:root\t_\r",
        "3.1\tgo\tgo\tVERB\tVB\t_\t_\t_\t3:conj\tCopyOf=3",
        "",
        "# sent_id = b",
        "1\tHi\thi\tINTJ\tUH\t_\t0\troot\t0:root\tSpaceAfter=No",
    ]
)


def test_the_words_of_each_sentence_leave_out_ranges_and_empty_nodes():
    document = parse_conllu(SAMPLE, "sample.conllu")
    assert document.column(FORM) == [["do", "n't", "go"], ["Hi"]]
    assert document.column(UPOS) == [["AUX", "PART", "VERB"], ["INTJ"]]


def test_filling_a_column_changes_that_field_of_the_words_only():
    document = parse_conllu(SAMPLE, "sample.conllu")
    text = document.with_column(UPOS, [["X", "Y", "Z"], ["W"]])
    before, after = SAMPLE.split("\n"), text.split("\n")
    changed = [i for i, (old, new) in enumerate(zip(before, after, strict=True)) if old != new]
    assert changed == [3, 4, 5, 9]
    assert after[5] == "3\tgo\tgo\tZ\tVB\t_\t0\troot\t0:root\t_\r"  # the CR stays
    assert document.with_column(UPOS, document.column(UPOS)) == SAMPLE


def test_the_real_test_file_round_trips_byte_for_byte(shared_data):
    path = shared_data / "ud_english_ewt" / "en_ewt-ud-test.conllu"
    text = path.read_text("utf-8")
    document = parse_conllu(text, str(path))
    assert sum(len(sentence) for sentence in document.sentences) == 25094
    assert document.with_column(UPOS, document.column(UPOS)) == text


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([["X", "Y", "Z"]], "1 sentences of values for the 2 sentences of sample.conllu"),
        ([["X", "Y"], ["W"]], "sentence 1 of sample.conllu has 3 words but 2 values"),
        ([["X", "Y\tZ", "Z"], ["W"]], "value 'Y\\\\tZ' for UPOS is not accepted"),
        ([["X", "", "Z"], ["W"]], "value '' for UPOS is not accepted"),
    ],
)
def test_values_that_do_not_fit_the_words_are_refused(values, message):
    with pytest.raises(ValueError, match=message):
        parse_conllu(SAMPLE, "sample.conllu").with_column(UPOS, values)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("1\tHi\t_", "line 7: 3 tab-separated fields, expected 10"),
        ("x\tHi" + "\t_" * 8, "line 7: token ID 'x' is not a number"),
    ],
)
def test_a_malformed_token_line_is_named_with_its_line(line, message):
    with pytest.raises(ValueError, match=message):
        parse_conllu("\n".join([*SAMPLE.split("\n")[:6], line]), "bad.conllu")


def test_a_text_without_a_sentence_is_refused():
    with pytest.raises(ValueError, match="empty.conllu holds no sentence"):
        parse_conllu("# only a comment\n\n", "empty.conllu")


def test_word_ids_are_integers_only():
    fields = token_fields("8.1\tx" + "\t_" * 8, "a.conllu", 1)
    assert not is_word(fields)
    assert is_word(token_fields("8\tx" + "\t_" * 8, "a.conllu", 1))
