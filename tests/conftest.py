"""Shared pytest fixtures."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

# Full MNIST (the four IDX .gz files), where a checkout sits beside the data (as in CI), or
# where DELTAGRAD_MNIST says. Tests that need it skip when it is not there.
FULL_MNIST = Path(os.environ.get("DELTAGRAD_MNIST",
                                 Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"))

# ---- graphviz's `dot`: picture tests skip without it, except where it is required ---------

REQUIRE_DOT = "DELTAGRAD_REQUIRE_DOT"


def dot_or_skip() -> str:
    """The path of graphviz's `dot`. Without it the test is skipped, or fails when the
    environment variable DELTAGRAD_REQUIRE_DOT=1 says it must be there (as in CI)."""
    path = shutil.which("dot")
    if path is not None:
        return path
    if os.environ.get(REQUIRE_DOT) == "1":
        pytest.fail(f"graphviz 'dot' not installed, and {REQUIRE_DOT}=1 requires it")
    pytest.skip("graphviz 'dot' not installed")


@pytest.fixture
def dot() -> str:
    """For tests that render pictures: see dot_or_skip."""
    return dot_or_skip()


ROOT = Path(__file__).resolve().parents[1]


def load_script(relative: str) -> ModuleType:
    """A script of the repository (tools/, benchmarks/), imported as a module from its path."""
    path = ROOT / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module
