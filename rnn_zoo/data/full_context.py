"""The loss on a whole held-out text, each character given the text before it.

``model.evaluate`` on the test split scores non-overlapping chunks of ``seq_length``
characters: the first character of a chunk is predicted from one character of
context, the hundredth from a hundred, so its mean mixes short and long contexts.
nanoGPT reports its character model differently: the mean cross-entropy of every
character of the validation text given the characters before it (up to its block of
256). :func:`full_context_loss` measures the recurrent model the same way, with at
least as much context: the text is cut into a few long streams scored in one batch,
and each stream first reads the ``warmup`` characters before it without scoring
them, so every character but the text's first ``warmup`` sees at least that many
characters of context, and most see far more (all of its stream before it).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from rnn_zoo.validation import check_int

# nanoGPT's character model sees at most its block of 256 characters before a target.
NANOGPT_CONTEXT = 256
_STREAMS = 64


def _streams(ids: np.ndarray, streams: int, warmup: int):
    """Cuts the targets ``ids[1:]`` into ``streams`` spans, each with its context.

    Returns:
        ``inputs`` and ``targets`` ``[streams, length]`` (right-padded with 0) and
        ``scored`` ``[streams, length]``: which positions are scored targets.
    """
    bounds = np.linspace(1, len(ids), streams + 1).astype(int)
    rows = []
    for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
        first = max(start - 1 - warmup, 0)
        rows.append((ids[first : stop - 1], ids[first + 1 : stop], start - 1 - first))
    length = max(len(inputs) for inputs, _, _ in rows)
    inputs = np.zeros((len(rows), length), np.int32)
    targets = np.zeros((len(rows), length), np.int32)
    scored = np.zeros((len(rows), length), bool)
    for row, (row_inputs, row_targets, skipped) in enumerate(rows):
        inputs[row, : len(row_inputs)] = row_inputs
        targets[row, : len(row_targets)] = row_targets
        scored[row, skipped : len(row_targets)] = True
    return inputs, targets, scored


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def full_context_loss(
    model, *, ids, warmup: int = NANOGPT_CONTEXT, streams: int = _STREAMS, batch_size: int = 16
) -> dict[str, float]:
    """Mean cross-entropy (nats) of every character of ``ids`` after the first.

    Args:
        model: A causal character model: ids ``[batch, time]`` → next-character
            logits ``[batch, time, vocab]``.
        ids: The text's character ids, in order (1-D).
        warmup: Characters each stream reads before its first scored one. Defaults
            to 256, nanoGPT's largest context.
        streams: Spans the text is cut into, run side by side. Defaults to 64.
        batch_size: Streams per model call. Defaults to 16.

    Returns:
        ``full_context_loss`` (nats per character), ``full_context_characters``
        (characters scored: ``len(ids) - 1``) and ``full_context_min_context`` (the
        fewest characters of context a character past the text's first ``warmup``
        is given: ``warmup``).

    Raises:
        ValueError: If ``ids`` is not 1-D or holds fewer than ``streams + 1``
            characters, or an argument is out of range.

    Example:
        >>> full_context_loss(model, ids=test_ids)["full_context_loss"]  # doctest: +SKIP
        1.58
    """
    check_int("warmup", warmup, minimum=0)
    check_int("streams", streams)
    check_int("batch_size", batch_size)
    ids = np.asarray(ids)
    if ids.ndim != 1 or len(ids) < streams + 1:
        raise ValueError(
            f"ids of shape {ids.shape} cannot be cut into {streams} streams; expected a "
            f"1-D text of at least {streams + 1} characters"
        )
    inputs, targets, scored = _streams(ids, streams, warmup)
    total = 0.0
    for first in range(0, len(inputs), batch_size):
        rows = slice(first, first + batch_size)
        logits = np.asarray(model.predict_on_batch(inputs[rows]), np.float64)
        log_probabilities = np.take_along_axis(
            _log_softmax(logits), targets[rows][..., None], axis=-1
        )[..., 0]
        total -= float(log_probabilities[scored[rows]].sum())
    return {
        "full_context_loss": total / int(scored.sum()),
        "full_context_characters": int(scored.sum()),
        "full_context_min_context": warmup,
    }


def full_context_report(ids) -> Callable[[Any], dict[str, float]]:
    """The ``DataBundle.test_report`` of a held-out text: its :func:`full_context_loss`.

    Args:
        ids: The held-out text's character ids, in order (1-D).

    Returns:
        ``model -> {name: value}``, cutting the text into at most 64 streams.

    Example:
        >>> report = full_context_report(test_ids)  # doctest: +SKIP
        >>> report(model)["full_context_characters"]  # doctest: +SKIP
        111539
    """
    streams = min(_STREAMS, len(ids) - 1)
    return functools.partial(full_context_loss, ids=ids, streams=streams)
