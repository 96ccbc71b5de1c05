"""Tagging files with a trained tagger: CoNLL-U in and out, or text of one sentence a line.

``rnn-zoo tag RUN_DIR INPUT --output OUTPUT`` (the tagger's ``tag`` verb) writes
CoNLL-U:

- a ``.conllu`` input comes back with the UPOS column (4) of every syntactic word
  filled from the model; every other column, each comment, multiword-token line,
  empty node and blank line stays as it came, byte for byte (a UTF-8 byte-order mark
  is dropped). The words are the FORM column as it is, spaces inside a form included.
- any other input is text, one sentence a line, words separated by whitespace (blank
  lines skipped). Each sentence becomes a CoNLL-U sentence with ``# sent_id`` and
  ``# text`` comments and ID, FORM and UPOS filled, the other columns ``_``: valid
  CoNLL-U (``udvalidate --level 1``), without syntax.

Everything the input can get wrong (not a file, too large, not UTF-8, a malformed
CoNLL-U line, a text line with a tab) is refused before the run is loaded, and the
output is written beside its target and renamed over it, so no half-written file is
ever seen. The tags come from :func:`rnn_zoo.data.ud_treebank.predict_tags`, the
function the training's test report scores, so the UPOS accuracy ``udeval`` gives the
written file is the report's.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from rnn_zoo.data.conllu import FORM, UPOS, ConlluDocument, parse_conllu
from rnn_zoo.data.raw_inputs import read_input_text
from rnn_zoo.files import write_text_atomically
from rnn_zoo.limits import MAX_TAG_FILE_BYTES
from rnn_zoo.validation import check_int

CONLLU_SUFFIX = ".conllu"
_EXPECTED = (
    "a UTF-8 CoNLL-U file named *.conllu, or UTF-8 text of one sentence a line "
    f"(at most {MAX_TAG_FILE_BYTES:,} bytes, MAX_TAG_FILE_BYTES)"
)


@dataclasses.dataclass(frozen=True)
class TaggedFile:
    """What :func:`tag_file` wrote.

    Attributes:
        path: The CoNLL-U file written.
        input_format: ``"conllu"`` or ``"text"``.
        sentences: Sentences in the file.
        words: Syntactic words tagged.
    """

    path: Path
    input_format: str
    sentences: int
    words: int


def _text_document(text: str, source: str) -> ConlluDocument:
    """CoNLL-U for text of one sentence a line, UPOS still ``_``."""
    lines = []
    # Lines end at "\n" only: str.splitlines would also split at form feeds, U+2028...
    for number, line in enumerate((line.removesuffix("\r") for line in text.split("\n")), 1):
        if "\t" in line:
            raise ValueError(
                f"{source}, line {number} holds a tab; expected text of one sentence a line, "
                f"words separated by spaces (a CoNLL-U file must be named *{CONLLU_SUFFIX})"
            )
        words = line.split()
        if not words:
            continue
        lines += [f"# sent_id = {number}", f"# text = {' '.join(words)}"]
        lines += [f"{index}\t{word}\t_\t_\t_\t_\t_\t_\t_\t_" for index, word in enumerate(words, 1)]
        lines.append("")
    if not lines:
        raise ValueError(f"{source} holds no sentence; expected {_EXPECTED}")
    return parse_conllu("\n".join([*lines, ""]), source)


def read_tagging_input(path: str | os.PathLike) -> tuple[ConlluDocument, str]:
    """Reads a file to tag, CoNLL-U or text, and checks it through.

    Args:
        path: A ``.conllu`` file, or a text file of one sentence a line.

    Returns:
        ``(document, input_format)``: the file as CoNLL-U, and ``"conllu"`` or ``"text"``.

    Raises:
        ValueError: If the file is missing, larger than
            :data:`rnn_zoo.limits.MAX_TAG_FILE_BYTES`, not UTF-8, holds no sentence,
            a malformed CoNLL-U line, or (text) a tab; the message names the file and line.

    Example:
        >>> document, kind = read_tagging_input("sentences.txt")  # doctest: +SKIP
        >>> kind, len(document.sentences)  # doctest: +SKIP
        ('text', 3)
    """
    name = os.fspath(path)
    text = read_input_text(
        name, expected=_EXPECTED, max_bytes=MAX_TAG_FILE_BYTES, cap_name="MAX_TAG_FILE_BYTES"
    )
    if Path(name).suffix.lower() == CONLLU_SUFFIX:
        return parse_conllu(text, name), "conllu"
    return _text_document(text, name), "text"


def _check_output(output: str | os.PathLike) -> Path:
    output = Path(output)
    if output.is_dir():
        raise ValueError(f"output={os.fspath(output)!r} is a directory; expected a file path")
    if not output.parent.is_dir():
        raise ValueError(
            f"output={os.fspath(output)!r}: its folder {os.fspath(output.parent)!r} does not "
            "exist; expected a file path in an existing folder"
        )
    if not os.access(output.parent, os.W_OK):
        raise ValueError(
            f"output={os.fspath(output)!r}: its folder {os.fspath(output.parent)!r} is not "
            "writable; expected a file path in a folder you can write to"
        )
    return output


def _check_tagger_run(run_dir: str | os.PathLike) -> None:
    """Refuses, from its ``run.json`` alone, a run whose family has no ``tag`` verb."""
    from rnn_zoo.registry import get_spec
    from rnn_zoo.runs import read_config

    get_spec(read_config(run_dir)["model"]).get_verb("tag")


def tag_file(
    run_dir: str | os.PathLike,
    input_path: str | os.PathLike,
    output: str | os.PathLike,
    *,
    batch_size: int = 32,
    safe_mode: bool = True,
) -> TaggedFile:
    """Tags a CoNLL-U or text file with a trained tagger and writes CoNLL-U.

    See the module docstring for the formats.

    Args:
        run_dir: A run directory of a tagger.
        input_path: A ``.conllu`` file, or text of one sentence a line.
        output: The CoNLL-U file to write (its folder must exist); it may be the input.
        batch_size: Sentences per model call. Defaults to 32, as the training's test
            report, so both tag a file alike.
        safe_mode: Keras safe mode when loading the run's model.

    Returns:
        A :class:`TaggedFile`.

    Raises:
        ValueError: If the input is refused (see :func:`read_tagging_input`), the
            output's folder does not exist, ``batch_size`` is out of range, or the run
            is not a tagger's (its family has no ``tag`` verb); all before the run loads.
        FileNotFoundError: If ``run_dir`` is not a finished run.

    Example:
        >>> tag_file("saved_models/sequence_tagger/latest", "test.conllu", "tagged.conllu")
        ... # doctest: +SKIP
        TaggedFile(path=PosixPath('tagged.conllu'), input_format='conllu', ...)
    """
    from rnn_zoo.data.ud_treebank import TokenEncoder, predict_tags
    from rnn_zoo.runs import load_run

    check_int("batch_size", batch_size)
    output = _check_output(output)
    document, input_format = read_tagging_input(input_path)
    _check_tagger_run(run_dir)
    run = load_run(run_dir, safe_mode=safe_mode)
    forms = document.column(FORM)
    tags = predict_tags(run.model, TokenEncoder(run.metadata), forms, batch_size=batch_size)
    write_text_atomically(output, document.with_column(UPOS, tags))
    return TaggedFile(
        path=output,
        input_format=input_format,
        sentences=len(document.sentences),
        words=sum(len(sentence) for sentence in forms),
    )
