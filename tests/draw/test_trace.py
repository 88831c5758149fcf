"""trace, clusters, summaries and local derivatives: the parts of a picture needing no graphviz."""

from __future__ import annotations

import subprocess
import sys
import time
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import Tensor, Value
from autograd.draw.local import jacobian_of, node_grads, scalar_partials
from autograd.draw.summary import summarise
from autograd.draw.trace import cluster_of, depths, trace
from nn.scalar import document_neuron


def neuron() -> tuple[Value, dict[str, Value]]:
    """Section 4.1's neuron after backward: (L, its nodes by label)."""
    return document_neuron()


def chain(n: int) -> Value:
    x = Value(1.0, label="x")
    for _ in range(n // 2):
        x = x * 1.0001 + 0.001
    return x


# ---- trace --------------------------------------------------------------------------------

def test_trace_lists_inputs_before_outputs_and_an_edge_per_argument():
    a = Value(3.0, label="a")
    b = a * a + a
    tr = trace(b)
    assert [n.label or n.op for n in tr.nodes] == ["a", "mul", "add"]
    assert tr.edges == [(0, 1, 0), (0, 1, 1), (1, 2, 0), (0, 2, 1)]
    assert tr.root == 2 and tr.nodes[tr.root] is b


def test_trace_skips_constants_and_nodes_that_need_no_grad():
    x = Tensor([1.0, 2.0])  # a constant: no gradient flows to it
    w = Tensor([3.0, 4.0], requires_grad=True)
    tr = trace((w * x).sum())
    assert len(tr.nodes) == 3
    assert tr.nodes[0] is w


def test_trace_numbering_depends_on_the_graph_not_on_when_nodes_were_made():
    def build(first_b: bool) -> Value:
        if first_b:
            b = Value(2.0, label="b")
            a = Value(1.0, label="a")
        else:
            a = Value(1.0, label="a")
            b = Value(2.0, label="b")
        return (a * b).tanh() + a

    t1, t2 = trace(build(True)), trace(build(False))
    assert [n.label or n.op for n in t1.nodes] == [n.label or n.op for n in t2.nodes]
    assert t1.edges == t2.edges


def test_trace_is_iterative_on_a_deep_chain():
    tr = trace(chain(50_000))
    assert len(tr.nodes) == 50_001
    assert depths(tr)[-1] == 50_000


def test_trace_refuses_what_is_not_a_node():
    with pytest.raises(TypeError, match="trace needs a Value or a Tensor, got float"):
        trace(1.5)


def test_trace_works_without_the_graphviz_package():
    code = ("import sys; sys.modules['graphviz'] = None\n"
            "from autograd import Value, trace\n"
            "a = Value(2.0); t = trace(a * a + 1)\n"
            "print(len(t.nodes), len(t.edges))\n"
            "try:\n    import graphviz\nexcept ImportError:\n    print('no graphviz')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split("\n")
    assert out[:2] == ["3 3", "no graphviz"]


# ---- clusters -----------------------------------------------------------------------------

class _Linear:
    def __init__(self, rng: np.random.Generator, n_in: int, n_out: int) -> None:
        self.weight = Tensor(rng.standard_normal((n_out, n_in)), requires_grad=True)
        self.bias = Tensor(np.zeros(n_out), requires_grad=True)

    def parameters(self) -> list[Tensor]:
        return [self.weight, self.bias]

    def __call__(self, x: Tensor) -> Tensor:
        return x @ self.weight.T + self.bias


class _MLP:
    """Just enough of a model for clusters: `.layers` and `.named_parameters()`."""

    def __init__(self) -> None:
        rng = np.random.default_rng(0)
        self.layers = [_Linear(rng, 3, 4), _Linear(rng, 4, 2)]

    def named_parameters(self):
        for k, layer in enumerate(self.layers):
            yield f"layers.{k}.weight", layer.weight
            yield f"layers.{k}.bias", layer.bias

    def __call__(self, x: Tensor) -> Tensor:
        for layer in self.layers:
            x = layer(x).sigmoid()
        return x


def test_a_models_layer_clusters_hold_its_parameters_and_the_ops_that_use_them():
    model = _MLP()
    loss = (model(Tensor(np.ones((5, 3)))) ** 2).sum()
    tr = trace(loss)
    where, names = cluster_of(tr, model)
    assert names == ["layer 1 (_Linear)", "layer 2 (_Linear)"]
    ops = [sorted(n.label or n.op or "leaf" for n, w in zip(tr.nodes, where) if w == k)
           for k in range(2)]
    # W, Wᵀ (computed from W alone), x @ Wᵀ, b and + b; the sigmoid is outside the layer.
    assert ops == [["add", "leaf", "leaf", "matmul", "transpose"]] * 2
    where2, names2 = cluster_of(tr, type("M", (), {"named_parameters":
                                                   lambda self: model.named_parameters()})())
    assert names2 == ["layers.0", "layers.1"] and where2 == where


def test_float_inputs_are_data_so_each_layer_keeps_only_its_own_neurons():
    import nn

    model = nn.ScalarMLP([3, 4, 2], seed=0)
    out = model([0.5, -1.0, 2.0])  # plain floats: constants of the first layer's dots
    tr = trace(out[0] + out[1])
    where, _ = cluster_of(tr, model)
    counts = sorted((w, n.op or "leaf") for n, w in zip(tr.nodes, where) if w >= 0)
    assert counts == sorted([(0, "leaf")] * 16 + [(0, "dot")] * 4 + [(0, "add")] * 4
                            + [(1, "leaf")] * 10 + [(1, "dot")] * 2 + [(1, "add")] * 2)


def test_cluster_dicts_are_taken_as_given_and_bad_clusters_are_named():
    loss, v = neuron()
    tr = trace(loss)
    where, names = cluster_of(tr, {"inputs": [v["x1"], v["x2"]], "z": v["z"]})
    assert names == ["inputs", "z"]
    picked = {tr.nodes[i].label or tr.nodes[i].op: w for i, w in enumerate(where) if w >= 0}
    assert picked == {"x1": 0, "x2": 0, "z": 1}
    with pytest.raises(TypeError, match="must list Values or Tensors, got str"):
        cluster_of(tr, {"bad": ["x1"]})
    with pytest.raises(TypeError, match=r"a model with \.layers or \.named_parameters"):
        cluster_of(tr, 42)


# ---- summaries ----------------------------------------------------------------------------

def test_small_graphs_are_not_summarised():
    loss, _ = neuron()
    plan = summarise(trace(loss), 300)
    assert plan.notes == [] and all(len(m) == 1 for m in plan.members)


def test_a_long_chain_becomes_one_box_between_its_input_and_the_root():
    tr = trace(chain(20_000))
    start = time.perf_counter()
    plan = summarise(tr, 300)
    assert time.perf_counter() - start < 2.0
    assert [len(m) for m in plan.members] == [1, 19_999, 1]
    assert plan.fused == [False, True, False]
    assert "20,001 nodes, more than max_nodes=300" in plan.notes[0]


def _micrograd_mlp_loss(sizes: list[int], samples: int) -> Value:
    rng = np.random.default_rng(1)
    layers = [[([Value(w) for w in rng.uniform(-1, 1, n_in)], Value(0.0))
               for _ in range(n_out)] for n_in, n_out in pairwise(sizes)]
    loss = Value(0.0)
    for _ in range(samples):
        a = [Value(x) for x in rng.uniform(-1, 1, sizes[0])]
        for layer in layers:
            a = [sum((w * x for w, x in zip(ws, a)), b).tanh() for ws, b in layer]
        loss = loss + (a[0] - 1.0) ** 2
    return loss


def test_a_wide_mlp_is_fused_then_grouped_and_boxes_never_mix_clusters():
    loss = _micrograd_mlp_loss([3, 8, 8, 1], 4)
    tr = trace(loss)
    plan = summarise(tr, 20)
    assert len(plan.members) <= 20
    assert plan.members[-1] == [tr.root]
    assert any("grouped by op and depth" in note for note in plan.notes)
    where = [i % 3 for i in range(len(tr.nodes))]
    plan = summarise(tr, 20, where)
    for members in plan.members:
        assert len({where[i] for i in members}) == 1


# ---- local derivatives and gradients ----------------------------------------------------

def test_scalar_partials_are_the_rules_local_derivatives():
    x, y = Value(3.0), Value(-2.0)
    assert scalar_partials(x * y) == (-2.0, 3.0)
    assert scalar_partials(x ** 2) == (6.0, None)  # the exponent is a constant
    s = x.sigmoid()
    assert scalar_partials(s) == (pytest.approx(s.data * (1 - s.data)),)
    assert scalar_partials(x) == ()


def _expression(draw_ops: list[int], xs: list[float]) -> tuple[Value, list[Value]]:
    leaves = [Value(x, label=f"x{i}") for i, x in enumerate(xs)]
    nodes = list(leaves)
    for k, op in enumerate(draw_ops):
        a, b = nodes[k % len(nodes)], nodes[(3 * k + 1) % len(nodes)]
        nodes.append([a + b, a * b, a - b, a.tanh(), a.sigmoid(), a * a][op])
    return nodes[-1], leaves


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=1, max_size=12),
       st.lists(st.floats(-2, 2), min_size=2, max_size=4))
def test_the_chain_rule_read_off_the_edges_gives_backwards_gradients(ops, xs):
    root, _ = _expression(ops, xs)
    tr = trace(root)
    grads = [0.0] * len(tr.nodes)
    grads[tr.root] = 1.0
    partials = {}
    for p, c, slot in reversed(tr.edges):  # outputs before inputs
        partials.setdefault(c, scalar_partials(tr.nodes[c]))
        grads[p] += grads[c] * partials[c][slot]
    root.backward()
    for node, g in zip(tr.nodes, grads):
        assert g == pytest.approx(node.grad, rel=1e-9, abs=1e-12)


def test_node_grads_match_backward_and_leave_the_graph_untouched():
    w = Tensor([[0.5, -1.0], [2.0, 0.3]], requires_grad=True)
    b = Tensor([0.1, -0.2], requires_grad=True)
    x = Tensor([1.0, 2.0])
    loss = (((w @ x + b).sigmoid() - 1.0) ** 2).sum()
    tr = trace(loss)
    grads = node_grads(tr)
    assert w.grad is None and all(n._args is not None for n in tr.nodes if n._op)
    loss.backward()
    np.testing.assert_allclose(grads[tr.index()[w]], w.grad, rtol=1e-12)
    np.testing.assert_allclose(grads[tr.index()[b]], b.grad, rtol=1e-12)
    with pytest.raises(RuntimeError, match="saved inputs were freed by backward"):
        node_grads(tr)


def test_node_grads_need_a_scalar_root():
    with pytest.raises(ValueError, match=r"one-entry output .* shape \(2,\)"):
        node_grads(trace(Tensor([1.0, 2.0], requires_grad=True) * 2))


def test_small_jacobians_match_finite_differences_and_large_ones_are_skipped():
    x = Tensor([0.3, -1.2], requires_grad=True)
    w = Tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], requires_grad=True)
    s = x.sigmoid()
    np.testing.assert_allclose(jacobian_of(w @ s, 1), w.data)  # ∂(W s)/∂s = W

    def sigmoid(v: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-v))

    eps = 1e-6
    fd = np.stack([(sigmoid(x.data + eps * e) - sigmoid(x.data - eps * e)) / (2 * eps)
                   for e in np.eye(2)], axis=1)
    np.testing.assert_allclose(jacobian_of(s, 0), fd, atol=1e-9)
    b = Tensor([1.0], requires_grad=True)  # broadcast over 3 entries: ∂/∂b = a column of ones
    np.testing.assert_allclose(jacobian_of(w @ x + b, 1), np.ones((3, 1)))
    assert jacobian_of(Tensor(np.ones((5, 4)), requires_grad=True) * 2.0, 0) is None
