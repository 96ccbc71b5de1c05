import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnn_zoo.limits import FLOAT32_MAX, INT32_MAX
from rnn_zoo.validation import (
    check_choice,
    check_float,
    check_float32,
    check_fraction,
    check_int,
    check_shape,
)


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


# --- Stated ranges are the enforced ranges (issue 26, class 6) ---------------------------


@settings(max_examples=60, deadline=None)
@given(value=st.one_of(st.integers(min_value=INT32_MAX + 1), st.integers(max_value=0)))
def test_check_int_refuses_outside_int32_by_default_and_says_so(value):
    with pytest.raises(ValueError) as error:
        check_int("epochs", value)
    message = str(error.value)
    assert "expected an integer in [1, 2147483647]" in message
    assert message.startswith("epochs=") and (str(value) in message or "digits" in message)


@settings(max_examples=60, deadline=None)
@given(value=st.integers(min_value=1, max_value=INT32_MAX))
def test_check_int_accepts_all_of_int32(value):
    assert check_int("epochs", value) == value


def test_check_int_cap_can_be_lifted_or_lowered():
    assert check_int("count", 2**40, maximum=None) == 2**40
    with pytest.raises(ValueError, match=r"num_chars=100001 .*\[1, 100000\]"):
        check_int("num_chars", 100_001, maximum=100_000)


@pytest.mark.parametrize(
    "value, shown",
    [
        (10**5000, "<an integer of about 5001 digits>"),  # repr itself would raise here
        (-(10**400), "-<an integer of about 401 digits>"),
        (2**63, "9223372036854775808"),
    ],
    ids=["10**5000", "-10**400", "2**63"],
)
def test_huge_integers_give_a_one_line_message_naming_them(value, shown):
    with pytest.raises(ValueError) as error:
        check_int("seed", value, minimum=0)
    assert f"seed={shown} is out of range" in str(error.value)
    assert len(str(error.value)) < 200


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, float("1e400")])
@pytest.mark.parametrize(
    "bounds",
    [{}, {"minimum": 0.0}, {"minimum": 0.0, "include_minimum": False}, {"maximum": 1.0}],
    ids=["unbounded", "from_0", "above_0", "to_1"],
)
def test_check_float_refuses_non_finite_values_whatever_the_bounds(value, bounds):
    with pytest.raises(ValueError) as error:
        check_float("learning_rate", value, **bounds)
    assert f"learning_rate={value!r} is out of range" in str(error.value)
    assert "inf and nan excluded" in str(error.value)


def test_check_float_refuses_an_int_too_large_for_a_float():
    with pytest.raises(ValueError, match=r"learning_rate=<an integer of about 401 digits> is out"):
        check_float("learning_rate", 10**400, minimum=0.0)


@pytest.mark.parametrize("value", [3.5e38, -3.5e38, 1e300, 10**39])
def test_check_float32_refuses_what_float32_turns_into_inf(value):
    with pytest.raises(ValueError) as error:
        check_float32("temperature", value, minimum=-math.inf)
    assert f"temperature={value!r}" in str(error.value)
    assert "at most 3.4028234663852886e+38 in magnitude (float32)" in str(error.value)


def test_check_float32_accepts_the_largest_float32():
    assert check_float32("temperature", FLOAT32_MAX, minimum=1e-6) == FLOAT32_MAX


def parse_interval(message: str):
    """The interval a check_float message states: (low, high, low_closed, high_closed)."""
    found = re.search(r"expected a number in ([\[(])(\S+), (\S+?)([\])])", message)
    low, high = float(found.group(2)), float(found.group(3))
    return low, high, found.group(1) == "[", found.group(4) == "]"


BOUND = st.one_of(st.none(), st.floats(min_value=-1e6, max_value=1e6, allow_nan=False))


@settings(max_examples=200, deadline=None)
@given(
    value=st.floats(allow_nan=True, allow_infinity=True),
    minimum=BOUND,
    maximum=BOUND,
    include_minimum=st.booleans(),
    include_maximum=st.booleans(),
)
def test_check_float_accepts_exactly_the_interval_its_message_states(
    value, minimum, maximum, include_minimum, include_maximum
):
    bounds = {
        "minimum": minimum,
        "maximum": maximum,
        "include_minimum": include_minimum,
        "include_maximum": include_maximum,
    }
    # The message is the same for every value: read the interval off a refusal of nan.
    with pytest.raises(ValueError) as refusal:
        check_float("x", math.nan, **bounds)
    low, high, low_closed, high_closed = parse_interval(str(refusal.value))
    stated = (
        math.isfinite(value)
        and (value >= low if low_closed else value > low)
        and (value <= high if high_closed else value < high)
    )
    try:
        check_float("x", value, **bounds)
        accepted = True
    except ValueError as error:
        accepted = False
        assert f"x={value!r}" in str(error)
    assert accepted == stated, str(refusal.value)


@pytest.mark.parametrize("entry", [INT32_MAX + 1, 2**63])
def test_check_shape_refuses_entries_beyond_int32(entry):
    with pytest.raises(ValueError, match=rf"input_shape=\(28, {entry}\) .*\[1, 2147483647\]"):
        check_shape("input_shape", (28, entry), ndim=2)
