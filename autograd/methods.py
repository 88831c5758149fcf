"""numpy's elementwise functions as methods, shared by Value and Tensor.

Each method is one call into the rule table, so `v.sqrt()` on a Value and `t.sqrt()` on a
Tensor run the same rule; numpy's own functions (`np.sqrt(t)`) reach the same rules through
the Tensor's numpy dispatch.
"""

from __future__ import annotations

from typing import Any

from autograd import rules


class ElementwiseMethods:
    """Mixed into Value and Tensor: abs, sign, sqrt, square, the logs, the hyperbolic and arc
    functions, maximum, minimum, clip."""

    __slots__ = ()

    def __abs__(self) -> Any:
        return rules.abs_(self)

    def abs(self) -> Any:
        """|x| (gradient sign x, 0 at 0)."""
        return rules.abs_(self)

    def sign(self) -> Any:
        """sign x ∈ {−1, 0, 1} (gradient 0)."""
        return rules.sign(self)

    def sqrt(self) -> Any:
        """√x (ValueError below zero)."""
        return rules.sqrt(self)

    def square(self) -> Any:
        """x²."""
        return rules.square(self)

    def log2(self) -> Any:
        """log₂ x."""
        return rules.log2(self)

    def log10(self) -> Any:
        """log₁₀ x."""
        return rules.log10(self)

    def log1p(self) -> Any:
        """ln(1 + x), exact for tiny x."""
        return rules.log1p(self)

    def expm1(self) -> Any:
        """eˣ − 1, exact for tiny x."""
        return rules.expm1(self)

    def tan(self) -> Any:
        """tan x."""
        return rules.tan(self)

    def sinh(self) -> Any:
        """sinh x."""
        return rules.sinh(self)

    def cosh(self) -> Any:
        """cosh x."""
        return rules.cosh(self)

    def arcsin(self) -> Any:
        """arcsin x."""
        return rules.arcsin(self)

    def arccos(self) -> Any:
        """arccos x."""
        return rules.arccos(self)

    def arctan(self) -> Any:
        """arctan x."""
        return rules.arctan(self)

    def arcsinh(self) -> Any:
        """arsinh x."""
        return rules.arcsinh(self)

    def arccosh(self) -> Any:
        """arcosh x."""
        return rules.arccosh(self)

    def arctanh(self) -> Any:
        """artanh x."""
        return rules.arctanh(self)

    def maximum(self, other: Any) -> Any:
        """max(self, other) elementwise; ties share the gradient."""
        return rules.maximum(self, other)

    def minimum(self, other: Any) -> Any:
        """min(self, other) elementwise; ties share the gradient."""
        return rules.minimum(self, other)

    def clip(self, lo: Any = None, hi: Any = None) -> Any:
        """self limited to [lo, hi]; the bounds are constants (None: no limit)."""
        if lo is None and hi is None:
            raise ValueError("clip needs at least one of lo and hi")
        for bound in (lo, hi):
            if hasattr(bound, "requires_grad"):
                raise TypeError("clip bounds are constants; for a bound with a gradient use "
                                "maximum and minimum")
        return rules.clip(self, lo, hi)
