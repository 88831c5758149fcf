"""Grad mode and anomaly mode are per thread: real threads, overlapping blocks, and two models
trained at once that must each end exactly where they end alone."""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np

from autograd import Tensor, Value, detect_anomaly, is_grad_enabled, no_grad, primitive
from autograd import graph as graph_module
from autograd.graph import mode
from nn import MLP, SGD, mse_loss


@contextmanager
def _fast_switching() -> Iterator[None]:
    """Threads switch as often as Python allows, so their steps interleave finely."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def _run(*targets: Callable[[], None], timeout: float = 60.0) -> None:
    """Run each target in its own thread; re-raise the first error one of them met."""
    errors: list[BaseException] = []

    def guarded(fn: Callable[[], None]) -> Callable[[], None]:
        def body() -> None:
            try:
                fn()
            except BaseException as e:  # handed to the test below
                errors.append(e)
        return body

    threads = [threading.Thread(target=guarded(fn)) for fn in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
        assert not t.is_alive(), "a thread did not finish"
    if errors:
        raise errors[0]


def test_overlapping_no_grad_blocks_in_two_threads_leave_recording_on():
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def first() -> None:
        with no_grad():
            a_in.set()
            b_in.wait(10)
            seen["a inside"] = is_grad_enabled()
        a_out.set()  # leaves first although it entered first

    def second() -> None:
        a_in.wait(10)
        with no_grad():
            b_in.set()
            a_out.wait(10)
            seen["b inside, after a left"] = is_grad_enabled()
        seen["b after"] = is_grad_enabled()

    _run(first, second)
    assert seen == {"a inside": False, "b inside, after a left": False, "b after": True}
    assert is_grad_enabled()
    w = Tensor([1.0], requires_grad=True)
    assert (w * 2.0).requires_grad  # this thread still records


def test_an_evaluation_thread_in_no_grad_does_not_stop_another_thread_training():
    entered, trained = threading.Event(), threading.Event()
    result = {}

    def evaluate() -> None:
        with no_grad():
            entered.set()
            trained.wait(10)
            result["eval records"] = (Tensor([1.0], requires_grad=True) * 2.0).requires_grad

    def train() -> None:
        entered.wait(10)
        w = Tensor([1.0, 2.0], requires_grad=True)
        loss = (w * w).sum()
        result["loss records"] = loss.requires_grad
        loss.backward()
        result["grad"] = w.grad
        trained.set()

    _run(evaluate, train)
    assert result["eval records"] is False and result["loss records"] is True
    np.testing.assert_array_equal(result["grad"], [2.0, 4.0])


def test_anomaly_mode_in_one_thread_does_not_reach_another():
    entered, done = threading.Event(), threading.Event()
    seen = {}

    def hunting() -> None:
        with detect_anomaly():
            entered.set()
            done.wait(10)
            seen["hunting"] = mode.anomaly

    def other() -> None:
        entered.wait(10)
        seen["other"] = mode.anomaly
        x = Value(0.0)
        with np.errstate(divide="ignore"):
            seen["log"] = (x * 0.0).exp().data  # an ordinary op, no anomaly checks here
        done.set()

    _run(hunting, other)
    assert seen == {"hunting": True, "other": False, "log": 1.0}


def test_a_new_thread_starts_with_the_default_modes_whatever_its_parent_has():
    seen = {}

    def child() -> None:
        seen["grad"], seen["anomaly"] = is_grad_enabled(), mode.anomaly

    with no_grad(), detect_anomaly():
        _run(child)
    assert seen == {"grad": True, "anomaly": False}


def _train(seed: int, steps: int) -> list[np.ndarray]:
    """A small MLP trained for `steps` SGD steps, evaluated under no_grad() after each step."""
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((8, 3)), rng.standard_normal((8, 2))
    model = MLP([3, 5, 2], seed=seed)
    opt = SGD(model.parameters(), lr=0.05)
    for _ in range(steps):
        opt.zero_grad()
        mse_loss(model(x), y).backward()
        opt.step()
        with no_grad():  # the other thread's recording must not notice
            model(x)
    return [p.data.copy() for p in model.parameters()]


def test_two_threads_training_two_models_each_get_exactly_their_single_thread_result():
    steps = 300
    alone = {seed: _train(seed, steps) for seed in (1, 2)}
    together: dict[int, list[np.ndarray]] = {}
    start = threading.Barrier(2)

    def job(seed: int) -> Callable[[], None]:
        def body() -> None:
            start.wait(10)
            together[seed] = _train(seed, steps)
        return body

    with _fast_switching():
        _run(job(1), job(2))
    for seed in (1, 2):
        for a, b in zip(alone[seed], together[seed]):
            np.testing.assert_array_equal(a, b)


def _held(arrive: threading.Event, wait_for: threading.Event,
          seen: dict[str, bool] | None = None) -> Value:
    """A one-node graph whose rule signals `arrive`, then waits for `wait_for` (and notes
    whether the cycle collector is on at that point in `seen`)."""

    @primitive
    def hold(x):
        return x

    @hold.defvjp
    def hold_vjp(g, out, x):
        arrive.set()
        wait_for.wait(10)
        if seen is not None:
            seen["collector on"] = gc.isenabled()
        return (g,)

    out = hold(Value(1.0))
    for _ in range(graph_module._FEW):  # a graph large enough for backward to pause the collector
        out = out + 0.0
    return out


def test_the_cycle_collector_stays_paused_until_the_last_concurrent_backward_ends():
    assert gc.isenabled()
    b_in, a_in, b_done = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, bool] = {}
    out_b = _held(b_in, a_in)
    out_a = _held(a_in, b_done, seen)

    def b() -> None:  # starts first, ends first
        out_b.backward()
        b_done.set()

    def a() -> None:
        b_in.wait(10)
        out_a.backward()

    _run(a, b)
    assert seen == {"collector on": False}  # b's end did not switch it on under a's pass
    assert gc.isenabled()


def test_a_graph_whose_parameters_another_thread_updates_is_refused_by_backward():
    w = Tensor([1.0, 2.0], requires_grad=True)
    opt = SGD([w], lr=0.1)
    recorded, stepped = threading.Event(), threading.Event()
    seen = {}

    def reader() -> None:
        loss = (w * w).sum()
        recorded.set()
        stepped.wait(10)
        try:
            loss.backward()
        except RuntimeError as e:
            seen["error"] = str(e)

    def trainer() -> None:
        recorded.wait(10)
        (w * 3.0).sum().backward()
        opt.step()
        stepped.set()

    _run(reader, trainer)
    assert "modified by an inplace operation" in seen["error"]
