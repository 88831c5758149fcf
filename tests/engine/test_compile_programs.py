"""Training and evaluation programs as users write them, compiled and eager side by side.

Each program runs twice from the same starting weights, once through `autograd.compile` and
once eagerly, for many steps: updates between calls, a learning-rate schedule, the last short
batch, evaluation under no_grad in between. Outputs and every `.grad` must be eager's to the
last bit, with eager's dtype, and the compiled side must really replay (no CompileWarning, a
tape per batch shape)."""

from __future__ import annotations

import sys
import warnings
from unittest import mock

import numpy as np
import pytest

from autograd import CompileWarning, Tensor, compile, no_grad
from nn import (
    MLP,
    SGD,
    Adam,
    AvgPool2d,
    Conv2d,
    Flatten,
    Linear,
    MaxPool2d,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
    Unflatten,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    mse_loss,
)

_compile_module = sys.modules["autograd.compile"]
_RNG = np.random.default_rng(0)
_X = _RNG.normal(size=(23, 5))
_Y = _RNG.random((23, 3))
_LABELS = _RNG.integers(0, 3, 23)


def _flat(out) -> list[np.ndarray]:
    if isinstance(out, (tuple, list)):
        return [a for o in out for a in _flat(o)]
    return [out.data]


def _same(a: np.ndarray, b: np.ndarray, what: str) -> None:
    assert a.dtype == b.dtype, what
    np.testing.assert_array_equal(a, b, err_msg=what)


def _batch(i: int, y: np.ndarray, dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """Batches of 8 rows, the third of each epoch the short one (7 rows)."""
    s = (i * 8) % 24
    yb = y[s:s + 8]
    return _X[s:s + 8].astype(dtype), yb.astype(dtype) if yb.dtype.kind == "f" else yb


def _twins(make, steps: int, y: np.ndarray, dtype=np.float64, gives_up: str | None = None):
    """make() -> (fn, params, step_after, evaluate); both twins run `steps` calls and are held
    to each other after each. Returns the compiled callable, which replays unless `gives_up`
    (then it warns once, with that message, and runs eagerly)."""
    assert steps >= 9  # the short batch's third call, its check against eager, is step 8
    fe, pe, after_e, eval_e = make()
    fc, pc, after_c, eval_c = make()
    fast = compile(fc)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        if gives_up is not None:
            warnings.filterwarnings("ignore", f".*{gives_up}", CompileWarning)
        for i in range(steps):
            args = _batch(i, y, dtype)
            for k, (a, b) in enumerate(zip(_flat(fe(*args)), _flat(fast(*args)))):
                _same(a, b, f"step {i} output {k}")
            for k, (p, q) in enumerate(zip(pe, pc)):
                _same(p.grad, q.grad, f"step {i} grad {k}")
            after_e(i)
            after_c(i)
            if i % 5 == 4:
                with no_grad():
                    for a, b in zip(_flat(eval_e()), _flat(eval_c())):
                        _same(a, b, f"evaluation after step {i}")
    if gives_up is not None:
        assert gives_up in fast.eager_reason
        return fast
    assert fast.eager_reason is None
    assert fast.tapes == 2  # batches of 8 and the short batch of 7
    return fast


def _model_program(model_fn, loss_fn, optimizer):
    """The README's loop: a compiled zero_grad + forward + loss + backward returning (loss,
    output), the optimizer's step between calls with a decaying learning rate."""
    def make():
        model = model_fn()
        params = model.parameters()
        opt = optimizer(params)

        def fn(xb, yb):
            opt.zero_grad()
            out = model(xb)
            loss = loss_fn(out, yb)
            loss.backward()
            return loss, out

        def after(i):
            opt.param_groups[0]["lr"] = 0.1 * 0.95 ** i
            opt.step()

        return fn, params, after, lambda: model(_X)

    return make


_MODELS = {
    "mlp sigmoid": lambda: MLP([5, 6, 3], activation="tanh", output_activation="sigmoid",
                               seed=1),
    "mlp relu": lambda: MLP([5, 6, 3], activation="sigmoid", output_activation="relu", seed=1),
    "mlp identity": lambda: MLP([5, 6, 3], activation="relu", output_activation=None, seed=1),
    "sequential": lambda: Sequential(Linear(5, 6, rng=np.random.default_rng(2)), Tanh(),
                                     Linear(6, 3, rng=np.random.default_rng(3)), Sigmoid()),
    "linear": lambda: Linear(5, 3, rng=np.random.default_rng(4)),
}
_OPTIMIZERS = {
    "sgd": lambda ps: SGD(ps, lr=0.1),
    "momentum+decay": lambda ps: SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e-3),
    "adam": lambda ps: Adam(ps, lr=0.1),
}


@pytest.mark.parametrize("model", sorted(_MODELS))
@pytest.mark.parametrize("opt", sorted(_OPTIMIZERS))
def test_mse_training_loops_replay_as_eager(model, opt):
    """nn models with mse_loss and each optimizer around a compiled forward+backward."""
    _twins(_model_program(_MODELS[model], mse_loss, _OPTIMIZERS[opt]), 16, _Y)


def test_cross_entropy_with_integer_labels_replays():
    """cross_entropy's labels arrive as a Tensor under compile: its one-hot mask is computed
    by a rule, so each batch's labels are used (before, it read the labels' numbers and the
    function ran eagerly with a CompileWarning)."""
    _twins(_model_program(_MODELS["mlp identity"], cross_entropy, _OPTIMIZERS["adam"]), 16,
           _LABELS)


def test_cross_entropy_checks_labels_in_a_replay():
    """A label out of range raises in a replayed call as it does eagerly."""
    model = MLP([5, 3], output_activation=None, seed=0)
    fast = compile(lambda x, y: cross_entropy(model(x), y))
    for _ in range(3):
        fast(_X[:8], _LABELS[:8])
    assert fast.tapes == 1
    bad = _LABELS[:8].copy()
    bad[2] = 3
    with pytest.raises(ValueError, match=r"labels must be in 0\.\.2"):
        fast(_X[:8], bad)


def test_bce_with_logits_replays():
    """binary_cross_entropy_with_logits checks targets by a rule, not by reading them, so a
    compiled step replays it (before: CompileWarning, eager)."""
    _twins(_model_program(_MODELS["mlp identity"], binary_cross_entropy_with_logits,
                          _OPTIMIZERS["momentum+decay"]), 16, _Y.round())


def test_bce_with_logits_checks_targets_in_a_replay():
    """A target outside [0, 1] raises in a replayed call as it does eagerly."""
    model = MLP([5, 3], output_activation=None, seed=0)
    fast = compile(lambda x, y: binary_cross_entropy_with_logits(model(x), y))
    for _ in range(3):
        fast(_X[:8], _Y[:8])
    assert fast.tapes == 1
    with pytest.raises(ValueError, match=r"targets y must lie in \[0, 1\]"):
        fast(_X[:8], _Y[:8] + 1.0)


def test_bce_replays_with_exact_and_soft_targets():
    """binary_cross_entropy checks and masks its targets' 0s and 1s by rules: a compiled
    step replays it with each batch's own targets (before: CompileWarning, eager)."""
    soft = np.where(_RNG.random(_Y.shape) < 0.5, _Y.round(), _Y)
    _twins(_model_program(_MODELS["mlp sigmoid"], binary_cross_entropy, _OPTIMIZERS["sgd"]),
           16, soft)


@pytest.mark.parametrize("shift,match", [(1.0, r"targets y must lie"),
                                         (0.0, r"predictions a must lie")])
def test_bce_checks_its_inputs_in_a_replay(shift, match):
    """Targets, and predictions of a linear output, outside [0, 1] raise in a replayed call
    as they do eagerly."""
    model = Linear(5, 3, rng=np.random.default_rng(0))
    model.weight.data *= 0.01
    model.bias.data[:] = 0.5
    fast = compile(lambda x, y: binary_cross_entropy(model(x), y))
    for _ in range(3):
        fast(_X[:8], _Y[:8])
    assert fast.tapes == 1
    model.bias.data[:] = 0.5 if shift else 3.0
    with pytest.raises(ValueError, match=match):
        fast(_X[:8], _Y[:8] + shift)


# ---- Tensor-ops programs ------------------------------------------------------------------

def _normalized(ps, x, y):
    w, b = ps
    h = x @ w + b
    hn = (h - h.mean(axis=0, keepdims=True)) / (h.var(axis=0, keepdims=True) + 1e-5) ** 0.5
    return ((hn - y) ** 2).mean(), hn


def _softmax_stats(ps, x, y):
    w, b = ps
    z = x @ w + b
    return (z.logsumexp(axis=1) - (z * z.softmax(axis=1)).sum(axis=1)).mean(), [z.softmax()]


def _pieces(ps, x, y):
    w, b = ps
    z = (x @ w + b).reshape(-1, 3)
    joined = np.concatenate([z[:, :2], z[:, 2:]], axis=1)
    return (joined ** 2).sum() + z[1:, 2].sum() * 0.5, joined


def _clipped(ps, x, y):
    w, b = ps
    z = x @ w + b
    r = z.maximum(0.0) + z.clip(-0.5, 0.5)
    return (r.exp() + 1.0).log().mean(), r


def _vector_products(ps, x, y):
    w, b, v = ps
    s = (x @ w + b).tanh() @ v  # (m, 3) @ (3,)
    return (s ** 2).mean() + v @ v, s


def _batched(ps, x, y):
    w, b = ps
    stack = w.reshape(1, 5, 3) * np.ones((x.shape[0], 1, 1))
    z = (stack.transpose(0, 2, 1) @ x.reshape(-1, 5, 1)).reshape(-1, 3) + b
    return ((z - y) ** 2).sum() / (2 * len(x)), z


def _column_bias(ps, x, y):
    w, row, col = ps  # a (1, 3) bias on (m, 3) and a (3, 1) bias on (3, m)
    return ((x @ w + row - y) ** 2).mean() + ((w.T @ x.T + col) ** 2).mean(), (w.T @ x.T + col)


_TENSOR_PROGRAMS = {
    "mean and var": (_normalized, [(5, 3), (1, 3)]),
    "softmax and logsumexp": (_softmax_stats, [(5, 3), (3,)]),
    "reshape, indexing, concatenate": (_pieces, [(5, 3), (1, 3)]),
    "maximum, clip, exp, log": (_clipped, [(5, 3), (1, 3)]),
    "@ with a 1-d operand": (_vector_products, [(5, 3), (3,), (3,)]),
    "batched matmul": (_batched, [(5, 3), (1, 3)]),
    "(1, n) and (n, 1) biases": (_column_bias, [(5, 3), (1, 3), (3, 1)]),
}


def _tensor_program(body, shapes, dtype):
    def make():
        rng = np.random.default_rng(3)
        ps = [Tensor(rng.normal(size=s).astype(dtype), requires_grad=True) for s in shapes]

        def fn(xb, yb):
            for p in ps:
                p.grad = None
            out = body(ps, xb, yb)
            out[0].backward()
            return out

        def after(i):
            for p in ps:
                p.data -= (0.05 / (1 + i)) * p.grad

        return fn, ps, after, lambda: body(ps, _X[:8].astype(dtype), _Y[:8].astype(dtype))[1]

    return make


@pytest.mark.parametrize("name", sorted(_TENSOR_PROGRAMS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_tensor_op_programs_replay_as_eager(name, dtype):
    """Hand-written models of Tensor ops returning (loss, output) or [loss, outputs]."""
    body, shapes = _TENSOR_PROGRAMS[name]
    _twins(_tensor_program(body, shapes, dtype), 12, _Y, dtype)


def test_conv_net_replays_as_eager():
    """The README's conv net, small, with cross_entropy on integer labels and SGD momentum."""
    def model():
        r = np.random.default_rng(0)
        return Sequential(Unflatten((1, 3, 3)), Conv2d(1, 2, 2, rng=r), ReLU(), MaxPool2d(2),
                          Flatten(), Linear(2, 4, init="he", rng=r), ReLU(),
                          Linear(4, 3, init="he", rng=r))

    x = np.random.default_rng(1).random((23, 9))
    with mock.patch(f"{__name__}._X", x):
        _twins(_model_program(model, cross_entropy, _OPTIMIZERS["momentum+decay"]), 9, _LABELS)


def test_avg_pool_net_replays_as_eager():
    """A conv net with average pooling and mse_loss, trained with Adam."""
    def model():
        r = np.random.default_rng(0)
        return Sequential(Unflatten((1, 4, 4)), Conv2d(1, 2, 3, rng=r), Tanh(), AvgPool2d(2),
                          Flatten(), Linear(2, 3, rng=r), Sigmoid())

    x = np.random.default_rng(1).random((23, 16))
    with mock.patch(f"{__name__}._X", x):
        _twins(_model_program(model, mse_loss, _OPTIMIZERS["adam"]), 9, _Y)


# ---- how often a loop is checked ----------------------------------------------------------

def _counting_checks(calls):
    """The compiled stages, counted: every capture and every check against eager."""
    verify, capture = _compile_module.Compiled._verify, _compile_module.Compiled._capture_into

    def counted_verify(self, *args):
        calls["verify"] += 1
        return verify(self, *args)

    def counted_capture(self, *args):
        calls["capture"] += 1
        return capture(self, *args)

    return (mock.patch.object(_compile_module.Compiled, "_verify", counted_verify),
            mock.patch.object(_compile_module.Compiled, "_capture_into", counted_capture))


@pytest.mark.parametrize("wrap", [Tensor, np.asarray])
def test_a_training_loop_is_checked_once(wrap):
    """A fresh Tensor(xb) each call replays after the one check against eager, as ndarrays do;
    neither is captured or checked again over twenty steps with updates between."""
    model = MLP([5, 4, 3], seed=0)
    params = model.parameters()

    def fn(xb, yb):
        for p in params:
            p.grad = None
        loss = mse_loss(model(xb), yb)
        loss.backward()
        return loss

    fast = compile(fn)
    calls = {"verify": 0, "capture": 0}
    patch_verify, patch_capture = _counting_checks(calls)
    with patch_verify, patch_capture, warnings.catch_warnings():
        warnings.simplefilter("error")
        for i in range(20):
            fast(wrap(_X[i % 3:i % 3 + 8]), wrap(_Y[i % 3:i % 3 + 8]))
            for p in params:
                p.data -= 0.1 * p.grad
    assert calls == {"verify": 1, "capture": 1}
    assert fast.tapes == 1


# ---- a frozen network given new arrays ----------------------------------------------------

def _distillation(sync):
    """A student trained towards a frozen teacher's outputs; `sync(teacher, student, i)`
    gives the teacher new arrays (`t.data = ...`) between steps."""
    def make():
        student, teacher = MLP([5, 4, 3], seed=0), MLP([5, 4, 3], seed=1)
        params, frozen = student.parameters(), teacher.parameters()
        for t in frozen:
            t.requires_grad = False
        opt = Adam(params, lr=0.05)

        def fn(xb, yb):
            opt.zero_grad()
            loss = mse_loss(student(xb), teacher(xb) * 0.5 + yb * 0.5)
            loss.backward()
            return loss

        def after(i):
            opt.step()
            sync(frozen, params, i)

        return fn, params, after, lambda: teacher(_X)

    return make


def test_a_frozen_tensor_given_a_new_array_is_captured_anew():
    """A target network copied from the trained one now and then (`t.data = p.data.copy()`):
    the replay used the arrays held at capture and silently computed with the old teacher;
    a frozen tensor holding another array now makes the tape stale, as a parameter does."""
    def sync(frozen, params, i):
        if i in (10, 20):
            for t, p in zip(frozen, params):
                t.data = p.data.copy()

    _twins(_distillation(sync), 30, _Y)


def test_a_teacher_averaged_every_step_runs_eagerly_with_the_promised_warning():
    """An exponential moving average written as `t.data = 0.9 * t.data + 0.1 * p.data`
    changes the frozen arrays on every call: the step runs eagerly, equal to eager, with the
    CompileWarning for a value read from outside fn that changed between two calls."""
    def sync(frozen, params, i):
        for t, p in zip(frozen, params):
            t.data = 0.9 * t.data + 0.1 * p.data

    _twins(_distillation(sync), 12, _Y, gives_up="changed between two calls")


def _sums_into_parameters(ps, x, y):
    w, b, s, c = ps  # a full sum's gradient reaching parameters directly, 0-d s among them
    loss = (x @ w).sum() + b.sum() * 2.0 + (w * 3.0).sum() + s * 2.0 + (c * c).sum()
    return loss + (s * c).sum(), loss


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sums_reaching_parameters_directly(dtype):
    """A full sum's gradient kept as one number until it reaches a parameter: each `.grad`
    is a full array of the parameter's shape and dtype, as eager leaves it."""
    make = _tensor_program(_sums_into_parameters, [(5, 3), (1, 3), (), (3,)], dtype)
    _twins(make, 12, _Y, dtype)


def test_backward_outside_the_compiled_function_says_why_it_fails():
    """fn returning a loss for the caller to differentiate: the first calls (eager) return
    graphs, a replay returns constants; backward on one used to blame the inputs ("no input
    had requires_grad=True"), and now says that backward belongs inside fn."""
    model = MLP([5, 3], seed=0)
    fast = compile(lambda x, y: mse_loss(model(x), y))
    for _ in range(3):
        fast(_X[:8], _Y[:8]).backward()
    with pytest.raises(RuntimeError, match=r"compiled.*call backward\(\) inside"):
        fast(_X[:8], _Y[:8]).backward()


def test_a_compiled_evaluation_beside_a_compiled_training_step():
    """Two compiled functions over one model, called in turn: a training step (Adam,
    cross_entropy on labels) and a forward-only evaluation returning (loss, probabilities)
    on a held-out set. Both replay, and the evaluation leaves the gradients alone."""
    held_x, held_labels = _X[:11] * 0.5, _LABELS[:11][::-1].copy()

    def make():
        model = MLP([5, 4, 3], activation="relu", output_activation=None, seed=0)
        opt = Adam(model.parameters(), lr=0.05)

        def train(xb, yb):
            opt.zero_grad()
            loss = cross_entropy(model(xb), yb)
            loss.backward()
            return loss

        def evaluate(xb, yb):
            z = model(xb)
            return cross_entropy(z, yb), z.softmax(axis=-1)

        return model, opt, train, evaluate

    eager, fast = make(), make()
    fast_train, fast_eval = compile(fast[2]), compile(fast[3])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for i in range(18):
            xb, yb = _batch(i, _LABELS)
            _same(eager[2](xb, yb).data, fast_train(xb, yb).data, f"loss {i}")
            eager[1].step()
            fast[1].step()
            for a, b in zip(_flat(eager[3](held_x, held_labels)),
                            _flat(fast_eval(held_x, held_labels))):
                _same(a, b, f"evaluation {i}")
            for p, q in zip(eager[0].parameters(), fast[0].parameters()):
                _same(p.grad, q.grad, f"gradient after evaluation {i}")
    assert (fast_train.tapes, fast_eval.tapes) == (2, 1)


def test_the_chapter_6_conv_net_replays_as_eager():
    """nn.conv's nielsen_conv_net (narrowed to 10 hidden units) on batches of 3 images, with
    cross_entropy on labels and SGD: five steps, the last two replayed."""
    from nn.conv import nielsen_conv_net

    images = np.random.default_rng(2).random((6, 784))
    labels = np.array([3, 1, 4, 1, 5, 9])

    def make():
        model = nielsen_conv_net(hidden=10, seed=0)
        opt = SGD(model.parameters(), lr=0.1)

        def fn(xb, yb):
            opt.zero_grad()
            logits = model(xb)
            loss = cross_entropy(logits, yb)
            loss.backward()
            return loss, logits

        return model, opt, fn

    (em, eo, ef), (fm, fo, ff) = make(), make()
    fast = compile(ff)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for i in range(5):
            s = 3 * (i % 2)
            xb, yb = images[s:s + 3], labels[s:s + 3]
            for a, b in zip(_flat(ef(xb, yb)), _flat(fast(xb, yb))):
                _same(a, b, f"step {i}")
            for p, q in zip(em.parameters(), fm.parameters()):
                _same(p.grad, q.grad, f"gradient {i}")
            eo.step()
            fo.step()
    assert fast.tapes == 1 and fast.eager_reason is None
