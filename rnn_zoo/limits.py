"""The caps on every size a user controls, in one place, each with the reason for its number.

A request above a cap is refused with a message naming the value and the cap before
anything is allocated: a huge ``--length`` or ``--num-streams`` no longer aborts the
process (``std::bad_alloc``) or runs for hours, and a small ``model.keras`` whose
directory promises gigabytes is refused before Keras unzips it. The checks that use the
numeric caps live in :mod:`rnn_zoo.validation` (``check_int(..., maximum=CAP)``);
:func:`check_keras_archive` is here because it reads a file.

This module imports only the standard library, so the exported ``generate`` signature,
the CLI and the loaders can all read the same numbers cheaply.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

# Integers that reach an int32 tensor (num_chars, seed, top_k, epochs, batch_size,
# steps_per_epoch, an export version) must fit in one: TensorFlow wraps a larger Python
# int to a negative number, or fails deep inside a graph. ``check_int`` uses it as its
# default maximum.
INT32_MAX = 2**31 - 1

# Floats that reach a float32 tensor (temperature, learning rate): a larger finite
# Python float becomes inf there. The largest finite float32.
FLOAT32_MAX = 3.4028234663852886e38

# Seeds: Python, NumPy, TF and the stateless sampler all take any int in [0, 2**31 - 1];
# NumPy refuses 2**32 and above and the sampler's int32 seed wraps, so a larger seed
# silently gave another seed's text.
MAX_SEED = INT32_MAX

# Characters one generate call adds to each prompt. Each costs one recurrent step
# (0.1 ms on one CPU core for the default model, 3-4 ms for a batch of 64), so 100,000
# is about ten seconds for one stream: a long chapter, far beyond what a character model
# keeps coherent. 10,000,000 ran for hours and 2,000,000,000 aborted allocating the
# int64 [num_chars, batch] buffer. The exported ``generate`` signature asserts the same
# cap in-graph.
MAX_GENERATED_CHARS = 100_000

# Characters in one prompt. The prompt runs through the cells one step per character,
# exactly like generated text, so it gets the same cap.
MAX_PROMPT_CHARS = MAX_GENERATED_CHARS

# Rows of one generate batch: prompts, or streams of one prompt. Each row carries its own
# recurrent state and logits and widens every step's matrix products: 64 rows cost 3-4 ms
# a step on a CPU for the default model, so 1024 rows are some 50 ms a step. More streams
# than that are better drawn in several calls.
MAX_STREAMS = 1024

# Characters stepped in one generate call: rows x (longest prompt + num_chars). The
# prompts are padded to a dense [rows, longest] int64 tensor and the continuation is
# collected as int64 ids, then gathered as strings (about 40 bytes per character in all),
# so 1,000,000 bounds the call to about 40 MB and about a minute on a CPU: 1024 streams
# of 976 characters, or 10 streams of 100,000.
MAX_BATCH_CHARS = 1_000_000

# Raw inputs of one ``predict`` call: they run as one batch through the serving graph.
# 10,000 reviews of 600 tokens are 48 MB of int64 ids, about as much as the largest
# batches the zoo trains on; more inputs are better predicted in several calls.
MAX_PREDICT_INPUTS = 10_000

# A file ``rnn-zoo tag`` reads (CoNLL-U, or text of one sentence a line). It is read
# whole and kept as its lines (about five times its size in Python strings) while the
# tagger runs over it in batches; UD English EWT's train file is 14 MB, and 64 MiB holds
# all but the very largest treebank files. Tag a larger file in parts.
MAX_TAG_FILE_BYTES = 64 * 2**20

# A ``model.keras`` file, uncompressed (the sum of its members' sizes as its zip
# directory states them; Python's zipfile never inflates a member past its stated size,
# it fails the CRC check instead). Keras reads the weights into memory. The zoo's largest
# model saves 19 MB of weights (64 MB with Adam's slots); 1 GiB is fifteen times that,
# and still fits in a laptop's memory.
MAX_KERAS_ARCHIVE_BYTES = 2**30

# One JSON member of a ``model.keras`` (config.json, metadata.json), uncompressed. Keras
# parses it whole into Python objects, several times its size. The zoo's configs are at
# most 16 KB; 16 MiB leaves room for a config that embeds a vocabulary of 100,000 words.
MAX_KERAS_CONFIG_BYTES = 2**24

# Members of a ``model.keras``. Keras writes three (config.json, metadata.json,
# model.weights.h5) plus any assets; reading a directory of millions of entries alone
# takes gigabytes, so the count is read from the end record before the directory.
MAX_KERAS_ARCHIVE_MEMBERS = 1000

_JSON_SUFFIX = ".json"


def _size(count: int) -> str:
    """A byte count written exactly, with its size in KiB, MiB or GiB beside it."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if count >= scale:
            return f"{count:,} bytes ({count / scale:.1f} {unit})"
    return f"{count:,} bytes"


def check_keras_archive(path: str | os.PathLike, *, error: type[Exception] = ValueError) -> None:
    """Refuses a ``.keras`` archive whose zip directory exceeds the caps, without unzipping.

    Reads the zip's end record (member count) and then its central directory
    (uncompressed sizes); no member is decompressed. Call it before
    ``keras.saving.load_model``.

    Args:
        path: The ``.keras`` file.
        error: The exception class to raise (e.g. ``RunIntegrityError`` in
            :func:`rnn_zoo.runs.load_run`). Defaults to ``ValueError``.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        Exception: ``error``, naming the file and the cap, if the file is not a zip
            archive, holds more than ``MAX_KERAS_ARCHIVE_MEMBERS`` members, a JSON
            member over ``MAX_KERAS_CONFIG_BYTES`` or more than
            ``MAX_KERAS_ARCHIVE_BYTES`` in all.

    Example:
        >>> check_keras_archive("saved_models/lstm/latest/model.keras")  # doctest: +SKIP
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; expected a .keras model archive")
    accepted = (
        f"a .keras archive of at most {MAX_KERAS_ARCHIVE_MEMBERS} members, "
        f"{_size(MAX_KERAS_ARCHIVE_BYTES)} uncompressed and "
        f"{_size(MAX_KERAS_CONFIG_BYTES)} per JSON member"
    )
    with path.open("rb") as file:
        # The end record states the member count before zipfile builds one object per
        # member (a private helper, in CPython's zipfile since Python 2).
        try:
            end_record = zipfile._EndRecData(file)
        except OSError:  # shorter than an end record
            end_record = None
        if end_record is None:
            raise error(f"{path} is not a zip archive; expected {accepted}")
        members = end_record[zipfile._ECD_ENTRIES_TOTAL]
        if members > MAX_KERAS_ARCHIVE_MEMBERS:
            raise error(f"{path} holds {members} members; expected {accepted}")
        try:
            infos = zipfile.ZipFile(file).infolist()
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as bad:
            raise error(
                f"{path} is not a readable zip archive ({bad}); expected {accepted}"
            ) from bad
    if len(infos) > MAX_KERAS_ARCHIVE_MEMBERS:
        raise error(f"{path} holds {len(infos)} members; expected {accepted}")
    for info in infos:
        if info.filename.endswith(_JSON_SUFFIX) and info.file_size > MAX_KERAS_CONFIG_BYTES:
            raise error(
                f"{path}: member {info.filename!r} unzips to {_size(info.file_size)}; "
                f"expected {accepted}"
            )
    total = sum(info.file_size for info in infos)
    if total > MAX_KERAS_ARCHIVE_BYTES:
        raise error(f"{path} unzips to {_size(total)}; expected {accepted}")
