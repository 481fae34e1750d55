"""libzmq 4.3.5 with the draft API, through zeromq.js 6.x (npm ``zeromq``), driven by zeromqjs/peer.js.

pyzmq's wheels are built without libzmq's draft API, so this is the matrix's only real peer for the
draft socket types (CLIENT/SERVER, RADIO/DISH, SCATTER/GATHER, CHANNEL); it runs the classic pairs
too.  The package is installed on first use by ``npm install`` into ``zeromqjs/node_modules`` (the
matrix owns that folder; it is git-ignored).  ``--ignore-scripts``: the package ships prebuilt
``addon.node`` binaries (linux x64/arm64 glibc and musl, darwin), and its install script would only
try a from-source build that downloads libzmq.  No lockfile is written: package.json pins the
version.  When node or npm is missing, the install fails, or the addon does not load on this
platform, the peer is "unavailable" with that reason (the grid shows it; it is never dropped).
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
from typing import List, Optional

from . import HERE, Peer, Unavailable

FOLDER = HERE / "zeromqjs"
DRIVER = FOLDER / "peer.js"
INSTALL_TIMEOUT = 600.0


def _pinned() -> str:
    deps = json.loads((FOLDER / "package.json").read_text())["dependencies"]
    return str(deps["zeromq"])


def _installed() -> Optional[str]:
    """The installed zeromq.js version, or None."""
    try:
        return str(json.loads((FOLDER / "node_modules" / "zeromq" / "package.json").read_text())["version"])
    except (OSError, ValueError, KeyError):
        return None


def _check() -> Optional[str]:
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            return f"{tool} not found (install Node.js >= 18 with npm)"
    return None


def _install() -> None:
    """``npm install`` the pinned zeromq.js once (a file lock keeps concurrent runs from racing)."""
    want = _pinned()
    if _installed() == want:
        return
    with open(FOLDER / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _installed() == want:
            return
        npm = shutil.which("npm") or "npm"
        try:
            r = subprocess.run(
                [npm, "install", "--ignore-scripts", "--no-audit", "--no-fund", "--no-package-lock",
                 "--loglevel=error"],
                cwd=FOLDER, capture_output=True, text=True, timeout=INSTALL_TIMEOUT,
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            raise Unavailable(f"npm install zeromq@{want} failed: {e}") from e
        if r.returncode != 0 or _installed() != want:
            tail = (r.stderr.strip() or r.stdout.strip())[-400:]
            raise Unavailable(f"npm install zeromq@{want} failed (exit {r.returncode}): {tail}")


def _command() -> List[str]:
    reason = _check()
    if reason:
        raise Unavailable(reason)
    _install()
    node = shutil.which("node") or "node"
    # load the native addon now, so a missing prebuilt binary is reported as the reason
    try:
        r = subprocess.run(
            [node, "--no-warnings", "-e",
             "const z=require('zeromq');require('zeromq/draft');process.stdout.write(z.version)"],
            cwd=FOLDER, capture_output=True, text=True, timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise Unavailable(f"node cannot start: {e}") from e
    if r.returncode != 0:
        lines = r.stderr.strip().splitlines() or ["require('zeromq') failed"]
        raise Unavailable(f"zeromq.js does not load here (no prebuilt addon?): {lines[0][:300]}")
    return [node, "--no-warnings", str(DRIVER)]


PEER = Peer(
    name="zeromqjs",
    description="libzmq 4.3.5 with the draft API, via zeromq.js 6.x (npm install on first use)",
    command=_command,
    check=_check,
    transports=frozenset({"tcp", "ipc", "udp"}),
    mechanisms=frozenset({"NULL", "PLAIN", "CURVE", "ZAP"}),
    # no PEER: zeromq.js has neither a Peer class nor connect_peer
    draft=frozenset({"CLIENT", "SERVER", "RADIO", "DISH", "SCATTER", "GATHER", "CHANNEL"}),
    order=40,
    notes="the only peer with libzmq's draft socket types",
)
