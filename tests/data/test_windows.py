"""Pipeline helpers shared by the loaders."""

from __future__ import annotations

import pytest
import tensorflow as tf

from rnn_zoo.data.windows import count_batches, with_known_cardinality


def test_a_count_tf_cannot_infer_is_counted_and_stated():
    evens = tf.data.Dataset.range(10).filter(lambda x: x % 2 == 0).batch(2)
    assert int(evens.cardinality()) == tf.data.UNKNOWN_CARDINALITY
    counted = with_known_cardinality(evens)
    assert int(counted.cardinality()) == 3
    assert [batch.tolist() for batch in counted.as_numpy_iterator()] == [[0, 2], [4, 6], [8]]


def test_a_known_or_endless_dataset_is_returned_uncounted():
    known = tf.data.Dataset.range(5).batch(2)
    endless = tf.data.Dataset.range(5).filter(lambda x: True).repeat()
    assert with_known_cardinality(known) is known
    assert with_known_cardinality(endless) is endless


def test_batches_are_counted_whether_or_not_tf_knows_their_number():
    assert count_batches(tf.data.Dataset.range(10).batch(4)) == 3
    assert count_batches(tf.data.Dataset.range(10).filter(lambda x: x < 7).batch(2)) == 4


def test_counting_an_endless_dataset_is_refused_by_name_instead_of_hanging():
    endless = tf.data.Dataset.range(5).filter(lambda x: True).repeat()
    with pytest.raises(ValueError, match="endless.*steps_per_epoch"):
        count_batches(endless)
