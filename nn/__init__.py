"""deltagrad's neural-network library, built on the autograd engine's public API."""

__version__ = "0.1.0"
