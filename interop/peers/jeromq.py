"""JeroMQ (pure Java) from Debian's libjeromq-java, driven by JeroPeer.java compiled on first use."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import List, Optional

from . import HERE, Peer, Unavailable

JAR = Path("/usr/share/java/jeromq.jar")
SOURCE = HERE / "JeroPeer.java"


def _check() -> Optional[str]:
    if not JAR.exists():
        return f"{JAR} missing (apt-get install libjeromq-java)"
    for tool in ("java", "javac"):
        if shutil.which(tool) is None:
            return f"{tool} not found (apt-get install default-jdk-headless)"
    return None


def _command() -> List[str]:
    reason = _check()
    if reason:
        raise Unavailable(reason)
    key = hashlib.sha256(SOURCE.read_bytes() + str(JAR.stat().st_mtime_ns).encode()).hexdigest()[:12]
    out = Path(tempfile.gettempdir()) / f"zmtp-interop-jeropeer-{key}"
    if not (out / "JeroPeer.class").exists():
        tmp = Path(tempfile.mkdtemp(prefix="jeropeer-build-", dir=tempfile.gettempdir()))
        r = subprocess.run(["javac", "-nowarn", "-cp", str(JAR), "-d", str(tmp), str(SOURCE)],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            raise Unavailable(f"javac failed: {r.stderr.strip()[-500:]}")
        try:
            os.replace(tmp, out)
        except OSError:  # a concurrent build won the race
            shutil.rmtree(tmp, ignore_errors=True)
    return ["java", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xss512k",
            "-cp", f"{out}{os.pathsep}{JAR}", "JeroPeer"]


PEER = Peer(
    name="jeromq",
    description="JeroMQ (Debian libjeromq-java; 0.3.6 is a port of libzmq 3.2.5 and speaks ZMTP/2.0)",
    command=_command,
    check=_check,
    # JeroMQ's ipc:// is TCP on loopback, not a Unix socket: it cannot meet a real ipc endpoint.
    transports=frozenset({"tcp"}),
    order=30,
)
