"""tools/mutants.py: its mutants still fit the code, and it tells a killed mutant from a
surviving one."""

from __future__ import annotations

import pytest

from tests.conftest import load_script
from tests.witnesses.mutation import coverage, gives_only_zeros, primitives

mutants = load_script("tools/mutants.py")


@pytest.mark.parametrize("m", mutants.HAND, ids=[m.name for m in mutants.HAND])
def test_every_hand_written_mutant_still_finds_its_text(m):
    text = (mutants.ROOT / m.path).read_text()
    assert mutants.mutated(text, m) != text
    assert all((mutants.ROOT / t).is_file() for t in m.tests)


def test_a_mutant_whose_text_is_gone_is_an_error():
    m = mutants.Mutant("gone", "x.py", "absent text", "", ())
    with pytest.raises(ValueError, match="occurs 0 times"):
        mutants.mutated("some code", m)


def test_every_primitive_gets_a_scaled_rule_mutant():
    names = {m.name for m in mutants.rule_mutants()}
    for qualname, p in primitives().items():
        # a rule whose gradient is 0 wherever it runs (sign) scales to itself: no mutant
        scaled = f"rule {qualname} scaled by 1.001" in names
        assert scaled != gives_only_zeros(p, coverage()[qualname]), qualname
    assert "rule autograd.rules.sign scaled by 1.001" not in names
    assert "rule autograd.rules.mul with two inputs' gradients swapped" in names
    assert "rule autograd.rules.add with two inputs' gradients swapped" not in names  # no-op


def test_a_run_tells_killed_from_survived(tmp_path):
    mutants._copy(tmp_path)
    relu = next(m for m in mutants.HAND if m.name == "relu: derivative 1 at 0")
    relu = mutants.Mutant(relu.name, relu.path, relu.old, relu.new,
                          (*relu.tests, "-k", "relu_derivative"))  # the few tests that matter
    assert mutants.run(relu, tmp_path, 300)[0] == "killed"
    harmless = mutants.Mutant("a comment", relu.path, None, "\n# nothing\n", relu.tests)
    assert mutants.run(harmless, tmp_path, 300)[0] == "survived"
    assert (tmp_path / relu.path).read_text() == (mutants.ROOT / relu.path).read_text()
