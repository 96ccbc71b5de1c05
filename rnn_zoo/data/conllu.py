r"""CoNLL-U documents kept line for line, so that one column can be filled and written back.

CoNLL-U (https://universaldependencies.org/format.html) is one token a line with ten
tab-separated fields, sentences separated by blank lines, ``#`` comment lines before
each sentence. Three kinds of token lines share the format: syntactic words (ID
``1``, ``2``, ...), multiword-token ranges (ID ``1-2``: "don't" above "do" and
"n't") and empty nodes (ID ``8.1``). A tagger tags the syntactic words.

:func:`parse_conllu` keeps every line of a file as it came (comments, ranges, empty
nodes, each field, and a ``\r`` before the newline) and records which lines are the
words of each sentence; :meth:`ConlluDocument.with_column` changes one field of those
lines only and joins the lines back, so every other byte of the file stays the same.
The treebank loader (:mod:`rnn_zoo.data.ud_treebank`) reads its files through the same
parser.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

FIELDS = 10
FORM = 1
UPOS = 3
COLUMN_NAMES = ("ID", "FORM", "LEMMA", "UPOS", "XPOS", "FEATS", "HEAD", "DEPREL", "DEPS", "MISC")

_TOKEN_ID = re.compile(r"[1-9][0-9]*(-[1-9][0-9]*)?|(0|[1-9][0-9]*)\.[1-9][0-9]*")
_FORBIDDEN_IN_FIELD = re.compile(r"[\t\n\r]")


def token_fields(line: str, source: str, number: int) -> list[str]:
    r"""Splits one token line into its ten fields, checking the count and the ID.

    Args:
        line: The line, without its newline.
        source: The file, as errors name it.
        number: The line's number (1-based), as errors name it.

    Returns:
        The ten fields.

    Raises:
        ValueError: If the line has another number of tab-separated fields, or an ID
            that is not a word index, a multiword-token range or an empty node.

    Example:
        >>> token_fields("1\tHi\thi\tINTJ\tUH\t_\t0\troot\t0:root\t_", "a.conllu", 1)[3]
        'INTJ'
    """
    fields = line.split("\t")
    if len(fields) != FIELDS:
        raise ValueError(
            f"{source}, line {number}: {len(fields)} tab-separated fields, expected {FIELDS}; "
            "the file is cut short or is not CoNLL-U"
        )
    if not _TOKEN_ID.fullmatch(fields[0]):
        raise ValueError(
            f"{source}, line {number}: token ID {fields[0]!r} is not a number; expected a word "
            "index (1, 2, ...), a multiword-token range (1-2) or an empty node (8.1)"
        )
    return fields


def _split(line: str) -> tuple[list[str], str]:
    r"""A kept line's fields, and the ``\r`` it ended with (or ``""``)."""
    body = line.rstrip("\r")
    return body.split("\t"), line[len(body) :]


def is_word(fields: Sequence[str]) -> bool:
    """Whether a token line is a syntactic word (not a multiword-token range or empty node).

    Args:
        fields: The line's fields (see :func:`token_fields`).

    Returns:
        True for an integer ID.

    Example:
        >>> is_word(["1-2", "don't"] + ["_"] * 8), is_word(["3", "do"] + ["_"] * 8)
        (False, True)
    """
    return fields[0].isdigit()


@dataclasses.dataclass(frozen=True)
class ConlluDocument:
    r"""A CoNLL-U file as its lines, with the word lines of each sentence.

    Attributes:
        source: Where the text came from, as errors name it.
        lines: Every line, without its ``\n`` (a ``\r`` before it is kept); the text
            is ``"\n".join(lines)``.
        sentences: For each sentence, in file order, the indices in ``lines`` of its
            syntactic words (multiword-token ranges and empty nodes left out).
    """

    source: str
    lines: tuple[str, ...]
    sentences: tuple[tuple[int, ...], ...]

    def column(self, index: int) -> list[list[str]]:
        """One field of every word, sentence by sentence.

        Args:
            index: The field's index, 0 to 9 (:data:`FORM` is 1, :data:`UPOS` 3).

        Returns:
            One list of values per sentence.

        Example:
            >>> parse_conllu(text, "a.conllu").column(FORM)  # doctest: +SKIP
            [['The', 'cat', 'sat', '.']]
        """
        return [
            [_split(self.lines[line])[0][index] for line in sentence] for sentence in self.sentences
        ]

    def with_column(self, index: int, values: Sequence[Sequence[str]]) -> str:
        """The document's text with one field of every word replaced.

        Only that field of the syntactic words changes; comments, multiword-token
        ranges, empty nodes, blank lines and every other field stay as they came.

        Args:
            index: The field's index, 0 to 9 (e.g. :data:`UPOS`).
            values: One list per sentence, one value per word, as :attr:`sentences`.

        Returns:
            The CoNLL-U text.

        Raises:
            ValueError: If the sentence or word counts differ from the document's, or
                a value is empty or holds a tab or a line break.

        Example:
            >>> document.with_column(UPOS, [["DET", "NOUN", "VERB", "PUNCT"]])
            ... # doctest: +SKIP
        """
        if not 0 <= index < FIELDS:
            raise ValueError(f"index={index} is not a CoNLL-U column; expected 0 to {FIELDS - 1}")
        if len(values) != len(self.sentences):
            raise ValueError(
                f"{len(values)} sentences of values for the {len(self.sentences)} sentences "
                f"of {self.source}; expected one list per sentence"
            )
        lines = list(self.lines)
        for number, (sentence, row) in enumerate(zip(self.sentences, values, strict=True), 1):
            if len(row) != len(sentence):
                raise ValueError(
                    f"sentence {number} of {self.source} has {len(sentence)} words but "
                    f"{len(row)} values were given; expected one per word"
                )
            for line, value in zip(sentence, row, strict=True):
                if not value or _FORBIDDEN_IN_FIELD.search(value):
                    raise ValueError(
                        f"value {value!r} for {COLUMN_NAMES[index]} is not accepted; expected "
                        "a non-empty field without tabs or line breaks"
                    )
                fields, ending = _split(lines[line])
                fields[index] = value
                lines[line] = "\t".join(fields) + ending
        return "\n".join(lines)


def parse_conllu(text: str, source: str) -> ConlluDocument:
    r"""Parses CoNLL-U text, keeping every line.

    Args:
        text: The file's text (a byte-order mark already dropped).
        source: The file, as errors name it.

    Returns:
        The :class:`ConlluDocument`.

    Raises:
        ValueError: If a token line is not ten tab-separated fields or has a bad ID,
            or the text holds no sentence; the message names the source and line.

    Example:
        >>> parse_conllu("1\tHi\t_\t_\t_\t_\t_\t_\t_\t_\n\n", "a.conllu").sentences
        ((0,),)
    """
    lines = tuple(text.split("\n"))
    sentences: list[tuple[int, ...]] = []
    words: list[int] = []
    tokens = 0
    for index, line in enumerate([*lines, ""]):
        if not line.strip():
            if tokens:
                sentences.append(tuple(words))
            words, tokens = [], 0
        elif not line.startswith("#"):
            tokens += 1
            if is_word(token_fields(line.rstrip("\r"), source, index + 1)):
                words.append(index)
    if not sentences:
        raise ValueError(f"{source} holds no sentence; expected a CoNLL-U file")
    return ConlluDocument(source=source, lines=lines, sentences=tuple(sentences))
