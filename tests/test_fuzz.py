"""Property-based bad input for every public factory: clear errors, never deep TF ones."""

from __future__ import annotations

import inspect

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnn_zoo import get_spec, list_models

# Values of the wrong type or range for any factory argument.
BAD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(max_value=0),
    st.floats(allow_nan=True, allow_infinity=True).filter(lambda v: not float(v).is_integer()),
    st.text(max_size=5),
    st.lists(st.integers(min_value=-3, max_value=3), max_size=4),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)


def accepts(spec, argument, value) -> bool:
    """Whether a drawn value happens to be valid for the argument (then skip it)."""
    default = spec.factory_arguments()[argument]
    if isinstance(default, bool):
        return isinstance(value, bool)
    if argument == "input_shape":
        return isinstance(value, list) and len(value) == 2 and all(v >= 1 for v in value)
    if argument == "residual_feature":
        return value is None
    if argument == "name":
        return isinstance(value, str) and bool(value.strip())
    if argument in ("dropout", "recurrent_dropout"):
        return not isinstance(value, bool) and isinstance(value, (int, float)) and 0 <= value < 1
    return False


@pytest.mark.parametrize("name", list_models())
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_factories_refuse_bad_values_with_the_argument_named(name, data, layers_built):
    spec = get_spec(name)
    argument = data.draw(st.sampled_from(sorted(spec.factory_arguments())))
    value = data.draw(BAD_VALUES)
    if accepts(spec, argument, value):
        return
    with layers_built() as built, pytest.raises((ValueError, TypeError)) as error:
        spec.build(**{argument: value})
    assert f"{argument}=" in str(error.value), str(error.value)
    assert built == []


def test_every_factory_argument_is_documented():
    for name in list_models():
        factory = get_spec(name).factory
        doc = inspect.getdoc(factory)
        for argument in get_spec(name).factory_arguments():
            assert f"{argument}:" in doc, f"{factory.__name__} does not document {argument}"
