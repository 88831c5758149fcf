"""deltagrad's engine: reverse-mode automatic differentiation on scalars and arrays.

`Value` holds a float, `Tensor` an ndarray; both record the operations applied to them and
run the chain rule backwards from any scalar with `.backward()`. The functional forms
(`grad`, `value_and_grad`, `jacobian`, `hessian`, `vjp`) differentiate plain Python
functions and nest to any order.
"""

from autograd.draw import draw
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
from autograd.gradcheck import gradcheck
from autograd.graph import detect_anomaly, enable_grad, is_grad_enabled, no_grad
from autograd.primitive import Primitive, primitive
from autograd.tensor import Tensor
from autograd.trace import trace
from autograd.value import Value

__version__ = "0.1.0"

__all__ = [
    "Primitive",
    "Tensor",
    "Value",
    "__version__",
    "arange",
    "detect_anomaly",
    "draw",
    "enable_grad",
    "eye",
    "full",
    "full_like",
    "grad",
    "gradcheck",
    "hessian",
    "is_grad_enabled",
    "jacobian",
    "no_grad",
    "ones",
    "ones_like",
    "primitive",
    "rand",
    "rand_like",
    "randn",
    "randn_like",
    "trace",
    "value_and_grad",
    "vjp",
    "zeros",
    "zeros_like",
]
