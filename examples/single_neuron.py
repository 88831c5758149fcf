"""The single neuron of the tutorial (section 4.1), differentiated by the engine and by hand.

    z = Σ wᵢxᵢ + b,   a = σ(z),   L = ½(a − y)²

The chain rule (section 4.3.1) says

    dL/dwᵢ = dL/da · σ′(z) · xᵢ   and   dL/db = dL/da · σ′(z),
    with dL/da = a − y and σ′(z) = σ(z)(1 − σ(z)).

This script builds the neuron from Values (`nn.scalar.document_neuron`), calls backward(), and
prints each gradient next to the product of those three factors, so you can see that
backpropagation is exactly this bookkeeping. Run it with

    python examples/single_neuron.py
"""

from __future__ import annotations

from nn.scalar import NEURON, document_neuron

PARAMETERS = ("w1", "w2", "b")
INPUTS = ("x1", "x2")
LEARNING_RATE = 0.5


def show_forward(v: dict) -> None:
    print("forward pass")
    terms = " + ".join(f"({v['w' + x[1:]].data:g})({v[x].data:g})" for x in INPUTS)
    print(f"  z = {terms} + {v['b'].data:g} = {v['z'].data:.6f}")
    print(f"  a = σ(z) = 1 / (1 + e^-z) = {v['a'].data:.6f}")
    print(f"  L = ½(a − y)² = ½({v['a'].data:.6f} − {NEURON['y']:g})² = {v['L'].data:.6f}")


def show_backward(v: dict) -> None:
    a = v["a"].data
    dl_da = a - NEURON["y"]
    dsigma = a * (1 - a)
    print("\nbackward pass: the chain-rule factors")
    print(f"  dL/da  = a − y        = {dl_da:+.6f}   (engine: a.grad = {v['a'].grad:+.6f})")
    print(f"  σ′(z)  = a(1 − a)     = {dsigma:+.6f}")
    print(f"  dL/dz  = dL/da · σ′(z) = {dl_da * dsigma:+.6f}   "
          f"(engine: z.grad = {v['z'].grad:+.6f})")
    print("\n  parameter   dL/da · σ′(z) · x  =  by hand      engine .grad")
    inputs = {"w1": v["x1"].data, "w2": v["x2"].data, "b": 1.0}
    for name in PARAMETERS:
        x = inputs[name]
        print(f"  {name:<10}  {dl_da:+.4f} · {dsigma:.4f} · {x:+.1f}"
              f"  = {dl_da * dsigma * x:+.6f}   {v[name].grad:+.6f}")
    worst = max(abs(v[name].grad - dl_da * dsigma * inputs[name]) for name in PARAMETERS)
    print(f"  largest difference, engine vs chain rule by hand: {worst:.1e}")


def main() -> None:
    loss, v = document_neuron()
    show_forward(v)
    show_backward(v)

    # One step of gradient descent against those gradients lowers the cost, as it should.
    step = {name: v[name].data - LEARNING_RATE * v[name].grad for name in PARAMETERS}
    after, _ = document_neuron(**step)
    print(f"\nafter one step w ← w − {LEARNING_RATE:g}·dL/dw: "
          f"L = {loss.data:.6f} → {after.data:.6f}")


if __name__ == "__main__":
    main()
