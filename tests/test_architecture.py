"""The tree's rules, read from the source with `ast`: what each layer may import, and that no
module changes a class it does not define.

The layers, bottom to top (ARCHITECTURE.md): the engine (autograd's top-level modules), then
gradient checking and pictures (autograd/check, autograd/draw), then nn, then the command line
(nn/cli.py, nn/commands, nn/__main__.py). Each imports only from the layers below it, and nn
only the public names of autograd.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CLASSES = {"Value": "autograd/value.py", "Tensor": "autograd/tensor.py"}


# What the engine may not import: the tool packages, also under the names the facade gives
# them (autograd.gradcheck is autograd.check, autograd.trace comes from autograd.draw).
TOOLS = {"check", "draw", "gradcheck", "trace"}
CLI = ("nn/cli.py", "nn/__main__.py", "nn/commands/")
# The modules nn may import from: the facade, the two tool packages, and the one file writer
# every part of the package shares (Principle 9 of the design).
PUBLIC = {"autograd", "autograd.check", "autograd.draw", "autograd.files"}
# The one import upwards: a notebook asking a Value or Tensor for its picture loads the
# drawing code then, so the engine runs without it (see ARCHITECTURE.md).
DISPLAY = {("autograd/value.py", "autograd.draw.render"),
           ("autograd/tensor.py", "autograd.draw.render")}


def _imports(path: Path) -> list[tuple[str, str]]:
    """(module, name) for every import in the file, at any depth; name is "" for `import m`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, "") for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found += [(node.module or "", alias.name) for alias in node.names]
    return found


def _layer(rel: str) -> str:
    """engine, check, draw, facade (autograd/__init__.py), nn or cli."""
    parts = rel.removesuffix(".py").split("/")
    if parts[0] == "nn":
        return "cli" if rel.startswith(CLI) else "nn"
    if parts[1] in ("check", "draw"):
        return parts[1]
    return "facade" if parts[1] == "__init__" else "engine"


def _within(module: str, *packages: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def _breaks(rel: str, module: str, name: str) -> bool:
    """Whether `from module import name` in the file at rel breaks its layer's rule."""
    layer = _layer(rel)
    if _within(module, "nn.cli", "nn.commands") or (module == "nn" and name in ("cli",
                                                                             "commands")):
        return layer != "cli"
    if _within(module, "nn"):
        return layer not in ("nn", "cli")
    if not _within(module, "autograd"):
        return False
    if layer in ("nn", "cli"):
        return module not in PUBLIC or name.startswith("_")
    if layer == "engine":
        wanted = name if module == "autograd" else module.removeprefix("autograd.").split(".")[0]
        return wanted in TOOLS and (rel, module) not in DISPLAY
    return False


def test_each_layer_imports_only_from_the_layers_below_it():
    broken = [f"{p.relative_to(ROOT)}: {module} {name}".strip()
              for p in _sources("autograd", "nn") for module, name in _imports(p)
              if _breaks(str(p.relative_to(ROOT)), module, name)]
    assert broken == []


@pytest.mark.parametrize("rel, module, name", [
    ("autograd/graph.py", "autograd.draw.render", "draw"),      # engine → pictures
    ("autograd/tensor.py", "autograd.check", "gradcheck"),      # engine → checks
    ("autograd/rules.py", "nn.layers", "MLP"),                  # engine → nn
    ("autograd/check/fd.py", "nn", "MLP"),                      # checks → nn
    ("autograd/draw/trace.py", "nn.layers", "MLP"),             # pictures → nn
    ("nn/layers.py", "autograd.rules", "linear"),               # nn → the engine's insides
    ("nn/layers.py", "autograd", "_modules"),                   # nn → a private name
    ("nn/train.py", "nn.cli", "main"),                          # nn → the command line
])
def test_the_rule_finds_each_kind_of_import_that_breaks_it(rel, module, name):
    assert _breaks(rel, module, name)


@pytest.mark.parametrize("rel, module, name", [
    ("autograd/tensor.py", "autograd", "rules"),
    ("autograd/tensor.py", "autograd.draw.render", "mimebundle"),
    ("autograd/draw/render.py", "autograd.graph", "Node"),
    ("nn/scalar.py", "autograd", "value_dot"),
    ("nn/gradtable.py", "autograd.check", "gradcheck"),
    ("nn/commands/train.py", "nn.train", "train"),
])
def test_the_rule_lets_each_layer_use_the_ones_below(rel, module, name):
    assert not _breaks(rel, module, name)


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


# One name, one job: a function or class name defined in two modules must do the same thing
# there, and these are the ones that do (or that a command module implements by protocol).
SHARED_NAMES = {
    "register": "each nn.commands module adds its subcommand",
    "run": "each nn.commands module runs its subcommand",
    "sigmoid": "σ: the engine's primitive, and nn.delta's plain numpy one",
    "_path": "a path argument checked for type, in nn.data and nn.module",
}
# autograd.ops gives each numpy function numpy's signature and calls the primitive of the same
# name in autograd.rules: one op, two layers of it.
OPS_OVER_RULES = ("autograd/ops.py", "autograd/rules.py")


def test_no_two_modules_give_one_name_to_different_functions():
    where: dict[str, list[str]] = {}
    for path in _sources("autograd", "nn"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                where.setdefault(node.name, []).append(str(path.relative_to(ROOT)))
    twice = {name: paths for name, paths in where.items()
             if len(paths) > 1 and name not in SHARED_NAMES
             and sorted(paths) != sorted(OPS_OVER_RULES)}
    assert twice == {}


# ---- the two tool packages are real packages that can also be called --------------------------

def test_check_and_draw_are_real_packages_and_the_documented_functions():
    import importlib
    import types

    import autograd
    from autograd import Tensor, Value, draw, gradcheck

    check = importlib.import_module("autograd.check")
    pictures = importlib.import_module("autograd.draw")
    assert isinstance(check, types.ModuleType) and isinstance(pictures, types.ModuleType)
    assert gradcheck is check is autograd.gradcheck and draw is pictures
    assert gradcheck(lambda x: (x * x).sum(), Tensor([1.0, 2.0])).ok
    assert draw(Value(2.0) * 3).source.startswith("digraph")
    for name in ("fd", "report", "sweep", "culprit"):
        assert importlib.import_module(f"autograd.check.{name}").__name__.endswith(name)
    for name in ("trace", "labels", "local", "summary", "render", "frames"):
        assert importlib.import_module(f"autograd.draw.{name}").__name__.endswith(name)


def test_the_documented_import_paths_keep_working():
    from autograd.gradcheck import locate_culprit, plot_sweep, sweep

    import autograd
    from autograd.draw import backward_frames, render, trace

    assert callable(autograd.trace) and autograd.trace is trace
    assert all(callable(f) for f in (backward_frames, render, locate_culprit, plot_sweep, sweep))
