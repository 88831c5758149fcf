"""The tree's rules, read from the source with `ast`: what each layer may import, and that no
module changes a class it does not define."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLASSES = {"Value": "autograd/value.py", "Tensor": "autograd/tensor.py"}


def _sources(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def _patches(tree: ast.AST) -> list[str]:
    """Attributes set on Value or Tensor from outside a class body: `Value.x = ...`,
    `setattr(Tensor, ...)`."""
    found = []
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else []
        for t in targets:
            if isinstance(t, ast.Attribute) and getattr(t.value, "id", None) in CLASSES:
                found.append(f"{t.value.id}.{t.attr}")
        if (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "setattr"
                and node.args and getattr(node.args[0], "id", None) in CLASSES):
            found.append(f"setattr({node.args[0].id}, ...)")
    return found


def test_no_module_patches_value_or_tensor_on_import():
    patched = {str(p.relative_to(ROOT)): _patches(ast.parse(p.read_text(encoding="utf-8")))
               for p in _sources("autograd", "nn")}
    assert {path: names for path, names in patched.items() if names} == {}


def test_the_patch_finder_sees_both_spellings():
    tree = ast.parse("Value._repr_mimebundle_ = f\nsetattr(Tensor, 'x', 1)\nother.y = 2\n")
    assert _patches(tree) == ["Value._repr_mimebundle_", "setattr(Tensor, ...)"]


def test_value_and_tensor_define_their_notebook_display_themselves():
    from autograd import Tensor, Value

    assert "_repr_mimebundle_" in vars(Value) and "_repr_mimebundle_" in vars(Tensor)
