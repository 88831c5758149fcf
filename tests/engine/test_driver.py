"""The backward driver: a short loop, its inlined fast path giving the same gradients, and one
function through which every rule in the engine is applied."""

from __future__ import annotations

import gc
import inspect
import pathlib
import re

import numpy as np
import pytest

import autograd
from autograd import Tensor, Value, primitive
from autograd import graph as engine
from autograd.graph import _backward_tensors, _collector_paused, _Run, _walk, toposort


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


def test_the_fast_path_gives_what_the_readable_loop_gives():
    results = []
    for fast in (False, True):
        leaves, root = _tensor_graph()
        seed = np.array(1.0)
        with _collector_paused:
            if fast:
                _backward_tensors(root, seed, True)
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
    # apply_rule's two forms, the Tensor fast path's two, and the Value fast path's one
    assert calls == {"graph.py": 5}, calls


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


# ---- the fast path for Tensors ----------------------------------------------------------------

def test_a_tensor_rule_that_raises_leaves_every_gradient_as_it_was():
    @autograd.primitive
    def boom(x):
        return x * 1.0

    @boom.defvjp
    def boom_vjp(g, out, x):
        raise ArithmeticError("boom")

    x = Tensor([1.0, 2.0], requires_grad=True)
    a = boom(x)
    w = Tensor([3.0, 4.0], requires_grad=True)  # newer than a: settled before boom's rule runs
    w.grad = np.array([0.5, 0.25])
    h = a * w
    h.retain_grad()
    loss = h.sum()
    with pytest.raises(ArithmeticError, match="boom"):
        loss.backward()
    np.testing.assert_array_equal(w.grad, [0.5, 0.25])
    assert x.grad is None and h.grad is None and a.grad is None and loss.grad is None


def test_the_tensor_fast_path_adds_into_leaves_and_retained_nodes():
    w = Tensor([1.0, -2.0], requires_grad=True)
    h = w * w
    h.retain_grad()
    loss = (h * w).sum()  # w reached by two paths: Σ w³
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_array_equal(w.grad, 2 * 3 * w.data ** 2)
    np.testing.assert_array_equal(h.grad, 2 * w.data)
    assert loss.grad is None and h._op is not None


def test_a_tensor_no_gradient_reaches_keeps_its_gradient():
    @autograd.primitive
    def first(x, y):
        return x * 1.0

    @first.defvjp
    def first_vjp(g, out, x, y):
        return g, None  # y takes no gradient

    a = Tensor([1.0, 2.0], requires_grad=True)
    b = Tensor([3.0, 4.0], requires_grad=True)
    h = b * 2.0
    h.retain_grad()
    b.grad, h.grad = np.array([7.0, 7.0]), np.array([0.5, 0.5])
    first(a, h).sum().backward()
    np.testing.assert_array_equal(a.grad, [1.0, 1.0])
    np.testing.assert_array_equal(b.grad, [7.0, 7.0])
    np.testing.assert_array_equal(h.grad, [0.5, 0.5])


def test_a_loss_seed_is_shared_but_never_handed_out():
    w = Tensor(2.0, requires_grad=True)  # the root is the leaf: its gradient is the seed
    w.backward()
    assert w.grad == 1.0 and w.grad.flags.writeable
    w.backward()
    assert w.grad == 2.0
    v = Tensor(3.0, requires_grad=True)
    v.backward()
    assert v.grad == 1.0 and w.grad == 2.0 and not np.shares_memory(v.grad, w.grad)


def test_a_rule_that_writes_into_the_seed_is_refused():
    @autograd.primitive
    def scribble(x):
        return x * 1.0

    @scribble.defvjp
    def scribble_vjp(g, out, x):
        g += 1.0  # writing into the incoming gradient, which other nodes may share
        return (g,)

    with pytest.raises(ValueError, match="read-only"):
        scribble(Tensor(1.0, requires_grad=True)).backward()
    assert Tensor(1.0, requires_grad=True).sum()._seed(None) == 1.0


# ---- the fast path for Values, against the readable loop ------------------------------------

def _scalar_graph() -> tuple[list[Value], Value]:
    """Hot binary nodes, general ones (constants, tanh, exp, div), a node used twice by one op
    (h * h) and by several ops."""
    a, b = Value(0.7, label="a"), Value(-1.3, label="b")
    h = (a * b + a ** 2).tanh()
    s = h * h - a
    return [a, b], (h * a - b / (h + 3.0)).exp() + h.relu() * 2.0 + s + (-s).relu() * b


def _run_readable(root: Value, seed: float) -> None:
    with _collector_paused:
        _walk(toposort(root), seed, _Run(None, False, True))


def _every_grad(root: Value) -> list[float]:
    return [n.grad for n in toposort(root)]


@pytest.mark.parametrize("old", [0.0, 0.375])
def test_the_value_fast_path_gives_what_the_readable_loop_gives(old):
    results = []
    for readable in (False, True):
        _, root = _scalar_graph()
        for n in toposort(root):
            n.grad = old  # an earlier backward's gradients, which this one adds to
        for _ in range(2):
            if readable:
                _run_readable(root, 0.5)
            else:
                engine.backward_pass(root, 0.5, retain_graph=True)
        results.append(_every_grad(root))
    assert results[0] == results[1]
    assert len(set(results[0])) > 5


def test_the_value_fast_path_frees_the_graph_unless_retained():
    _, root = _scalar_graph()
    engine.backward_pass(root, 1.0)
    assert all(n._args is None for n in toposort(root) if n._op is not None)
    before = _every_grad(root)
    with pytest.raises(RuntimeError, match="saved inputs were freed"):
        engine.backward_pass(root, 1.0)
    assert _every_grad(root) == before  # nothing written by the refused pass


def test_a_refused_value_backward_writes_no_gradient():
    leaves, root = _scalar_graph()
    root.backward()
    before = _every_grad(root)
    leaves[1].data = 2.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        root.backward()
    assert _every_grad(root) == before


def test_a_rule_that_raises_leaves_every_gradient_as_it_was():
    @autograd.primitive
    def boom(x):
        return x

    @boom.defvjp
    def boom_vjp(g, out, x):
        raise ArithmeticError("boom")

    a, b = Value(1.5), Value(2.0)
    p = a * b
    root = boom(p) + p * a  # the newer p * a passes its gradients on before boom's rule runs
    a.grad = 0.125
    with pytest.raises(ArithmeticError, match="boom"):
        root.backward()
    assert [a.grad, b.grad, p.grad, root.grad] == [0.125, 0.0, 0.0, 0.0]


def test_a_node_no_gradient_reaches_keeps_its_gradient_and_passes_nothing_on():
    @autograd.primitive
    def first(x, y):
        return x

    @first.defvjp
    def first_vjp(g, out, x, y):
        return g, None  # y takes no gradient

    results = []
    for readable in (False, True):
        a, b = Value(3.0), Value(0.0)
        y = b.sqrt()  # its rule gives nan at b = 0 if it runs with g = 0
        root = first(a * a, y)
        y.grad = 0.25
        if readable:
            _run_readable(root, 1.0)
        else:
            root.backward()
        results.append([a.grad, b.grad, y.grad])
    assert results[0] == results[1] == [6.0, 0.0, 0.25]


@pytest.mark.parametrize("kind", ["Value", "Tensor"])
def test_the_cycle_collector_pauses_for_a_large_backward_pass_only(kind):
    """A plain backward through fewer than _FEW nodes leaves the collector on (pausing it
    costs more than the few objects such a pass makes); a larger one pauses it, and turns it
    back on at the end."""
    seen = []

    @primitive
    def note(x):
        return x

    @note.defvjp
    def note_vjp(g, out, x):
        seen.append(gc.isenabled())
        return (g,)

    for length in (3, engine._FEW + 5):
        x = Value(1.0) if kind == "Value" else Tensor(1.0, requires_grad=True)
        out = note(x)
        for _ in range(length):
            out = out + 1.0
        out.backward()
        assert gc.isenabled()
    assert seen == [True, False]


def test_numpy_1_error_state_goes_through_the_same_three_calls():
    """numpy 1.x keeps its error state behind seterr: `_Seterr` gives it a context variable's
    get, set and reset, so silently, overflow_raises and a replay need no branch for it."""
    errors = engine._Seterr()
    before = np.geterr()
    token = errors.set({"all": "ignore", "over": "raise"})
    try:
        assert errors.get() == {"divide": "ignore", "over": "raise", "under": "ignore",
                                "invalid": "ignore"}
        assert errors.get() is not errors.get()  # never the silent state itself: always set
        with pytest.raises(FloatingPointError):
            np.exp(np.array([1000.0]))
    finally:
        errors.reset(token)
    assert np.geterr() == before


@pytest.mark.parametrize("create_graph", [False, True])
def test_a_0d_leaf_keeps_an_array_gradient_when_gradients_accumulate(create_graph):
    """numpy adds two 0-d arrays into a numpy scalar; a gradient added to an old one stays a
    0-d array, on the fast path and the general one (a second backward, then a plain one)."""
    w = Tensor(np.array(2.0), requires_grad=True)
    (w * w).backward(create_graph=create_graph)
    (w * w * w).backward()
    g = w.grad.data if isinstance(w.grad, Tensor) else w.grad
    assert isinstance(g, np.ndarray) and g.shape == () and g.flags.writeable
    assert float(g) == 4.0 + 12.0
    for general in (False, True):  # the second pass on the fast path, then the general loop
        u = Tensor(np.array(3.0), requires_grad=True)
        loss = u * u
        loss.backward(retain_graph=True)
        if general:
            with autograd.detect_anomaly():
                loss.backward()
        else:
            loss.backward()
        assert type(u.grad) is np.ndarray and u.grad.shape == () and float(u.grad) == 12.0


def test_a_compiled_step_keeps_a_0d_gradient_an_array_when_it_accumulates():
    """The replay adds to an old gradient as eager does: a 0-d array, not a numpy scalar."""
    w = Tensor(np.array(2.0), requires_grad=True)

    def fn(x):
        (w * x).backward()  # no reset: the gradient accumulates over calls

    comp = autograd.compile(fn, strict=True)
    for k in range(1, 6):
        comp(np.array(3.0))
        assert type(w.grad) is np.ndarray and w.grad.shape == () and float(w.grad) == 3.0 * k


@pytest.mark.parametrize("kind", ["tensor", "value"])
def test_threads_backward_through_a_shared_leaf_add_every_gradient(kind):
    """Passes take turns: side by side (a thread switch every microsecond), the read, add,
    write of a gradient into the shared leaf lost one in 19 trials of 20."""
    import sys
    import threading

    every = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for _ in range(5):
            w = Tensor(np.ones(3), requires_grad=True) if kind == "tensor" else Value(1.0)

            def work(w=w):
                for _ in range(20):
                    total = w * 1.0
                    for _ in range(30):
                        total = total + w * 1.0
                    (total.sum() if kind == "tensor" else total).backward()

            threads = [threading.Thread(target=work) for _ in range(3)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            np.testing.assert_array_equal(w.grad, np.full(np.shape(w.data), 3 * 20 * 31.0))
    finally:
        sys.setswitchinterval(every)
