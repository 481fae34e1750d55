"""What a user's type checker and ``help()`` see.

* ``mypy --strict`` (run as a subprocess, as a user runs it) accepts the sample programs in
  ``tests/typing_samples/`` and infers the types named in their ``# revealed:`` comments: ``bytes`` from
  ``recv()``, ``Frame`` from ``recv(copy=False)``, ``list[bytes]`` from ``recv_multipart()``, every
  constant with its enum type.
* Every public class, function, method and property has a docstring, and ``Socket``/``Context`` have no
  public attribute pyzmq's don't have beyond zmtp's few documented extensions.
"""

from __future__ import annotations

import enum
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest
import zmq

import zmtp
import zmtp.utils.monitor

SAMPLES = Path(__file__).parent / "typing_samples"
ROOT = Path(zmtp.__file__).resolve().parent.parent


def run_mypy(tmp_path: Path, *files: Path) -> subprocess.CompletedProcess[str]:
    pytest.importorskip("mypy", reason="mypy is not installed (the CI's main interpreter installs it)")
    env = dict(os.environ, MYPYPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", str(tmp_path / "cache"),
         "--no-error-summary", "--show-error-codes", *map(str, files)],
        capture_output=True, text=True, cwd=str(tmp_path), env=env, timeout=300,
    )


@pytest.mark.slow
def test_mypy_strict_accepts_user_programs(tmp_path: Path) -> None:
    samples = sorted(SAMPLES.glob("*.py"))
    assert len(samples) >= 2
    proc = run_mypy(tmp_path, *samples)
    errors = [line for line in proc.stdout.splitlines() if ": error:" in line]
    assert not errors, proc.stdout
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # the samples really reached zmtp from this tree (not an installed copy)
    assert "zmtp" in (SAMPLES / "reveal.py").read_text()

    expected = {}
    for lineno, line in enumerate((SAMPLES / "reveal.py").read_text().splitlines(), 1):
        m = re.search(r"# revealed: (.+)$", line)
        if m:
            expected[lineno] = m.group(1).strip()
    assert len(expected) >= 20
    revealed = {}
    for line in proc.stdout.splitlines():
        m = re.match(r".*reveal\.py:(\d+): note: Revealed type is \"(.+)\"$", line)
        if m:
            revealed[int(m.group(1))] = m.group(2)

    def norm(t: str) -> str:
        return t.replace("builtins.", "").replace("Union[", "").replace("Optional[", "")

    assert {k: norm(v) for k, v in revealed.items()} == {k: norm(v) for k, v in expected.items()}


@pytest.mark.slow
def test_mypy_sees_a_wrong_type(tmp_path: Path) -> None:
    """The check is real: mypy rejects a program that treats ``recv()`` as a str or names a constant
    that does not exist."""
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import zmtp as zmq\n"
        "s = zmq.Context().socket(zmq.REQ)\n"
        "text: str = s.recv()\n"
        "frames: list[str] = s.recv_multipart()\n"
        "x = zmq.NO_SUCH_CONSTANT\n"
    )
    proc = run_mypy(tmp_path, bad)
    errors = [line for line in proc.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 3, proc.stdout
    assert any("bad.py:3" in e and "bytes" in e for e in errors)
    assert any("bad.py:5" in e and "NO_SUCH_CONSTANT" in e for e in errors)


# -- docstrings and the public surface ---------------------------------------------------------------


def _public_members(cls: type) -> List[str]:
    names = []
    for attr in dir(cls):
        if attr.startswith("_"):
            continue
        for klass in cls.__mro__:
            if attr in klass.__dict__:
                if klass.__module__.startswith("zmtp"):
                    names.append(attr)
                break
    return names


def test_every_public_api_has_a_docstring() -> None:
    undocumented = []
    objects = [(name, getattr(zmtp, name)) for name in zmtp.__all__]
    objects += [(f"utils.monitor.{n}", getattr(zmtp.utils.monitor, n)) for n in zmtp.utils.monitor.__all__]
    checked = 0
    for name, obj in objects:
        if isinstance(obj, (enum.Enum, int, str, bool, tuple)) or inspect.ismodule(obj):
            continue
        checked += 1
        if not (obj.__doc__ or "").strip():
            undocumented.append(name)
        if inspect.isclass(obj) and not issubclass(obj, enum.Enum):
            for attr in _public_members(obj):
                raw = inspect.getattr_static(obj, attr)
                target = raw.__func__ if isinstance(raw, (classmethod, staticmethod)) else raw
                if not (callable(target) or isinstance(target, property)):
                    continue
                checked += 1
                if not (getattr(target, "__doc__", None) or "").strip():
                    undocumented.append(f"{name}.{attr}")
    assert checked > 100
    assert not undocumented


#: Public attributes zmtp's Socket/Context have and pyzmq's don't: documented zmtp extensions (and
#: connect_peer, libzmq's draft zmq_connect_peer, which pyzmq has only when built with the draft API).
SOCKET_EXTENSIONS = {"core", "zmtp_version", "connect_peer"}
CONTEXT_EXTENSIONS = {"driver"}


def test_no_engine_methods_on_the_public_classes() -> None:
    # (join/leave: pyzmq's cffi backend, on PyPy, lacks them; its Cython backend has them)
    assert set(_public_members(zmtp.Socket)) - set(dir(zmq.Socket)) - {"join", "leave"} == SOCKET_EXTENSIONS
    assert set(_public_members(zmtp.Context)) - set(dir(zmq.Context)) == CONTEXT_EXTENSIONS
    assert set(_public_members(zmtp.Frame)) - set(dir(zmq.Frame)) <= {"fast_copy"}
    assert set(_public_members(zmtp.Poller)) - set(dir(zmq.Poller)) == set()
