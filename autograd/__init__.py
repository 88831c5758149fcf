"""deltagrad's engine: reverse-mode automatic differentiation on scalars and arrays.

`Value` holds a float, `Tensor` an ndarray; both record the operations applied to them and
run the chain rule backwards from any scalar with `.backward()`. The functional forms
(`grad`, `value_and_grad`, `jacobian`, `hessian`, `vjp`) differentiate plain Python
functions and nest to any order.
"""

import sys

from autograd import check, draw
from autograd.compile import CompileError, CompileWarning, compile, recheck_compiled
from autograd.draw.trace import trace
from autograd.factories import (
    arange,
    eye,
    full,
    full_like,
    ones,
    ones_like,
    rand,
    rand_like,
    randn,
    randn_like,
    zeros,
    zeros_like,
)
from autograd.functional import grad, hessian, jacobian, value_and_grad, vjp
from autograd.graph import (
    changed_in_place,
    detect_anomaly,
    enable_grad,
    is_anomaly_enabled,
    is_grad_enabled,
    no_grad,
    overflow_raises,
    silently,
)
from autograd.primitive import Primitive, primitive
from autograd.rules import avg_pool2d, conv2d, masked_sum, max_pool2d
from autograd.tensor import Tensor
from autograd.value import Value, value_dot, value_sum

__version__ = "0.1.0"

# `autograd.gradcheck` is the `autograd.check` package, which can be called as the function;
# the documented `from autograd.gradcheck import sweep` needs the name in sys.modules too.
gradcheck = check
sys.modules[__name__ + ".gradcheck"] = check

__all__ = [
    "CompileError",
    "CompileWarning",
    "Primitive",
    "Tensor",
    "Value",
    "__version__",
    "arange",
    "avg_pool2d",
    "changed_in_place",
    "compile",
    "conv2d",
    "detect_anomaly",
    "draw",
    "enable_grad",
    "eye",
    "full",
    "full_like",
    "grad",
    "gradcheck",
    "hessian",
    "is_anomaly_enabled",
    "is_grad_enabled",
    "jacobian",
    "masked_sum",
    "max_pool2d",
    "no_grad",
    "ones",
    "ones_like",
    "overflow_raises",
    "primitive",
    "rand",
    "rand_like",
    "randn",
    "randn_like",
    "recheck_compiled",
    "silently",
    "trace",
    "value_and_grad",
    "value_dot",
    "value_sum",
    "vjp",
    "zeros",
    "zeros_like",
]
