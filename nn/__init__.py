"""deltagrad's neural-network library, built on the autograd engine's public API.

Layers and networks (`Linear`, `MLP`, `Sequential`, activation modules, and `Conv2d`, `MaxPool2d`,
`AvgPool2d`, `Flatten`, `Dropout` for convolutional networks), the document's costs
(`mse_loss`, `binary_cross_entropy`, `cross_entropy`), optimizers (`SGD`, `Adam`), the
scalar teaching versions (`Neuron`, `Layer`, `ScalarMLP`), and in `nn.delta` the closed-form
δ recursion every gradient is checked against.
"""

from nn import init
from nn.compiled import EXACT_FUSIONS, FUSIONS, CompiledStep, compile_step
from nn.conv import AvgPool2d, Conv2d, Dropout, Flatten, MaxPool2d, Unflatten
from nn.layers import (
    ACTIVATIONS,
    MLP,
    Activation,
    Identity,
    Linear,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
    activation,
)
from nn.losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    mse_loss,
    one_hot,
)
from nn.module import CheckpointError, Module
from nn.optim import SGD, Adam, Optimizer
from nn.scalar import Layer, Neuron, ScalarMLP

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS", "EXACT_FUSIONS", "FUSIONS", "MLP", "SGD", "Activation", "Adam", "AvgPool2d",
    "CheckpointError", "CompiledStep", "Conv2d", "Dropout", "Flatten", "Identity", "Layer",
    "Linear", "MaxPool2d", "Module", "Neuron", "Optimizer", "ReLU", "ScalarMLP", "Sequential",
    "Sigmoid", "Tanh", "Unflatten", "__version__", "activation", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "compile_step", "cross_entropy", "init", "mse_loss",
    "one_hot",
]
