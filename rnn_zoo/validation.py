"""Argument checks shared by every factory, loader and command.

Each check raises before any expensive work starts, with one uniform message that
names the argument, the value received and what is accepted: the range in the
message is the range enforced. Integers are capped at int32 by default and floats must
be finite, because both reach TensorFlow tensors; the caps on sizes are in
:mod:`rnn_zoo.limits`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any

from rnn_zoo.limits import FLOAT32_MAX, INT32_MAX

# A refused value is shown in full up to this many characters, then cut, so that a huge
# argument (a 10 MB string, 10**5000) still gives a one-line message.
_SHOWN_CHARS = 80


def _shown(value: Any) -> str:
    """``repr(value)`` for a message: huge integers by their digit count, long text cut."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        size = abs(int(value)).bit_length()
        if size > 256:  # repr of 10**5000 raises past Python's 4300-digit limit
            digits = int(size * math.log10(2)) + 1
            return f"{'-' if value < 0 else ''}<an integer of about {digits} digits>"
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else f"{text[: _SHOWN_CHARS - 3]}..."


def _describe(value: Any) -> str:
    return f"{_shown(value)} (type {type(value).__name__})"


def check_int(name: str, value: Any, *, minimum: int = 1, maximum: int | None = INT32_MAX) -> int:
    """Checks that ``value`` is an integer in ``[minimum, maximum]``.

    Booleans are refused even though Python treats them as integers. The maximum
    defaults to ``INT32_MAX`` (2147483647): sizes, counts and seeds reach int32 tensors,
    where a larger Python int wraps to a negative number, so that is the range every
    caller enforces unless it passes a smaller cap (``rnn_zoo.limits``) or, for a
    count that never reaches a tensor, ``maximum=None``.

    Args:
        name: The argument's name, used in the error message.
        value: The value to check.
        minimum: The smallest accepted value.
        maximum: The largest accepted value (default ``INT32_MAX``), or ``None`` for no
            upper bound.

    Returns:
        The value as a Python ``int``.

    Raises:
        TypeError: If ``value`` is not an integer (or is a bool).
        ValueError: If ``value`` is outside the accepted range; the message states it.

    Example:
        >>> check_int("units", 64)
        64
        >>> check_int("seed", 2**32, minimum=0)
        Traceback (most recent call last):
        ValueError: seed=4294967296 is out of range; expected an integer in [0, 2147483647]
    """
    bound = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}={_describe(value)} is not accepted; expected an integer {bound}")
    if value < minimum or (maximum is not None and value > maximum):
        raise ValueError(f"{name}={_shown(value)} is out of range; expected an integer {bound}")
    return int(value)


def _exact(number: float) -> str:
    """``number`` written short (``0``, ``1e-06``) where that is exact, else in full."""
    short = f"{number:g}"
    return short if float(short) == number else repr(float(number))


def _check_real(name, value, minimum, maximum, include_minimum, include_maximum, magnitude):
    """The shared body of :func:`check_float` and :func:`check_float32`."""
    low = "(-inf" if minimum is None else ("[" if include_minimum else "(") + _exact(minimum)
    high = "inf)" if maximum is None else _exact(maximum) + ("]" if include_maximum else ")")
    interval = f"a number in {low}, {high}"
    if minimum is None or maximum is None:
        interval += ", inf and nan excluded"
    if magnitude is not None:
        interval += f", at most {_exact(magnitude)} in magnitude (float32)"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}={_describe(value)} is not accepted; expected {interval}")
    try:
        number = float(value)
    except OverflowError:  # an int beyond float's range
        raise ValueError(f"{name}={_shown(value)} is out of range; expected {interval}") from None
    too_low = minimum is not None and (
        number < minimum or (not include_minimum and number == minimum)
    )
    too_high = maximum is not None and (
        number > maximum or (not include_maximum and number == maximum)
    )
    too_large = magnitude is not None and abs(number) > magnitude
    if not math.isfinite(number) or too_low or too_high or too_large:
        raise ValueError(f"{name}={_shown(value)} is out of range; expected {interval}")
    return number


def check_float(
    name: str,
    value: Any,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    include_minimum: bool = True,
    include_maximum: bool = True,
) -> float:
    """Checks that ``value`` is a finite real number inside the given interval.

    NaN and the infinities are always refused: an interval written ``[a, inf)`` holds
    finite numbers only, as its open end says. So is a Python int too large for a
    float (``10**400``).

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
        ValueError: If ``value`` is NaN, infinite or outside the interval; the message
            states the interval.

    Example:
        >>> check_float("dropout", 0.2, minimum=0.0, maximum=1.0, include_maximum=False)
        0.2
        >>> check_float("rate", float("inf"), minimum=0.0, include_minimum=False)
        Traceback (most recent call last):
        ValueError: rate=inf is out of range; expected a number in (0, inf), inf and nan excluded
    """
    return _check_real(name, value, minimum, maximum, include_minimum, include_maximum, None)


def check_float32(
    name: str,
    value: Any,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    include_minimum: bool = True,
    include_maximum: bool = True,
) -> float:
    """:func:`check_float` for a value that reaches a float32 tensor (temperature, rate).

    A finite Python float above ``FLOAT32_MAX`` (3.4e38) in magnitude becomes inf in
    float32, so it is refused too, and the message says so.

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
        ValueError: If ``value`` is NaN, infinite, outside the interval or beyond
            float32's range.

    Example:
        >>> check_float32("temperature", 0.7, minimum=1e-6)
        0.7
    """
    return _check_real(name, value, minimum, maximum, include_minimum, include_maximum, FLOAT32_MAX)


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


def check_levels(name: str, value: Any) -> tuple[float, ...]:
    """Checks quantile levels: increasing numbers in ``(0, 1)``, the median among them.

    Args:
        name: The argument's name.
        value: A tuple or list of levels, e.g. ``(0.1, 0.5, 0.9)``.

    Returns:
        The levels as a tuple of floats.

    Raises:
        TypeError: If ``value`` is not a tuple or list of numbers.
        ValueError: If a level is outside ``(0, 1)``, the levels are not strictly
            increasing, or 0.5 (the median, the point forecast) is not one of them.

    Example:
        >>> check_levels("levels", [0.1, 0.5, 0.9])
        (0.1, 0.5, 0.9)
    """
    expected = "strictly increasing levels in (0, 1) that include 0.5, e.g. (0.1, 0.5, 0.9)"
    if not isinstance(value, (tuple, list)) or not all(
        isinstance(level, numbers.Real) and not isinstance(level, bool) for level in value
    ):
        raise TypeError(f"{name}={_describe(value)} is not accepted; expected {expected}")
    levels = tuple(float(level) for level in value)
    outside = [level for level in levels if not 0.0 < level < 1.0]
    if outside:
        raise ValueError(
            f"{name}={_shown(value)} has level(s) outside (0, 1): {outside}; expected {expected}"
        )
    if any(later <= earlier for earlier, later in zip(levels[:-1], levels[1:], strict=True)):
        raise ValueError(f"{name}={_shown(value)} is not strictly increasing; expected {expected}")
    if 0.5 not in levels:
        raise ValueError(f"{name}={_shown(value)} lacks the median 0.5; expected {expected}")
    return levels


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
        raise ValueError(f"{name}={_shown(value)} is not one of {listed}")
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
        raise ValueError(f"{name}={_shown(value)} is empty; expected a non-empty string")
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
        ValueError: If it has the wrong length or an entry outside ``[1, INT32_MAX]``.

    Example:
        >>> check_shape("input_shape", [28, 28], ndim=2)
        (28, 28)
    """
    expected = f"a tuple of {ndim} integers in [1, {INT32_MAX}]"
    if allow_none:
        expected += f" (None allowed at position {', '.join(map(str, allow_none))})"
    if not isinstance(value, (tuple, list)):
        raise TypeError(f"{name}={_describe(value)} is not accepted; expected {expected}")
    if len(value) != ndim:
        raise ValueError(
            f"{name}={_shown(tuple(value))} has {len(value)} dimensions; expected {expected}"
        )
    for position, size in enumerate(value):
        if size is None and position in allow_none:
            continue
        if isinstance(size, bool) or not isinstance(size, numbers.Integral):
            raise TypeError(f"{name}={_shown(tuple(value))} is not accepted; expected {expected}")
        if size < 1 or size > INT32_MAX:
            raise ValueError(f"{name}={_shown(tuple(value))} is not accepted; expected {expected}")
    return tuple(None if size is None else int(size) for size in value)
