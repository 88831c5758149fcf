"""Attacks on the compiled replay (written-out rules, spread sums, folded seeds, dead values,
the replay's own argument checks), each kept as a test of what the attack found. Every
compiled call is held against an eager twin: same outputs and gradients to the last bit, or a
fall back to eager with a CompileWarning."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from autograd import CompileError, CompileWarning, Tensor, compile, detect_anomaly


def _quiet(fn, *args):
    """fn(*args) with every warning an error: nothing may escape a compiled call."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn(*args)


def _bits(a, b) -> None:
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(np.signbit(a), np.signbit(b))


def _loss_step(p, loss):
    def fn():
        p.grad = None
        out = loss(p)
        out.backward()
        return out

    return fn


# ---- numpy's error state: the capture is as silent as eager -------------------------------

NOISY = {
    "square root of negatives": lambda p: (p ** 0.5).sum(),
    "division by zero": lambda p: (p / 0.0).sum(),
    "overflow in a cast": lambda p: (p * np.float32(1.0) * 1e39).sum(),
    "reciprocal of zero": lambda p: (p ** -1).sum() / 3,
}
_NOISY_DATA = np.array([[-2.0, 0.0, 1.5], [4.0, -0.0, 9.0]], dtype=np.float32)


@pytest.mark.parametrize("loss", NOISY.values(), ids=NOISY.keys())
def test_no_numpy_warning_escapes_any_compiled_call(loss):
    """The capture walks fn's backward pass on the real numbers; inf and nan there are answers,
    as in the eager driver, not warnings."""
    p = Tensor(_NOISY_DATA.copy(), requires_grad=True)
    q = Tensor(_NOISY_DATA.copy(), requires_grad=True)
    eager, comp = _loss_step(q, loss), compile(_loss_step(p, loss), strict=True)
    for _ in range(5):
        want = _quiet(eager)
        _bits(_quiet(comp).data, want.data)
        _bits(p.grad, q.grad)
    assert comp.tapes == 1


@pytest.mark.parametrize("loss", NOISY.values(), ids=NOISY.keys())
def test_numpy_errors_set_to_raise_around_calls_raise_nothing_and_are_kept(loss):
    """A user's np.errstate(all='raise') around a compiled call: every stage (warm-up, capture,
    check, replay) is as silent as eager, and the user's state is back after each call."""
    p = Tensor(_NOISY_DATA.copy(), requires_grad=True)
    q = Tensor(_NOISY_DATA.copy(), requires_grad=True)
    eager, comp = _loss_step(q, loss), compile(_loss_step(p, loss), strict=True)
    for _ in range(5):
        with np.errstate(all="raise"):
            want, got = eager(), comp()
            assert np.geterr() == {"divide": "raise", "over": "raise", "under": "raise",
                                   "invalid": "raise"}
        _bits(got.data, want.data)
        _bits(p.grad, q.grad)
    assert comp.tapes == 1


# ---- the arguments: what a call passes decides which tape may run -------------------------

def _two_argument_step(w, ca=0.3, cb=0.6):
    def fn(a, b):
        w.grad = None
        out = (w * a * ca + w * b * cb).sum()
        out.backward()
        return out

    return fn


@pytest.mark.parametrize("requires_grad", [False, True])
def test_one_tensor_passed_twice_is_not_replayed_for_two_tensors(requires_grad):
    """A tape recorded with the same Tensor in two places knows one leaf: it must not stand in
    for a call with two different Tensors (it would compute fn(y, y))."""
    we, wc = Tensor(np.ones(3), requires_grad=True), Tensor(np.ones(3), requires_grad=True)
    eager, comp = _two_argument_step(we), compile(_two_argument_step(wc), strict=True)
    x = Tensor(np.full(3, 1.0), requires_grad=requires_grad)
    y = Tensor(np.full(3, 10.0), requires_grad=requires_grad)
    for _ in range(4):
        _quiet(comp, x, x)
    for args in [(x, y), (y, x), (x, x), (x, y)]:
        for t in (x, y):
            t.grad = None
        got = _quiet(comp, *args)
        got_grads = [x.grad, y.grad, wc.grad]
        for t in (x, y):
            t.grad = None
        want = eager(*args)
        _bits(got.data, want.data)
        for g, h in zip(got_grads, [x.grad, y.grad, we.grad]):
            assert (g is None) == (h is None)
            if g is not None:
                _bits(g, h)


def test_two_tensors_replayed_for_one_passed_twice_sum_its_gradient_as_eager():
    """A leaf passed as two arguments gets the sum of both gradients added to its .grad once,
    as the driver adds them: a tape of two leaves would add them one after the other."""
    we, wc = Tensor(np.ones(3), requires_grad=True), Tensor(np.ones(3), requires_grad=True)
    eager, comp = _two_argument_step(we), compile(_two_argument_step(wc), strict=True)
    x = Tensor(np.full(3, 1.0), requires_grad=True)
    y = Tensor(np.full(3, 10.0), requires_grad=True)
    for _ in range(4):
        _quiet(comp, x, y)
    z, twin = (Tensor(np.full(3, 1.0), requires_grad=True) for _ in range(2))
    z.grad, twin.grad = np.full(3, 0.1), np.full(3, 0.1)
    _quiet(comp, z, z)
    eager(twin, twin)
    _bits(z.grad, twin.grad)  # 0.1 + (0.3 + 0.6), not (0.1 + 0.3) + 0.6


class _Marked(Tensor):
    """A Tensor subclass: Tensor's operators take no subclass as the other operand."""


def test_a_tensor_subclass_argument_runs_as_eager_runs_it():
    """A tape recorded for Tensors is not replayed for a Tensor subclass: eager refuses
    `w * marked`, and so must the compiled call."""
    w = Tensor(np.ones(3), requires_grad=True)

    def fn(x):
        w.grad = None
        (w * x).sum().backward()

    comp = compile(fn, strict=True)
    for _ in range(4):
        _quiet(comp, Tensor(np.full(3, 2.0)))
    with pytest.raises(TypeError, match="unsupported operand"):
        fn(_Marked(np.full(3, 2.0)))
    with pytest.raises(TypeError, match="unsupported operand"):
        comp(_Marked(np.full(3, 2.0)))
    _quiet(comp, Tensor(np.full(3, 3.0)))  # and the Tensor's tape is still there
    np.testing.assert_array_equal(w.grad, np.full(3, 3.0))
    assert comp.tapes == 1


# ---- constants: the same constant is the same bits -----------------------------------------

_NAN_ROW = np.array([np.nan, 1.0, -0.0])
CONSTANTS = {
    "a nan number": lambda p: (p + float("nan")).sum() / 3,
    "an array holding nan": lambda p: (p * _NAN_ROW).sum() / 3,
    "a numpy nan": lambda p: (p - np.float64("nan")).sum(),
    "inf and -0.0": lambda p: (p * float("inf") + -0.0).sum(),
}


@pytest.mark.parametrize("loss", CONSTANTS.values(), ids=CONSTANTS.keys())
def test_a_nan_constant_is_the_same_constant_on_every_call(loss):
    """nan != nan, but a nan constant read twice is not a value that changed between calls:
    the step is replayed, bit for bit, not refused."""
    p = Tensor(np.linspace(-1.0, 1.0, 6).reshape(2, 3), requires_grad=True)
    q = Tensor(np.linspace(-1.0, 1.0, 6).reshape(2, 3), requires_grad=True)
    eager, comp = _loss_step(q, loss), compile(_loss_step(p, loss), strict=True)
    for _ in range(5):
        want = eager()
        _bits(_quiet(comp).data, want.data)
        _bits(p.grad, q.grad)
    assert comp.tapes == 1


@pytest.mark.parametrize("first, then", [(0.0, -0.0), (-0.0, 0.0)])
def test_a_zero_that_changes_sign_between_two_calls_is_a_changed_value(first, then):
    """0.0 == -0.0, yet x * 0.0 and x * -0.0 differ in sign: a constant that changes from one
    to the other between the capture and the check is a value read from outside fn."""
    p = Tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    scale = [first]

    def fn():
        p.grad = None
        out = (p * scale[0]).sum()
        out.backward()
        return out

    comp = compile(fn, strict=True)
    comp()
    comp()
    scale[0] = then
    with pytest.raises(CompileError, match="changed between two calls"):
        comp()


# ---- modes opened inside fn ----------------------------------------------------------------

@pytest.mark.parametrize("where", ["forward and backward", "backward only"])
def test_anomaly_mode_inside_fn_is_not_replayed_without_its_checks(where):
    """detect_anomaly() opened inside fn makes eager raise on the first inf; a replay checks
    nothing, so such a fn runs eagerly (a CompileError under strict) and keeps raising."""
    w = Tensor(np.ones(3), requires_grad=True)

    def fn(x):
        w.grad = None
        if where == "backward only":
            out = (w / x).sum()
        with detect_anomaly():
            if where != "backward only":
                out = (w / x).sum()
            out.backward()
        return out

    strict = compile(fn, strict=True)
    with pytest.raises(CompileError, match="detect_anomaly"):
        for _ in range(3):
            strict(np.full(3, 2.0))
    comp = compile(fn)
    with pytest.warns(CompileWarning, match="detect_anomaly"):
        for _ in range(3):
            comp(np.full(3, 2.0))
    for _ in range(2):
        with pytest.raises(FloatingPointError, match="finite"):
            comp(np.zeros(3))


def test_backward_of_a_value_that_needs_no_gradient_raises_on_every_call_as_eager():
    """The capture marks the inputs as requiring grad to record what is computed from them; a
    backward from a value computed from the inputs alone must still raise as eager raises,
    not be captured and replayed."""
    w = Tensor(np.ones(3), requires_grad=True)

    def fn(x):
        w.grad = None
        out = (x * 2.0).sum()
        out.backward()
        return out

    comp = compile(fn, strict=True)
    for _ in range(5):
        w.grad = np.ones(3)
        with pytest.raises(RuntimeError, match="does not require grad"):
            comp(np.ones(3))
        assert w.grad is None  # what fn did before its backward, it did
    assert comp.tapes == 0


# ---- guards on the replay's own checks and error state ---------------------------------------

def test_arguments_changing_kind_between_calls_replay_as_eager_each_time(tmp_path):
    """The last-used replay checks the arguments itself: ndarray, Tensor, requires_grad, memmap,
    byte order, shape and count, in turn and back, each call as eager computes it, and no
    internal exception escapes."""
    we, wc = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True), Tensor(
        np.arange(6.0).reshape(2, 3), requires_grad=True)

    def step(w):
        def fn(*xs):
            w.grad = None
            out = sum(((w * x).sum() / 3 for x in xs), start=w.sum() * 0.0)
            out.backward()
            return out
        return fn

    eager, comp = step(we), compile(step(wc))
    base = np.linspace(-1.0, 1.0, 6).reshape(2, 3)
    mapped = np.memmap(tmp_path / "x.bin", dtype=np.float64, mode="w+", shape=(2, 3))
    mapped[:] = base
    kinds = [lambda: (base,), lambda: (Tensor(base),), lambda: (mapped,),
             lambda: (base.astype(">f8"),), lambda: (Tensor(base, requires_grad=True),),
             lambda: (base, base), lambda: (base[:1],), lambda: (base.astype(np.float32),)]
    for kind in kinds + kinds[::-1] + kinds:
        for _ in range(4):
            args = kind()
            got = _quiet(comp, *args)
            got_grad = wc.grad
            want = eager(*[a if isinstance(a, Tensor) else Tensor._from_data(
                a.view(np.ndarray)) for a in args])
            _bits(got.data, want.data)
            _bits(got_grad, we.grad)
    assert comp.tapes == 7  # a memmap is the ndarray it views


@pytest.mark.parametrize("fail", [False, True], ids=["returns", "raises"])
def test_the_replay_puts_back_the_callers_numpy_error_state(fail):
    """The replay sets numpy's error state itself: the caller's state is back after the call,
    whether the replay returns or raises."""
    from autograd import primitive

    @primitive
    def guarded(x):
        if np.any(x > 100.0):
            raise ValueError("entries above 100")
        return x * 1.0

    @guarded.defvjp
    def guarded_vjp(g, out, x):
        return (g,)

    w = Tensor(np.ones(3), requires_grad=True)

    def fn(x):
        w.grad = None
        out = (guarded(w * x) / 0.0).sum()
        out.backward()
        return out

    comp = compile(fn, strict=True)
    for _ in range(4):
        comp(np.ones(3))
    assert comp.tapes == 1
    for state in ("raise", "warn", "ignore"):
        with np.errstate(all=state):
            before = np.geterr()
            if fail:
                with pytest.raises(ValueError, match="above 100"):
                    comp(np.full(3, 1000.0))
            else:
                assert float(comp(np.ones(3)).data) == np.inf
            assert np.geterr() == before


# ---- a Tensor both passed in and read from elsewhere -----------------------------------------

def _closure_and_argument_step(w):
    def fn(a):
        w.grad = None
        out = (w * a * 0.3).sum() + (a * 0.6).sum()
        out.backward()
        return out

    return fn


def _against_eager(calls):
    """calls(w) -> the argument of each call; the compiled and the eager twin must agree on
    every call, or the compiled one runs eagerly with a CompileWarning."""
    we, wc = (Tensor(np.full(3, 2.0), requires_grad=True) for _ in range(2))
    eager, comp = _closure_and_argument_step(we), compile(_closure_and_argument_step(wc))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=CompileWarning)
        for ae, ac in zip(calls(we), calls(wc)):
            for t in {id(ae): ae, id(ac): ac}.values():
                t.grad = None
            got = comp(ac)
            got_grads = [wc.grad, ac.grad]
            want = eager(ae)
            _bits(got.data, want.data)
            for g, h in zip(got_grads, [we.grad, ae.grad]):
                _bits(g, h)


def test_a_parameter_passed_in_then_another_tensor_is_not_replayed_as_the_parameter():
    """Recorded with w passed in, fn meets w both as its argument and in its closure; a later
    call with another Tensor must not replay both uses with the new one."""
    def calls(w):
        other = Tensor(np.full(3, 5.0), requires_grad=True)
        return [w] * 4 + [other, w, other, other, w]

    _against_eager(calls)


def test_another_tensor_then_the_parameter_passed_in_sums_its_gradient_as_eager():
    """Recorded with another Tensor, then called with the closure's own parameter: one leaf
    then gets both gradients, summed once as the driver sums them."""
    def calls(w):
        other = Tensor(np.full(3, 5.0), requires_grad=True)
        return [other] * 4 + [w, other, w, w]

    _against_eager(calls)


def test_fresh_tensors_each_call_are_still_replayed():
    """Tensors made anew for every call (a batch wrapped each time) are replayed once a call
    with another Tensor than the recorded one has been checked against eager."""
    w = Tensor(np.ones(3), requires_grad=True)

    def fn(x):
        w.grad = None
        (w * x).sum().backward()

    comp = compile(fn, strict=True)
    for k in range(6):
        _quiet(comp, Tensor(np.full(3, float(k))))
        np.testing.assert_array_equal(w.grad, np.full(3, float(k)))
    assert comp.tapes == 1
    assert "is not X" not in next(e[1] for e in comp._entries.values()).replay.source


# ---- a constant tensor that comes to require grad --------------------------------------------

@pytest.mark.parametrize("start", ["frozen from the start", "frozen after some calls"])
def test_a_tensor_that_comes_to_require_grad_is_no_longer_a_constant(start):
    """fn's tensors that require no grad are constants of the tape; unfreezing one (fine-tuning
    a layer) must give it its gradient on the next call, as eager does, not replay the tape
    that has none for it."""
    def make():
        w = Tensor(np.arange(3.0), requires_grad=start != "frozen from the start")
        v = Tensor(np.ones(3), requires_grad=True)

        def fn(x):
            w.grad = None
            v.grad = None
            out = (w * x + v * x).sum() / 2
            out.backward()
            return out

        return w, v, fn

    (we, ve, eager), (wc, vc, fn) = make(), make()
    comp = compile(fn, strict=True)
    x = np.linspace(0.5, 1.5, 3)
    phases = ([False, True] if start == "frozen from the start" else [True, False, True])
    for flag in phases:
        we.requires_grad = wc.requires_grad = flag
        for _ in range(4):
            _bits(_quiet(comp, x).data, eager(Tensor._from_data(x)).data)
            assert (wc.grad is None) == (we.grad is None) == (not flag)
            if flag:
                _bits(wc.grad, we.grad)
            _bits(vc.grad, ve.grad)
