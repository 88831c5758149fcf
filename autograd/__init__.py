"""deltagrad's engine: reverse-mode automatic differentiation on scalars and arrays."""

from autograd.graph import enable_grad, is_grad_enabled, no_grad
from autograd.primitive import Primitive, primitive
from autograd.tensor import Tensor
from autograd.value import Value

__version__ = "0.1.0"

__all__ = ["Value", "Tensor", "no_grad", "enable_grad", "is_grad_enabled", "primitive",
           "Primitive", "__version__"]
