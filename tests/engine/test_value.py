"""Value, worked by hand: micrograd's classic checks, the document's neuron, and the edge cases."""

from __future__ import annotations

import math
import random
import warnings

import numpy as np
import pytest

from autograd import Value, no_grad
from autograd.value import value_dot, value_sum


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


# ---- micrograd's test_engine.py, with the numbers PyTorch gives for the same expressions ----

def test_micrograd_sanity_check():
    x = Value(-4.0)
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    # By hand: z = 3x + 2 = -10, y = z² + (z·x)(1 + x) + 0 = 100 - 120 = -20 and
    # dy/dx = 2z·3 + (3x + z)(1 + x) + z·x = -60 + 66 + 40 = 46.
    assert y.data == -20.0
    assert x.grad == 46.0


def test_micrograd_more_ops():
    a, b = Value(-4.0), Value(2.0)
    c = a + b
    d = a * b + b ** 3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e ** 2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    assert g.data == pytest.approx(24.70408163265306, rel=1e-14)
    assert a.grad == pytest.approx(138.83381924198252, rel=1e-14)
    assert b.grad == pytest.approx(645.5772594752186, rel=1e-14)


# ---- the document's single neuron (section 4.1) ---------------------------------------------

def test_single_neuron_follows_the_chain_rule_of_section_4_1():
    """z = Σ wᵢxᵢ + b, a = σ(z), L = ½(a − y)²:
    dL/dwᵢ = dL/da · σ′(z) · xᵢ and dL/db = dL/da · σ′(z)."""
    xs, ws, b0, y = [0.5, -1.5, 2.0], [0.3, -0.2, 0.8], 0.1, 1.0
    w = [Value(v, label=f"w{i}") for i, v in enumerate(ws)]
    b = Value(b0, label="b")
    z = sum((wi * xi for wi, xi in zip(w, xs)), b)
    a = z.sigmoid()
    loss = 0.5 * (a - y) ** 2
    loss.backward()

    z_ref = sum(wi * xi for wi, xi in zip(ws, xs)) + b0
    a_ref = _sigmoid(z_ref)
    dl_da, da_dz = a_ref - y, a_ref * (1 - a_ref)
    assert z.data == pytest.approx(z_ref, rel=1e-15)
    assert a.data == pytest.approx(a_ref, rel=1e-15)
    assert a.grad == pytest.approx(dl_da, rel=1e-14)
    assert z.grad == pytest.approx(dl_da * da_dz, rel=1e-14)
    for wi, xi in zip(w, xs):
        assert wi.grad == pytest.approx(dl_da * da_dz * xi, rel=1e-14)
    assert b.grad == pytest.approx(dl_da * da_dz, rel=1e-14)


# ---- fan-out, accumulation, no_grad ---------------------------------------------------------

def test_fan_out_adds_every_path():
    a = Value(3.0)
    (a + a).backward()
    assert a.grad == 2.0
    a = Value(3.0)
    (a * a).backward()
    assert a.grad == 6.0
    x = Value(1.5)
    (x * x * x + x).backward()  # 3x² + 1
    assert x.grad == pytest.approx(3 * 1.5 ** 2 + 1, rel=1e-15)


def test_one_value_used_many_times():
    x = Value(0.7)
    terms = [x * float(k) for k in range(1, 101)]
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    total.backward()
    assert x.grad == pytest.approx(sum(range(1, 101)), rel=1e-15)


def test_gradients_accumulate_across_backward_calls():
    a = Value(2.0)
    b = a * a + a
    b.backward()
    assert a.grad == 5.0
    b.backward()
    assert a.grad == 10.0
    a.grad = 0.0
    (a * 3.0).backward()
    assert a.grad == 3.0


def test_no_grad_records_nothing():
    a = Value(2.0)
    with no_grad():
        b = a * a + 1.0
    assert b.data == 5.0
    assert not b.requires_grad and b.is_leaf and b.parents == ()
    c = a * 3.0
    c.backward()
    assert a.grad == 3.0


def test_intermediate_values_keep_their_gradients():
    a = Value(2.0)
    b = a * 3.0
    c = b.tanh()
    c.backward()
    assert c.grad == 1.0
    assert b.grad == pytest.approx(1 - math.tanh(6.0) ** 2, rel=1e-14)


# ---- the fast paths -------------------------------------------------------------------------

def test_value_sum_and_value_dot_equal_the_plain_forms():
    rng = random.Random(0)
    ws_data = [rng.uniform(-2, 2) for _ in range(17)]
    xs_data = [rng.uniform(-2, 2) for _ in range(17)]
    results = []
    for fast in (False, True):
        ws, xs = [Value(v) for v in ws_data], [Value(v) for v in xs_data]
        b = Value(0.25)
        if fast:
            out = value_sum([value_dot(ws, xs), b]).tanh() + value_sum(ws)
        else:
            out = sum((w * x for w, x in zip(ws, xs)), b).tanh() + sum(ws)
        out.backward()
        results.append((out.data, [v.grad for v in ws + xs + [b]]))
    (plain, plain_grads), (fast, fast_grads) = results
    assert fast == pytest.approx(plain, rel=1e-13)
    np.testing.assert_allclose(fast_grads, plain_grads, rtol=1e-12, atol=1e-14)


def test_value_sum_with_start_constants_and_empty():
    a = Value(1.5)
    s = value_sum([a, 2.0, a], start=Value(0.5))
    s.backward()
    assert s.data == 5.5
    assert a.grad == 2.0
    assert value_sum([]).data == 0.0


def test_value_dot_with_constant_inputs_and_mismatched_lengths():
    w = [Value(2.0), Value(-1.0)]
    out = value_dot(w, [3.0, 4.0])
    out.backward()
    assert out.data == 2.0
    assert [v.grad for v in w] == [3.0, 4.0]
    with pytest.raises(ValueError, match="different lengths: 2 and 3"):
        value_dot(w, [1.0, 2.0, 3.0])


# ---- depth ----------------------------------------------------------------------------------

def test_a_deep_chain_backpropagates_without_recursion():
    """200,000 nodes here (the million-node chain is in benchmarks/bench_deep_chain.py)."""
    x = Value(0.5)
    node = x
    for _ in range(100_000):
        node = node * 1.0 + 0.001
    node.backward()
    assert node.data == pytest.approx(0.5 + 100.0, rel=1e-9)
    assert x.grad == 1.0


def test_a_deep_chain_of_hot_nodes_backpropagates_and_is_freed_without_recursion():
    # each node refers to its parent straight from a slot, no tuple between them
    x, step = Value(0.5), Value(1.0)
    node = x
    for _ in range(200_000):
        node = node * step - step + step
    assert node._x._x._x is not None
    node.backward()
    assert node.data == 0.5 and x.grad == 1.0 and step.grad == 200_000 * 0.5
    del node  # 600,000 nodes freed one by one as each drops its parent


# ---- powers and reflected operators ---------------------------------------------------------

def test_pow_with_a_value_exponent_gives_both_gradients():
    a, b = Value(1.7), Value(-0.6)
    out = a ** b
    out.backward()
    assert out.data == pytest.approx(1.7 ** -0.6, rel=1e-15)
    assert a.grad == pytest.approx(-0.6 * 1.7 ** -1.6, rel=1e-14)
    assert b.grad == pytest.approx(1.7 ** -0.6 * math.log(1.7), rel=1e-14)


def test_pow_with_a_number_exponent_accepts_a_negative_base():
    a = Value(-2.0)
    (a ** 3).backward()
    assert a.grad == 12.0


def test_pow_of_a_zero_base_with_a_value_exponent():
    """0ʸ = 0 for every y > 0, so ∂/∂y is 0 there (as in PyTorch), not a log-of-zero error."""
    a, b = Value(0.0), Value(2.0)
    out = a ** b
    out.backward()
    assert out.data == 0.0
    assert (a.grad, b.grad) == (0.0, 0.0)


def test_pow_of_a_negative_base_with_a_value_exponent():
    """(−2)ʸ is real only at whole y, so ∂/∂y is undefined: nan, as PyTorch and JAX give. The
    base's gradient y·xʸ⁻¹ is well defined and must not be lost to the exponent's."""
    a, b = Value(-2.0), Value(2.0)
    out = a ** b
    out.backward()
    assert out.data == 4.0
    assert a.grad == -4.0
    assert math.isnan(b.grad)


@pytest.mark.parametrize(("build", "value", "slope"), [
    (lambda a: 2.0 + a, 5.0, 1.0),
    (lambda a: 2.0 - a, -1.0, -1.0),
    (lambda a: 2.0 * a, 6.0, 2.0),
    (lambda a: 6.0 / a, 2.0, -6.0 / 9.0),
    (lambda a: 2.0 ** a, 8.0, 8.0 * math.log(2.0)),
    (lambda a: 2 + a, 5.0, 1.0),
    (lambda a: np.float64(2.0) * a, 6.0, 2.0),
    (lambda a: -a, -3.0, -1.0),
    (lambda a: +a, 3.0, 1.0),
], ids=["radd", "rsub", "rmul", "rtruediv", "rpow", "int", "numpy-scalar", "neg", "pos"])
def test_reflected_operators(build, value, slope):
    a = Value(3.0)
    out = build(a)
    assert isinstance(out, Value)
    out.backward()
    assert out.data == pytest.approx(value, rel=1e-15)
    assert a.grad == pytest.approx(slope, rel=1e-15)


# ---- bad input ------------------------------------------------------------------------------

@pytest.mark.parametrize(("bad", "name"), [("3", "str"), (None, "NoneType"), ([1.0], "list"),
                                           (1 + 2j, "complex")])
def test_non_numbers_are_refused_by_name(bad, name):
    with pytest.raises(TypeError, match=name):
        Value(bad)
    a = Value(1.0)
    for build in (lambda: a + bad, lambda: bad + a, lambda: a * bad, lambda: bad * a,
                  lambda: a - bad, lambda: a / bad, lambda: a ** bad):
        with pytest.raises(TypeError, match=name):
            build()


@pytest.mark.parametrize("x", [0.0, -1.0, -1e-300])
def test_log_of_a_non_positive_number_is_a_clear_value_error(x):
    with pytest.raises(ValueError, match="log of a non-positive number"):
        Value(x).log()


def test_negative_base_with_a_fractional_exponent_is_a_value_error():
    with pytest.raises(ValueError, match="not a real number"):
        Value(-8.0) ** 0.5
    with pytest.raises(ValueError, match="not a real number"):
        Value(-8.0) ** Value(0.5)


# ---- stability ------------------------------------------------------------------------------

@pytest.mark.parametrize("z", [1000.0, -1000.0, 710.0, -745.2])
def test_squashing_functions_are_finite_and_silent_far_out(z):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name, slope in (("sigmoid", 0.0), ("tanh", 0.0)):
            x = Value(z)
            out = getattr(x, name)()
            out.backward()
            assert math.isfinite(out.data) and math.isfinite(x.grad)
            assert x.grad == pytest.approx(slope, abs=1e-300)
        assert Value(z).sigmoid().data == (1.0 if z > 0 else pytest.approx(0.0, abs=1e-300))


def test_exp_far_out_saturates_without_an_exception():
    """e¹⁰⁰⁰ is past the float range: the result is inf (not OverflowError), e⁻¹⁰⁰⁰ is 0."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        up, down = Value(1000.0), Value(-1000.0)
        hi, lo = up.exp(), down.exp()
        hi.backward()
        lo.backward()
    assert hi.data == math.inf and up.grad == math.inf
    assert lo.data == 0.0 and down.grad == 0.0


def test_relu_gradient_is_zero_below_zero():
    a, b = Value(-0.5), Value(0.5)
    (a.relu() + b.relu()).backward()
    assert (a.grad, b.grad) == (0.0, 1.0)


def test_repr_shows_data_grad_and_label():
    assert repr(Value(2.0, label="w")) == "Value(data=2, grad=0, label='w')"


# ---- the hot path: + - * neg relu written out in Value, checked against the general path ----
# A mode block open anywhere (enable_grad here) sends every op through apply2 and record.

_HOT = {
    "add": lambda x, y: x + y,
    "sub": lambda x, y: x - y,
    "mul": lambda x, y: x * y,
    "neg": lambda x, y: -x,
    "relu": lambda x, y: x.relu(),
}
_PAIRS = [(1.5, -2.0), (-0.75, 0.5), (0.0, 3.0), (-0.0, 0.0), (2.0, 2.0), (math.inf, 1.0),
          (math.nan, -1.0), (1e308, 10.0)]


def _bits(v: float) -> str:
    return repr(v) if v == v else "nan"  # repr tells -0.0 from 0.0


@pytest.mark.parametrize("name", sorted(_HOT))
def test_each_hot_op_records_what_the_general_path_records(name):
    from autograd import enable_grad
    from autograd.graph import PARENT_DATA, saved_args

    f = _HOT[name]
    for xv, yv in _PAIRS:
        x, y = Value(xv), Value(yv)
        hot = f(x, y)
        with enable_grad():
            general = f(x, y)
        assert (hot._args is PARENT_DATA) == (name in ("add", "sub", "mul"))
        assert general._args is not PARENT_DATA
        assert hot._op is general._op and hot.op == name
        assert [id(p) for p in hot._parents] == [id(p) for p in general._parents]
        assert [_bits(a) for a in saved_args(hot)] == [_bits(a) for a in saved_args(general)]
        assert _bits(hot.data) == _bits(general.data)
        assert hot.requires_grad and hot.grad == 0.0 and hot.label == "" and hot.is_leaf is False
        assert hot._seq > max(p._seq for p in hot._parents)
        grads = []
        for node in (hot, general):
            x.grad = y.grad = 0.0
            node.backward(0.5)
            grads.append((_bits(x.grad), _bits(y.grad)))
        assert grads[0] == grads[1], (xv, yv)


def test_constants_and_modes_take_the_general_path():
    from autograd import detect_anomaly
    from autograd.graph import PARENT_DATA

    x, y = Value(2.0), Value(3.0)
    assert (x * 4.0)._args == (2.0, 4.0) and (4.0 - x)._args == (4.0, 2.0)
    c = Value(5.0)
    c.requires_grad = False
    assert (x * c)._parents == (x, None) and (x * c)._args == (2.0, 5.0)
    with no_grad():
        assert not (x * y).requires_grad and (x * y)._op is None and not (-x).requires_grad
    with detect_anomaly():
        z = x * y
    assert z._args == (2.0, 3.0) and z._where is not None  # anomaly mode knows its line
    assert (x * y)._args is PARENT_DATA

    class Sub(Value):
        __slots__ = ()

    s, t = Sub(2.0), Sub(3.0)
    assert type(s * t) is Sub and type(s + t) is Sub and type(-s) is Sub and type(s.relu()) is Sub


def test_a_hot_binary_node_is_one_object_for_the_cycle_collector():
    # no tuple of its parents, no tuple of their floats: the collector's work while a graph is
    # built grows with the objects it tracks
    import gc

    x, y = Value(1.0), Value(2.0)
    keep = []
    was = gc.isenabled()
    gc.disable()
    try:
        gc.collect()
        before = gc.get_count()[0]
        for _ in range(1000):
            keep.append(x * y)
        made = gc.get_count()[0] - before
    finally:
        if was:
            gc.enable()
    assert 1000 <= made <= 1020, made


_STEPS = [*_HOT.values(), lambda x, y: x * 0.5, lambda x, y: 1.0 - y,
          lambda x, y: (x * y).tanh()]


@pytest.mark.parametrize("seed", range(12))
def test_random_programs_give_the_same_values_and_gradients_on_both_paths(seed):
    from autograd import enable_grad

    def run():
        rng = random.Random(seed)
        leaves = [Value(rng.uniform(-2, 2)) for _ in range(4)]
        pool = list(leaves)
        for _ in range(40):
            x, y = rng.choice(pool), rng.choice(pool)
            pool.append(rng.choice(_STEPS)(x, y))
        total = value_sum(pool[-10:])
        total.backward()
        total.backward()  # gradients accumulate on every node
        return [_bits(v.data) for v in pool], [_bits(v.grad) for v in pool]

    hot = run()
    with enable_grad():
        general = run()
    assert hot == general


def test_a_graph_of_values_survives_pickling_and_copying():
    import copy
    import pickle

    a, b = Value(2.0), Value(3.0)
    c = a * b + a - b * b
    for clone in (pickle.loads(pickle.dumps(c)), copy.deepcopy(c)):
        clone.backward()
        x, y = clone._parents[0]._parents[0]._parents  # (a * b + a) - b * b: a * b's parents
        assert (x.grad, y.grad) == (4.0, -4.0)  # ∂c/∂a = b + 1, ∂c/∂b = a − 2b
