"""Splitting and pipeline helpers shared by the sequence loaders.

Every loader splits its data by position (the earliest part trains, later parts
validate and test, so nothing from the future leaks into training), may keep only a
leading ``fraction`` of each split for quick runs, and finishes each split the same
way: cached, shuffled with a seed (train only), batched and prefetched.

Every loader also refuses splits too small to mean anything (:func:`check_split_counts`:
at least :data:`MIN_EXAMPLES` examples in each split, whatever an example is for that
dataset), and says at load time how many lines or examples it dropped or filled in
(:func:`report_dropped`, through the ``rnn_zoo`` logger, which the command line prints
as ``rnn-zoo: ...``).
"""

from __future__ import annotations

import logging
import math
import numbers
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from rnn_zoo.validation import check_float

SPLITS = ("train", "validation", "test")
MIN_EXAMPLES = {"train": 16, "validation": 2, "test": 2}
"""The fewest examples (images, reviews, windows, sequences, pairs, sentences) each split
must hold: fewer cannot train a model or measure one (a test accuracy of 1.0 on one
image says nothing). :func:`check_split_counts` enforces it in every loader."""

logger = logging.getLogger("rnn_zoo.data")


def check_data_fraction(fraction: Any) -> float:
    """Checks a loader's ``fraction`` argument: a number in ``(0, 1]``.

    Args:
        fraction: The share of each split to keep.

    Returns:
        The fraction as a float.

    Raises:
        TypeError: If ``fraction`` is not a number.
        ValueError: If ``fraction`` is not in ``(0, 1]``.

    Example:
        >>> check_data_fraction(0.25)
        0.25
    """
    return check_float("fraction", fraction, minimum=0.0, maximum=1.0, include_minimum=False)


def check_split(name: str, value: Any, *, parts: int = 3) -> tuple[float, ...]:
    """Checks split fractions: ``parts`` positive numbers that sum to 1.

    Args:
        name: The argument's name, used in the error message.
        value: A tuple or list of fractions, e.g. ``(0.7, 0.2, 0.1)``.
        parts: How many fractions are required.

    Returns:
        The fractions as a tuple of floats.

    Raises:
        TypeError: If ``value`` is not a tuple or list of numbers.
        ValueError: If it has the wrong length, a fraction is not positive, or they do
            not sum to 1.

    Example:
        >>> check_split("split", [0.7, 0.2, 0.1])
        (0.7, 0.2, 0.1)
    """
    expected = f"a tuple of {parts} positive fractions that sum to 1, e.g. (0.7, 0.2, 0.1)"
    if not isinstance(value, (tuple, list)) or not all(
        isinstance(part, numbers.Real) and not isinstance(part, bool) for part in value
    ):
        raise TypeError(f"{name}={value!r} is not accepted; expected {expected}")
    fractions = tuple(float(part) for part in value)
    if len(fractions) != parts:
        raise ValueError(f"{name}={value!r} has {len(fractions)} parts; expected {expected}")
    if not all(part > 0 for part in fractions) or not math.isclose(
        sum(fractions), 1.0, abs_tol=1e-6
    ):
        raise ValueError(f"{name}={value!r} is not accepted; expected {expected}")
    return fractions


def split_bounds(length: int, fractions: Sequence[float]) -> list[tuple[int, int]]:
    """Cuts ``range(length)`` into consecutive ``[start, stop)`` pieces by fractions.

    Args:
        length: The number of positions (characters, rows, ...).
        fractions: The share of each piece, in order; they sum to 1.

    Returns:
        One ``(start, stop)`` pair per fraction; the pieces touch and cover every
        position exactly once.

    Example:
        >>> split_bounds(10, (0.7, 0.2, 0.1))
        [(0, 7), (7, 9), (9, 10)]
    """
    stops = [round(length * math.fsum(fractions[: i + 1])) for i in range(len(fractions))]
    stops[-1] = length
    starts = [0, *stops[:-1]]
    return list(zip(starts, stops, strict=True))


def split_sizes(bounds: Sequence[tuple[int, int]]) -> dict[str, int]:
    """Names the sizes of train, validation and test pieces from :func:`split_bounds`.

    Args:
        bounds: Three ``(start, stop)`` pairs, in :data:`SPLITS` order.

    Returns:
        Split name → number of positions.

    Example:
        >>> split_sizes([(0, 7), (7, 9), (9, 10)])
        {'train': 7, 'validation': 2, 'test': 1}
    """
    return {split: stop - start for split, (start, stop) in zip(SPLITS, bounds, strict=True)}


def check_split_lengths(
    file: os.PathLike,
    bounds: list[tuple[int, int]],
    input_width: int,
    ahead: int,
    *,
    ahead_name: str = "horizon",
) -> None:
    """Refuses a split too short for one window and the hours after it.

    Args:
        file: The series' file, for the message.
        bounds: Each split's ``(start, stop)`` rows, in order.
        input_width: Rows per window.
        ahead: Rows after the window that a target needs (the horizon, or the
            horizons of a multi-horizon forecast).
        ahead_name: The argument ``ahead`` came from, for the message.

    Raises:
        ValueError: Naming each split's rows and the rows one window needs.

    Example:
        >>> check_split_lengths("series.csv", [(0, 100), (100, 110), (110, 120)], 24, 6)
        Traceback (most recent call last):
        ValueError: series.csv has 120 rows, split into train 100, validation 10, ...
    """
    rows, sizes, needed = bounds[-1][1], split_sizes(bounds), input_width + ahead
    if min(sizes.values()) < needed:
        listed = ", ".join(f"{split} {size}" for split, size in sizes.items())
        raise ValueError(
            f"{os.fspath(file)} has {rows} rows, split into {listed}; {ahead_name}={ahead} "
            f"with input_width={input_width} needs at least {input_width} + {ahead} = "
            f"{needed} rows in each split (use a smaller {ahead_name}, a smaller window, a "
            "longer series or other split fractions)"
        )


def leading_count(count: int, fraction: float) -> int:
    """How many leading items a ``fraction`` keeps: ``ceil(count * fraction)``.

    Any fraction above 0 keeps at least one item of a non-empty split.

    Args:
        count: The number of items in the split.
        fraction: The share to keep, in ``(0, 1]``.

    Returns:
        The number of items kept.

    Example:
        >>> leading_count(1000, 0.01)
        10
    """
    return min(count, math.ceil(count * fraction))


def finish_pipeline(
    dataset: tf.data.Dataset,
    *,
    batch_size: int,
    shuffle_buffer: int = 0,
    seed: int = 0,
    drop_remainder: bool = False,
    cache: bool = False,
) -> tf.data.Dataset:
    """Caches, shuffles, batches and prefetches a dataset of single examples.

    Args:
        dataset: Unbatched ``(inputs, targets)`` examples.
        batch_size: Examples per batch.
        shuffle_buffer: Shuffle buffer size; 0 leaves the order alone (validation and
            test). Pass the number of examples for a full shuffle, reshuffled each epoch.
        seed: The shuffle seed.
        drop_remainder: Whether to drop a last, smaller batch.
        cache: Whether to cache the examples in memory after their first pass.

    Returns:
        The batched, prefetched dataset.

    Example:
        >>> examples = tf.data.Dataset.from_tensor_slices((tf.range(10), tf.range(10)))
        >>> train = finish_pipeline(examples, batch_size=4, shuffle_buffer=10, seed=0)
    """
    if cache:
        dataset = dataset.cache()
    if shuffle_buffer:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    return dataset.prefetch(tf.data.AUTOTUNE)


def batch_by_length(
    dataset: tf.data.Dataset,
    *,
    batch_size: int,
    length_of: Callable[..., tf.Tensor],
    widths: Sequence[int],
) -> tf.data.Dataset:
    """Batches variable-length examples with others of similar length, right-padded.

    Each example goes to the bucket of the smallest width that holds it
    (``bucket_by_sequence_length``); a batch holds ``batch_size`` examples of one
    bucket, padded with 0 at the end to that width. Short sequences are not padded to
    the longest of the data, and batches come in a few fixed widths, so a compiled
    training step is traced once per width rather than once per batch. A bucket's
    last, smaller batch is kept.

    Args:
        dataset: Unbatched examples whose components have a leading time axis.
        batch_size: Examples per batch.
        length_of: Maps an example's components to its length (a scalar int tensor).
        widths: Increasing padded lengths; the last must hold the longest example.

    Returns:
        The batched dataset.

    Example:
        >>> rows = tf.data.Dataset.from_tensor_slices(tf.ragged.constant([[1], [1, 2, 3]]))
        >>> batches = batch_by_length(rows, batch_size=2, length_of=lambda x: tf.shape(x)[0],
        ...                           widths=(2, 4))
    """
    widths = sorted(set(widths))
    return dataset.bucket_by_sequence_length(
        lambda *example: tf.cast(length_of(*example), tf.int32),
        bucket_boundaries=[width + 1 for width in widths],
        bucket_batch_sizes=[batch_size] * (len(widths) + 1),
        pad_to_bucket_boundary=True,
    )


def with_known_cardinality(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """The dataset, its number of elements stated where TF cannot infer it.

    TF cannot tell how many batches ``bucket_by_sequence_length`` or a ``filter``
    yields; Keras then learns an epoch's length only when the first epoch's data runs
    out, shows no total for it and warns "Your input ran out of data; interrupting
    training", though nothing was cut. One pass counts the elements (it also fills a
    ``cache`` in the pipeline) and ``assert_cardinality`` states them.

    Args:
        dataset: A finite dataset that yields the same number of elements each pass.

    Returns:
        ``dataset`` itself when TF knows its cardinality (or that it is endless),
        else the dataset with its counted cardinality asserted.

    Example:
        >>> evens = tf.data.Dataset.range(10).filter(lambda x: x % 2 == 0)
        >>> int(with_known_cardinality(evens).cardinality())
        5
    """
    if int(dataset.cardinality()) != tf.data.UNKNOWN_CARDINALITY:
        return dataset
    count = sum(1 for _ in dataset)
    return dataset.apply(tf.data.experimental.assert_cardinality(count))


def count_batches(dataset: tf.data.Dataset) -> int:
    """The number of elements (batches) one pass over a finite dataset yields.

    Args:
        dataset: A finite dataset that yields the same number of elements each pass.

    Returns:
        Its cardinality: TF's where TF knows it, else counted in one pass
        (:func:`with_known_cardinality`).

    Raises:
        ValueError: If the dataset is endless (``repeat()`` without a count), which
            has no number of batches: give the loop ``steps_per_epoch`` instead.

    Example:
        >>> count_batches(tf.data.Dataset.range(10).batch(4))
        3
    """
    if int(dataset.cardinality()) == tf.data.INFINITE_CARDINALITY:
        raise ValueError(
            "cannot count the batches of an endless dataset (one that repeats without a "
            "count); accepted: a finite dataset, or give steps_per_epoch for an endless one"
        )
    return int(with_known_cardinality(dataset).cardinality())


Arrays = tuple[np.ndarray, np.ndarray]


def carve_validation(
    inputs: np.ndarray, labels: np.ndarray, count: int, seed: int
) -> tuple[Arrays, Arrays]:
    """Splits ``count`` examples off a training set by a seeded permutation.

    Both parts keep the original order of their examples, so the same ``seed``
    always gives the same split.

    Args:
        inputs: The training inputs, first axis the examples.
        labels: The training labels, as many as ``inputs``.
        count: How many examples go to validation, in ``[1, len(labels) - 1]``.
        seed: Seed of the permutation.

    Returns:
        ``((train_inputs, train_labels), (validation_inputs, validation_labels))``.

    Example:
        >>> train, validation = carve_validation(np.arange(10), np.arange(10), 2, seed=0)
        >>> len(train[0]), len(validation[0])
        (8, 2)
    """
    order = np.random.default_rng(seed).permutation(len(labels))
    held = np.sort(order[:count])
    kept = np.sort(order[count:])
    return (inputs[kept], labels[kept]), (inputs[held], labels[held])


def keep_leading(splits: dict[str, Arrays], fraction: float) -> dict[str, Arrays]:
    """Keeps the leading ``fraction`` of each split's arrays.

    Args:
        splits: ``{split: (inputs, labels)}``.
        fraction: The share to keep, in ``(0, 1]`` (at least one example).

    Returns:
        The same splits, cut to their first ``ceil(count * fraction)`` examples.

    Example:
        >>> keep_leading({"train": (np.arange(10), np.arange(10))}, 0.25)["train"][1]
        array([0, 1, 2])
    """
    return {
        split: tuple(array[: leading_count(len(array), fraction)] for array in pair)
        for split, pair in splits.items()
    }


def check_split_counts(
    counts: Mapping[str, int],
    *,
    source: str,
    unit: str = "examples",
    fraction: float = 1.0,
    advice: str = "use more data or a larger fraction",
) -> dict[str, int]:
    """Refuses splits that hold fewer examples than :data:`MIN_EXAMPLES`.

    Args:
        counts: How many examples each of ``train``, ``validation`` and ``test`` holds,
            after ``fraction``.
        source: What the examples come from (a file, a folder, a dataset name), named
            in the message.
        unit: What an example is, e.g. ``"windows"`` or ``"sentences"``.
        fraction: The loader's ``fraction``; named in the message when below 1.
        advice: What the user can change, ending the message.

    Returns:
        The counts, as a plain dict in :data:`SPLITS` order.

    Raises:
        ValueError: If a split holds fewer examples than its minimum; the message lists
            every split's count and every minimum.

    Example:
        >>> check_split_counts({"train": 100, "validation": 10, "test": 10}, source="x.csv")
        {'train': 100, 'validation': 10, 'test': 10}
    """
    counts = {split: int(counts[split]) for split in SPLITS}
    if all(counts[split] >= MIN_EXAMPLES[split] for split in SPLITS):
        return counts
    held = ", ".join(f"{split} {count}" for split, count in counts.items())
    needed = ", ".join(f"{split} {MIN_EXAMPLES[split]}" for split in SPLITS)
    kept = f" with fraction={fraction!r}" if fraction < 1 else ""
    raise ValueError(
        f"{source}{kept} gives {held} {unit}: too few to train and evaluate on; each split "
        f"needs at least {needed} {unit} ({advice})"
    )


def report_dropped(
    source: str,
    *,
    dropped: int,
    total: int,
    unit: str,
    reason: str,
    level: int = logging.INFO,
) -> None:
    """Says at load time, through the ``rnn_zoo`` logger, how many items a loader dropped.

    Nothing is logged when nothing was dropped.

    Args:
        source: The file or dataset, named first.
        dropped: How many items were dropped (or filled in).
        total: How many there were.
        unit: What an item is, e.g. ``"lines"``.
        reason: Why, e.g. ``"without two tab-separated fields"``.
        level: The logging level: ``logging.WARNING`` for malformed data,
            ``logging.INFO`` for what a setting drops by design.

    Example:
        >>> report_dropped("fra.txt", dropped=3, total=90, unit="lines", reason="without a tab")
    """
    if dropped:
        share = 100 * dropped / max(total, 1)
        logger.log(
            level, "%s: %d of %d %s (%.1f%%) %s", source, dropped, total, unit, share, reason
        )
