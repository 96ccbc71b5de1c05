"""Word dropout and the folding of words into rows for a character-level recurrent layer."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from rnn_zoo.blocks.layers import RowsAsTokens, TokenDropout, TokensAsRows


def test_token_dropout_replaces_real_ids_at_its_rate_in_training_only():
    ids = np.tile(np.array([[5, 7, 9, 3, 0, 0]], "int32"), (2000, 1))
    layer = TokenDropout(0.25, seed=3)
    dropped = keras.ops.convert_to_numpy(layer(ids, training=True))
    real = ids != 0
    assert (dropped[~real] == 0).all()  # padding stays padding
    assert set(np.unique(dropped[real])) <= {1, 3, 5, 7, 9}
    assert (dropped[real] == 1).mean() == pytest.approx(0.25, abs=0.02)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(ids, training=False)), ids)


def test_token_dropout_round_trips_through_its_config():
    layer = TokenDropout.from_config(TokenDropout(0.1, unknown_id=2, seed=5).get_config())
    assert (layer.rate, layer.unknown_id, layer.seed) == (0.1, 2, 5)
    with pytest.raises(ValueError, match="rate=1.0 is out of range"):
        TokenDropout(1.0)


def test_rows_unfold_to_the_words_they_were_folded_from():
    chars = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    rows = TokensAsRows()(chars)
    assert rows.shape == (6, 4)
    features = keras.ops.sum(rows, axis=-1, keepdims=True)
    back = keras.ops.convert_to_numpy(RowsAsTokens()([features, chars]))
    np.testing.assert_array_equal(back[..., 0], chars.sum(-1))
