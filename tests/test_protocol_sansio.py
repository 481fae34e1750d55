"""The sans-IO guarantee: nothing in zmtp/protocol (subpackages included) may import I/O, clocks, threads or
randomness."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import List, Tuple

import pytest

import zmtp.protocol

FORBIDDEN = {
    "socket", "selectors", "select", "threading", "asyncio", "time", "os", "random",
    "subprocess", "ssl", "_thread", "multiprocessing", "secrets",
}

PROTOCOL_DIR = Path(zmtp.protocol.__file__).parent
MODULES = sorted(PROTOCOL_DIR.rglob("*.py"))


def forbidden_imports(source: str) -> List[Tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative imports stay inside the package
                continue
            names = [node.module or ""]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "__import__"
            or isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
        ):
            names = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        else:
            continue
        for name in names:
            if name.split(".")[0] in FORBIDDEN:
                found.append((node.lineno, name))
    return found


def test_modules_found() -> None:
    names = {p.name for p in MODULES}
    assert {"connection.py", "frames.py", "greeting.py", "commands.py", "metadata.py", "mechanism.py",
            "events.py", "errors.py", "sockettypes.py", "state.py"} <= names
    # every package below zmtp/protocol is scanned too
    packages = {p.parent for p in PROTOCOL_DIR.rglob("__init__.py")}
    assert all(any(m.parent == pkg for m in MODULES) for pkg in packages)


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(PROTOCOL_DIR)) for p in MODULES])
def test_no_io_imports(path: Path) -> None:
    assert forbidden_imports(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    "source",
    [
        "import socket",
        "import os.path",
        "import json, time",
        "from asyncio import sleep",
        "from threading import Lock",
        "from random import random",
        "import selectors as s",
        "def f():\n    import ssl",
        "try:\n    import subprocess\nexcept ImportError:\n    pass",
        "__import__('select')",
        "importlib.import_module('time')",
    ],
)
def test_checker_catches(source: str) -> None:
    assert forbidden_imports(source)


@pytest.mark.parametrize("source", ["import struct", "from . import time", "from .os import x", "import timeit"])
def test_checker_allows(source: str) -> None:
    assert forbidden_imports(source) == []
