"""The gradient checker itself: it passes right rules, catches wrong ones, and says where."""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
from autograd import Tensor, Value, gradcheck, primitive
from autograd.check import (
    GradcheckReport,
    PrecisionWarning,
    Sweep,
    check_graph,
    locate_culprit,
    numeric_grad,
    plot_sweep,
    sweep,
)


def cube_with_rule(factor: float):
    """A user op x³ whose rule is off by `factor` (1.0: right)."""

    @primitive
    def cube(x):
        return x ** 3

    @cube.defvjp
    def cube_vjp(g, out, x):
        return (3 * x ** 2 * g * factor,)

    return cube


right, wrong = cube_with_rule(1.0), cube_with_rule(1.003)  # 0.3% off


# ---- right and wrong rules ----------------------------------------------------------------

@pytest.mark.parametrize("op, ok", [(right, True), (wrong, False)])
def test_user_op_on_value(op, ok):
    report = gradcheck(lambda x: op(x) * x.sin(), Value(1.3))
    assert report.ok is ok and bool(report) is ok
    assert report.n_inconclusive == 0


@pytest.mark.parametrize("op, ok", [(right, True), (wrong, False)])
def test_user_op_on_tensor(op, ok):
    x = Tensor([[0.7, -1.2, 2.0], [1.5, -0.9, 0.6]])
    report = gradcheck(lambda x: (op(x) * x.exp()).sum(), x)
    assert report.ok is ok
    if not ok:
        assert report.n_failures == 6
        # only the 3x²·eˣ term of (x³eˣ)' = 3x²eˣ + x³eˣ carries the 0.3%
        x = x.data
        expected = 0.003 * 3 * x ** 2 / np.abs(3 * x ** 2 + x ** 3)
        assert report.max_rel_error == pytest.approx(expected.max(), rel=0.01)


@settings(max_examples=30, deadline=None)
@given(x=st.floats(0.5, 3.0), sign=st.sampled_from([-1, 1]), off=st.floats(0.003, 0.5))
def test_a_wrong_rule_always_fails_and_is_never_called_a_kink(x, sign, off):
    report = gradcheck(cube_with_rule(1 + off), sign * x)
    assert not report.ok and report.n_inconclusive == 0


@settings(max_examples=30, deadline=None)
@given(xs=st.lists(st.floats(-2, 2), min_size=1, max_size=4))
def test_builtin_ops_pass(xs):
    def f(x):
        return ((x.tanh() * x.sigmoid() + (x * x + 1).log()).exp() / (2 + x.cos())).sum()

    assert gradcheck(f, np.array(xs)).ok


def test_full_jacobian_of_a_vector_output_and_two_inputs():
    def f(a, b):
        return wrong(a @ b)

    a, b = np.arange(6.0).reshape(2, 3) / 5, np.array([0.3, -0.4, 0.8])
    report = gradcheck(f, a, b)
    assert report.n_checked == 2 * (6 + 3)
    bad = {(e.input, e.index, e.output) for e in report.failures}
    assert (1, (2,), (1,)) in bad
    assert all(e.analytic != e.numeric for e in report.failures)
    assert gradcheck(lambda a, b: right(a @ b), a, b).ok


def test_floats_arrays_and_a_list_of_values_out():
    report = gradcheck(lambda u, v: [u * v, u.exp() - v, (u / v).tanh()], 0.5, 2.0)
    assert report.ok and report.n_checked == 6


def test_function_closing_over_its_tensor():
    w = Tensor(np.array([0.2, -0.5, 1.0]), requires_grad=True)
    x = np.array([1.0, 2.0, 3.0])
    assert gradcheck(lambda _w: ((w * x).tanh()).sum(), w).ok


def test_a_constant_output_is_compared_as_zero_gradient():
    x = Tensor([1.0, 2.0])
    assert not gradcheck(lambda t: float(np.sum(t.data ** 2)), x).ok
    assert gradcheck(lambda t: 3.0, x).ok


# ---- kinks -------------------------------------------------------------------------------

def test_relu_at_zero_is_inconclusive_not_failed():
    report = gradcheck(lambda x: (x.relu() * 2).sum(), np.array([0.0, 1.5, -0.5]))
    assert report.ok and report.n_inconclusive == 1
    (kink,) = report.inconclusive
    assert kink.index == (0,) and kink.status == "kink"
    assert "inconclusive (1)" in str(report)


def test_tied_maxima_and_a_kink_just_beside_the_point():
    assert gradcheck(lambda x: x.max(), np.array([1.0, 1.0, 0.2])).n_inconclusive == 2
    near = gradcheck(lambda x: x.relu().sum(), np.array([3e-7, -4e-7]))
    assert near.ok and near.n_inconclusive == 2


def test_a_rule_that_is_wrong_at_a_kink_still_fails():
    @primitive
    def ramp(x):
        return np.maximum(x, 0)

    @ramp.defvjp
    def ramp_vjp(g, out, x):
        return (g * 5.0,)

    report = gradcheck(lambda x: ramp(x).sum(), np.array([0.0, 1.0]))
    assert not report.ok and {e.index for e in report.failures} == {(0,), (1,)}


# ---- float32, bad input, restoring -------------------------------------------------------

def test_float32_warns_and_suggests_float64():
    x = Tensor(np.array([0.5, 1.0], dtype=np.float32))
    with pytest.warns(PrecisionWarning, match="float64"):
        report = gradcheck(lambda x: x.sin().sum(), x)
    assert report.dtype == "float32" and x.dtype == np.float32
    with pytest.warns(PrecisionWarning):
        assert gradcheck(lambda x: x.sin().sum(), x, eps=1e-2, atol=1e-3, rtol=1e-2).ok


@pytest.mark.parametrize("inputs, kwargs, error, match", [
    ((), {}, ValueError, "at least one input"),
    (("abc",), {}, TypeError, "input 0 is a str"),
    ((None,), {}, TypeError, "input 0"),
    ((np.array(["a"]),), {}, TypeError, "dtype"),
    ((np.array([1.0, np.nan]),), {}, ValueError, "NaN"),
    ((np.zeros(0),), {}, ValueError, "empty"),
    ((1.0,), {"eps": 0.0}, ValueError, "eps"),
    ((1.0,), {"eps": -1e-6}, ValueError, "eps"),
    ((1.0,), {"eps": math.nan}, ValueError, "eps"),
    ((1.0,), {"atol": -1.0}, ValueError, "atol"),
    ((1.0,), {"names": ["a", "b"]}, ValueError, "names"),
])
def test_bad_input_is_refused_by_name(inputs, kwargs, error, match):
    with pytest.raises(error, match=match):
        gradcheck(lambda x: x * 2, *inputs, **kwargs)


def test_f_must_be_callable_and_stay_in_its_domain():
    with pytest.raises(TypeError, match="function"):
        gradcheck(3.0, 1.0)
    with pytest.raises(ValueError, match="smaller eps"):
        gradcheck(lambda x: x.log(), 1e-8, eps=1e-6)


def test_inputs_are_restored_exactly_even_when_f_raises():
    t = Tensor([0.1, 0.2, 0.3], requires_grad=False)
    data = t.data
    before = data.copy()
    calls = []

    def f(x):
        calls.append(1)
        if len(calls) > 3:
            raise ValueError("boom")
        return (x * x).sum()

    with pytest.raises(ValueError, match="boom"):
        gradcheck(f, t)
    assert t.data is data and np.array_equal(data, before) and not t.requires_grad
    assert gradcheck(lambda x: (x * x).sum(), t).ok
    assert t.data is data and np.array_equal(data, before) and t.grad is None


def test_read_only_data_is_checked_on_a_copy():
    t = Tensor._from_data(np.broadcast_to(np.array([0.5, 1.5]), (2, 2)))
    assert gradcheck(lambda x: x.sin().sum(), t).ok
    assert not t.data.flags.writeable


# ---- the report --------------------------------------------------------------------------

def test_report_text_names_inputs_and_worst_entries():
    report = gradcheck(lambda x, y: (wrong(x) * y).sum(), np.array([1.0, 2.0]), 0.5,
                       names=["x", "y"])
    text = str(report)
    assert text.startswith("gradcheck FAILED (2 of 3 entries)")
    assert "worst entries" in text and "analytic" in text and "x " in text
    assert report.worst[0].status == "FAIL" and report.worst[0].index == (1,)
    assert len(report.worst) == 3
    assert "ok:" in str(gradcheck(lambda x: x * x, 2.0))


def test_report_json_round_trip():
    report = gradcheck(lambda x: (wrong(x).relu()).sum(), np.array([0.0, 1.0, 2.0]))
    back = GradcheckReport.from_dict(json.loads(report.to_json()))
    assert back == report and back.failures[0].index == report.failures[0].index


# ---- numeric_grad ------------------------------------------------------------------------

def test_numeric_grad_all_entries_and_a_subset():
    x = np.array([[0.3, 0.6], [0.9, 1.2]])
    (g,) = numeric_grad(lambda t: t.sin().sum(), x)
    np.testing.assert_allclose(g, np.cos(x), rtol=1e-8)
    (h,) = numeric_grad(lambda t: t.sin().sum(), x, entries=[[0, 3]])
    assert np.isnan(h[0, 1]) and h[1, 1] == pytest.approx(np.cos(1.2))
    with pytest.raises(ValueError, match="scalar"):
        numeric_grad(lambda t: t.sin(), x)


# ---- the sweep ---------------------------------------------------------------------------

def smooth(x):
    return (x.sin() * x.exp()).sum()


def test_sweep_v_curve_in_float64():
    s = autograd.gradcheck.sweep(smooth, np.array([0.3, 1.2, -0.7]))
    assert [r.eps for r in s] == [10.0 ** -k for k in range(1, 13)]
    best = s.best
    assert 1e-8 <= best.eps <= 1e-3
    assert s[0].max_rel_error > 1e3 * best.max_rel_error
    assert s[-1].max_rel_error > 1e3 * best.max_rel_error


def test_sweep_in_float32_bottoms_out_much_earlier():
    s64 = sweep(smooth, np.array([0.3, 1.2, -0.7]))
    s32 = sweep(smooth, np.array([0.3, 1.2, -0.7]), dtype="float32")
    assert s32.dtype == "float32" and s32.best.eps >= 1e-4 > s64.best.eps
    assert s32.best.max_rel_error > 100 * s64.best.max_rel_error
    assert sweep(lambda x: x.sin(), 0.4, dtype="float32", eps=[1e-2]).dtype == "float32"


def test_sweep_refuses_bad_settings_and_round_trips():
    with pytest.raises(ValueError, match="positive"):
        sweep(smooth, np.ones(2), eps=[1e-3, 0.0])
    with pytest.raises(ValueError, match="float64, float32"):
        sweep(smooth, np.ones(2), dtype="float16")
    with pytest.raises(ValueError, match="Value"):
        sweep(lambda v: v.sin(), Value(0.3), dtype="float32")
    s = sweep(smooth, np.ones(2), eps=[1e-2, 1e-6])
    assert Sweep.from_dict(json.loads(json.dumps(s.to_dict()))) == s
    assert "<- best" in str(s) and len(s) == 2


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib", reason="the plot extra is not installed")
    s = sweep(smooth, np.array([0.3, 1.2]), eps=[1e-1, 1e-4, 1e-8])
    out = plot_sweep([s], tmp_path / "v.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert list(tmp_path.iterdir()) == [out]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        s.plot(tmp_path / "missing" / "v.png")


def test_plot_without_matplotlib_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    s = Sweep([], "float64")
    with pytest.raises(ImportError, match=r"pip install deltagrad\[plot\]"):
        plot_sweep(s, tmp_path / "v.png")


# ---- locating a culprit ------------------------------------------------------------------

def bigger_graph(op):
    def f(x, w):
        h = (x @ w).tanh()
        return (op(h) * h.sigmoid()).sum() + (w * w).mean() + x.max()

    return f


def test_the_culprit_is_named_inside_a_larger_graph():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((4, 3)), rng.standard_normal((3, 2))
    assert not gradcheck(bigger_graph(wrong), x, w).ok
    report = locate_culprit(bigger_graph(wrong), x, w)
    assert report.culprit == "cube" and report.culprits == ["cube"]
    assert not report and "culprit: the rule of 'cube' is wrong" in str(report)
    fine = locate_culprit(bigger_graph(right), x, w)
    assert fine.ok and fine.culprit is None and len(fine.checks) >= 8


def test_culprit_on_values_and_a_rule_that_raises():
    @primitive
    def broken(x):
        return x * 2.0

    @broken.defvjp
    def broken_vjp(g, out, x):
        raise ZeroDivisionError("no")

    report = locate_culprit(lambda a, b: wrong(a * b + a.exp()) - b.relu(), 0.3, 0.0)
    assert report.culprit == "cube"
    assert {c.status for c in report.checks if c.op == "relu"} == {"kink"}
    crash = locate_culprit(lambda a: broken(a.sin()), 0.5)
    assert crash.culprit == "broken" and "raised" in crash.failures[0].note


def test_check_graph_needs_the_saved_inputs():
    t = Tensor([1.0, 2.0], requires_grad=True)
    y = (t.exp() * t).sum()
    assert check_graph(y).ok
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        check_graph(y)


def test_culprit_report_json_round_trip():
    report = locate_culprit(bigger_graph(wrong), np.ones((2, 3)) / 3, np.ones((3, 2)) / 2)
    back = type(report).from_dict(json.loads(report.to_json()))
    assert back == report and back.culprit == "cube"
