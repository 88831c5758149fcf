"""examples/single_neuron.py runs and shows the engine agreeing with the chain rule by hand."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "single_neuron.py"


def test_single_neuron_example_runs_and_agrees(capsys):
    runpy.run_path(str(EXAMPLE), run_name="__main__")
    out = capsys.readouterr().out
    worst = float(re.search(r"engine vs chain rule by hand: (\S+)", out).group(1))
    assert worst < 1e-15
    before, after = map(float, re.search(r"L = (\S+) → (\S+)", out).groups())
    assert after < before
