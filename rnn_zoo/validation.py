"""Argument checks shared by every factory, loader and command.

Each check raises before any expensive work starts, with one uniform message that
names the argument, the value received and what is accepted.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from typing import Any


def _describe(value: Any) -> str:
    return f"{value!r} (type {type(value).__name__})"


def check_int(name: str, value: Any, *, minimum: int = 1, maximum: int | None = None) -> int:
    """Checks that ``value`` is an integer in ``[minimum, maximum]``.

    Booleans are refused even though Python treats them as integers.

    Args:
        name: The argument's name, used in the error message.
        value: The value to check.
        minimum: The smallest accepted value.
        maximum: The largest accepted value, or ``None`` for no upper bound.

    Returns:
        The value as a Python ``int``.

    Raises:
        TypeError: If ``value`` is not an integer (or is a bool).
        ValueError: If ``value`` is outside the accepted range.

    Example:
        >>> check_int("units", 64)
        64
    """
    bound = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}={_describe(value)} is not accepted; expected an integer {bound}")
    if value < minimum or (maximum is not None and value > maximum):
        raise ValueError(f"{name}={value!r} is out of range; expected an integer {bound}")
    return int(value)


def check_float(
    name: str,
    value: Any,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    include_minimum: bool = True,
    include_maximum: bool = True,
) -> float:
    """Checks that ``value`` is a real number inside the given interval.

    Args:
        name: The argument's name, used in the error message.
        value: The value to check.
        minimum: Lower bound, or ``None`` for none.
        maximum: Upper bound, or ``None`` for none.
        include_minimum: Whether ``minimum`` itself is accepted.
        include_maximum: Whether ``maximum`` itself is accepted.

    Returns:
        The value as a Python ``float``.

    Raises:
        TypeError: If ``value`` is not a real number (or is a bool).
        ValueError: If ``value`` is NaN or outside the interval.

    Example:
        >>> check_float("dropout", 0.2, minimum=0.0, maximum=1.0, include_maximum=False)
        0.2
    """
    low = "(-inf" if minimum is None else ("[" if include_minimum else "(") + f"{minimum:g}"
    high = "inf)" if maximum is None else f"{maximum:g}" + ("]" if include_maximum else ")")
    interval = f"a number in {low}, {high}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}={_describe(value)} is not accepted; expected {interval}")
    number = float(value)
    too_low = minimum is not None and (
        number < minimum or (not include_minimum and number == minimum)
    )
    too_high = maximum is not None and (
        number > maximum or (not include_maximum and number == maximum)
    )
    if number != number or too_low or too_high:
        raise ValueError(f"{name}={value!r} is out of range; expected {interval}")
    return number


def check_fraction(name: str, value: Any) -> float:
    """Checks a fraction of a dataset: a number strictly between 0 and 1.

    Args:
        name: The argument's name.
        value: The value to check.

    Returns:
        The fraction as a float.

    Raises:
        TypeError: If ``value`` is not a number.
        ValueError: If ``value`` is not in ``(0, 1)``.

    Example:
        >>> check_fraction("validation_split", 0.1)
        0.1
    """
    return check_float(
        name, value, minimum=0.0, maximum=1.0, include_minimum=False, include_maximum=False
    )


def check_rate(name: str, value: Any) -> float:
    """Checks a dropout-style rate: a number in ``[0, 1)``.

    Args:
        name: The argument's name.
        value: The value to check.

    Returns:
        The rate as a float.

    Raises:
        TypeError: If ``value`` is not a number.
        ValueError: If ``value`` is not in ``[0, 1)``.

    Example:
        >>> check_rate("dropout", 0.0)
        0.0
    """
    return check_float(name, value, minimum=0.0, maximum=1.0, include_maximum=False)


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """Checks that ``value`` is one of ``choices``.

    Args:
        name: The argument's name.
        value: The value to check.
        choices: The accepted values.

    Returns:
        The value unchanged.

    Raises:
        ValueError: If ``value`` is not one of ``choices``.

    Example:
        >>> check_choice("cell", "gru", ("simple_rnn", "lstm", "gru"))
        'gru'
    """
    choices = tuple(choices)
    try:
        accepted = value in choices
    except TypeError:  # unhashable values cannot be in a tuple of strings
        accepted = False
    if not accepted:
        listed = ", ".join(repr(choice) for choice in choices)
        raise ValueError(f"{name}={value!r} is not one of {listed}")
    return value


def check_bool(name: str, value: Any) -> bool:
    """Checks that ``value`` is a bool.

    Args:
        name: The argument's name.
        value: The value to check.

    Returns:
        The value unchanged.

    Raises:
        TypeError: If ``value`` is not ``True`` or ``False``.

    Example:
        >>> check_bool("bidirectional", False)
        False
    """
    if not isinstance(value, bool):
        raise TypeError(f"{name}={_describe(value)} is not accepted; expected True or False")
    return value


def check_name(name: str, value: Any) -> str:
    """Checks a model or layer name: a non-empty string.

    Args:
        name: The argument's name.
        value: The value to check.

    Returns:
        The value unchanged.

    Raises:
        TypeError: If ``value`` is not a string.
        ValueError: If ``value`` is empty or only whitespace.

    Example:
        >>> check_name("name", "baseline")
        'baseline'
    """
    if not isinstance(value, str):
        raise TypeError(f"{name}={_describe(value)} is not accepted; expected a non-empty string")
    if not value.strip():
        raise ValueError(f"{name}={value!r} is empty; expected a non-empty string")
    return value


def check_vocabulary(name: str, value: Any) -> list[str]:
    """Checks a saved vocabulary: a non-empty list or tuple of strings in id order.

    Args:
        name: The argument's name.
        value: The value to check, e.g. ``metadata["vocabulary"]``.

    Returns:
        The tokens as a list.

    Raises:
        TypeError: If ``value`` is not a list or tuple of strings.
        ValueError: If it is empty.

    Example:
        >>> check_vocabulary("vocabulary", ("", "[UNK]", "the"))
        ['', '[UNK]', 'the']
    """
    if not isinstance(value, (list, tuple)) or not all(isinstance(token, str) for token in value):
        raise TypeError(
            f"{name} of type {type(value).__name__} is not accepted; expected a list of "
            "strings in id order, as a loader saves it in its metadata"
        )
    if not value:
        raise ValueError(f"{name}=[] is empty; expected a list of tokens in id order")
    return list(value)


def check_shape(
    name: str, value: Any, *, ndim: int, allow_none: Sequence[int] = ()
) -> tuple[int | None, ...]:
    """Checks an input shape (without the batch dimension).

    Args:
        name: The argument's name.
        value: A tuple or list of positive integers.
        ndim: The number of dimensions required.
        allow_none: Positions where ``None`` (any length) is accepted.

    Returns:
        The shape as a tuple.

    Raises:
        TypeError: If ``value`` is not a tuple or list, or holds a non-integer.
        ValueError: If it has the wrong length or a non-positive entry.

    Example:
        >>> check_shape("input_shape", [28, 28], ndim=2)
        (28, 28)
    """
    expected = f"a tuple of {ndim} positive integers"
    if allow_none:
        expected += f" (None allowed at position {', '.join(map(str, allow_none))})"
    if not isinstance(value, (tuple, list)):
        raise TypeError(f"{name}={_describe(value)} is not accepted; expected {expected}")
    if len(value) != ndim:
        raise ValueError(
            f"{name}={tuple(value)!r} has {len(value)} dimensions; expected {expected}"
        )
    for position, size in enumerate(value):
        if size is None and position in allow_none:
            continue
        if isinstance(size, bool) or not isinstance(size, numbers.Integral):
            raise TypeError(f"{name}={tuple(value)!r} is not accepted; expected {expected}")
        if size < 1:
            raise ValueError(f"{name}={tuple(value)!r} is not accepted; expected {expected}")
    return tuple(None if size is None else int(size) for size in value)
