"""Mutation test over the rule table: a rule 0.1% wrong, or with two inputs' gradients swapped,
must make an independent witness fail.

Every primitive in autograd and nn is found by walking their modules
(tests/witnesses/mutation.py), so a
rule added later is tested without being listed here; a rule that no witness runs fails by
name. Each mutant runs only the witnesses whose backward passes call that rule.
"""

from __future__ import annotations

import numpy as np
import pytest

from autograd import Tensor, primitive, rules
from nn import primitives as primitives_module
from tests.witnesses.mutation import (
    FACTOR,
    Swapped,
    Witness,
    coverage,
    first_order,
    gives_only_zeros,
    primitives,
    replaced,
    scaled,
    witnesses,
)

NAMES = sorted(primitives())
# Rules whose inputs all get the same gradient: swapping two of them changes nothing.
SYMMETRIC = {"autograd.rules.add", "autograd.rules.sum_n"}


def _caught(p, rule, ws: tuple[Witness, ...]) -> list[str]:
    """The reports of the witnesses that fail while `p` has `rule`."""
    with replaced(p, rule):
        return [f"{w.name}: {r}" for w in ws if (r := w.run())]


def test_the_walk_finds_the_rule_table():
    found = set(primitives().values())
    for name in ("add", "mul", "power", "matmul", "stack", "sum_n", "_log_base"):
        assert getattr(rules, name) in found
    assert primitives_module.linear in found  # nn's own primitive, made with the public API


@pytest.mark.parametrize("witness", witnesses(), ids=[w.name for w in witnesses()])
def test_witness_agrees_with_the_engine(witness):
    assert witness.run() == ""


@pytest.mark.parametrize("name", NAMES)
def test_every_rule_is_run_by_a_witness(name):
    assert coverage()[name], (f"no witness runs the rule of primitive {name}: add an entry "
                              "that uses it to tests/witnesses/catalog.py")


@pytest.mark.parametrize("name", NAMES)
def test_a_rule_scaled_by_one_part_in_a_thousand_is_caught(name):
    p = primitives()[name]
    ws = coverage()[name]
    assert ws, f"no witness runs the rule of primitive {name}"
    if gives_only_zeros(p, ws):
        pytest.skip(f"{name}'s gradient is 0 wherever the witnesses run it (sign, a step): "
                    "scaling it changes nothing, so the mutant is the rule itself")
    assert _caught(p, scaled(p.vjp), ws), (
        f"the rule of {name} with its gradients scaled by {FACTOR} passed every witness "
        f"that runs it: {[w.name for w in ws]}")
    assert p.vjp is not None and p.vjp.__name__ != "mutant"  # restored


@pytest.mark.parametrize("name", NAMES)
def test_a_rule_with_two_inputs_swapped_is_caught(name):
    p = primitives()[name]
    ws = coverage()[name]
    mutant = Swapped(p.vjp)
    reports = _caught(p, mutant, ws)
    if mutant.changed == 0:
        if name in SYMMETRIC:
            pytest.skip(f"{name} gives all its inputs the same gradient: a swap is no mutant")
        assert _single_input(p, ws), (f"no witness gives {name} two inputs of one shape with "
                                      "different gradients: add one to tests/witnesses/catalog.py")
        pytest.skip(f"{name} has one differentiable input: nothing to swap")
    assert reports, f"the rule of {name} with two inputs' gradients swapped passed {ws}"


def _single_input(p, ws) -> bool:
    """True when every call of p's rule in the witnesses returned at most one gradient."""
    counts = []

    def counting(*args, **kwargs):
        grads = saved(*args, **kwargs)
        counts.append(sum(g is not None for g in grads))
        return grads

    saved = p.vjp
    _caught(p, counting, ws)
    return max(counts, default=0) <= 1


def test_a_rule_outside_the_table_is_restored_after_a_failing_witness():
    @primitive
    def twice(x):
        return 2 * x

    @twice.defvjp
    def twice_vjp(g, out, x):
        return (2 * g,)

    x = np.array([1.0, -2.0])
    good = first_order(twice, lambda a: 2 * a, [x])
    with pytest.raises(ZeroDivisionError), replaced(twice, lambda g, out, x: 1 / 0):
        twice(Tensor(x, requires_grad=True)).sum().backward()
    assert twice.vjp is twice_vjp
    assert good == ""
    assert "differ" in first_order(twice, lambda a: 3 * a, [x])
