"""Peer implementations the matrix grades against.

Each peer is one small module in this package defining ``PEER = Peer(...)``.  Modules whose name ends
in ``_peer`` (and non-Python files such as ``JeroPeer.java``) are peer *drivers* - the programs that
speak the control protocol - and are not imported.  See interop/README.md.
"""

from __future__ import annotations

import importlib
import pkgutil
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, List, Optional, Sequence

HERE = Path(__file__).resolve().parent
PYZMQ_DRIVER = HERE / "pyzmq_peer.py"


class Unavailable(Exception):
    """The peer cannot be run here (package or tool missing); the message says why."""


@dataclass(frozen=True)
class Peer:
    name: str
    """Short column/row name, e.g. ``libzmq-4.3.5``."""
    description: str
    command: Callable[[], Sequence[str]]
    """Returns the argv that starts the driver; may build it first; raises :class:`Unavailable`."""
    check: Callable[[], Optional[str]] = lambda: None
    """Cheap availability check: ``None`` if usable, else the reason it is not."""
    transports: frozenset[str] = field(default_factory=lambda: frozenset({"tcp", "ipc"}))
    """Transports that interoperate with a real ZeroMQ socket (others are graded "n/a")."""
    mechanisms: frozenset[str] = field(default_factory=lambda: frozenset({"NULL"}))
    draft: frozenset[str] = frozenset()
    """libzmq's draft (thread-safe) socket types the driver can use with their API (routing ids,
    groups, ``join``); the draft pattern pairs of the others are graded "n/a"."""
    local: bool = False
    """Runs in the matrix's own process (a second context of ``zmtp``), not as a driver subprocess."""
    patterns: Optional[frozenset[str]] = None
    """Only these pattern pairs get cells for this peer (None: all)."""
    order: int = 100
    notes: str = ""

    def availability(self) -> Optional[str]:
        try:
            return self.check()
        except Exception as e:  # a broken check means "not available", with the reason
            return f"{type(e).__name__}: {e}"


def python_has_zmq(python: str) -> Optional[str]:
    """``None`` if ``python -c 'import zmq'`` works, else the reason."""
    exe = shutil.which(python) or python
    if not Path(exe).exists():
        return f"{python} not found"
    try:
        r = subprocess.run([exe, "-c", "import zmq, sys; sys.stdout.write(zmq.zmq_version())"],
                           capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"{python}: {e}"
    if r.returncode != 0:
        last = (r.stderr.strip().splitlines() or ["import zmq failed"])[-1]
        return f"{python}: {last}"
    return None


def discover() -> List[Peer]:
    peers: List[Peer] = []
    for info in pkgutil.iter_modules([str(HERE)]):
        if info.name.endswith("_peer") or info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{__name__}.{info.name}")
        peer = getattr(mod, "PEER", None)
        if isinstance(peer, Peer):
            peers.append(peer)
    peers.sort(key=lambda p: (p.order, p.name))
    return peers
