"""Training curves: the per-epoch loss and test accuracy of a History, drawn with matplotlib.

matplotlib is an optional dependency (`pip install 'deltagrad[plot]'`); it is imported only
when a plot is asked for.
"""

from __future__ import annotations

import os
from typing import Any

from autograd.files import check_target, write_file


def plot_history(history: Any, path: str | os.PathLike[str], title: str = "") -> None:
    """Save two panels side by side: training loss and test accuracy (%) against epoch."""
    fmt = plot_format(path)
    check_target(path)  # a folder, FIFO or device is refused before anything is drawn
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed, none opened
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    epochs = [e.epoch for e in history.epochs]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5), layout="constrained")
    left.plot(epochs, history.loss, marker=".")
    left.set(xlabel="epoch", ylabel="mean training loss", title="loss")
    scored = [(e.epoch, 100 * e.accuracy) for e in history.epochs if e.accuracy is not None]
    if scored:
        right.plot(*zip(*scored), marker=".", color="tab:green")
    right.set(xlabel="epoch", ylabel="test accuracy (%)", title="accuracy")
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if title:
        fig.suptitle(title)
    try:
        write_file(path, lambda f: fig.savefig(f, format=fmt, dpi=120))
    finally:
        plt.close(fig)


def plot_format(path: str | os.PathLike[str]) -> str:
    """The image format the suffix of `path` names (png without one), checked against what
    matplotlib can write: a ValueError listing them otherwise. Needs matplotlib."""
    import matplotlib  # noqa: F401  (first: the ImportError that says matplotlib is absent)
    from matplotlib.figure import Figure

    suffix = os.path.splitext(os.fspath(path))[1].lstrip(".").lower()
    fmt = suffix or "png"
    known = Figure().canvas.get_supported_filetypes()
    if fmt not in known:
        raise ValueError(f"cannot draw a plot to {os.fspath(path)}: matplotlib does not know "
                         f"the format {fmt!r}; use one of {', '.join(sorted(known))}")
    return fmt
