"""The backward driver: a short loop, its inlined fast path giving the same gradients, and one
function through which every rule in the engine is applied."""

from __future__ import annotations

import inspect
import pathlib
import re

import numpy as np
import pytest

import autograd
from autograd import Tensor, Value
from autograd import graph as engine
from autograd.graph import _collector_paused, _Run, _walk, _walk_plain, toposort


def _value_graph() -> tuple[list[Value], Value]:
    a, b = Value(0.7, label="a"), Value(-1.3, label="b")
    h = (a * b + a ** 2).tanh()
    return [a, b], (h * a - b / (h + 3.0)).exp() + h.relu() * 2.0


def _tensor_graph() -> tuple[list[Tensor], Tensor]:
    rng = np.random.default_rng(0)
    w = Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    b = Tensor(rng.standard_normal(4), requires_grad=True)  # broadcast over the rows
    x = Tensor(rng.standard_normal((5, 3)))
    h = (x @ w + b).sigmoid()
    return [w, b], (h * h).sum() + h.max(axis=0).sum() + (h @ w.T).logsumexp(axis=1).sum()


@pytest.mark.parametrize("build", [_value_graph, _tensor_graph])
def test_the_fast_path_gives_what_the_readable_loop_gives(build):
    results = []
    for fast in (False, True):
        leaves, root = build()
        seed = 1.0 if isinstance(root, Value) else np.array(1.0)
        with _collector_paused:
            if fast:
                _walk_plain(toposort(root), seed, True)
            else:
                _walk(toposort(root), seed, _Run(None, False, False))
        results.append([np.asarray(leaf.grad) for leaf in leaves])
        assert all(n._args is None for n in toposort(root) if n._op is not None)  # freed
    for fast, slow in zip(*results):
        np.testing.assert_array_equal(fast, slow)


def test_the_driver_is_named_backward_pass_not_backprop():
    # backprop is nn.delta.backprop, the document's closed-form recursion
    assert callable(engine.backward_pass)
    assert not hasattr(engine, "backprop")


def test_the_backward_loop_fits_on_a_screen():
    body = inspect.getsource(_walk).splitlines()
    assert len(body) <= 20, "\n".join(body)


def test_rules_are_applied_in_one_place_only():
    """Every `vjp(` call in the engine is in graph.py: apply_rule and the marked fast path."""
    root = pathlib.Path(autograd.__file__).parent
    calls = {}
    for path in sorted(root.rglob("*.py")):
        found = re.findall(r"\.vjp\(", path.read_text())
        if found:
            calls[str(path.relative_to(root))] = len(found)
    # apply_rule's two forms, and the fast paths for Tensors and for Values
    assert calls == {"graph.py": 4}, calls


def test_the_culprit_finder_and_local_derivatives_use_apply_rule():
    from autograd.check import culprit
    from autograd.draw import local

    assert culprit.apply_rule is engine.apply_rule
    assert local.apply_rule is engine.apply_rule
    x, y = Value(3.0), Value(4.0)
    assert local.scalar_partials(x * y) == (4.0, 3.0)


def test_a_freed_graph_is_named_by_apply_rule():
    w = Tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="'sum' node's saved inputs were freed"):
        loss.backward()
