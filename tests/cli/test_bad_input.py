"""Every subcommand's bad options: exit status 2, one line on stderr naming the problem, no
traceback, nothing on stdout.

Every case runs through `main()` in this process; the cases marked below also run as a user runs
them, `python -m nn ...` in a process of its own (several at once, in one module-scoped fixture),
at least one of each subcommand and of each kind of error: argparse's, the command's own checks,
a missing or corrupt file, running out of memory."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from nn.cli import main

ROOT = Path(__file__).resolve().parents[2]

# (arguments, words the one error line must hold). {tmp} is a scratch folder, {file} a file in
# it, {empty} an empty folder, {corrupt} a folder of MNIST files whose labels are cut short.
CASES: list[tuple[str, str]] = [
    ("train --epochs x", "invalid int value: 'x'"),
    ("train --epochs 0", "--epochs must be at least 1, got 0"),
    ("train --batch-size -5", "--batch-size must be at least 1, got -5"),
    ("train --lr -1", "--lr must be a positive number, got -1"),
    ("train --lr inf", "--lr must be a positive number, got inf"),
    ("train --lr fast", "invalid float value: 'fast'"),
    ("train --weight-decay -0.5", "--weight-decay must be zero or positive"),
    ("train --seed -1", "--seed must be a non-negative integer, got -1"),
    ("train --train-limit 0", "--train-limit must be at least 1, got 0"),
    ("train --train-limit 99999999", "more than the 10000 training images"),
    ("train --sizes 784,,10", "--sizes must be comma-separated integers"),
    ("train --sizes 784,0,10", "at least two positive widths"),
    ("train --sizes 10,10", "must start with 784"),
    ("train --sizes 784,100000000000,10 --epochs 1", "out of memory"),
    ("train --loss hinge", "invalid choice: 'hinge' (choose from"),
    ("train --optimizer rmsprop", "invalid choice: 'rmsprop'"),
    ("train --activation softmax", "invalid choice: 'softmax'"),
    ("train --init zeros", "invalid choice: 'zeros'"),
    ("train --preset book", "invalid choice: 'book'"),
    ("train --data /no/such/folder", "--data /no/such/folder: no such folder"),
    ("train --data {file}", "--data {file}: is a file, not a folder"),
    ("train --data {empty}", "{empty}/train-images-idx3-ubyte.gz"),
    ("train --data {corrupt}", "{corrupt}/train-labels-idx1-ubyte.gz: truncated"),
    ("train --save /no/such/folder/w.npz", "folder /no/such/folder does not exist"),
    ("train --save {tmp}", "{tmp}"),
    ("train --json {tmp}", "{tmp}"),
    ("train --plot /no/such/folder/c.png", "folder /no/such/folder does not exist"),
    ("train --bogus", "unrecognized arguments: --bogus"),
    ("check --sizes x", "--sizes must be comma-separated integers like 4,5,3"),
    ("check --sizes 4,-1", "--sizes needs at least two positive widths, like 4,5,3"),
    ("check --sizes 1000,1000", "1001000 parameters"),
    ("check --eps 0", "--eps must be a positive number, got 0"),
    ("check --eps nan", "--eps must be a positive number, got nan"),
    ("check --atol -1", "--atol must be a non-negative number"),
    ("check --batch 0", "--batch must be at least 1, got 0"),
    ("check --eps-min 1 --eps-max 0.1", "--eps-min 1 is larger than --eps-max 0.1"),
    ("check --dtype float16", "invalid choice: 'float16'"),
    ("check --loss bce --output-activation relu", "'bce' with a 'sigmoid' output"),
    ("check --loss cross_entropy --sizes 4,1", "at least 2 output classes"),
    ("check --json /no/such/folder/r.json", "folder /no/such/folder does not exist"),
    ("check --plot {tmp}", "--plot {tmp} is a folder"),
    ("check --seed -1", "--seed must be a non-negative integer, got -1"),
    ("draw --sizes x", "--sizes must be comma-separated integers like 2,3,1"),
    ("draw --sizes 0,1", "at least two positive widths"),
    ("draw --format gif", "invalid choice: 'gif'"),
    ("draw --what tree", "invalid choice: 'tree'"),
    ("draw --rankdir XX", "invalid choice: 'XX'"),
    ("draw --out {file}", "is a file, not a folder"),
    ("draw --out /proc/no/such/folder", "cannot create the folder"),
    ("draw --seed -3", "--seed must be a non-negative integer, got -3"),
    ("frobnicate", "invalid choice: 'frobnicate'"),
]


SUBPROCESS = {
    "train --epochs x", "train --lr -1", "train --train-limit 99999999", "train --sizes 10,10",
    "train --sizes 784,100000000000,10 --epochs 1", "train --data {corrupt}",
    "train --save {tmp}", "train --bogus", "check --eps nan", "check --sizes 1000,1000",
    "check --seed -1", "draw --format gif", "draw --out /proc/no/such/folder", "frobnicate",
}


def _mnist_with_short_labels(folder: Path) -> None:
    """Four well-formed headers; the training labels promise 5 entries and hold 3."""
    images = bytes.fromhex("00000803 00000005 0000001c 0000001c") + bytes(5 * 784)
    labels = bytes.fromhex("00000801 00000005") + bytes(3)
    for name, data in (("train-images-idx3-ubyte.gz", images), ("t10k-images-idx3-ubyte.gz",
                       images), ("train-labels-idx1-ubyte.gz", labels),
                       ("t10k-labels-idx1-ubyte.gz", labels)):
        (folder / name).write_bytes(gzip.compress(data))


@pytest.fixture(scope="module")
def places(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("cli")
    found = {"tmp": tmp, "file": tmp / "a-file.txt", "empty": tmp / "empty",
             "corrupt": tmp / "corrupt"}
    found["file"].write_text("not a folder\n")
    found["empty"].mkdir()
    found["corrupt"].mkdir()
    _mnist_with_short_labels(found["corrupt"])
    return found


@pytest.fixture(scope="module")
def processes(places) -> dict[str, subprocess.CompletedProcess]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}

    def run(args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "nn", *args.format(**places).split()],
                              env=env, cwd=places["tmp"], capture_output=True, text=True,
                              timeout=120)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(sorted(SUBPROCESS), pool.map(run, sorted(SUBPROCESS))))


def _check(args: str, words: str, status: int, out: str, err: str) -> None:
    first = args.split()[0]
    # argparse reports an option no subcommand knows from the top-level parser
    top = first not in ("train", "check", "draw") or "unrecognized" in words
    assert "Traceback" not in err, err
    assert status == 2, err
    assert out == ""
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert err.startswith("deltagrad: error: " if top else f"deltagrad {first}: error: "), err
    assert words in err, err


@pytest.mark.parametrize("args, words", CASES, ids=[args for args, _ in CASES])
def test_a_bad_option_is_one_line_and_status_2(places, capsys, args, words):
    try:
        status = main(args.format(**places).split())
    except SystemExit as e:  # argparse's own errors
        status = e.code
    captured = capsys.readouterr()
    _check(args, words.format(**places), status, captured.out, captured.err)


@pytest.mark.parametrize("args", sorted(SUBPROCESS))
def test_the_same_from_python_dash_m_nn(places, processes, args):
    done = processes[args]
    words = dict(CASES)[args].format(**places)
    _check(args, words, done.returncode, done.stdout, done.stderr)


def test_every_subcommand_is_covered():
    assert {args.split()[0] for args in SUBPROCESS} >= {"train", "check", "draw"}
    assert {args for args, _ in CASES} >= SUBPROCESS


def test_version_names_the_engine_it_imports(capsys):
    import autograd
    from nn.cli import main

    with pytest.raises(SystemExit) as info:
        main(["--version"])
    out = capsys.readouterr().out
    assert info.value.code == 0
    assert out.startswith(f"deltagrad {autograd.__version__} (engine: autograd at ")
    assert str(Path(autograd.__file__).resolve().parent) in out


def test_version_says_when_another_autograd_is_imported(monkeypatch):
    import types

    from nn import cli

    other = types.ModuleType("autograd")
    other.__file__ = "/site-packages/autograd/__init__.py"
    other.__version__ = "1.7.0"
    monkeypatch.setitem(sys.modules, "autograd", other)
    assert "is not deltagrad's engine" in cli.version()
    assert "/site-packages/autograd" in cli.version()
