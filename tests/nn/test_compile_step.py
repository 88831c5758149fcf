"""nn.compile_step: one compiled call per mini-batch, equal to the eager step."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from autograd import CompileWarning, Tensor
from nn import FUSIONS, MLP, SGD, Adam, compile_step, mse_loss
from nn import compiled as compiled_module
from nn.cli import main
from nn.data import Split
from nn.losses import cross_entropy_one_hot, one_hot
from nn.train import train


def _data(n: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.random((n, 784)), one_hot(rng.integers(0, 10, n), 10)


def _optimizer(kind: str, model: MLP):
    return {"sgd": lambda ps: SGD(ps, lr=3.0),
            "momentum": lambda ps: SGD(ps, lr=0.5, momentum=0.9),
            "decay": lambda ps: SGD(ps, lr=0.5, weight_decay=1e-3),
            "both": lambda ps: SGD(ps, lr=0.5, momentum=0.9, weight_decay=1e-3),
            "adam": lambda ps: Adam(ps, lr=1e-2, weight_decay=1e-4)}[kind](model.parameters())


def _twins(kind: str, fusions=True, sizes=(784, 12, 10)):
    eager, comp = MLP(list(sizes), seed=3), MLP(list(sizes), seed=3)
    opt_e, opt_c = _optimizer(kind, eager), _optimizer(kind, comp)
    return eager, opt_e, comp, opt_c, compile_step(comp, mse_loss, opt_c, fusions=fusions)


def _eager_step(model, opt, x, y):
    loss = mse_loss(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return float(loss.data)


def _run(kind, fusions=True, batch=10, n=40):
    x, y = _data(n)
    eager, opt_e, comp, _, step = _twins(kind, fusions)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for k in range(0, n, batch):
            le = _eager_step(eager, opt_e, x[k:k + batch], y[k:k + batch])
            lc = float(step(x[k:k + batch], y[k:k + batch]).data)
            assert lc == pytest.approx(le, rel=1e-12, abs=1e-14)
    worst = max(float(np.abs(a.data - b.data).max())
                for a, b in zip(eager.parameters(), comp.parameters()))
    return worst, step


@pytest.mark.parametrize("kind", ["sgd", "momentum", "decay", "both", "adam"])
def test_compiled_step_equals_eager(kind):
    worst, _ = _run(kind, n=60, batch=7)  # 7 does not divide 60: a last, shorter batch
    assert worst <= 1e-12


@pytest.mark.parametrize("fusions", [[], *[[f] for f in FUSIONS], list(FUSIONS)],
                         ids=lambda f: "+".join(f) or "none")
def test_each_fusion_stays_within_1e_12_of_eager(fusions):
    worst, step = _run("sgd", fusions=fusions, n=80)
    assert worst <= 1e-12
    plans = [p for p in step._plans.values() if p]
    assert plans and all(p.checked for p in plans)  # the fused plan ran, not the fallback


def test_the_plan_without_fusions_is_bit_identical_to_eager():
    assert _run("sgd", fusions=False, n=60)[0] == 0.0


def test_the_fused_plan_is_used_only_for_the_document_setup():
    model = MLP([784, 12, 10], seed=3)
    assert compile_step(model, mse_loss, SGD(model.parameters(), lr=1.0))._fusable
    assert not compile_step(model, mse_loss, Adam(model.parameters()))._fusable
    assert not compile_step(model, mse_loss,
                            SGD(model.parameters(), lr=1.0, momentum=0.5))._fusable
    relu = MLP([784, 12, 10], activation="relu", seed=3)
    assert not compile_step(relu, mse_loss, SGD(relu.parameters(), lr=1.0))._fusable
    other = MLP([784, 12, 10], seed=4)
    assert not compile_step(model, mse_loss, SGD(other.parameters(), lr=1.0))._fusable


def test_fused_sigmoid_is_exact_and_silent_at_1000():
    z = np.array([[-1000.0, -745.0, -30.0, -1e-8, 0.0, 2.5, 30.0, 1000.0]])
    h = z.copy()
    # numpy's defaults ignore underflow (to the exact 0); overflow and nan would be reported
    with np.errstate(over="raise", invalid="raise", divide="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        compiled_module._sigmoid_fused(h, np.float64(0.5))
    from autograd.rules import sigmoid

    assert h[0, 0] == 0.0 and h[0, -1] == 1.0 and h[0, 4] == 0.5
    np.testing.assert_allclose(h, sigmoid.fun(z), rtol=0, atol=2e-16)


def test_a_wrong_plan_is_caught_and_the_general_path_takes_over(monkeypatch):
    monkeypatch.setattr(compiled_module, "_sigmoid_fused", lambda h, half: np.tanh(h, out=h))
    x, y = _data(40)
    eager, opt_e, comp, _, step = _twins("sgd")
    with pytest.warns(CompileWarning, match="disagrees with eager"):
        for k in range(0, 40, 10):
            _eager_step(eager, opt_e, x[k:k + 10], y[k:k + 10])
            step(x[k:k + 10], y[k:k + 10])
    for a, b in zip(eager.parameters(), comp.parameters()):
        np.testing.assert_allclose(a.data, b.data, rtol=0, atol=1e-12)


def test_the_learning_rate_is_read_on_every_step():
    x, y = _data(40)
    eager, opt_e, comp, opt_c, step = _twins("sgd")
    for k in range(0, 40, 10):
        opt_e.lr = opt_c.lr = 3.0 / (k + 1)
        _eager_step(eager, opt_e, x[k:k + 10], y[k:k + 10])
        step(x[k:k + 10], y[k:k + 10])
    for a, b in zip(eager.parameters(), comp.parameters()):
        np.testing.assert_allclose(a.data, b.data, rtol=0, atol=1e-12)


def test_float32_step_stays_float32():
    model = MLP([784, 12, 10], seed=3, dtype=np.float32)
    step = compile_step(model, mse_loss, SGD(model.parameters(), lr=3.0))
    x, y = _data(40)
    for k in range(0, 40, 10):
        loss = step(x[k:k + 10].astype(np.float32), y[k:k + 10].astype(np.float32))
    assert loss.dtype == np.float32
    assert all(p.dtype == np.float32 for p in model.parameters())
    assert any(p and p.checked for p in step._plans.values())


def test_bad_arguments_are_named():
    model = MLP([784, 12, 10], seed=3)
    with pytest.raises(TypeError, match="zero_grad"):
        compile_step(model, mse_loss, object())
    with pytest.raises(ValueError, match="unknown fusions"):
        compile_step(model, mse_loss, SGD(model.parameters(), lr=1.0), fusions=["nope"])
    step = compile_step(model, mse_loss, SGD(model.parameters(), lr=1.0))
    with pytest.raises(TypeError, match="x as an ndarray or a Tensor"):
        step([[0.0] * 784], np.zeros((1, 10)))


# ---- nn.train and the CLI -------------------------------------------------------------------

def _lines(compiled: bool, loss: str, optimizer: str, seed: int = 7) -> list[str]:
    rng = np.random.default_rng(0)
    data = Split(rng.random((53, 784)), rng.integers(0, 10, 53))
    test = Split(rng.random((30, 784)), rng.integers(0, 10, 30))
    out = None if loss == "cross_entropy" else "sigmoid"
    model = MLP([784, 16, 10], output_activation=out, seed=seed)
    opt = (Adam(model.parameters(), lr=0.01) if optimizer == "adam"
           else SGD(model.parameters(), lr=3.0 if loss == "mse" else 0.5))
    lines: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = train(model, opt, data, epochs=3, batch_size=10, loss=loss, test=test,
                        seed=seed, log=lines.append, progress=False, compiled=compiled)
    # the losses and the weights to the last bit: nn.train's compiled step keeps eager's
    return lines + [float(v).hex() for v in history.loss] + [
        p.data.tobytes().hex() for p in model.parameters()]


@pytest.mark.parametrize("loss,optimizer", [("mse", "sgd"), ("mse", "adam"),
                                            ("cross_entropy", "sgd"), ("bce", "sgd")])
def test_train_prints_the_same_epoch_lines_compiled_and_eager(loss, optimizer):
    assert _lines(True, loss, optimizer) == _lines(False, loss, optimizer)


def test_cross_entropy_one_hot_is_cross_entropy():
    from autograd import Tensor
    from nn.losses import cross_entropy

    z = Tensor(np.random.default_rng(2).standard_normal((4, 10)))
    labels = np.array([1, 0, 9, 3])
    # the same cost summed in another order (a product with the mask against a masked sum)
    assert float(cross_entropy_one_hot(z, one_hot(labels, 10)).data) == pytest.approx(
        float(cross_entropy(z, labels).data), rel=1e-15)


def _cli(tmp_path, *flags: str) -> tuple[list[str], dict]:
    out = tmp_path / f"run{len(list(tmp_path.iterdir()))}.json"
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["train", "--epochs", "2", "--train-limit", "500", "--json", str(out),
                     *flags]) == 0
    lines = [ln for ln in buf.getvalue().splitlines() if ln.startswith("Epoch")]
    return lines, json.loads(out.read_text())


def test_cli_eager_flag_gives_the_same_epoch_lines(tmp_path):
    compiled, cfg_c = _cli(tmp_path)
    eager, cfg_e = _cli(tmp_path, "--eager")
    assert compiled == eager and len(compiled) == 2
    assert cfg_c["config"]["eager"] is False and cfg_e["config"]["eager"] is True


def test_cli_fuse_flag_compiles_with_every_fusion(tmp_path, monkeypatch, capsys):
    seen = []
    original = compiled_module.compile_step

    def spy(model, loss_fn, optimizer, *, fusions=True):
        seen.append(fusions)
        return original(model, loss_fn, optimizer, fusions=fusions)

    import nn.train as train_module
    monkeypatch.setattr(train_module, "compile_step", spy)
    fused, cfg = _cli(tmp_path, "--fuse")
    exact, _ = _cli(tmp_path)
    assert seen == [True, compiled_module.EXACT_FUSIONS] and cfg["config"]["fuse"] is True
    assert len(fused) == len(exact) == 2
    assert main(["train", "--eager", "--fuse", "--epochs", "1"]) == 2
    assert "--fuse" in capsys.readouterr().err


def test_cli_dtype_float32_trains_in_float32(tmp_path):
    weights = tmp_path / "w.npz"
    lines, cfg = _cli(tmp_path, "--dtype", "float32", "--save", str(weights))
    assert cfg["config"]["dtype"] == "float32" and len(lines) == 2
    with np.load(weights) as f:
        assert {f[k].dtype for k in f.files} == {np.dtype(np.float32)}


def test_cli_refuses_an_unknown_dtype(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--dtype", "float16"])
    assert "float16" in capsys.readouterr().err


@pytest.mark.parametrize("sizes,output", [((784, 12, 10), None), ((784, 16, 8, 10), "sigmoid"),
                                          ((784, 10), "sigmoid")])
def test_fused_plan_for_other_depths_and_a_linear_output(sizes, output):
    x, y = _data(50)
    eager = MLP(list(sizes), output_activation=output, seed=5)
    comp = MLP(list(sizes), output_activation=output, seed=5)
    opt_e, opt_c = SGD(eager.parameters(), lr=0.5), SGD(comp.parameters(), lr=0.5)
    step = compile_step(comp, mse_loss, opt_c)
    for k in range(0, 50, 10):
        _eager_step(eager, opt_e, x[k:k + 10], y[k:k + 10])
        step(x[k:k + 10], y[k:k + 10])
    assert step._last is not None  # the fused plan took the last steps
    for a, b in zip(eager.parameters(), comp.parameters()):
        np.testing.assert_allclose(a.data, b.data, rtol=0, atol=1e-12)


def test_turning_on_momentum_later_leaves_the_fused_plan():
    x, y = _data(60)
    eager, opt_e, comp, opt_c, step = _twins("sgd")
    for k in range(0, 60, 10):
        if k == 30:
            opt_e.momentum = opt_c.momentum = 0.9
        _eager_step(eager, opt_e, x[k:k + 10], y[k:k + 10])
        step(x[k:k + 10], y[k:k + 10])
    assert not step._fusable
    for a, b in zip(eager.parameters(), comp.parameters()):
        np.testing.assert_allclose(a.data, b.data, rtol=0, atol=1e-12)


def test_a_compiled_step_bumps_the_versions_of_what_it_updates():
    from nn import MLP, SGD, compile_step, mse_loss

    rng = np.random.default_rng(5)
    model = MLP([4, 5, 3], seed=0)
    step = compile_step(model, mse_loss, SGD(model.parameters(), lr=0.1))
    x, y = rng.random((10, 4)), rng.random((10, 3))
    for _ in range(4):  # past capture and verification: the fused plan runs
        step(x, y)
    stale = mse_loss(model(x), y)  # recorded before the next update
    before = [p.version for p in model.parameters()]
    step(x, y)
    assert all(p.version > v for p, v in zip(model.parameters(), before))
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        stale.backward()


def test_a_learning_rate_written_into_the_group_is_checked_as_eager_checks_it():
    x, y = _data(100)
    eager, opt_e, comp, opt_c, step = _twins("sgd")
    for k in range(0, 40, 10):  # past capture and check: the fused plan runs
        _eager_step(eager, opt_e, x[k:k + 10], y[k:k + 10])
        step(x[k:k + 10], y[k:k + 10])
    for opt in (opt_e, opt_c):
        opt.param_groups[0]["lr"] = float("nan")  # past the lr setter's check
    with pytest.raises(ValueError, match="lr") as eager_error:
        _eager_step(eager, opt_e, x[40:50], y[40:50])
    with pytest.raises(ValueError, match="lr") as compiled_error:
        step(x[40:50], y[40:50])
    assert str(compiled_error.value) == str(eager_error.value)
    for opt in (opt_e, opt_c):
        opt.param_groups[0]["lr"] = 2  # an int: eager takes it as 2.0
    for k in range(50, 100, 10):
        _eager_step(eager, opt_e, x[k:k + 10], y[k:k + 10])
        step(x[k:k + 10], y[k:k + 10])
    assert step._last is not None  # back on the fused plan
    for a, b in zip(eager.parameters(), comp.parameters()):
        np.testing.assert_allclose(a.data, b.data, rtol=0, atol=1e-12)


def test_batches_of_another_shape_or_kind_leave_the_plan_for_one_step():
    x, y = _data(60)
    eager, opt_e, comp, _, step = _twins("sgd")
    shapes = [10, 10, 10, 7, 10, 3]  # a shorter batch between full ones
    k = 0
    for i, m in enumerate(shapes):
        xb, yb = x[k:k + m], y[k:k + m]
        _eager_step(eager, opt_e, xb, yb)
        step(Tensor(xb) if i == 4 else xb, yb)  # and once a Tensor, not an array
        k += m
    for a, b in zip(eager.parameters(), comp.parameters()):
        np.testing.assert_allclose(a.data, b.data, rtol=0, atol=1e-12)


@pytest.mark.parametrize("b", [[1.0, 2.0], [1.0 + 1e-13, 2.0], [1.0 + 1e-9, 2.0], [np.nan, 2.0],
                               [np.inf, 2.0], [-np.inf, 2.0], [1.0, -2.0]])
@pytest.mark.parametrize("a", [[1.0, 2.0], [np.nan, 2.0], [np.inf, 2.0]])
def test_the_plan_check_agrees_as_allclose_does(a, b):
    a, b, tol = np.array(a), np.array(b), 64 * np.finfo(np.float64).eps
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # silent, as the step it checks
        agree = compiled_module._agree(a, b, tol)
    assert agree == np.allclose(a, b, rtol=tol, atol=tol, equal_nan=True)


def test_a_diverging_compiled_step_is_as_quiet_as_eager():
    x, y = _data(40)
    model = MLP([784, 12, 10], seed=3, output_activation=None)
    for p in model.parameters():
        p.data = p.data * 1e200  # the first matmul overflows to inf, and inf − inf is nan
    step = compile_step(model, mse_loss, SGD(model.parameters(), lr=3.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for k in range(0, 40, 10):
            loss = step(x[k:k + 10], y[k:k + 10])
    assert not np.isfinite(float(loss.data))
    assert step._last is not None  # nan where eager has nan: the fused plan agrees


def test_a_disagreeing_plan_warns_at_the_callers_line(monkeypatch):
    monkeypatch.setattr(compiled_module, "_sigmoid_fused", lambda h, half: np.tanh(h, out=h))
    x, y = _data(20)
    _, _, _, _, step = _twins("sgd")
    with pytest.warns(CompileWarning) as record:
        step(x[:10], y[:10])
    assert record[0].filename == __file__


def test_a_layer_given_a_new_weight_tensor_leaves_the_fused_plan():
    x, y = _data(60)
    eager, opt_e, comp, _, step = _twins("sgd")
    for k in range(0, 60, 10):
        if k == 30:  # the same swap in both: a new Tensor, outside the optimizer's reach
            for model in (eager, comp):
                w = model.layers[0].weight
                model.layers[0].weight = Tensor(w.data * 0.5, requires_grad=True)
        le = _eager_step(eager, opt_e, x[k:k + 10], y[k:k + 10])
        lc = float(step(x[k:k + 10], y[k:k + 10]).data)
        assert lc == pytest.approx(le, rel=1e-12, abs=1e-14)
    assert not step._fusable
    for a, b in zip(eager.parameters(), comp.parameters()):
        np.testing.assert_allclose(a.data, b.data, rtol=0, atol=1e-12)


@pytest.mark.parametrize("fusions", [False, True])
def test_the_plan_updates_parameters_end_to_end_in_one_subtraction(fusions):
    """An MLP's parameters lie end to end: the plan lays the gradients out alike and subtracts
    once. Data given to a parameter mid-run breaks the layout: the plan steps aside and a new
    one subtracts layer by layer, equal to eager all along."""
    x, y = _data(60)
    eager, opt_e, comp, _, step = _twins("sgd", fusions)
    for k in range(0, 60, 10):
        if k == 30:  # the same new data in both (shared, not copied)
            for model in (eager, comp):
                model.layers[1].bias.data = np.full(10, 0.25)
        le = _eager_step(eager, opt_e, x[k:k + 10], y[k:k + 10])
        lc = float(step(x[k:k + 10], y[k:k + 10]).data)
        assert lc == pytest.approx(le, rel=1e-12, abs=1e-14)
        (plan,) = step._plans.values()  # one batch shape: one plan
        assert plan and plan.checked
        assert (plan.packed is not None) == (k < 30)
        assert ("np.subtract(RUN, GRADS, RUN)" in plan.run.source) == (k < 30)
    for a, b in zip(eager.parameters(), comp.parameters()):
        if fusions:
            np.testing.assert_allclose(a.data, b.data, rtol=0, atol=1e-12)
        else:
            np.testing.assert_array_equal(a.data, b.data)


def test_a_copied_mlp_gets_a_plan_that_subtracts_layer_by_layer():
    import copy

    x, y = _data(40)
    eager, opt_e, comp, _, _ = _twins("sgd", False)
    comp = copy.deepcopy(comp)  # each parameter in an array of its own
    step = compile_step(comp, mse_loss, SGD(comp.parameters(), lr=3.0), fusions=False)
    for k in range(0, 40, 10):
        _eager_step(eager, opt_e, x[k:k + 10], y[k:k + 10])
        step(x[k:k + 10], y[k:k + 10])
    (plan,) = step._plans.values()
    assert plan and plan.checked and plan.packed is None
    assert "np.subtract(w0, gw0, w0)" in plan.run.source
    for a, b in zip(eager.parameters(), comp.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_the_plan_is_checked_against_the_size_of_a_huge_update():
    """At lr = 1e6 every weight moves by about 1e4: the fused σ's rounding (1e-16 absolute)
    then differs from eager's by 1e-11 in entries the update left near 1. That agrees within
    64 ulps of the parameter's scale; an update 1e-9 too large does not."""
    x, y = _data(20)
    model = MLP([784, 30, 10], seed=0)
    step = compile_step(model, mse_loss, SGD(model.parameters(), lr=1e6))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        step(x[:10], y[:10])
    (plan,) = step._plans.values()
    assert plan and plan.checked
    start = np.array([1.0, 3e4])
    eager = start - np.array([0.5, 3e4])
    tol = 64 * np.finfo(np.float64).eps
    scale = compiled_module._entry_size(eager, start)
    assert scale == 3e4
    assert compiled_module._agree(eager + [1e-11, 0.0], eager, tol, scale)
    assert not compiled_module._agree(eager + [0.5e-9 * 3e4, 0.0], eager, tol, scale)
    assert compiled_module._entry_size(np.array([np.inf, np.nan, -2.0]), np.array([0.5])) == 2.0
    assert compiled_module._entry_size(np.array([np.nan]), np.array([np.inf])) == 1.0


def test_a_copied_step_updates_the_copied_model():
    """A copy of (model, step) makes its own plans: its steps update the copy, never the
    original, whose arrays the plans it was copied from hold."""
    import copy

    x, y = _data(20)
    model = MLP([784, 12, 10], seed=3)
    step = compile_step(model, mse_loss, SGD(model.parameters(), lr=3.0))
    step(x[:10], y[:10])
    step(x[:10], y[:10])  # the plan checked and in use
    before = [p.data.copy() for p in model.parameters()]
    model2, step2 = copy.deepcopy((model, step))
    twin = copy.deepcopy(model2)
    step2(x[10:], y[10:])
    for p, w in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.data, w)
    eager_opt = SGD(twin.parameters(), lr=3.0)
    _eager_step(twin, eager_opt, x[10:], y[10:])
    for a, b in zip(twin.parameters(), model2.parameters()):
        np.testing.assert_allclose(a.data, b.data, rtol=0, atol=1e-12)
