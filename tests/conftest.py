"""Shared pytest fixtures."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

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
