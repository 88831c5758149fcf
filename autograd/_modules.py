"""Packages that can also be called: a documented function name that is a real package."""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from typing import Any


def make_callable(name: str, fn: Callable[..., Any]) -> None:
    """Let the module `name` be called as `fn`.

    `from autograd import draw; draw(root)` and `autograd.gradcheck(f, x)` are the documented
    spellings, while `autograd.draw` and `autograd.check` hold several modules: swapping the
    module's class keeps it a real module (its submodules, `importlib`, `help` all see one)
    that can also be called, instead of a function with attributes glued on.
    """

    class _CallableModule(types.ModuleType):
        __call__ = staticmethod(fn)

    sys.modules[name].__class__ = _CallableModule
