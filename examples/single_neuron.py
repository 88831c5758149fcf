"""The single neuron of the tutorial (section 4.1), differentiated by the engine and by hand.

    z = Σ wᵢxᵢ + b,   a = σ(z),   L = ½(a − y)²

The chain rule (section 4.3.1) says

    dL/dwᵢ = dL/da · σ′(z) · xᵢ   and   dL/db = dL/da · σ′(z),
    with dL/da = a − y and σ′(z) = σ(z)(1 − σ(z)).

This script builds the neuron from Values, calls backward(), and prints each gradient next to
the product of those three factors, so you can see that backpropagation is exactly this
bookkeeping. Run it with

    python examples/single_neuron.py
"""

from __future__ import annotations

from autograd import Value

X = [0.5, -1.5, 2.0]      # inputs xᵢ
W = [0.3, -0.2, 0.8]      # weights wᵢ
B = 0.1                   # bias b
Y = 1.0                   # target y
LEARNING_RATE = 0.5


def neuron(w: list[Value], b: Value, x: list[float]) -> tuple[Value, Value]:
    """The weighted input z and the activation a = σ(z)."""
    z = sum((wi * xi for wi, xi in zip(w, x)), b)
    return z, z.sigmoid()


def loss_of(a: Value, y: float) -> Value:
    """The quadratic cost of one example, ½(a − y)²."""
    return 0.5 * (a - y) ** 2


def show_forward(z: Value, a: Value, loss: Value) -> None:
    print("forward pass")
    terms = " + ".join(f"({w:g})({x:g})" for w, x in zip(W, X))
    print(f"  z = {terms} + {B:g} = {z.data:.6f}")
    print(f"  a = σ(z) = 1 / (1 + e^-z) = {a.data:.6f}")
    print(f"  L = ½(a − y)² = ½({a.data:.6f} − {Y:g})² = {loss.data:.6f}")


def show_backward(w: list[Value], b: Value, z: Value, a: Value) -> None:
    dl_da = a.data - Y
    dsigma = a.data * (1 - a.data)
    print("\nbackward pass: the chain-rule factors")
    print(f"  dL/da  = a − y        = {dl_da:+.6f}   (engine: a.grad = {a.grad:+.6f})")
    print(f"  σ′(z)  = a(1 − a)     = {dsigma:+.6f}")
    print(f"  dL/dz  = dL/da · σ′(z) = {dl_da * dsigma:+.6f}   (engine: z.grad = {z.grad:+.6f})")
    print("\n  parameter   dL/da · σ′(z) · x  =  by hand      engine .grad")
    for i, (wi, xi) in enumerate(zip(w, X)):
        by_hand = dl_da * dsigma * xi
        print(f"  w{i + 1}          {dl_da:+.4f} · {dsigma:.4f} · {xi:+.1f}"
              f"  = {by_hand:+.6f}   {wi.grad:+.6f}")
    print(f"  b           {dl_da:+.4f} · {dsigma:.4f} · 1"
          f"     = {dl_da * dsigma:+.6f}   {b.grad:+.6f}")
    by_hand = [dl_da * dsigma * xi for xi in X] + [dl_da * dsigma]
    worst = max(abs(p.grad - h) for p, h in zip((*w, b), by_hand))
    print(f"  largest difference, engine vs chain rule by hand: {worst:.1e}")


def main() -> None:
    w = [Value(v, label=f"w{i + 1}") for i, v in enumerate(W)]
    b = Value(B, label="b")
    z, a = neuron(w, b, X)
    loss = loss_of(a, Y)
    loss.backward()
    show_forward(z, a, loss)
    show_backward(w, b, z, a)

    # One step of gradient descent against those gradients lowers the cost, as it should.
    for p in (*w, b):
        p.data -= LEARNING_RATE * p.grad
    _, a_next = neuron(w, b, X)
    print(f"\nafter one step w ← w − {LEARNING_RATE:g}·dL/dw: "
          f"L = {loss.data:.6f} → {loss_of(a_next, Y).data:.6f}")


if __name__ == "__main__":
    main()
