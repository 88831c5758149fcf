"""autograd.compile: replays agree with eager, and what cannot be replayed runs eagerly."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import autograd
from autograd import CompileError, CompileWarning, Tensor, compile, detect_anomaly, no_grad
from autograd import graph as graph_module


def _params(seed: int = 0) -> list[Tensor]:
    rng = np.random.default_rng(seed)
    shapes = [(6, 8), (6,), (3, 6), (3,)]
    return [Tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]


def _net_step(ps: list[Tensor], out: str = "tanh", returns: bool = True):
    w1, b1, w2, b2 = ps

    def step(x, y):
        a1 = (x @ w1.T + b1).sigmoid()
        a2 = getattr(a1 @ w2.T + b2, out)()
        loss = ((a2 - y) ** 2).sum() / (2 * len(x))
        for p in ps:
            p.grad = None
        loss.backward()
        return loss if returns else None

    return step


def _batches(n: int, m: int = 5, seed: int = 1):
    rng = np.random.default_rng(seed)
    return [(rng.random((m, 8)), rng.random((m, 3))) for _ in range(n)]


def _quiet(fn, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn(*args)


def test_replay_matches_eager_step_for_step_with_updates_between_calls():
    eager_ps, comp_ps = _params(), _params()
    eager, comp = _net_step(eager_ps), compile(_net_step(comp_ps))
    for i, (x, y) in enumerate(_batches(8)):
        le, lc = eager(x, y), _quiet(comp, x, y)
        assert float(lc.data) == pytest.approx(float(le.data), rel=1e-13, abs=1e-15)
        for pe, pc in zip(eager_ps, comp_ps):
            np.testing.assert_allclose(pc.grad, pe.grad, rtol=1e-12, atol=1e-15)
            # in place on even steps, a new array on odd ones: both must be seen by the replay
            if i % 2:
                pe.data, pc.data = pe.data - 0.5 * pe.grad, pc.data - 0.5 * pc.grad
            else:
                pe.data -= 0.5 * pe.grad
                pc.data -= 0.5 * pc.grad
    assert comp.tapes == 1


def test_replayed_calls_build_no_graph_and_sort_nothing(monkeypatch):
    ps = _params()
    comp = compile(_net_step(ps))
    batches = _batches(5)
    for x, y in batches[:3]:
        comp(x, y)
    made = []
    original = Tensor.__dict__["_from_data"].__func__

    def counting(cls, data, op=None, *rest):
        made.append(op)
        return original(cls, data, op, *rest)

    def no_sort(*args):
        raise AssertionError("a topological sort during a replay")

    monkeypatch.setattr(Tensor, "_from_data", classmethod(counting))
    monkeypatch.setattr(graph_module, "toposort", no_sort)
    monkeypatch.setattr(graph_module, "_reach", no_sort)
    loss = comp(*batches[3])
    assert made == [None]  # only the returned constant
    assert loss._op is None and not loss.requires_grad


def test_replay_source_is_straight_line():
    comp = compile(_net_step(_params()))
    for x, y in _batches(3):
        comp(x, y)
    source = next(iter(comp._entries.values()))[1].replay.source
    assert "for " not in source and "while " not in source and "{" not in source


def test_a_new_shape_gets_its_own_tape_and_old_shapes_keep_theirs():
    eager_ps, comp_ps = _params(), _params()
    eager, comp = _net_step(eager_ps), compile(_net_step(comp_ps))
    batches = _batches(4, m=5) + _batches(4, m=2, seed=3) + _batches(2, m=5, seed=4)
    for x, y in batches:
        np.testing.assert_allclose(_quiet(comp, x, y).data, eager(x, y).data, rtol=1e-13)
        for pe, pc in zip(eager_ps, comp_ps):
            np.testing.assert_allclose(pc.grad, pe.grad, rtol=1e-12, atol=1e-15)
    assert comp.tapes == 2


def test_gradients_accumulate_as_in_eager_when_fn_does_not_reset_them():
    w = Tensor([[1.0, -2.0], [0.5, 3.0]], requires_grad=True)
    comp = compile(lambda x: (x @ w).relu().sum().backward())
    x = np.array([[1.0, 2.0], [3.0, -4.0]])
    for _ in range(5):
        _quiet(comp, x)
    expected = 5 * (x.T @ ((x @ w.data) > 0))
    np.testing.assert_allclose(w.grad, expected)


def test_gradients_handed_out_are_not_reused_buffers():
    w = Tensor(np.ones(3), requires_grad=True)

    def fn(x):
        w.grad = None
        (w * x).sum().backward()

    comp = compile(fn)
    held = []
    for k in range(5):
        _quiet(comp, np.full(3, float(k)))
        held.append(w.grad)
    for k, g in enumerate(held):
        np.testing.assert_array_equal(g, np.full(3, float(k)))


@pytest.mark.parametrize("reset", [True, False], ids=["reset in fn", "accumulated"])
@pytest.mark.parametrize("weighted", [False, True], ids=["summed", "weighted, then summed"])
def test_one_gradient_buffer_reaching_two_parameters_is_copied_for_one(reset, weighted):
    a, b = Tensor(np.ones(3), requires_grad=True), Tensor(np.ones(3), requires_grad=True)

    def fn(x):
        if reset:
            a.grad = b.grad = None
        # add hands one buffer to both operands (summed, the replay keeps it one number and
        # fills an array for each parameter; weighted, both get mul's one array)
        ((a + b) * x if weighted else a + b + x).sum().backward()

    comp = compile(fn, strict=True)
    for _ in range(4):
        if not reset:
            a.grad = b.grad = None
        _quiet(comp, np.ones(3))
        assert not np.shares_memory(a.grad, b.grad)
        a.grad += 1.0  # an in-place change of one gradient leaves the other alone
        np.testing.assert_array_equal(b.grad, np.ones(3))


def test_a_float32_parameter_gets_a_float32_gradient_from_float64_arithmetic():
    w = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    c = np.array([1.0, 2.0, 1e-10])  # float64: w * c computes in float64

    def fn(x):
        w.grad = None
        ((w * c) * x).sum().backward()

    comp = compile(fn, strict=True)
    for k in range(4):
        _quiet(comp, np.full(3, float(k + 1)))
        assert w.grad.dtype == np.float32
        np.testing.assert_array_equal(w.grad, (c * (k + 1)).astype(np.float32))
        w.grad = w.grad + 1.0  # the next call sets it afresh: fn resets it first


def test_a_parameter_that_changes_shape_is_captured_anew():
    w = Tensor(np.ones((2, 3)), requires_grad=True)

    def fn(x):
        w.grad = None
        (x @ w).sum().backward()

    comp = compile(fn)
    x = np.ones((4, 2))
    for _ in range(4):
        _quiet(comp, x)
    w.grad = None  # a tensor holding a gradient keeps its shape
    w.data = np.ones((2, 5))
    _quiet(comp, x)
    np.testing.assert_array_equal(w.grad, np.full((2, 5), 4.0))


def test_ndarray_arguments_reach_fn_as_constant_tensors_on_every_call():
    seen = []
    w = Tensor(np.ones(2), requires_grad=True)

    def fn(x):
        seen.append(type(x))
        return (w * x).sum()

    comp = compile(fn)
    for _ in range(4):
        _quiet(comp, np.ones(2))
    assert seen == [Tensor, Tensor, Tensor]  # the fourth call is a replay


def test_inputs_that_require_grad_get_their_gradients():
    comp = compile(lambda a, b: (a * b).sum().backward())
    for k in range(4):
        a = Tensor(np.arange(3.0) + k, requires_grad=True)
        b = Tensor(np.ones(3) * 2, requires_grad=True)
        _quiet(comp, a, b)
        np.testing.assert_array_equal(a.grad, b.data)
        np.testing.assert_array_equal(b.grad, a.data)


def test_inputs_not_requiring_grad_are_left_without_gradients():
    w = Tensor(np.ones(3), requires_grad=True)
    x = Tensor(np.arange(3.0))
    comp = compile(lambda x: (w * (x / 2)).sum().backward())
    for _ in range(4):
        _quiet(comp, x)
    assert x.grad is None and not x.requires_grad


# ---- what cannot be replayed --------------------------------------------------------------

W = Tensor(np.arange(12.0).reshape(3, 4) / 10 - 0.5, requires_grad=True)


def _item(x):
    loss = (x @ W.T).sum()
    loss.backward()
    return loss.item()


def _branch(x):
    loss = (x @ W.T).sum()
    if loss.data > 3.0:
        loss = loss * 2
    loss.backward()


def _update(x):
    (x @ W.T).sum().backward()
    W.data -= 0.01 * W.grad


def _random_mask(x):
    # random weights, not a 0/1 mask: six random bits repeat between two calls once in 64
    mask = np.random.default_rng().random((len(x), 3))
    ((x @ W.T) * mask).sum().backward()


def _under_no_grad(x):
    with no_grad():
        z = x * 2
    (z @ W.T).sum().backward()


def _comparison(x):
    z = x @ W.T
    (z * (z > 0)).sum().backward()


def _create_graph(x):
    (x @ W.T).sum().backward(create_graph=True)


def _float(x):
    return float((x @ W.T).sum().data) + 1.0


UNCAPTURABLE = {
    _item: ".data", _branch: ".data", _update: ".data", _random_mask: "changed between",
    _under_no_grad: "untracked", _comparison: ".data", _create_graph: "create_graph",
    _float: ".data",
}


@pytest.mark.parametrize("fn", list(UNCAPTURABLE), ids=lambda f: f.__name__)
def test_uncapturable_fn_warns_once_and_runs_eagerly(fn):
    twin = np.random.default_rng(5)
    inputs = [twin.random((2, 4)) for _ in range(6)]
    comp = compile(fn)
    with pytest.warns(CompileWarning, match="runs eagerly") as record:
        for x in inputs:
            W.grad = None
            got = comp(x)
            W.grad = None
            want = fn(Tensor(x)) if fn is not _random_mask else None
            if fn in (_item, _float):
                assert got == want
            if fn is _branch or fn is _comparison:
                W.grad = None
                comp_grad = _grad_of(comp, x)
                assert np.array_equal(comp_grad, _grad_of(fn, Tensor(x)))
    assert sum(issubclass(r.category, CompileWarning) for r in record) == 1
    assert UNCAPTURABLE[fn] in comp.eager_reason
    assert comp.tapes == 0


def _grad_of(fn, x):
    W.grad = None
    fn(x)
    g = W.grad
    W.grad = None
    return g


def test_strict_raises_a_clear_error():
    comp = compile(_item, strict=True)
    comp(np.ones((2, 4)))
    with pytest.raises(CompileError, match=r"_item runs eagerly: fn reads \.data"):
        comp(np.ones((2, 4)))


def test_data_dependent_branch_never_replays_the_wrong_arm():
    # The branch flips on the fifth call; eager and compiled must agree on every call.
    comp = compile(_branch)
    for k in range(8):
        x = np.full((2, 4), 1.0 if k < 4 else -1.0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CompileWarning)
            got = _grad_of(comp, x)
        np.testing.assert_array_equal(got, _grad_of(_branch, Tensor(x)))


def test_anomaly_mode_runs_eagerly_with_a_warning():
    comp = compile(lambda x: (x @ W.T).sum().backward())
    with detect_anomaly(), pytest.warns(CompileWarning, match="anomaly"):
        for _ in range(4):
            comp(np.ones((2, 4)))
    assert comp.tapes == 0


def test_no_grad_runs_eagerly_without_capturing():
    comp = compile(lambda x: x @ W.T)
    with no_grad():
        for _ in range(4):
            out = _quiet(comp, np.ones((2, 4)))
    np.testing.assert_allclose(out.data, np.ones((2, 4)) @ W.data.T)
    assert comp.tapes == 0


def test_values_are_not_compiled():
    from autograd import Value

    v = Value(2.0)
    comp = compile(lambda x: (v * v).backward())
    with pytest.warns(CompileWarning, match="Value"):
        for _ in range(3):
            comp(np.ones(1))


def test_values_computed_inside_fn_are_not_compiled_either():
    # Value arithmetic has a hot path that bypasses Value._from_data; a capture turns it off,
    # else a replay would keep v * v at its value during the capture
    from autograd import Value

    v = Value(2.0)
    w = Tensor(np.ones(1), requires_grad=True)
    comp = compile(lambda x: (w * x * (v * v).data).sum().backward())
    with pytest.warns(CompileWarning, match="computes on Values"):
        for k in range(4):
            w.grad = None
            v.data = 2.0 if k < 3 else 5.0
            comp(np.ones(1))
            assert w.grad[0] == v.data ** 2


def test_capture_leaves_the_classes_as_they_were():
    before = {name: Tensor.__dict__.get(name) for name in ("_from_data", "backward", "data",
                                                           "grad")}
    comp = compile(_net_step(_params()))
    for x, y in _batches(3):
        comp(x, y)
    after = {name: Tensor.__dict__.get(name) for name in before}
    assert before == after


@pytest.mark.parametrize("bad", [1.5, [1.0, 2.0], "x", None])
def test_arguments_must_be_arrays(bad):
    comp = compile(lambda x: x)
    with pytest.raises(TypeError, match="argument 0 is a"):
        comp(bad)


def test_compile_needs_a_function():
    with pytest.raises(TypeError, match="compile expects a function"):
        compile(3)


def test_compile_is_exported_beside_the_driver():
    assert autograd.compile is compile


def test_gradients_are_summed_back_to_every_operand_shape():
    # A row bias (1, 3), a column (4, 1) and a 0-d scale: leading axes, kept axes, and a
    # rule that returns a plain float all go through the reductions worked out at capture.
    rng = np.random.default_rng(8)
    eager_ps = [Tensor(rng.standard_normal(s), requires_grad=True) for s in [(1, 3), (4, 1), ()]]
    comp_ps = [Tensor(p.data.copy(), requires_grad=True) for p in eager_ps]

    def make(ps):
        row, col, scale = ps

        def fn(x):
            for p in ps:
                p.grad = None
            ((x + row) * col * scale).tanh().sum().backward()

        return fn

    eager, comp = make(eager_ps), compile(make(comp_ps))
    for _ in range(5):
        x = rng.standard_normal((2, 4, 3))
        eager(Tensor(x))
        _quiet(comp, x)
        for pe, pc in zip(eager_ps, comp_ps):
            assert pc.grad.shape == pe.data.shape
            np.testing.assert_allclose(pc.grad, pe.grad, rtol=1e-13, atol=1e-15)
    assert comp.tapes == 1


def test_a_capture_in_another_thread_only_delays_this_one():
    import threading

    from autograd import _capture

    w = Tensor(np.ones(3), requires_grad=True)

    def fn(x):
        w.grad = None
        (w * x).sum().backward()

    comp = compile(fn)
    busy, done = threading.Event(), threading.Event()

    def hold():
        with _capture.capturing(_capture.Capture([])):
            busy.set()
            done.wait(10)

    other = threading.Thread(target=hold)
    other.start()
    busy.wait(10)
    try:
        for k in range(4):
            _quiet(comp, np.full(3, float(k)))
            np.testing.assert_array_equal(w.grad, np.full(3, float(k)))
        assert comp.tapes == 0 and comp.eager_reason is None
    finally:
        done.set()
        other.join()
    for k in range(4):
        _quiet(comp, np.full(3, float(k)))
        np.testing.assert_array_equal(w.grad, np.full(3, float(k)))
    assert comp.tapes == 1


def test_an_argument_with_a_graph_of_its_own_runs_eagerly():
    w = Tensor(np.ones(3), requires_grad=True)
    comp = compile(lambda h: (h * h).sum().backward())
    with pytest.warns(CompileWarning, match="graph of its own"):
        for _ in range(3):
            w.grad = None
            comp(w * 2.0)
    np.testing.assert_array_equal(w.grad, np.full(3, 8.0))


# ---- the replay's rewrites: written-out rules, spread sums, folded seeds, dead values -------

def _source(comp) -> str:
    return next(e[1] for e in comp._entries.values() if e[0] == "ready").replay.source


def _eager_and_compiled(make, ps_of, calls, *, dtype=np.float64):
    """make(ps) -> fn; run eager and compiled twins over `calls` (lists of arrays), with an
    in-place update between calls; every output and gradient must agree to the last bit."""
    eager_ps, comp_ps = ps_of(dtype), ps_of(dtype)
    eager, comp = make(eager_ps), compile(make(comp_ps), strict=True)
    for args in calls:
        want = eager(*[Tensor(a) for a in args])
        got = _quiet(comp, *args)
        if want is not None:
            np.testing.assert_array_equal(got.data, want.data)
        for pe, pc in zip(eager_ps, comp_ps):
            np.testing.assert_array_equal(pc.grad, pe.grad)
            assert pc.grad.dtype == pe.grad.dtype
            pe.data -= 0.25 * pe.grad
            pc.data -= 0.25 * pc.grad
    assert comp.tapes == 1
    return comp


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("returns", [True, False], ids=["returns loss", "returns nothing"])
def test_the_document_step_replays_bit_for_bit(dtype, returns):
    def make(ps):
        return _net_step(ps, "sigmoid", returns)

    def ps_of(dt):
        return [Tensor(p.data, requires_grad=True, dtype=dt) for p in _params()]

    calls = [(x.astype(dtype), y.astype(dtype)) for x, y in _batches(6)]
    source = _source(_eager_and_compiled(make, ps_of, calls, dtype=dtype))
    assert not re.search(r"\b[BF]\d+\(", source)  # every rule and op written out
    # a loss nobody reads is not computed; its gradient needs only a - y
    assert (".sum()" in source) == returns


LOSSES = {
    "sum of squares / n": lambda t: (t ** 2).sum() / 4,
    "cube, scaled": lambda t: ((t ** 3) * 0.5).sum() * 3,
    "sigmoid mean": lambda t: t.sigmoid().mean(),
    "minus, negated": lambda t: (-(t - 1.5)).sum() / 7,
    "spread meets add": lambda t: (t.sigmoid() + t).sum() / 3,
    "spread meets array": lambda t: (t * np.arange(1.0, 7.0).reshape(2, 3)).sum() / 2,
    "integer scale": lambda t: (t * 3).sum() / 5,
    "sum then scale then square": lambda t: ((t.sum() * 2) ** 2),
}


@pytest.mark.parametrize("loss", LOSSES.values(), ids=LOSSES.keys())
def test_losses_of_a_parameter_replay_bit_for_bit(loss):
    def make(ps):
        def fn():
            ps[0].grad = None
            out = loss(ps[0])
            out.backward()
            return out

        return fn

    def ps_of(dt):
        return [Tensor(np.linspace(-2.0, 1.5, 6).reshape(2, 3), requires_grad=True)]

    _eager_and_compiled(make, ps_of, [()] * 5)


def test_a_spread_gradient_reaches_the_parameter_as_a_fresh_array_each_call():
    p = Tensor(np.ones((2, 3)), requires_grad=True)

    def fn():
        p.grad = None
        (p.sum() / 4).backward()

    comp = compile(fn, strict=True)
    held = []
    for _ in range(5):
        _quiet(comp)
        held.append(p.grad)
        p.grad[0, 0] = 99.0  # a user writing into one gradient changes no other call's
    assert len({id(g) for g in held}) == 5
    for g in held:
        assert g.flags.writeable
        np.testing.assert_array_equal(g[1], np.full(3, 0.25))
        assert g[0, 0] == 99.0


def test_a_replay_called_with_another_number_of_arguments_is_another_signature():
    w = Tensor(np.ones(3), requires_grad=True)

    def fn(*xs):
        w.grad = None
        total = w * xs[0]
        for x in xs[1:]:
            total = total + w * x
        total.sum().backward()

    comp = compile(fn, strict=True)
    one, two = np.full(3, 2.0), np.full(3, 5.0)
    for _ in range(4):
        _quiet(comp, one)
        np.testing.assert_array_equal(w.grad, one)
        _quiet(comp, one, two)
        np.testing.assert_array_equal(w.grad, one + two)
    assert comp.tapes == 2


def test_a_tensor_argument_whose_requires_grad_changes_is_not_replayed_for_the_old_one():
    w = Tensor(np.ones(3), requires_grad=True)

    def fn(x):
        w.grad = None
        (w * x).sum().backward()

    comp = compile(fn, strict=True)
    x = Tensor(np.full(3, 2.0))
    for _ in range(4):
        _quiet(comp, x)
    x.requires_grad = True
    for _ in range(4):
        x.grad = None
        _quiet(comp, x)
        np.testing.assert_array_equal(x.grad, np.ones(3))
    assert comp.tapes == 2


def test_matmul_gradients_follow_the_layout_of_their_operand_as_in_eager():
    """The replay lays a weight's gradient out like the weight (C or Fortran order, as the
    matmul rule does), also after the weight is replaced by an array of the other order."""
    def make(ps):
        w, = ps

        def fn(x):
            w.grad = None
            (x @ w.T).sigmoid().sum().backward()

        return fn

    rng = np.random.default_rng(5)
    start = rng.standard_normal((4, 6))
    eager_w, comp_w = Tensor(start.copy(), requires_grad=True), Tensor(start.copy(),
                                                                       requires_grad=True)
    eager, comp = make([eager_w]), compile(make([comp_w]), strict=True)
    for k in range(8):
        x = rng.standard_normal((3, 6))
        if k == 4:  # the same numbers, in Fortran order from now on
            eager_w.data = np.asfortranarray(eager_w.data)
            comp_w.data = np.asfortranarray(comp_w.data)
        eager(Tensor(x))
        _quiet(comp, x)
        np.testing.assert_array_equal(comp_w.grad, eager_w.grad)
        assert comp_w.grad.flags.c_contiguous == eager_w.grad.flags.c_contiguous
        assert comp_w.grad.flags.f_contiguous == eager_w.grad.flags.f_contiguous


def test_a_rule_given_anew_is_the_one_the_replay_runs(monkeypatch):
    """The replay writes the built-in sigmoid rule out; a rule set with defvjp replaces it in
    the replay as in eager (here one that doubles the true gradient)."""
    from autograd import rules

    monkeypatch.setattr(rules.sigmoid, "vjp", rules.sigmoid.vjp)  # put back after the test
    rules.sigmoid.defvjp(lambda g, out, x: (2.0 * g * out * (1.0 - out),))
    w = Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)

    def fn(x):
        w.grad = None
        (w * x).sigmoid().sum().backward()

    comp = compile(fn, strict=True)
    x = np.array([1.0, 2.0, 3.0])
    s = rules.sigmoid.fun(w.data * x)  # eager's σ, to the last bit
    for _ in range(5):
        _quiet(comp, x)
        np.testing.assert_allclose(w.grad, 2.0 * s * (1 - s) * x, rtol=1e-15)
    assert comp.tapes == 1


# ---- Python state frozen at capture, and recheck_compiled ------------------------------------

def test_a_flag_changed_after_capture_is_replayed_only_after_recheck_compiled_says_so():
    """Python values fn reads are frozen at capture (documented); recheck_compiled makes the
    next call compare the replay with eager, and a disagreement captures the new branch."""
    w = Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    flags = {"double": False}

    def fn(x):
        w.grad = None
        y = w * x
        if flags["double"]:
            y = y * 2.0
        y.sum().backward()

    comp = compile(fn, strict=True)
    x = np.array([1.0, 2.0, 3.0])
    for _ in range(4):
        _quiet(comp, x)
    np.testing.assert_array_equal(w.grad, x)
    flags["double"] = True
    _quiet(comp, x)
    np.testing.assert_array_equal(w.grad, x)  # frozen, as the rules say
    autograd.recheck_compiled()
    for _ in range(5):  # checked against eager (which wins), captured anew, checked, replayed
        _quiet(comp, x)
        np.testing.assert_array_equal(w.grad, 2.0 * x)
    assert comp.tapes == 1 and comp._hot is not None


def test_recheck_compiled_keeps_a_replay_that_still_agrees_and_holds_no_compiled_function():
    import gc
    import weakref

    ps = _params()
    comp = compile(_net_step(ps), strict=True)
    (x, y), = _batches(1)
    for _ in range(4):
        _quiet(comp, x, y)
    hot = comp._hot
    autograd.recheck_compiled()
    assert comp._hot is None
    _quiet(comp, x, y)  # the check: replay and eager agree
    _quiet(comp, x, y)
    assert comp._hot is hot and comp.tapes == 1
    gone = weakref.ref(comp)
    del comp
    gc.collect()
    assert gone() is None


def test_a_flag_changed_between_capture_and_its_check_is_captured_anew_not_given_up():
    w = Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    flags = {"double": False}

    def fn(x):
        w.grad = None
        y = w * x
        (y * 2.0 if flags["double"] else y).sum().backward()

    comp = compile(fn, strict=True)
    x = np.array([1.0, 2.0, 3.0])
    _quiet(comp, x)
    _quiet(comp, x)  # recorded: the check comes next
    flags["double"] = True
    autograd.recheck_compiled()
    for _ in range(5):
        _quiet(comp, x)  # strict: a disagreement here would have raised CompileError
        np.testing.assert_array_equal(w.grad, 2.0 * x)
    assert comp.tapes == 1 and comp.eager_reason is None


def _flagged_step(pause: dict | None = None):
    """fn doubling its gradient when flags["double"]; with `pause`, a call waits after reading
    the flag (plain Python: not captured) until the test lets it go on."""
    import threading

    w = Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    flags = {"double": False}
    read, go = threading.Event(), threading.Event()

    def fn(x):
        w.grad = None
        y = w * x
        if flags["double"]:
            y = y * 2.0
        if pause is not None and pause.get("on"):
            read.set()
            go.wait(10)
        y.sum().backward()

    return w, flags, fn, read, go


@pytest.mark.parametrize("change", ["a frozen tensor copied anew", "a parameter frozen"])
def test_a_change_the_rules_capture_anew_is_captured_anew_after_a_recheck_too(change):
    w = Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    v = Tensor(np.array([1.0, 1.0, 1.0]), requires_grad=change == "a parameter frozen")

    def fn(x):
        w.grad = v.grad = None
        ((w * x - v) ** 2).sum().backward()

    comp = compile(fn, strict=True)
    x = np.array([1.0, 2.0, 3.0])
    for _ in range(4):
        _quiet(comp, x)
    if change == "a parameter frozen":
        v.requires_grad = False
    else:
        v.data = np.array([3.0, 3.0, 3.0])
    autograd.recheck_compiled()
    for _ in range(5):  # strict: giving up would raise CompileError
        _quiet(comp, x)
        np.testing.assert_array_equal(w.grad, 2 * (w.data * x - v.data) * x)
    assert comp.tapes == 1


@pytest.mark.parametrize("stage", ["capture", "verify"])
def test_a_recheck_from_another_thread_during_a_capture_or_check_is_not_lost(stage):
    """The call began with the old flag: what it captured or checked is not trusted."""
    import threading

    pause: dict = {}
    w, flags, fn, read, go = _flagged_step(pause)
    comp = compile(fn, strict=True)
    x = np.array([1.0, 2.0, 3.0])
    comp(x)  # warm-up: the next call captures
    if stage == "verify":
        comp(x)
    pause["on"] = True
    t = threading.Thread(target=comp, args=(x,))
    t.start()
    assert read.wait(10)
    flags["double"] = True
    autograd.recheck_compiled()
    pause["on"] = False
    go.set()
    t.join(10)
    for _ in range(5):
        _quiet(comp, x)
        np.testing.assert_array_equal(w.grad, 2.0 * x)
    assert comp.tapes == 1


def test_a_recheck_from_another_thread_during_a_replay_leaves_no_hot_replay():
    import threading

    w, flags, fn, read, go = _flagged_step()
    comp = compile(fn, strict=True)
    x = np.array([1.0, 2.0, 3.0])
    for _ in range(4):
        comp(x)
    (entry,) = comp._entries.values()
    tape, replay = entry[1], entry[1].replay
    comp._hot = None  # the next call goes through the ready branch, which waits in replay

    def waiting(*args):
        read.set()
        go.wait(10)
        return replay(*args)

    waiting.outputs = replay.outputs
    tape.replay = waiting
    t = threading.Thread(target=comp, args=(x,))
    t.start()
    assert read.wait(10)
    flags["double"] = True
    autograd.recheck_compiled()
    go.set()
    t.join(10)
    assert comp._hot is None
    tape.replay = replay
    for _ in range(5):
        _quiet(comp, x)
        np.testing.assert_array_equal(w.grad, 2.0 * x)
