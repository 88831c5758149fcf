"""A two-moons classifier built from scalar neurons: every weight is one `Value`.

    python examples/two_moons_scalar.py
    python examples/two_moons_scalar.py --plot moons.png     # the decision boundary

Two interleaved half circles, 100 points with a little noise, are separated by a 2-16-16-1
network of tanh neurons (nn.ScalarMLP). The loss is the logistic loss log(1 + e^(−y·s)) on the
score s with labels y = ±1, plus a small L2 penalty. Plain gradient descent on the whole set,
with a learning rate that decays, classifies all 100 points right within a hundred steps.
Everything is written with Values, so any single neuron's gradient can be printed or drawn.
"""

import argparse

import numpy as np

from autograd import Value, no_grad
from nn import ScalarMLP


def two_moons(n, noise, seed):
    """n points on two interleaved half circles, labels ±1."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, np.pi, n)
    upper = rng.random(n) < 0.5
    x = np.where(upper, np.cos(t), 1 - np.cos(t))
    y = np.where(upper, np.sin(t), 0.5 - np.sin(t))
    points = np.column_stack([x, y]) + rng.normal(0, noise, (n, 2))
    return points, np.where(upper, 1.0, -1.0)


def loss_and_accuracy(model, points, labels, alpha=1e-4):
    """Mean logistic loss + alpha · Σ w², and the fraction classified right."""
    scores = [model([Value(float(a)), Value(float(b))]) for a, b in points]
    losses = [(1 + (-float(y) * s).exp()).log() for s, y in zip(scores, labels)]
    data_loss = sum(losses) * (1.0 / len(losses))
    penalty = alpha * sum(p * p for p in model.parameters())
    right = sum((s.data > 0) == (y > 0) for s, y in zip(scores, labels))
    return data_loss + penalty, right / len(labels)


def fit(model, points, labels, steps):
    """Full-batch gradient descent, learning rate from 1.0 down to 0.1."""
    for k in range(steps):
        loss, accuracy = loss_and_accuracy(model, points, labels)
        model.zero_grad()
        loss.backward()
        lr = 1.0 - 0.9 * k / steps
        for p in model.parameters():
            p.data -= lr * p.grad
        if k % 10 == 0 or k == steps - 1:
            print(f"step {k:3d}  loss {loss.data:.4f}  accuracy {accuracy:.0%}")
    return accuracy


def plot(model, points, labels, path):
    """The points and the model's decision regions, saved to `path`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs, ys = np.meshgrid(np.linspace(-1.5, 2.5, 60), np.linspace(-1.0, 1.5, 60))
    with no_grad():  # 3,600 forward passes, none of them recorded
        z = np.array([[model([Value(a), Value(b)]).data > 0 for a, b in zip(row_x, row_y)]
                      for row_x, row_y in zip(xs, ys)])
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.contourf(xs, ys, z, cmap="coolwarm", alpha=0.3)
    ax.scatter(points[:, 0], points[:, 1], c=labels, cmap="coolwarm", s=20, edgecolors="k")
    ax.set_title("two moons, 2-16-16-1 tanh network of Values")
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--plot", metavar="PATH", help="save the decision boundary (matplotlib)")
    args = parser.parse_args()
    points, labels = two_moons(100, noise=0.1, seed=args.seed)
    # Standard-normal weights and biases (the document's init); the output is the raw score.
    model = ScalarMLP([2, 16, 16, 1], activation="tanh", output_activation=None, seed=args.seed)
    fit(model, points, labels, args.steps)
    if args.plot:
        plot(model, points, labels, args.plot)
        print(f"decision boundary saved to {args.plot}")


if __name__ == "__main__":
    main()
