"""Interop matrix: grades zmtp (or any pyzmq-style module) against real ZeroMQ implementations.

Run ``python -m interop --help``.  Each peer implementation is a subprocess speaking a JSON-lines
control protocol (see ``interop/README.md``); the zmtp side runs in this process.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
