"""autograd.compile over the op catalog: for every Tensor op, replayed calls give eager's
outputs and gradients, call after call, as the parameters change between calls."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import Tensor, compile
from tests.witnesses.catalog import ARRAY_OPS, BINARY, UNARY, arrays_in, broadcast_pairs, shapes

CALLS = 5
FEWEST = settings(max_examples=8, deadline=None)


def _check(call, draws: list[list[np.ndarray]], w: np.ndarray) -> None:
    """`call(*params)` weighted by w and summed, compiled and eager, over successive data."""
    eager_ps = [Tensor(a, requires_grad=True) for a in draws[0]]
    comp_ps = [Tensor(a.copy(), requires_grad=True) for a in draws[0]]

    def make(ps):
        def fn(weight):
            for p in ps:
                p.grad = None
            loss = (call(*ps) * weight).sum()
            loss.backward()
            return loss

        return fn

    eager, comp = make(eager_ps), compile(make(comp_ps), strict=True)
    for arrays in draws:
        for pe, pc, a in zip(eager_ps, comp_ps, arrays):
            pe.data, pc.data = a.copy(), a.copy()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = comp(w)
        want = eager(Tensor(w))
        np.testing.assert_allclose(got.data, want.data, rtol=1e-12, atol=1e-14)
        for pe, pc in zip(eager_ps, comp_ps):
            np.testing.assert_allclose(pc.grad, pe.grad, rtol=1e-12, atol=1e-14)
    assert comp.tapes == 1


@pytest.mark.parametrize("op", UNARY, ids=[op.name for op in UNARY])
@FEWEST
@given(data=st.data(), shape=shapes(max_dims=3))
def test_unary_ops_replay_as_eager(op, data, shape):
    draws = [[data.draw(arrays_in(op.domains[0], shape))] for _ in range(CALLS)]
    w = np.random.default_rng(0).uniform(-1, 1, shape)
    _check(op.call, draws, w)


# where's condition is computed from x's numbers: data-dependent, so compile refuses it (below)
READS_DATA = ("where",)
REPLAYABLE = [op for op in BINARY if op.name not in READS_DATA]


@pytest.mark.parametrize("op", REPLAYABLE, ids=[op.name for op in REPLAYABLE])
@FEWEST
@given(data=st.data(), pair=broadcast_pairs(max_dims=3))
def test_binary_ops_with_broadcasting_replay_as_eager(op, data, pair):
    draws = [[data.draw(arrays_in(d, s)) for d, s in zip(op.domains, pair)]
             for _ in range(CALLS)]
    w = np.random.default_rng(1).uniform(-1, 1, np.broadcast_shapes(*pair))
    _check(op.call, draws, w)


@pytest.mark.parametrize("op", ARRAY_OPS, ids=[op.name for op in ARRAY_OPS])
@FEWEST
@given(data=st.data())
def test_array_ops_replay_as_eager(op, data):
    shape = data.draw(shapes(max_dims=3, min_side=op.min_side))
    p = data.draw(op.params(shape))
    draws = [[data.draw(arrays_in(op.domain, shape, distinct=op.distinct))]
             for _ in range(CALLS)]
    out_shape = np.shape(op.ref(draws[0][0], p))
    w = np.random.default_rng(2).uniform(-1, 1, out_shape)
    _check(lambda t: op.call(t, p), draws, w)


@pytest.mark.parametrize("op", [op for op in BINARY if op.name in READS_DATA],
                         ids=list(READS_DATA))
def test_ops_that_read_their_data_are_refused_under_strict(op):
    from autograd import CompileError

    x = np.linspace(0.0, 1.0, 4)
    with pytest.raises(CompileError, match=r"reads \.data"):
        _check(op.call, [[x, x + 1.0]] * CALLS, np.ones(4))
