"""Nielsen's chapter-6 convolutional network, written with deltagrad layer by layer.

    python examples/conv_network.py                          # the bundled MNIST subset
    python examples/conv_network.py --data path/to/mnist     # the full set

Each image is a 1×28×28 grid; 20 5×5 filters slide over it (24×24 maps), 2×2 max pooling halves
them (12×12), 40 more 5×5 filters (8×8) and pooling again (4×4) leave 40·4·4 = 640 numbers for
100 ReLU units and 10 logits. Before training, the δ recursion checks autograd's gradient of
every layer on one mini-batch: δ of a conv layer's input is the full convolution of δ with the
flipped kernel, ∂C/∂K is the correlation of the input with δ.
`deltagrad train --preset conv` runs the same network with more options.
"""

import argparse

import numpy as np

from autograd import no_grad
from nn import (
    SGD,
    Conv2d,
    Flatten,
    Linear,
    MaxPool2d,
    ReLU,
    Sequential,
    Unflatten,
    cross_entropy,
)
from nn.data import batches, load_mnist
from nn.delta import check


def network(seed):
    rng = np.random.default_rng(seed)     # one Generator: same seed, same weights
    return Sequential(
        Unflatten((1, 28, 28)),           # rows of 784 pixels -> images (N, 1, 28, 28)
        Conv2d(1, 20, 5, rng=rng), ReLU(), MaxPool2d(2),     # -> (N, 20, 12, 12)
        Conv2d(20, 40, 5, rng=rng), ReLU(), MaxPool2d(2),    # -> (N, 40, 4, 4)
        Flatten(),                                           # -> (N, 640)
        Linear(640, 100, init="he", rng=rng), ReLU(),
        Linear(100, 10, init="he", rng=rng))                 # logits for softmax


def evaluate(net, images, labels):
    """How many test images the network classifies right (the document's evaluate)."""
    with no_grad():
        return int((net(images).data.argmax(axis=1) == labels).sum())


def train(net, data, epochs, mini_batch_size, eta, seed=0, limit=None):
    """Shuffle, cut into mini-batches, one SGD step per batch; the document's epoch line."""
    optimizer = SGD(net.parameters(), lr=eta)
    images, labels = data.train.images[:limit], data.train.labels[:limit]
    rng = np.random.default_rng(seed)
    for j in range(epochs):
        for x, y in batches(images, labels, mini_batch_size, rng):
            loss = cross_entropy(net(x), y)     # softmax cross-entropy on the logits
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        print(f"Epoch {j}: {evaluate(net, data.test.images, data.test.labels)} / "
              f"{len(data.test)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="folder with the four MNIST IDX .gz files")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--train-limit", type=int, help="train on the first N images only")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data = load_mnist(args.data)
    net = network(args.seed)
    report = check(net, data.train.images[:10], data.train.labels[:10], "cross_entropy")
    print(f"δ recursion vs autograd on one batch: largest difference {report.max_abs:.1e} "
          f"({'ok' if report.ok else 'MISMATCH'})")
    train(net, data, args.epochs, mini_batch_size=10, eta=0.03, seed=args.seed,
          limit=args.train_limit)


if __name__ == "__main__":
    main()
