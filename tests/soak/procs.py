"""Processes and what /proc says about them: the victim subprocess, RSS, CPU time, open fds, TCP queues.

Every figure of the suite is read from the kernel (``/proc/PID/status`` VmRSS, ``/proc/PID/stat`` utime and
stime, ``/proc/PID/fd``, ``/proc/net/tcp``), never estimated.  A :class:`Victim` is always killed by its
context manager, whatever happens in the test.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
VICTIM = os.path.join(HERE, "victim.py")
_TICK = os.sysconf("SC_CLK_TCK")
MiB = 1 << 20


def child_env() -> Dict[str, str]:
    """The environment for subprocesses: this checkout's zmtp first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def rss(pid: int) -> int:
    """Resident set size of ``pid`` in bytes (VmRSS)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of every thread of ``pid`` so far."""
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def tcp_queues(port: int) -> List[Tuple[int, int, int, int]]:
    """(local port, remote port, tx_queue, rx_queue) of every established loopback TCP socket that has
    ``port`` at either end (``/proc/net/tcp``): the bytes the kernel holds for each side."""
    out = []
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            parts = line.split()
            local, remote, state, queues = parts[1], parts[2], parts[3], parts[4]
            if state != "01":  # ESTABLISHED
                continue
            lport = int(local.split(":")[1], 16)
            rport = int(remote.split(":")[1], 16)
            if port not in (lport, rport):
                continue
            tx, rx = (int(x, 16) for x in queues.split(":"))
            out.append((lport, rport, tx, rx))
    return out


def freeze(pid: int, timeout: float = 5.0) -> None:
    """SIGSTOP ``pid`` and wait until every one of its threads is stopped (``/proc/PID/task/*/stat``
    state ``T``): a thread inside a system call stops only when the call returns, so until then the
    process may still move bytes.  Undo with :func:`thaw`."""
    try:
        os.kill(pid, signal.SIGSTOP)
    except ProcessLookupError:  # already gone: nothing left to stop
        return
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        states = []
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except FileNotFoundError:
            return
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/stat") as f:
                    text = f.read()
            except FileNotFoundError:  # a thread that just ended
                continue
            states.append(text[text.rindex(")") + 2])
        if all(s in "tTZX" for s in states):
            return
        time.sleep(0.0005)
    raise RuntimeError(f"process {pid} did not stop within {timeout} s")


def thaw(pid: int) -> None:
    """SIGCONT a process stopped by :func:`freeze`."""
    try:
        os.kill(pid, signal.SIGCONT)
    except ProcessLookupError:
        pass


def raise_nofile(want: int = 8192) -> None:
    """Raise this process's soft fd limit (attackers open many connections)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))


class Counters:
    """The victim's shared counter file (see victim.py)."""

    def __init__(self) -> None:
        fd, self.path = tempfile.mkstemp(prefix="zmtp-soak-")
        os.write(fd, bytes(64))
        os.close(fd)

    def read(self, slot: int = 0) -> int:
        with open(self.path, "rb") as f:
            data = f.read(64)
        return int(struct.unpack_from("<q", data, slot * 8)[0])

    def reset(self) -> None:
        with open(self.path, "r+b") as f:
            f.write(bytes(64))

    def close(self) -> None:
        try:
            os.unlink(self.path)
        except OSError:
            pass


class Victim:
    """A victim subprocess (victim.py).  Use as a context manager: it is SIGKILLed on exit."""

    def __init__(
        self,
        impl: str,
        sock_type: str,
        role: str,
        *,
        driver: str = "threaded",
        opts: Sequence[str] = (),
        bind: str = "tcp://127.0.0.1:*",
        extra: Sequence[str] = (),
        counters: Optional[Counters] = None,
        nofile: int = 0,
    ) -> None:
        self.impl = impl
        self.counters = counters if counters is not None else Counters()
        self._own_counters = counters is None
        cmd = [sys.executable, VICTIM, "--impl", impl, "--type", sock_type, "--role", role, "--driver", driver,
               "--bind", bind, "--counters", self.counters.path]
        for o in opts:
            cmd += ["--opt", o]
        if nofile:
            cmd += ["--nofile", str(nofile)]
        cmd += list(extra)
        self.cmd = cmd
        self.proc: Optional[subprocess.Popen[bytes]] = None
        self.endpoint = ""

    def start(self, timeout: float = 20.0) -> Victim:
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, env=child_env())
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline().decode() if ready else ""
        if not line.startswith("READY "):
            self.kill()
            if self._own_counters:
                self.counters.close()
            raise RuntimeError(f"victim did not start: {self.cmd} -> {line!r}")
        self.endpoint = line.split()[1]
        return self

    def __enter__(self) -> Victim:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.kill()
        if self._own_counters:
            self.counters.close()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def port(self) -> int:
        return int(self.endpoint.rsplit(":", 1)[1])

    @property
    def host_port(self) -> Tuple[str, int]:
        return "127.0.0.1", self.port

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def rss(self) -> int:
        return rss(self.pid)

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def fds(self) -> int:
        return fd_count(self.pid)

    def count(self, slot: int = 0) -> int:
        return self.counters.read(slot)

    def kill(self) -> None:
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            try:
                proc.send_signal(signal.SIGKILL)
            except OSError:
                pass
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            pass
        if proc.stdout is not None:
            proc.stdout.close()

    def settle_rss(self, seconds: float, step: float = 0.1) -> int:
        """The victim's RSS after ``seconds`` (the lowest seen in the last half, to skip a passing GC)."""
        end = time.monotonic() + seconds
        low = self.rss()
        while time.monotonic() < end:
            time.sleep(step)
            value = self.rss()
            if time.monotonic() > end - seconds / 2:
                low = min(low, value)
            else:
                low = value
        return low


class Peer:
    """A helper process running Python code (a pyzmq peer that must be killable: a sender in row 14,
    a peer to freeze with SIGSTOP).  ``code`` is run with ``ARGS`` bound to the extra arguments."""

    def __init__(self, code: str, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", f"import sys\nARGS = sys.argv[1:]\n{code}", *args],
            stdout=subprocess.PIPE, env=child_env(),
        )

    def line(self, timeout: float = 20.0) -> str:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        return self.proc.stdout.readline().decode().strip() if ready else ""

    def __enter__(self) -> Peer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.kill()

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGCONT)
                self.proc.send_signal(signal.SIGKILL)
            except OSError:
                pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            pass
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def wait_eof(s: socket.socket, timeout: float) -> Optional[float]:
    """Seconds until the peer closed ``s`` (EOF or reset), reading and discarding; None on timeout."""
    t0 = time.monotonic()
    s.settimeout(0.05)
    while time.monotonic() - t0 < timeout:
        try:
            if not s.recv(1 << 16):
                return time.monotonic() - t0
        except socket.timeout:
            continue
        except OSError:
            return time.monotonic() - t0
    return None


__all__ = ["Victim", "Peer", "Counters", "rss", "cpu_seconds", "fd_count", "tcp_queues", "raise_nofile",
           "child_env", "wait_eof", "MiB"]
