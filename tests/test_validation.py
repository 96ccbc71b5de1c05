import math

import pytest

from rnn_zoo.validation import check_choice, check_float, check_fraction, check_int, check_shape


def test_check_int_accepts_numpy_integers():
    import numpy as np

    assert check_int("units", np.int64(4)) == 4


@pytest.mark.parametrize("value", [0.0, 1.0, math.nan, -0.5])
def test_check_fraction_refuses_outside_open_interval(value):
    with pytest.raises(ValueError, match=r"expected a number in \(0, 1\)"):
        check_fraction("validation_split", value)


def test_check_float_bounds_are_named():
    with pytest.raises(ValueError, match=r"learning_rate=0 .*\(0, inf\)"):
        check_float("learning_rate", 0, minimum=0.0, include_minimum=False)


def test_check_choice_handles_unhashable_values():
    with pytest.raises(ValueError, match=r"cell=\['lstm'\] is not one of 'lstm'"):
        check_choice("cell", ["lstm"], ("lstm",))


def test_check_shape_allows_none_only_where_told():
    assert check_shape("input_shape", (None, 3), ndim=2, allow_none=(0,)) == (None, 3)
    with pytest.raises(TypeError, match="None allowed at position 0"):
        check_shape("input_shape", (3, None), ndim=2, allow_none=(0,))
