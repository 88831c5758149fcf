"""The document's section-5 network, written with deltagrad.

    python examples/mnist_network.py                         # the bundled MNIST subset
    python examples/mnist_network.py --data path/to/mnist    # the full set (about 95%)

784 inputs, 30 hidden sigmoid units, 10 sigmoid outputs; weights and biases drawn from the
standard normal; the quadratic cost; mini-batch SGD with η = 3.0 and batches of 10 for 30
epochs. Where the document writes backprop() and update_mini_batch() by hand, here autograd
computes the gradients and SGD applies them: the same update, number for number.
`deltagrad train` runs this same experiment with more options.
"""

import argparse

import numpy as np

from autograd import no_grad
from nn import MLP, SGD, mse_loss
from nn.data import batches, load_mnist


def evaluate(net, images, labels):
    """How many test images the network classifies right (the document's evaluate)."""
    with no_grad():
        outputs = net(images)
    return int((outputs.data.argmax(axis=1) == labels).sum())


def train(net, data, epochs, mini_batch_size, eta, seed=0):
    """The document's train(): shuffle, cut into mini-batches, one SGD step per batch."""
    optimizer = SGD(net.parameters(), lr=eta)
    targets = data.train.one_hot()           # digit 3 -> [0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
    rng = np.random.default_rng(seed)
    for j in range(epochs):
        for x, y in batches(data.train.images, targets, mini_batch_size, rng):
            loss = mse_loss(net(x), y)       # 1/(2m) Σ ‖a − y‖², the document's cost
            optimizer.zero_grad()
            loss.backward()                  # ∂C/∂w and ∂C/∂b for every layer
            optimizer.step()                 # w ← w − η ∂C/∂w,  b ← b − η ∂C/∂b
        print(f"Epoch {j}: {evaluate(net, data.test.images, data.test.labels)} / "
              f"{len(data.test)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="folder with the four MNIST IDX .gz files")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data = load_mnist(args.data)
    net = MLP([784, 30, 10], activation="sigmoid", init="normal", seed=args.seed)
    train(net, data, epochs=args.epochs, mini_batch_size=10, eta=3.0, seed=args.seed)


if __name__ == "__main__":
    main()
