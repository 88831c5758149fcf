"""numpy's own functions on Tensors: what records, what returns plain data, what is refused;
the factories; conversions of one-entry tensors; the Value's math-style calls."""

from __future__ import annotations

import math

import numpy as np
import pytest

import autograd
from autograd import Tensor, Value


def _leaf(*shape, seed=0):
    return Tensor(np.random.default_rng(seed).uniform(0.2, 1.5, size=shape), requires_grad=True)


def test_ufunc_records_and_differentiates():
    t = _leaf(2, 3)
    y = np.exp(t)
    assert isinstance(y, Tensor) and y.op == "exp"
    y.sum().backward()
    np.testing.assert_allclose(t.grad, np.exp(t.data))


def test_sum_with_axis_and_keepdims():
    t = _leaf(2, 3)
    y = np.sum(t, axis=0, keepdims=True)
    assert isinstance(y, Tensor) and y.shape == (1, 3)
    (y * np.array([[1.0, 2.0, 3.0]])).sum().backward()
    np.testing.assert_array_equal(t.grad, [[1, 2, 3], [1, 2, 3]])


def test_dot_with_an_ndarray_on_the_left():
    a, t = np.arange(6.0).reshape(2, 3), _leaf(3, 2)
    y = np.dot(a, t)
    np.testing.assert_allclose(y.data, a @ t.data)
    y.sum().backward()
    np.testing.assert_allclose(t.grad, a.T @ np.ones((2, 2)))


def test_where_mask_tensor_and_constant():
    t = Tensor([-1.0, 2.0, -3.0, 4.0], requires_grad=True)
    y = np.where(t > 0, t, 0.0)
    np.testing.assert_array_equal(y.data, [0, 2, 0, 4])
    y.sum().backward()
    np.testing.assert_array_equal(t.grad, [0, 1, 0, 1])


def test_concatenate_gives_each_piece_its_gradient():
    t, u = _leaf(2), _leaf(3, seed=1)
    y = np.concatenate([t, u])
    (y * np.arange(5.0)).sum().backward()
    np.testing.assert_array_equal(t.grad, [0, 1])
    np.testing.assert_array_equal(u.grad, [2, 3, 4])


def test_einsum_matrix_product():
    a, t = np.arange(6.0).reshape(2, 3), _leaf(3, 4)
    y = np.einsum("ij,jk->ik", a, t)
    np.testing.assert_allclose(y.data, a @ t.data)
    y.sum().backward()
    np.testing.assert_allclose(t.grad, a.T @ np.ones((2, 4)))


def test_maximum_with_a_number_and_norm():
    t = Tensor([-1.0, 0.0, 3.0], requires_grad=True)
    np.maximum(t, 0).sum().backward()
    np.testing.assert_array_equal(t.grad, [0, 0.5, 1])  # a tie shares the gradient
    u = Tensor([3.0, 4.0], requires_grad=True)
    n = np.linalg.norm(u)
    assert n.item() == 5.0
    n.backward()
    np.testing.assert_allclose(u.grad, [0.6, 0.8])


def test_norm_of_zero_has_zero_gradient():
    u = Tensor(np.zeros(3), requires_grad=True)
    np.linalg.norm(u).backward()
    np.testing.assert_array_equal(u.grad, np.zeros(3))


def test_ndarray_plus_tensor_is_a_tensor():
    t = _leaf(3)
    for y in (np.ones(3) + t, np.ones(3) * t, np.ones(3) - t, np.ones(3) / t,
              np.float64(2.0) * t, np.eye(3) @ t):
        assert isinstance(y, Tensor) and y.requires_grad


def test_a_function_without_a_rule_is_refused_by_name():
    t = _leaf(3)
    with pytest.raises(TypeError, match=r"numpy\.sort has no gradient rule"):
        np.sort(t)
    with pytest.raises(TypeError, match=r"numpy\.floor has no gradient rule"):
        np.floor(t)
    with pytest.raises(TypeError, match=r"numpy\.add\.accumulate has no gradient rule"):
        np.add.accumulate(t)
    with pytest.raises(TypeError, match=r"numpy\.copy has no gradient rule"):
        np.copy(t)  # a copy would silently be a constant: t.data.copy() says so


def test_out_is_refused_clearly():
    t = _leaf(3)
    with pytest.raises(TypeError, match=r"numpy\.sum\(\.\.\., out=\.\.\.\) on a Tensor"):
        np.sum(t, out=np.zeros(()))
    with pytest.raises(TypeError, match=r"numpy\.exp\(\.\.\., out=\.\.\.\)"):
        np.exp(t, out=np.zeros(3))
    a = np.zeros(3)
    with pytest.raises(TypeError, match="out="):
        a += t


def test_an_unsupported_keyword_names_the_signature():
    with pytest.raises(TypeError, match=r"numpy\.sum on a Tensor: .*where"):
        np.sum(_leaf(3), where=np.array([True, False, True]))
    with pytest.raises(TypeError, match=r"numpy\.sum on a Tensor takes no dtype"):
        np.sum(_leaf(3), dtype=np.float32)
    with pytest.raises(TypeError, match=r"numpy\.mean on a Tensor takes no dtype"):
        np.mean(_leaf(3), 0, np.float32)
    with pytest.raises(TypeError, match=r"numpy\.max\(\.\.\., out=\.\.\.\)"):
        np.max(_leaf(3), 0, np.zeros(()))


def test_numpy_positional_order_is_kept():
    t = _leaf(2, 3)
    assert np.sum(t, 0, None, None, True).shape == (1, 3)
    assert np.max(t, 1, None, True).shape == (2, 1)
    np.testing.assert_allclose(np.var(t, 0, None, None, 1).data, np.var(t.data, 0, ddof=1))


def test_no_gradient_functions_return_plain_arrays():
    t = Tensor([[1.0, 5.0], [7.0, 2.0]], requires_grad=True)
    assert np.argmax(t) == 2 and np.argmin(t, axis=1).tolist() == [0, 1]
    assert np.shape(t) == (2, 2) and np.ndim(t) == 2 and np.size(t) == 4
    for mask in (t > 2, np.greater(t, 2), np.isfinite(t), np.equal(t, 5.0)):
        assert type(mask) is np.ndarray and mask.dtype == bool
    assert np.allclose(t, t.data) and type(np.nonzero(t)[0]) is np.ndarray


def test_reductions_of_ufuncs_and_zeros_like():
    t = _leaf(2, 3)
    assert np.add.reduce(t).shape == (3,) and np.maximum.reduce(t, axis=1).shape == (2,)
    z = np.zeros_like(t)
    assert isinstance(z, Tensor) and not z.requires_grad and z.shape == (2, 3)


# ---- methods ------------------------------------------------------------------------------

def test_methods_match_numpy_forward():
    x = np.random.default_rng(3).uniform(-0.9, 0.9, size=(2, 3, 4))
    t = Tensor(x)
    pairs = [(t.var(1), x.var(1)), (t.std(ddof=1), x.std(ddof=1)), (t.prod(2), x.prod(2)),
             (t.cumsum(0), x.cumsum(0)), (t.flip(1), np.flip(x, 1)),
             (t.flatten(), x.ravel()), (t.repeat(2, axis=1), x.repeat(2, axis=1)),
             (t.diagonal(1, 1, 2), x.diagonal(1, 1, 2)), (t.trace(), x.trace()),
             (t.abs(), np.abs(x)), (t.clip(-0.5, 0.2), x.clip(-0.5, 0.2)),
             (Tensor(x[:1]).squeeze(0), x[0]), (t.norm(), np.linalg.norm(x)),
             (t.dot(np.ones(4)), x.dot(np.ones(4))), (t.diff(axis=1), np.diff(x, axis=1)),
             (t.split(2, axis=2)[1], np.split(x, 2, axis=2)[1]),
             (t.tile((2, 1)), np.tile(x, (2, 1))),
             (t.moveaxis(0, -1), np.moveaxis(x, 0, -1)), (t.expand_dims(1), np.expand_dims(x, 1)),
             (t.outer(x[0, 0]), np.outer(x, x[0, 0])), (t.inner(x), np.inner(x, x))]
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours.data, theirs, rtol=1e-13, atol=1e-15)


def test_prod_gradient_is_exact_with_zeros():
    t = Tensor([2.0, 0.0, 3.0, 0.5, 4.0], requires_grad=True)
    t.prod().backward()
    np.testing.assert_array_equal(t.grad, [0, 12, 0, 0, 0])
    u = Tensor([2.0, 0.0, 3.0], requires_grad=True)
    u.prod().backward()
    np.testing.assert_array_equal(u.grad, [0, 6, 0])


def test_argmax_tolist_and_one_entry_conversions():
    t = Tensor([[1.0, 9.0], [4.0, 2.0]])
    assert t.argmax() == 1 and t.argmax(0).tolist() == [1, 0] and t.argmin(1).tolist() == [0, 1]
    assert t.tolist() == [[1.0, 9.0], [4.0, 2.0]]
    one = Tensor([[2.75]])
    assert float(one) == 2.75 and int(one) == 2 and bool(one) is True
    assert bool(Tensor(0.0)) is False
    for convert in (float, int, bool):
        with pytest.raises(ValueError, match="4 entries"):
            convert(t)


def test_domain_errors_name_the_op():
    with pytest.raises(ValueError, match="sqrt of a negative number: 1 of 2 entries"):
        Tensor([1.0, -4.0]).sqrt()
    with pytest.raises(ValueError, match="arcsin of a number outside"):
        Value(1.5).arcsin()
    with pytest.raises(ValueError, match="arccosh of a number below 1"):
        np.arccosh(Tensor([0.5]))


def test_clip_refuses_differentiable_bounds_and_no_bounds():
    t = _leaf(3)
    with pytest.raises(TypeError, match="constants"):
        t.clip(Tensor(0.0, requires_grad=True), 1.0)
    with pytest.raises(ValueError, match="at least one"):
        t.clip()


def test_einsum_refuses_a_diagonal_and_ellipsis():
    with pytest.raises(ValueError, match="repeat a letter"):
        np.einsum("ii->i", _leaf(2, 2))
    with pytest.raises(ValueError, match="ellipsis"):
        np.einsum("...i->i", _leaf(2, 2))


def test_split_stack_and_pad_shapes():
    t = _leaf(4, 6)
    parts = np.split(t, 3, axis=1)
    assert [p.shape for p in parts] == [(4, 2)] * 3
    assert np.stack(parts, axis=-1).shape == (4, 2, 3)
    assert np.pad(t, ((1, 0), (2, 3)), constant_values=7.0).data[0, 0] == 7.0
    with pytest.raises(TypeError, match="mode 'reflect' has no gradient rule"):
        np.pad(t, 1, mode="reflect")
    with pytest.raises(ValueError, match="equal"):
        np.split(t, 4, axis=1)


# ---- factories ----------------------------------------------------------------------------

@pytest.mark.parametrize(("make", "expected"), [
    (lambda **k: autograd.zeros(2, 3, **k), np.zeros((2, 3))),
    (lambda **k: autograd.ones((2, 3), **k), np.ones((2, 3))),
    (lambda **k: autograd.full((2,), 1.5, **k), np.full(2, 1.5)),
    (lambda **k: autograd.arange(4, **k), np.arange(4.0)),
    (lambda **k: autograd.arange(1, 2, 0.25, **k), np.arange(1, 2, 0.25)),
    (lambda **k: autograd.eye(3, **k), np.eye(3)),
    (lambda **k: autograd.eye(2, 3, **k), np.eye(2, 3)),
])
def test_factories(make, expected):
    t = make()
    assert isinstance(t, Tensor) and not t.requires_grad and t.dtype == np.float64
    np.testing.assert_array_equal(t.data, expected)
    p = make(requires_grad=True, dtype=np.float32)
    assert p.requires_grad and p.dtype == np.float32 and p.is_leaf


def test_random_factories_and_like_forms():
    rng = np.random.default_rng(5)
    r = autograd.randn(3, 4, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(r.data, rng.standard_normal((3, 4)))
    u = autograd.rand(1000, requires_grad=True)
    assert u.requires_grad and u.data.min() >= 0.0 and u.data.max() < 1.0
    base = Tensor(np.ones((2, 2), dtype=np.float32))
    for like in (autograd.zeros_like(base), autograd.ones_like(base),
                 autograd.full_like(base, 3.0), autograd.randn_like(base),
                 autograd.rand_like(base)):
        assert like.shape == (2, 2) and like.dtype == np.float32
    assert autograd.zeros_like(base, dtype=np.float64, requires_grad=True).requires_grad


def test_factories_refuse_bad_input():
    with pytest.raises(ValueError, match="non-negative ints"):
        autograd.zeros(2, -1)
    with pytest.raises(TypeError, match="float type"):
        autograd.ones(2, dtype=np.int64)
    with pytest.raises(TypeError, match="Generator"):
        autograd.randn(2, rng=3)
    with pytest.raises(ValueError, match="step"):
        autograd.arange(0, 1, 0)


# ---- Value --------------------------------------------------------------------------------

def test_value_math_style_calls():
    v = Value(-2.6)
    a = abs(v)
    assert isinstance(a, Value) and a.data == 2.6
    a.backward()
    assert v.grad == -1.0
    assert float(v) == -2.6 and v.item() == -2.6
    assert round(v) == -3 and isinstance(round(v), int) and round(v, 1) == -2.6
    w = Value(0.3)
    (w.sqrt() + w.arctanh() + w.maximum(0.5)).backward()
    assert w.grad == pytest.approx(0.5 / math.sqrt(0.3) + 1 / (1 - 0.09))


@pytest.mark.parametrize(("name", "edge", "value", "slope"), [
    ("sqrt", 0.0, 0.0, math.inf), ("log2", 0.0, -math.inf, math.inf),
    ("log10", 0.0, -math.inf, math.inf), ("log1p", -1.0, -math.inf, math.inf),
    ("arcsin", 1.0, math.pi / 2, math.inf), ("arccos", -1.0, math.pi, -math.inf),
    ("arccosh", 1.0, 0.0, math.inf), ("arctanh", 1.0, math.inf, math.inf),
])
def test_domain_edges_give_infinities_silently(name, edge, value, slope):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = Tensor([edge], requires_grad=True)
        v = Value(edge)
        out, out_v = getattr(t, name)(), getattr(v, name)()
        out.sum().backward()
        out_v.backward()
    assert out.data[0] == pytest.approx(value) and out_v.data == pytest.approx(value)
    assert t.grad[0] == slope and v.grad == slope
