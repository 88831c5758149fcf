"""Tensor, worked by hand: dtypes, every op with broadcasting, matmul forms, reductions, shapes,
indexing, the softmax family and the array-side accessors."""

from __future__ import annotations

import operator
import warnings

import numpy as np
import pytest

from autograd import Tensor
from tests.witnesses.finite_differences import assert_grad_close, central_vjp

RNG = np.random.default_rng(7)
OPS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
       "**": operator.pow}


def _leaf(*shape: int) -> Tensor:
    return Tensor(RNG.uniform(-2.0, 2.0, size=shape), requires_grad=True)


def _check_vjp(f, *leaves: Tensor) -> None:
    """Backward of f(*leaves) with a random cotangent against central differences."""
    for leaf in leaves:
        leaf.grad = None
    out = f(*leaves)
    w = RNG.uniform(-1.0, 1.0, size=out.shape)
    out.backward(w)
    for i, leaf in enumerate(leaves):
        def partial(a, i=i):
            args = [t.data for t in leaves]
            args[i] = a
            return f(*(Tensor(x) for x in args)).data
        assert leaf.grad.shape == leaf.shape
        assert_grad_close(leaf.grad, central_vjp(partial, leaf.data, w))


# ---- dtype rules ----------------------------------------------------------------------------

def test_float64_by_default_float32_kept_ints_and_bools_become_float64():
    assert Tensor([1.0, 2.0]).dtype == np.float64
    assert Tensor(np.ones(2, dtype=np.float32)).dtype == np.float32
    assert Tensor([1, 2, 3]).dtype == np.float64
    assert Tensor(np.arange(3, dtype=np.int8)).dtype == np.float64
    assert Tensor([True, False]).dtype == np.float64
    assert Tensor(3).shape == ()


@pytest.mark.parametrize(("bad", "error", "says"), [
    ("abc", TypeError, "real numbers"),
    (["a", "b"], TypeError, "real numbers"),
    ([object()], TypeError, "real numbers"),
    (None, TypeError, "real numbers"),
    ([1 + 2j], TypeError, "complex"),
    ([[1.0, 2.0], [3.0]], ValueError, "rectangular"),
])
def test_non_numeric_and_ragged_data_is_refused(bad, error, says):
    with pytest.raises(error, match=says):
        Tensor(bad)


def test_bad_operands_are_refused_by_name():
    t = Tensor([1.0, 2.0])
    with pytest.raises(TypeError, match="str"):
        t + "x"
    with pytest.raises(TypeError, match="NoneType"):
        None * t
    with pytest.raises(TypeError, match="complex"):
        t - 1j


# ---- elementwise arithmetic with broadcasting -----------------------------------------------

@pytest.mark.parametrize("op", ["+", "-", "*", "/", "**"])
@pytest.mark.parametrize(("sx", "sy"), [((3,), (3,)), ((2, 3), (3,)), ((2, 1), (1, 4)),
                                        ((4, 1, 3), (2, 1)), ((), (2, 2)), ((1,), (3, 1, 2))])
def test_binary_ops_broadcast_and_gradients_keep_operand_shapes(op, sx, sy):
    x, y = _leaf(*sx), _leaf(*sy)
    if op in ("/", "**"):
        y = Tensor(np.abs(y.data) + 0.5, requires_grad=True)
    if op == "**":
        x = Tensor(np.abs(x.data) + 0.5, requires_grad=True)
    f = OPS[op]
    np.testing.assert_array_equal(f(x, y).data, f(x.data, y.data))
    _check_vjp(f, x, y)


@pytest.mark.parametrize("op", ["+", "-", "*", "/", "**"])
def test_reflected_forms_with_numbers_and_ndarrays(op):
    x = Tensor([[0.5, 1.5, 2.5]], requires_grad=True)
    for other in (2.0, 3, np.float64(1.5), np.array([1.0, 2.0, 0.5])):
        left, right = OPS[op](other, x), OPS[op](x, other)
        assert isinstance(left, Tensor) and isinstance(right, Tensor)
        np.testing.assert_allclose(left.data, OPS[op](other, x.data), rtol=1e-15)
        np.testing.assert_allclose(right.data, OPS[op](x.data, other), rtol=1e-15)
        assert left.requires_grad and right.requires_grad


def test_pow_with_a_tracked_exponent_at_zero_and_negative_bases():
    """∂(xʸ)/∂y = xʸ·ln x is 0 where x = 0 (and y > 0) and nan where x < 0, as in PyTorch;
    the base's gradient y·xʸ⁻¹ is exact everywhere, and nothing warns or raises."""
    x = Tensor([0.0, 1.0, -2.0, 3.0], requires_grad=True)
    y = Tensor(2.0, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (x ** y).backward(np.array([1.0, 1.0, 0.0, 0.0]))
    np.testing.assert_array_equal(x.grad, [0.0, 2.0, 0.0, 0.0])
    x.grad = y.grad = None
    (x[:2] ** y).sum().backward()
    assert y.grad == 0.0
    x.grad = y.grad = None
    (x ** y).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 2.0, -4.0, 6.0])
    assert np.isnan(y.grad)


def test_a_mask_given_as_a_tensor_selects_or_is_refused():
    """Tensor([True, False, True]) holds floats (bools become float64); used as an index it
    must not turn into the integer positions [1, 0, 1]."""
    t = Tensor([10.0, 20.0, 30.0])
    try:
        picked = t[Tensor([True, False, True])]
    except (TypeError, IndexError):
        return
    np.testing.assert_array_equal(picked.data, [10.0, 30.0])


def test_ndarray_on_the_left_gives_a_tensor_not_an_object_array():
    x = Tensor([1.0, 2.0], requires_grad=True)
    out = np.array([3.0, 4.0]) * x
    assert isinstance(out, Tensor)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])


@pytest.mark.parametrize("op", ["+", "*", "-", "/"])
def test_shape_mismatch_names_both_shapes(op):
    a, b = Tensor(np.ones((2, 3))), Tensor(np.ones((4,)))
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(4,\)"):
        OPS[op](a, b)


@pytest.mark.parametrize("name", ["exp", "log", "tanh", "sigmoid", "relu", "sin", "cos"])
def test_elementwise_functions(name):
    x = Tensor(RNG.uniform(0.2, 2.0, size=(2, 3)) * np.array([1, -1, 1]), requires_grad=True)
    if name == "log":
        x = Tensor(np.abs(x.data), requires_grad=True)
    _check_vjp(lambda t: getattr(t, name)(), x)


# ---- matmul ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("sx", "sy"), [
    ((3, 4), (4, 2)),          # matrix-matrix
    ((3, 4), (4,)),            # matrix-vector
    ((4,), (4, 2)),            # vector-matrix
    ((4,), (4,)),              # vector-vector
    ((5, 3, 4), (5, 4, 2)),    # batched
    ((2, 1, 3, 4), (5, 4, 2)), # broadcast batch axes
    ((5, 3, 4), (4,)),         # batched matrix-vector
    ((4,), (2, 4, 3)),         # vector times a stack
    ((1, 3, 4), (4, 2)),       # a stack times a matrix
])
def test_matmul_forms(sx, sy):
    x, y = _leaf(*sx), _leaf(*sy)
    out = x @ y
    np.testing.assert_allclose(out.data, x.data @ y.data, rtol=1e-14)
    _check_vjp(lambda a, b: a @ b, x, y)


def test_matmul_with_ndarray_operands_and_bad_shapes():
    w = _leaf(2, 3)
    np.testing.assert_allclose((w @ np.ones(3)).data, w.data.sum(axis=1))
    np.testing.assert_allclose((np.ones(2) @ w).data, w.data.sum(axis=0))
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(2,\)"):
        w @ Tensor(np.ones(2))
    with pytest.raises(ValueError, match=r"at least one axis"):
        w @ Tensor(2.0)


# ---- reductions -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["sum", "mean", "max", "logsumexp"])
@pytest.mark.parametrize("axis", [None, 0, -1, 1, (0, 2), (2, 0, 1)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_over_axes(name, axis, keepdims):
    x = Tensor(RNG.permutation(24).reshape(2, 3, 4) / 7.0, requires_grad=True)  # no ties
    out = getattr(x, name)(axis=axis, keepdims=keepdims)
    ref = {"sum": np.sum, "mean": np.mean, "max": np.max,
           "logsumexp": lambda a, axis, keepdims: np.log(np.sum(np.exp(a), axis, keepdims=keepdims))
           }[name](x.data, axis=axis, keepdims=keepdims)
    assert out.shape == np.shape(ref)
    np.testing.assert_allclose(out.data, ref, rtol=1e-13)
    _check_vjp(lambda t: getattr(t, name)(axis=axis, keepdims=keepdims), x)


def test_max_ties_share_the_gradient():
    x = Tensor([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]], requires_grad=True)
    x.max(axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 0.5, 0.5], [0.5, 0, 0.5]])


def test_bad_axes_are_refused():
    x = Tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        x.sum(axis=2)
    with pytest.raises(ValueError, match="repeated axis"):
        x.sum(axis=(1, -1))
    with pytest.raises(TypeError, match="axis must be an int"):
        x.sum(axis=1.0)


# ---- shapes ---------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(6, 4), (-1,), (2, -1), (3, 2, -1), ((4, 6),), (24,)])
def test_reshape_with_minus_one(shape):
    x = _leaf(2, 3, 4)
    out = x.reshape(*shape)
    np.testing.assert_array_equal(out.data, x.data.reshape(*shape))
    _check_vjp(lambda t: t.reshape(*shape), x)


def test_reshape_to_a_wrong_size_names_both():
    with pytest.raises(ValueError, match=r"shape \(2, 3\) \(6 entries\) into \(4, 2\)"):
        Tensor(np.ones((2, 3))).reshape(4, 2)


@pytest.mark.parametrize("axes", [(), (2, 0, 1), (0, 2, 1), (-1, 0, 1), ((1, 2, 0),)])
def test_transpose_and_T(axes):
    x = _leaf(2, 3, 4)
    perm = axes[0] if len(axes) == 1 else axes
    expected = np.transpose(x.data, perm or None)
    np.testing.assert_array_equal(x.transpose(*axes).data, expected)
    _check_vjp(lambda t: t.transpose(*axes), x)
    np.testing.assert_array_equal(x.T.data, x.data.T)
    with pytest.raises(ValueError, match="not a permutation"):
        x.transpose(0, 0, 1)


# ---- indexing -------------------------------------------------------------------------------

@pytest.mark.parametrize("index", [
    1, -1, slice(1, None), slice(None, None, -2), (1, 2), (slice(None), 0),
    (Ellipsis, 1), (None, 0),
], ids=["int", "negative", "slice", "reversed-step", "pair", "column", "ellipsis", "newaxis"])
def test_indexing_with_ints_and_slices(index):
    x = _leaf(3, 4)
    np.testing.assert_array_equal(x[index].data, x.data[index])
    _check_vjp(lambda t: t[index], x)


def test_repeated_integer_indices_accumulate():
    x = Tensor(np.arange(5.0), requires_grad=True)
    x[[0, 0, 3, 0]].sum().backward()
    np.testing.assert_array_equal(x.grad, [3, 0, 0, 1, 0])
    x.grad = None
    x[np.array([4, 4])].backward(np.array([2.0, 5.0]))
    np.testing.assert_array_equal(x.grad, [0, 0, 0, 0, 7])


def test_integer_array_indexing_of_rows_and_pairs():
    x = _leaf(4, 3)
    rows = np.array([[0, 3], [3, 3]])
    np.testing.assert_array_equal(x[rows].data, x.data[rows])
    _check_vjp(lambda t: t[rows], x)
    pick = (np.array([0, 1, 1, 3]), np.array([2, 0, 0, 1]))  # a repeated (1, 0) entry
    _check_vjp(lambda t: t[pick], x)
    labels = np.array([2, 0, 1, 1])
    np.testing.assert_array_equal(x[np.arange(4), labels].data, x.data[np.arange(4), [2, 0, 1, 1]])
    with pytest.raises(IndexError, match="numpy array of ints or bools"):
        x[np.arange(4), Tensor(labels)]  # floats inside: positions or a mask? refused


def test_boolean_masks():
    x = _leaf(3, 4)
    mask = x.data > 0
    np.testing.assert_array_equal(x[mask].data, x.data[mask])
    _check_vjp(lambda t: t[mask], x)
    rows = np.array([True, False, True])
    _check_vjp(lambda t: t[rows], x)


def test_index_out_of_range_names_the_shape():
    with pytest.raises(IndexError, match=r"shape \(3,\)"):
        Tensor([1.0, 2.0, 3.0])[5]


# ---- softmax family -------------------------------------------------------------------------

@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax_and_logsumexp(axis):
    x = _leaf(3, 4)
    e = np.exp(x.data)
    np.testing.assert_allclose(x.softmax(axis).data, e / e.sum(axis, keepdims=True), rtol=1e-14)
    np.testing.assert_allclose(x.softmax(axis).data.sum(axis), 1.0, rtol=1e-15)
    np.testing.assert_allclose(x.logsumexp(axis).data, np.log(e.sum(axis)), rtol=1e-14)
    _check_vjp(lambda t: t.softmax(axis), x)
    _check_vjp(lambda t: t.logsumexp(axis), x)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_log_softmax(axis):
    x = _leaf(3, 4)
    e = np.exp(x.data)
    np.testing.assert_allclose(x.log_softmax(axis).data, np.log(e / e.sum(axis, keepdims=True)),
                               rtol=1e-13)
    _check_vjp(lambda t: t.log_softmax(axis), x)


# ---- the array side -------------------------------------------------------------------------

def test_accessors():
    data = np.arange(6.0).reshape(2, 3)
    t = Tensor(data, requires_grad=True)
    assert t.shape == (2, 3) and t.ndim == 2 and t.dtype == np.float64 and t.size == 6
    assert len(t) == 2
    assert t.numpy() is t.data
    np.testing.assert_array_equal(np.asarray(t), data)
    assert np.asarray(t, dtype=np.float32).dtype == np.float32
    assert Tensor([[4.5]]).item() == 4.5
    with pytest.raises(ValueError, match=r"shape \(2, 3\)"):
        t.item()


def test_detach_shares_data_but_not_the_graph():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x * 2.0).detach()
    assert not y.requires_grad and y.is_leaf
    np.testing.assert_array_equal(y.data, [2.0, 4.0])
    z = (x * y).sum()
    z.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])


def test_data_is_assignable_as_in_an_sgd_step():
    p = Tensor([1.0, 2.0], requires_grad=True)
    (p * p).sum().backward()
    p.data -= 0.1 * p.grad
    np.testing.assert_allclose(p.data, [0.8, 1.6])
    p.grad = None
    (p * 1.0).sum().backward()
    np.testing.assert_array_equal(p.grad, [1.0, 1.0])


def test_softplus_is_stable_and_its_gradient_is_sigmoid():
    z = Tensor([-1000.0, -2.0, 0.0, 3.0, 1000.0], requires_grad=True)
    out = z.softplus()
    np.testing.assert_allclose(out.data, [0.0, np.log1p(np.exp(-2.0)), np.log(2.0),
                                          3.0 + np.log1p(np.exp(-3.0)), 1000.0], rtol=1e-15)
    out.sum().backward()
    np.testing.assert_allclose(z.grad, np.exp(-np.logaddexp(0.0, -z.data)), rtol=1e-15)
    x = np.array([0.3, -1.2])
    t = Tensor(x, requires_grad=True)
    t.softplus().sum().backward()
    assert_grad_close(t.grad, central_vjp(lambda a: np.logaddexp(0.0, a), x, np.ones(2)))


def test_the_scalar_fast_paths_are_public_names():
    import autograd
    from autograd.value import value_dot, value_sum

    assert autograd.value_dot is value_dot and autograd.value_sum is value_sum
