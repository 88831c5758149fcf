"""The document's train() and evaluate(), on Tensors.

Each epoch shuffles the training set with a seeded Generator, cuts it into mini-batches and,
for each batch, runs forward, loss, zero_grad, backward and the optimizer's step; then it counts
the test images the network gets right and prints the document's line
"Epoch j: correct / total". The loop is the hot path of MNIST training, so everything that can
be done once is done before the first epoch: targets become one-hot arrays in the model's
dtype, batches are numpy takes of a permutation, and the step is compiled
(`nn.compile_step`) unless `compiled=False` asks for the eager one.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from autograd import Tensor, no_grad
from autograd.files import json_safe
from nn.compiled import EXACT_FUSIONS, compile_step
from nn.data import CLASSES, Split, batch_slices
from nn.init import make_rng
from nn.losses import cross_entropy_one_hot, get_loss, one_hot


@dataclass
class Epoch:
    """What one epoch did: mean training loss, test score (None without test data), and the
    wall-clock and CPU seconds its training took (evaluation excluded)."""

    epoch: int
    loss: float
    correct: int | None
    total: int | None
    accuracy: float | None
    seconds: float
    cpu_seconds: float = 0.0


class Diverged(ArithmeticError):
    """Training produced a non-finite loss or weight: where (epoch, step), what, and the
    History of the epochs completed before it."""

    def __init__(self, epoch: int, step: int, what: str) -> None:
        hint = ("before any update: check the initialisation, the inputs and the output "
                "activation the loss expects" if (epoch, step) == (0, 0)
                else "try a smaller learning rate")
        super().__init__(f"training diverged at epoch {epoch}, step {step}: {what}; {hint}")
        self.epoch, self.step, self.what = epoch, step, what
        self.history: History | None = None


@dataclass
class History:
    """The epochs of one training run, in order, and where it diverged (None if it did not)."""

    epochs: list[Epoch] = field(default_factory=list)
    divergence: dict[str, Any] | None = None

    @property
    def loss(self) -> list[float]:
        """Mean training loss per epoch."""
        return [e.loss for e in self.epochs]

    @property
    def accuracy(self) -> list[float | None]:
        """Test accuracy (a fraction) per epoch."""
        return [e.accuracy for e in self.epochs]

    @property
    def seconds(self) -> float:
        """Total training time (wall clock), evaluation excluded."""
        return sum(e.seconds for e in self.epochs)

    @property
    def cpu_seconds(self) -> float:
        """Total CPU time of training: less swayed than wall time by other work on the machine."""
        return sum(e.cpu_seconds for e in self.epochs)

    def best(self) -> Epoch | None:
        """The epoch with the most correct test answers (the first of equals)."""
        scored = [e for e in self.epochs if e.correct is not None]
        return max(scored, key=lambda e: e.correct) if scored else None

    def to_dict(self) -> dict[str, Any]:
        """Plain data for strict JSON: every epoch, the best one, the total training time and
        whether the run diverged; a non-finite number is None (and marks the run diverged)."""
        best = self.best()
        data, bad = json_safe({"epochs": [asdict(e) for e in self.epochs],
                               "best": None if best is None else asdict(best),
                               "seconds": self.seconds, "cpu_seconds": self.cpu_seconds})
        return {**data, "diverged": bad or self.divergence is not None,
                "divergence": self.divergence}


def evaluate(model: Callable[[Any], Tensor], data: Split, chunk: int = 10_000) -> int:
    """The number of examples whose largest output is the right label (the document's)."""
    _check_split(data, "data")
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"chunk must be a positive integer, got {chunk!r}")
    correct = 0
    with no_grad():
        for k in range(0, len(data), chunk):
            out = model(data.images[k:k + chunk])
            correct += int((out.data.argmax(axis=1) == data.labels[k:k + chunk]).sum())
    return correct


def train(model: Any, optimizer: Any, data: Split, *, epochs: int = 30, batch_size: int = 10,
          loss: str = "mse", test: Split | None = None,
          seed: int | np.random.Generator | None = None, progress: bool | None = None,
          log: Callable[[str], Any] | None = print, compiled: bool = True,
          fusions: bool | Iterable[str] = EXACT_FUSIONS) -> History:
    """Mini-batch training, as the document's train(); returns the per-epoch History.

    `loss` is "mse" (the document's quadratic cost, on one-hot targets), "bce" (section
    4.2.2's cross-entropy per output unit) or "cross_entropy" (softmax cross-entropy on the
    logits). With `test`, each epoch ends with "Epoch j: correct / total"; without it,
    "Epoch j complete". A progress bar is shown when `progress` is true (default: when
    stdout is a terminal). With `compiled` (the default) each step is one `nn.compile_step`
    call; `compiled=False` runs the eager zero_grad, forward, backward and step. `fusions`
    are compile_step's: by default only those that keep eager's bits (EXACT_FUSIONS), so a
    compiled run prints an eager run's lines however long it is; True adds the three that
    round differently (within 1e-12 a step), faster by 5-10%, whose runs part from eager's
    by a few counts after some epochs.
    """
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 0:
        raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
    _check_split(data, "data")
    if test is not None:
        _check_split(test, "test")
        if not len(test):
            raise ValueError("the test data is empty: no examples to score the epochs on "
                             "(pass test=None to train without scoring)")
    if not len(data):
        raise ValueError("the training data is empty: no examples to train on")
    if not (callable(getattr(optimizer, "zero_grad", None))
            and callable(getattr(optimizer, "step", None))):
        raise TypeError(f"optimizer must have zero_grad() and step() (nn.SGD, nn.Adam), got "
                        f"{type(optimizer).__name__}")
    spec = get_loss(loss)
    cost, targets = _replayable(spec, data.labels)
    images, targets = _in_dtype(model, data.images, targets)
    # dropout draws a new mask each step: data a replay cannot see, so those steps run eagerly
    if compiled and not _draws_random(model):
        step = compile_step(model, cost, optimizer, fusions=fusions)
    else:
        step = _eager_step(model, cost, optimizer)
    rng = make_rng(seed)
    cuts = batch_slices(len(data), batch_size)
    if progress is None:
        progress = sys.stdout.isatty()
    _set_mode(model, True)
    history = History()
    # Overflow to inf and nan is what a diverging run computes: it is caught below and
    # reported as Diverged, not left to numpy's RuntimeWarnings.
    with np.errstate(all="ignore"):
        for j in range(epochs):
            start, cpu = time.perf_counter(), time.process_time()
            try:
                mean = _epoch(model, step, images, targets, rng.permutation(len(data)),
                              _bar(cuts, j) if progress else cuts, j)
            except Diverged as e:
                history.divergence = {"epoch": e.epoch, "step": e.step, "what": e.what}
                e.history = history
                raise
            seconds = (time.perf_counter() - start, time.process_time() - cpu)
            history.epochs.append(_score(model, j, mean, seconds, test, log))
    return history


def _epoch(model: Any, step: Callable[[np.ndarray, np.ndarray], Tensor], x: np.ndarray,
           targets: np.ndarray, order: np.ndarray, cuts: Any, j: int) -> float:
    """One pass (epoch j) over the shuffled batches; returns the mean of the per-example loss,
    or raises Diverged at the first non-finite loss or weight."""
    total = 0.0
    i = -1
    for i, s in enumerate(cuts):
        idx = order[s]
        # take() into a fresh array: faster than np.take(..., out=buffer), measured
        value = float(step(x.take(idx, axis=0), targets.take(idx, axis=0)).data)
        if not math.isfinite(value):
            raise Diverged(j, i, f"the loss is {value}")
        total += value * len(idx)
    _check_weights(model, j, i)
    return total / len(x)


def _draws_random(model: Any) -> bool:
    """Whether a module of the model draws random numbers while training (Dropout)."""
    modules = model.modules() if callable(getattr(model, "modules", None)) else ()
    return any(getattr(m, "draws_random", False) for m in modules)


def _eager_step(model: Any, cost: Callable[[Tensor, Any], Tensor],
                optimizer: Any) -> Callable[[np.ndarray, np.ndarray], Tensor]:
    """The uncompiled step: forward, loss, zero_grad, backward, update."""

    def step(xb: np.ndarray, yb: np.ndarray) -> Tensor:
        batch_loss = cost(model(xb), yb)
        optimizer.zero_grad()
        batch_loss.backward()
        optimizer.step()
        return batch_loss

    return step


def _in_dtype(model: Any, images: np.ndarray,
              targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Images and float targets in the dtype of the model's parameters (float32 end to end)."""
    params = model.parameters() if callable(getattr(model, "parameters", None)) else []
    if not params:
        return images, targets
    dtype = params[0].dtype
    if targets.dtype.kind == "f":
        targets = targets.astype(dtype, copy=False)
    return images.astype(dtype, copy=False), targets


def _check_weights(model: Any, j: int, step: int) -> None:
    """Diverged naming the first parameter with a non-finite entry (a model without
    named_parameters, such as a plain function, is not checked)."""
    named = getattr(model, "named_parameters", None)
    for name, p in named() if callable(named) else ():
        if not np.isfinite(p.data).all():
            raise Diverged(j, step, f"parameter {name} holds non-finite values")


def _score(model: Any, j: int, loss: float, seconds: tuple[float, float], test: Split | None,
           log: Callable[[str], Any] | None) -> Epoch:
    """Evaluate after epoch j, log the document's line, and record the epoch."""
    if test is None:
        if log:
            log(f"Epoch {j} complete")
        return Epoch(j, loss, None, None, None, *seconds)
    _set_mode(model, False)
    correct = evaluate(model, test)
    _set_mode(model, True)
    if log:
        log(f"Epoch {j}: {correct} / {len(test)}")
    return Epoch(j, loss, correct, len(test), correct / len(test), *seconds)


def _replayable(spec: Any,
                labels: np.ndarray) -> tuple[Callable[[Tensor, Any], Tensor], np.ndarray]:
    """The loss and its training targets in a form a compiled step can replay."""
    if spec.name == "cross_entropy":
        # one-hot rows rather than labels: the same cost, with no data-dependent indexing
        return cross_entropy_one_hot, one_hot(labels, CLASSES)
    return spec.function, spec.targets_of(labels, CLASSES)


def _check_split(data: Any, name: str) -> None:
    """A Split, or anything with images and labels of one length, else an error saying so."""
    if not (hasattr(data, "images") and hasattr(data, "labels")):
        raise TypeError(f"{name} must be a Split (images, labels), such as load_mnist().train; "
                        f"got {type(data).__name__}")
    if len(data.images) != len(data.labels):
        raise ValueError(f"{name} holds {len(data.images)} images but {len(data.labels)} "
                         "labels")


def _set_mode(model: Any, training: bool) -> None:
    """train()/eval() on modules that have them (plain functions are left alone)."""
    switch = getattr(model, "train", None)
    if callable(switch):
        switch(training)


def _bar(cuts: list[slice], j: int) -> Any:
    """A tqdm bar over one epoch's batches, cleared when the epoch ends."""
    from tqdm import tqdm

    return tqdm(cuts, desc=f"Epoch {j}", unit="batch", leave=False,
                mininterval=0.25, file=sys.stdout)
