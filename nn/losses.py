"""Cost functions as in the document: summed over output units, averaged over the batch.

m is the number of rows of the prediction (1 for a single example of shape (k,)). The target
must have exactly the prediction's shape: a loss never broadcasts silently, because a (m,)
target against (m, 1) outputs would quietly compare every output with every target. Targets
and labels given as Tensors (as `autograd.compile` and `nn.compile_step` pass them) are checked
and read by rules, so a compiled step replays every loss and checks each batch's own values.

    mse_loss(a, y)                   J = 1/(2m) Σ ‖a − y‖²                      (section 4.2.1)
    binary_cross_entropy(a, y)       J = −1/m Σ [y log a + (1 − y) log(1 − a)]  (section 4.2.2)
    binary_cross_entropy_with_logits the same on z with a = σ(z), without forming σ(z)
    cross_entropy(z, labels)         J = −1/m Σ log softmax(z)[label]

`LOSSES` is the one registry of the costs a network trains on, by name ("mse", "bce",
"cross_entropy"): each entry says which output layer and which targets go with it and its δᴸ
for the δ recursion; `nn.delta`, `nn.gradtable`, `nn.train` and the CLI all read it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from autograd import Tensor, masked_sum, primitive
from nn.init import HIDDEN, resolve_output
from nn.primitives import quadratic_cost, rows


def mse_loss(a: Any, y: Any) -> Tensor:
    """The quadratic cost J = 1/(2m) Σ ‖a − y‖²: with SGD at lr = η, the document's update."""
    a, y = _pair(a, y, "mse_loss")
    # one node (nn.primitives' fused rule): this runs once per mini-batch in a training loop
    return quadratic_cost(a, y)


# ---- binary cross-entropy ----------------------------------------------------------------------

def binary_cross_entropy(a: Any, y: Any) -> Tensor:
    """J = −1/m Σ [y log a + (1 − y) log(1 − a)] for probabilities a and targets y in [0, 1].

    Nothing is clipped. Where a target is exactly 0 (or 1), its y log a (or (1 − y) log(1 − a))
    term is zero whatever a is, so a = 0 with y = 0 gives 0 and a finite gradient, not
    0 · log 0 = nan. A confident wrong answer (a = 0 with y = 1) costs +inf, as it should.
    """
    a, y = _pair(a, y, "binary_cross_entropy")
    # checked and masked by rules, so that a compiled step checks and masks every batch
    a = _unit_interval(a, "binary_cross_entropy", "predictions a",
                       " (for raw scores use binary_cross_entropy_with_logits)")
    if isinstance(y, Tensor):
        y = _unit_interval(y, "binary_cross_entropy", "targets y", "")
    else:
        _in_unit_interval(y, "binary_cross_entropy", "targets y", "")
    # Adding 1 inside a log whose factor is exactly 0 leaves the term 0 and its derivative
    # 0 / (a + 1) = 0: the xlogy convention, composed from ordinary ops.
    pos = _one_where(a, y, 0).log() * y
    neg = _one_where(1 - a, y, 1).log() * (1 - y)
    # 0 − (…) rather than −(…): a perfect prediction then costs 0.0, not −0.0
    return 0.0 - (pos + neg).sum() * (1.0 / rows(a))


def binary_cross_entropy_with_logits(z: Any, y: Any) -> Tensor:
    """binary_cross_entropy(σ(z), y), computed as 1/m Σ [log(1 + eᶻ) − y z]: finite at any z."""
    z, y = _pair(z, y, "binary_cross_entropy_with_logits")
    if isinstance(y, Tensor):  # checked by a rule: a compiled step checks every batch
        y = _unit_interval(y, "binary_cross_entropy_with_logits", "targets y", "")
    else:
        _in_unit_interval(y, "binary_cross_entropy_with_logits", "targets y", "")
    return (z.softplus() - z * y).sum() * (1.0 / rows(z))


# ---- softmax cross-entropy ---------------------------------------------------------------------

def cross_entropy(logits: Any, labels: Any) -> Tensor:
    """J = −1/m Σ log softmax(z)[label]: logits (m, k) or (k,), integer labels (m,) or ()."""
    z = logits if isinstance(logits, Tensor) else Tensor(logits)
    if z.ndim not in (1, 2):
        raise ValueError(f"cross_entropy expects logits of shape (m, k) or (k,), got shape "
                         f"{z.shape}")
    raw = labels if isinstance(labels, Tensor) else np.asarray(labels)
    if z.size == 0:
        raise ValueError(f"cross_entropy: logits of shape {z.shape} hold no examples or no "
                         "classes: nothing to average over")
    if raw.shape != z.shape[:-1]:
        hint = " (one label per row, not one-hot rows)" if raw.shape == z.shape else ""
        raise ValueError(f"cross_entropy: logits of shape {z.shape} need labels of shape "
                         f"{z.shape[:-1]}, got shape {raw.shape}{hint}")
    # Tensor labels (as a compiled step passes them) through a rule, so that each batch's
    # own labels make the mask and are checked, not the labels seen at capture
    k = z.shape[-1]
    # the labels' entries summed, not the rows times a one-hot mask: a log-probability of
    # −inf (a logit the float range below the label's) times 0 would make the loss nan
    picked = (_label_sum(z.log_softmax(axis=-1), raw) if isinstance(raw, Tensor)
              else masked_sum(z.log_softmax(axis=-1), one_hot(raw, k, bool)))
    return 0.0 - picked * (1.0 / rows(z))


@primitive
def _label_sum(x, labels):
    """Σ x[i, labels[i]] (labels: integer class indices, checked), as masked_sum sums it."""
    return x[one_hot(labels, x.shape[-1], bool)].sum()


@_label_sum.defvjp
def _label_sum_vjp(g, out, x, labels):
    """∂Σ x[i, labels[i]] = g at each label's entry (class indices have no gradient)"""
    return (g * one_hot(labels, x.shape[-1], bool), None)


def cross_entropy_one_hot(z: Tensor, mask: Any) -> Tensor:
    """cross_entropy with the labels given as one-hot rows (a mask of z's shape): reads no
    numbers of its arguments, so a compiled step can replay it."""
    return 0.0 - (z.log_softmax(axis=-1) * mask).sum() * (1.0 / rows(z))


def one_hot(labels: Any, num_classes: int, dtype: Any = np.float64) -> np.ndarray:
    """Rows of zeros with a 1 at each label: shape labels.shape + (num_classes,).

    Labels must be integer class indices in 0..num_classes − 1 (a TypeError or ValueError
    says which are not).
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise TypeError(f"num_classes must be an int, got {type(num_classes).__name__}")
    if num_classes < 1:
        raise ValueError(f"num_classes must be at least 1, got {num_classes}")
    raw = _checked_labels(labels.data if isinstance(labels, Tensor) else np.asarray(labels),
                          num_classes)
    out = np.zeros(raw.shape + (num_classes,), dtype=dtype)
    np.put_along_axis(out, raw[..., None], 1.0, axis=-1)
    return out


def _checked_labels(raw: np.ndarray, k: int) -> np.ndarray:
    """raw, after checking that it holds integer class indices in 0..k − 1."""
    if raw.dtype.kind not in "iu":
        whole = raw.dtype.kind == "f" and np.all(raw == np.round(raw))
        hint = " (convert with .astype(int))" if whole else ""
        raise TypeError(f"labels must be integer class indices, got dtype {raw.dtype}{hint}")
    if raw.size and (raw.min() < 0 or raw.max() >= k):
        bad = raw[(raw < 0) | (raw >= k)]
        raise ValueError(f"labels must be in 0..{k - 1} for {k} classes, got "
                         f"{bad.ravel()[:5].tolist()}")
    return raw


# ---- the registry ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Loss:
    """A cost by name, with what goes with it.

    `output`: the output layer's activation it is written for (HIDDEN: the hidden layers' own,
    None: none, the loss takes logits). `targets`: "one-hot" (rows shaped like the output) or
    "labels" (one integer class per row). `output_error(a, z, y, σ′)`: δᴸ per example, in
    numpy, with y as rows shaped like a (labels made one-hot first).
    """

    name: str
    function: Callable[[Any, Any], Tensor]
    output: Any
    targets: str
    output_error: Callable[..., np.ndarray]

    def output_activation(self, hidden: str) -> str | None:
        """The output layer's activation for a network whose hidden layers use `hidden`."""
        return resolve_output(hidden, self.output)

    def fits(self, output_activation: str | None) -> bool:
        """Whether this loss is written for an output layer with that activation."""
        return self.output is HIDDEN or output_activation == self.output

    def targets_of(self, labels: np.ndarray, classes: int) -> np.ndarray:
        """Training targets for class labels, in the form this loss takes."""
        return np.asarray(labels) if self.targets == "labels" else one_hot(labels, classes)

    def describe(self) -> str:
        """"'bce' with a 'sigmoid' output", and so on: for messages listing the valid pairs."""
        if self.output is HIDDEN:
            return f"{self.name!r} with any output activation"
        if self.output is None:
            return f"{self.name!r} with no output activation (logits)"
        return f"{self.name!r} with a {self.output!r} output"


def cost_derivative(output_activations: np.ndarray, y: np.ndarray) -> np.ndarray:
    """∂C/∂a for the quadratic cost ½‖a − y‖² (the document's cost_derivative)."""
    return output_activations - y


def _quadratic_delta(a: np.ndarray, z: np.ndarray, y: np.ndarray, prime: Any) -> np.ndarray:
    """δᴸ = ∂C/∂a ⊙ σ′(z) with the quadratic cost's ∂C/∂a = a − y (BP1)."""
    return cost_derivative(a, y) * prime(z)


def _sigmoid_bce_delta(a: np.ndarray, z: np.ndarray, y: np.ndarray, prime: Any) -> np.ndarray:
    """δᴸ = a − y: ∂C/∂a = (a − y) / (a(1 − a)) and σ′ = a(1 − a) cancel (finite when σ
    saturates)."""
    return a - y


def _softmax_delta(a: np.ndarray, z: np.ndarray, y: np.ndarray, prime: Any) -> np.ndarray:
    """δᴸ = softmax(z) − y for one-hot rows y."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True) - y


LOSSES: dict[str, Loss] = {loss.name: loss for loss in (
    Loss("mse", mse_loss, HIDDEN, "one-hot", _quadratic_delta),
    Loss("bce", binary_cross_entropy, "sigmoid", "one-hot", _sigmoid_bce_delta),
    Loss("cross_entropy", cross_entropy, None, "labels", _softmax_delta),
)}


def get_loss(name: Any) -> Loss:
    """The registry's entry called `name`, or a ValueError listing the valid names."""
    if isinstance(name, str) and name in LOSSES:
        return LOSSES[name]
    raise ValueError(f"unknown loss {name!r}; valid: {', '.join(LOSSES)}")


# ---- shared checks -----------------------------------------------------------------------------

def _pair(a: Any, y: Any, name: str) -> tuple[Tensor, Any]:
    """The prediction as a Tensor and the target as an array (a Tensor target stays one: it may
    need a gradient), after checking that their shapes are equal."""
    if not isinstance(a, Tensor):
        a = Tensor(a)
    if not isinstance(y, (Tensor, np.ndarray)):
        y = _target(y, name)
    elif y.dtype.kind not in "fiub":
        raise TypeError(f"{name}: targets must be numbers, got an array of dtype {y.dtype}")
    if a._data.shape != y.shape:
        raise ValueError(f"{name}: prediction shape {a.shape} and target shape {y.shape} differ "
                         "(targets are never broadcast; reshape one of them)")
    if not a._data.size:
        raise ValueError(f"{name}: predictions of shape {a.shape} hold no entries: nothing to "
                         "average over")
    return a, y


def _target(y: Any, name: str) -> np.ndarray:
    """Array-like targets as float64, or an error saying why they are not numbers."""
    try:
        return np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name}: targets must be numbers in a rectangular array, got "
                        f"{type(y).__name__} ({e})") from None


@primitive
def _unit_interval(a, name, what, hint):
    """a, after checking that its entries lie in [0, 1]."""
    _in_unit_interval(a, name, what, hint)
    return a.view()


@_unit_interval.defvjp
def _unit_interval_vjp(g, out, a, name, what, hint):
    """∂a = g"""
    return (g, None, None, None)


@primitive
def _one_where(a, y, v):
    """a + 1 where y = v (y is read, not differentiated)."""
    return a + (y == v)


@_one_where.defvjp
def _one_where_vjp(g, out, a, y, v):
    """∂(a + [y = v]) = (g, nothing for y)"""
    return (g, None, None)


def _in_unit_interval(a: Any, name: str, what: str, hint: str) -> None:
    data = a.data if isinstance(a, Tensor) else np.asarray(a, dtype=np.float64)
    if data.size and not (data.min() >= 0.0 and data.max() <= 1.0):
        raise ValueError(f"{name}: {what} must lie in [0, 1], got values from "
                         f"{float(data.min())!r} to {float(data.max())!r}{hint}")
