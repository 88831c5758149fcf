"""Checking a refused misuse, shared by each package's test_bad_input.py: the right exception,
a message holding the words that name the problem, one line, and never numpy's own words."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

# A table of misuses: (test id, the call, the exception it must raise, words of the message).
Case = tuple[str, Callable[[], Any], type[BaseException], tuple[str, ...]]

# How numpy's own messages begin: an error starting so was not translated at the API (one that
# starts with our own words may quote numpy's detail after them).
NUMPY_WORDS = ("ufunc", "gufunc", "operands could not be broadcast", "zero-size array",
               "setting an array element", "could not convert", "object arrays",
               "list index out of range", "expected non-negative", "unsupported operand type(s)",
               "is out of bounds for array")


def expect(fn: Callable[[], Any], kind: type[BaseException], *words: str) -> str:
    """Call fn; it must raise `kind` whose message holds every one of `words` (case-blind)
    and does not begin as numpy's own messages do. Returns the message."""
    with pytest.raises(kind) as info:
        fn()
    message = str(info.value)
    for word in words:
        assert word.lower() in message.lower(), f"{word!r} not in {message!r}"
    assert not message.lower().startswith(NUMPY_WORDS), f"bare numpy message: {message!r}"
    return message


def each_case(cases: list[Case]) -> pytest.MarkDecorator:
    """Parametrize a test over a table of cases as (call, kind, words), named by the ids."""
    return pytest.mark.parametrize("call, kind, words", [c[1:] for c in cases],
                                   ids=[c[0] for c in cases])


def expect_one_line(call: Callable[[], Any], kind: type[BaseException],
                    words: tuple[str, ...]) -> None:
    """`expect`, and the message is what a user reads first: one line, no numpy repr noise."""
    message = expect(call, kind, *words)
    assert "\n" not in message, message
    assert not re.search(r"np\.float64\(", message), message
