"""``rnn-zoo tag``: CoNLL-U in and out, checked by the Universal Dependencies' own tools.

``udvalidate`` and ``udeval`` (the CoNLL 2018 shared task scorer) come from the
``udtools`` package of the test extra. The tagged test file is validated at level 2
("UD format": each UPOS one of the 17 tags, IDs, heads and relation labels well
formed). Level 3 and above check UPOS against the gold DEPREL and FEATS columns,
which a tagger's mistakes contradict (a word tagged NOUN whose relation is ``punct``),
so they judge the tagger, not the file.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rnn_zoo.cli import main
from rnn_zoo.data.conllu import FORM, UPOS, parse_conllu
from rnn_zoo.data.ud_treebank import TokenEncoder, predict_tags, read_conllu
from rnn_zoo.models.tagger.tagging import read_tagging_input, tag_file
from rnn_zoo.predict import predict

TOOLS = Path(sys.executable).parent
TEST_WORDS = 25094


def udtool(name: str, *arguments) -> subprocess.CompletedProcess:
    """Runs one of udtools' console scripts from this interpreter's environment."""
    script = TOOLS / name
    assert script.is_file(), f"{script} not found: install the test extra (pip install -e .[test])"
    return subprocess.run([script, *map(str, arguments)], capture_output=True, text=True)


def udeval_upos(gold: Path, system: Path) -> tuple[int, int]:
    """udeval's correct and gold UPOS counts (``--counts``)."""
    scored = udtool("udeval", "--counts", gold, system)
    assert scored.returncode == 0, scored.stderr
    row = re.search(r"^UPOS\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|", scored.stdout, re.MULTILINE)
    return int(row[1]), int(row[2])


@pytest.fixture(scope="session")
def full_test_run(shared_data, tmp_path_factory):
    """A tagger trained for 20 steps on the full treebank: its report covers all test words."""
    from rnn_zoo.training import train

    return train(
        "sequence_tagger",
        epochs=1,
        steps_per_epoch=20,
        data_dir=shared_data,
        model_options={"units": 16},
        output_dir=tmp_path_factory.mktemp("runs"),
        verbose=0,
    )


def test_the_tagged_test_file_validates_and_scores_as_the_report(
    full_test_run, shared_data, tmp_path, capsys
):
    gold = shared_data / "ud_english_ewt" / "en_ewt-ud-test.conllu"
    original = parse_conllu(gold.read_text("utf-8"), str(gold))
    blank = tmp_path / "blank.conllu"
    blank.write_text(
        original.with_column(UPOS, [["_"] * len(s) for s in original.sentences]), "utf-8"
    )
    assert udtool("udvalidate", "--lang", "en", "--level", "2", "-q", blank).returncode != 0

    tagged = tmp_path / "tagged.conllu"
    assert main(["tag", str(full_test_run.run_dir), str(blank), "-o", str(tagged)]) == 0
    assert f"tagged 2077 sentences, {TEST_WORDS} words (conllu input)" in capsys.readouterr().out

    validated = udtool("udvalidate", "--lang", "en", "--level", "2", tagged)
    assert validated.returncode == 0, validated.stderr[-2000:]
    correct, words = udeval_upos(gold, tagged)
    assert words == TEST_WORDS
    assert correct / words == pytest.approx(full_test_run.test_metrics["upos_accuracy"], abs=1e-12)
    assert 0 < correct < words  # a real score, not a copy of the gold column

    written = parse_conllu(tagged.read_text("utf-8"), str(tagged))
    word_lines = {line for sentence in original.sentences for line in sentence}
    for index, (old, new) in enumerate(zip(original.lines, written.lines, strict=True)):
        if index not in word_lines:
            assert new == old
        else:
            old_fields, new_fields = old.split("\t"), new.split("\t")
            assert new_fields[:UPOS] + new_fields[UPOS + 1 :] == (
                old_fields[:UPOS] + old_fields[UPOS + 1 :]
            )


def test_text_of_one_sentence_a_line_gives_valid_conllu_with_predicts_tags(trained_run, tmp_path):
    run_dir = trained_run("sequence_tagger").run_dir
    sentences = ["The cat sat on the mat .", "Zorblat   runs", "Hello"]
    source = tmp_path / "sentences.txt"
    source.write_text("\n".join([sentences[0], "", *sentences[1:]]) + "\n", "utf-8")
    result = tag_file(run_dir, source, tmp_path / "out.conllu")
    assert (result.input_format, result.sentences, result.words) == ("text", 3, 10)
    assert udtool("udvalidate", "--lang", "en", "--level", "1", "-q", result.path).returncode == 0
    written = parse_conllu(result.path.read_text("utf-8"), "out.conllu")
    assert written.column(UPOS) == [p["tags"] for p in predict(run_dir, sentences)]
    assert "# text = Zorblat runs" in written.lines


def test_the_command_tags_a_saved_run_in_a_fresh_process(trained_run, tmp_path):
    # A fresh process imports the families' Keras-free spec modules only: loading the run
    # must import the model's own module, whose custom layers model.keras names.
    source = tmp_path / "in.txt"
    source.write_text("The cat sat on the mat .\n", "utf-8")
    output = tmp_path / "out.conllu"
    run_dir = trained_run("sequence_tagger").run_dir
    command = [sys.executable, "-m", "rnn_zoo.cli", "tag", run_dir, source, "-o", output]
    environment = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    done = subprocess.run(list(map(str, command)), capture_output=True, text=True, env=environment)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "tagged 1 sentences, 7 words (text input)" in done.stdout
    assert len(parse_conllu(output.read_text("utf-8"), "out").column(UPOS)[0]) == 7


def test_the_report_and_the_tag_verb_use_one_tagging(trained_run, shared_data, tmp_path):
    result = trained_run("sequence_tagger")
    metadata = json.loads((result.run_dir / "data.json").read_text())["metadata"]
    dev, _ = read_tagging_input(shared_data / "ud_english_ewt" / "en_ewt-ud-dev.conllu")
    head = tmp_path / "head.conllu"
    head.write_text("\n".join(dev.lines[: dev.sentences[49][-1] + 2]), "utf-8")
    sentences = [s.words for s in read_conllu(head)]
    expected = predict_tags(result.model, TokenEncoder(metadata), sentences)
    tagged = tag_file(result.run_dir, head, tmp_path / "tagged.conllu").path
    assert parse_conllu(tagged.read_text("utf-8"), "tagged").column(UPOS) == expected
    assert len(expected) == 50


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("cut.conllu", "1\tThe\t_\n", "cut.conllu, line 1: 3 tab-separated fields"),
        ("range.conllu", "1-x" + "\t_" * 9 + "\n", "token ID '1-x' is not a number"),
        ("tabs.txt", "The\tcat\n", "tabs.txt, line 1 holds a tab"),
        ("empty.txt", "\n  \n", "empty.txt holds no sentence"),
    ],
)
def test_a_bad_input_is_refused_before_the_run_loads(tmp_path, name, text, message):
    source = tmp_path / name
    source.write_text(text, "utf-8")
    with pytest.raises(ValueError, match=message):
        tag_file(tmp_path / "no run", source, tmp_path / "out.conllu")  # the run is never read
    assert sorted(path.name for path in tmp_path.iterdir()) == [name]


def test_a_failed_tagging_leaves_the_output_as_it_was(trained_run, tmp_path, capsys):
    source = tmp_path / "in.txt"
    source.write_text("Hello there\n", "utf-8")
    output = tmp_path / "out.conllu"
    output.write_text("old", "utf-8")
    assert main(["tag", str(tmp_path / "missing"), str(source), "-o", str(output)]) == 1
    assert main(["tag", str(trained_run("lstm").run_dir), str(source), "-o", str(output)]) == 2
    assert "model 'lstm' has no 'tag'; models with 'tag': " in capsys.readouterr().err
    assert output.read_text("utf-8") == "old"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in.txt", "out.conllu"]
    assert main(["tag", "x", str(source), "-o", str(tmp_path / "absent" / "o.conllu")]) == 2


def test_text_lines_end_at_newlines_only(tmp_path):
    # A form feed inside a line is a space between words, not a line break; CRLF is one.
    source = tmp_path / "pages.txt"
    source.write_bytes(b"page one\x0cpage two\r\nthird line\r\n")
    document, input_format = read_tagging_input(source)
    assert input_format == "text"
    assert document.column(FORM) == [["page", "one", "page", "two"], ["third", "line"]]
    assert "# sent_id = 2" in document.lines
