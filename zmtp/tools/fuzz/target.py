"""The peer under test: delivering a case, probing that it is alive, watching its resources.

The probe is the oracle: after every case a fresh connection must complete a valid handshake (the
core's :class:`~zmtp.protocol.Connection` judges the target's bytes, so a target that breaks ZMTP in its
answer is caught too) and, for echo targets, get its message back, all within a deadline.  With a local
process id the target's resident memory and open file descriptors are read from ``/proc`` and must stay
within bounds of a baseline taken at the start.
"""

from __future__ import annotations

import os
import shlex
import socket
import struct
import subprocess
import time
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from zmtp.protocol import Connection, HandshakeComplete, MessageReceived, RemoteProtocolError

from .grammar import PEER_ROLE
from .mutators import EXCLUSIVE, Case

#: How long a target may stay quiet after a case before we move on (silence is legal: it may wait for more).
QUIET = 0.25


def parse_endpoint(endpoint: str) -> Tuple[str, int]:
    """``tcp://HOST:PORT`` -> (host, port)."""
    if not endpoint.startswith("tcp://"):
        raise ValueError(f"only tcp:// endpoints can be fuzzed, not {endpoint!r}")
    host, _, port = endpoint[6:].rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"endpoint needs a host and a port: {endpoint!r}")
    return host.strip("[]"), int(port)


@dataclass
class Outcome:
    """What the target did with one case."""

    sent: int = 0
    answered: int = 0
    closed: str = "open"  # "fin", "reset", "open" (still open at the deadline), "refused"
    seconds: float = 0.0
    error: Optional[str] = None  # the reason of an ERROR command the target sent, if any
    echoed: Optional[bool] = None  # for a valid session (Case.expect_echo): did the target answer it?


@dataclass
class ProbeResult:
    ok: bool
    kind: str = ""  # crash, hang, protocol, no-echo, memory, fds
    detail: str = ""
    seconds: float = 0.0


@dataclass
class Resources:
    rss_kib: int
    fds: int


def read_resources(pid: int) -> Optional[Resources]:
    """VmRSS (KiB) and the number of open descriptors of ``pid``, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            rss = next((int(line.split()[1]) for line in f if line.startswith("VmRSS:")), 0)
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except (OSError, ValueError):
        return None
    return Resources(rss, fds)


@dataclass
class Target:
    """A ZMTP peer at ``host:port`` of ``socket_type``; ``command`` (optional) starts it, ``pid`` watches it."""

    host: str
    port: int
    socket_type: str
    command: Optional[str] = None
    pid: Optional[int] = None
    echo: bool = True
    deadline: float = 2.0  # seconds for an answer, a handshake or an echo
    rss_limit_kib: int = 256 * 1024  # growth over the baseline that counts as a leak
    fd_slack: int = 32
    proc: Optional[subprocess.Popen[bytes]] = None
    baseline: Optional[Resources] = None
    restarts: int = 0
    #: True once the probe found that the target speaks ZMTP 2.0 (RFC 15), like JeroMQ 0.3.6.
    zmtp2: bool = False
    log: List[str] = field(default_factory=list)

    # -- the process -------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the target command (if any) and wait until it accepts connections."""
        if self.command:
            self.proc = subprocess.Popen(shlex.split(self.command), stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                         start_new_session=True)
            self.pid = self.proc.pid
        end = time.monotonic() + 30.0
        while True:
            try:
                socket.create_connection((self.host, self.port), timeout=1.0).close()
                break
            except OSError:
                if self.proc is not None and self.proc.poll() is not None:
                    raise RuntimeError(f"target command exited with status {self.proc.returncode}") from None
                if time.monotonic() > end:
                    raise RuntimeError(f"target at {self.host}:{self.port} does not accept connections") from None
                time.sleep(0.05)
        first = self.probe()
        if not first.ok:
            raise RuntimeError(f"target fails the probe before any case: {first.kind}: {first.detail}")
        if self.pid is not None:
            time.sleep(0.1)
            self.baseline = read_resources(self.pid)

    def stop(self) -> None:
        """Kill the target we started (a target given by --pid is left alone)."""
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            self.proc = None

    def restart(self) -> bool:
        """Kill and start the target again; False when it cannot be restarted (no command)."""
        if not self.command:
            return False
        self.stop()
        self.restarts += 1
        self.start()
        return True

    def exited(self) -> Optional[int]:
        """The exit status if our target process has died (None while it runs or when not ours)."""
        if self.proc is not None:
            return self.proc.poll()
        if self.pid is not None and not os.path.exists(f"/proc/{self.pid}"):
            return -1
        return None

    def _wait_exit(self, seconds: float = 1.0) -> Optional[int]:
        """The exit status, waiting a little: a dying process stops listening before it can be reaped."""
        end = time.monotonic() + seconds
        while True:
            status = self.exited()
            if status is not None or self.proc is None or time.monotonic() > end:
                return status
            time.sleep(0.02)

    # -- delivering a case -------------------------------------------------------------------------------
    def _connect(self) -> socket.socket:
        return socket.create_connection((self.host, self.port), timeout=self.deadline)

    def deliver(self, case: Case) -> Tuple[Outcome, List[socket.socket]]:
        """Send the case; return what happened and the sockets it holds open (``case.hold``)."""
        held: List[socket.socket] = []
        outcome = Outcome()
        t0 = time.monotonic()
        ours, _, echoes = PEER_ROLE.get(self.socket_type.upper(), ("PAIR", [b"probe"], True))
        for _ in range(max(1, case.connections)):
            try:
                s = self._connect()
            except OSError:
                outcome.closed = "refused"
                break
            # a valid session is judged by a Connection standing where we stand
            # (not for a PAIR or DEALER: whether a new peer gets its answer depends on when the target
            # let go of the previous connection, which the probe's patient retries account for)
            judged = case.expect_echo and echoes and self.echo and self.socket_type.upper() not in EXCLUSIVE
            # the same Connection also waits for the target's handshake before data (Case.sync_at)
            judge = Connection(ours, handshake_ivl=0) if judged or case.sync_at is not None else None
            if judged:
                outcome.echoed = False
            try:
                for i, chunk in enumerate(case.chunks):
                    if i and case.delay:
                        time.sleep(case.delay)
                    if i == case.sync_at and judge is not None:
                        self._read_answer(s, outcome, judge, until="handshake")
                    s.sendall(chunk)
                    outcome.sent += len(chunk)
                if case.half_close:
                    s.shutdown(socket.SHUT_WR)
            except OSError:
                outcome.closed = "reset"
            if case.connections == 1 and outcome.closed == "open":
                self._read_answer(s, outcome, judge if judged else None, until="echo" if judged else "quiet")
            if case.hold:
                held.append(s)
            else:
                if case.abort:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.close()
        outcome.seconds = time.monotonic() - t0
        return outcome, held

    def _read_answer(self, s: socket.socket, outcome: Outcome, judge: Optional[Connection] = None,
                     until: str = "quiet") -> None:
        """Read the target's answer: until it hangs up or goes quiet (keeping quiet is legal), or, with a
        ``judge``, until its handshake completes or a message (the echo) arrives, within the deadline."""
        end = time.monotonic() + (self.deadline if judge is not None else QUIET)
        while True:
            left = end - time.monotonic()
            if left <= 0:
                break
            s.settimeout(left)
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except OSError:
                outcome.closed = "reset"
                break
            if not chunk:
                outcome.closed = "fin"
                break
            if outcome.error is None:
                i = chunk.find(b"\x05ERROR")
                if i > 0:
                    n = chunk[i + 6] if len(chunk) > i + 6 else 0
                    outcome.error = bytes(chunk[i + 7 : i + 7 + n]).decode("utf-8", "replace")
            outcome.answered += len(chunk)
            if judge is not None:
                try:
                    events = judge.receive_data(chunk)
                except RemoteProtocolError:
                    return
                if until == "handshake" and judge.state.value == "established":
                    return
                if until == "echo" and any(isinstance(ev, MessageReceived) for ev in events):
                    outcome.echoed = True
                    return
            if outcome.answered > 1 << 22:
                break

    # -- the oracle --------------------------------------------------------------------------------------
    def probe(self) -> ProbeResult:
        """A fresh connection must complete a valid handshake and (echo targets) echo, in time."""
        t0 = time.monotonic()
        ours, msg, echoes = PEER_ROLE.get(self.socket_type.upper(), ("PAIR", [b"probe"], True))
        try:
            s = self._connect()
        except OSError as e:
            status = self._wait_exit()
            if status is not None:
                return ProbeResult(False, "crash", f"target process exited (status {status})", 0.0)
            return ProbeResult(False, "crash", f"connection refused: {e}", time.monotonic() - t0)
        conn = Connection(ours, handshake_ivl=0)
        want = [bytes(f) for f in msg]
        if want:
            want[-1] = want[-1] + b"-%d" % int(t0 * 1000)
        end = t0 + self.deadline
        stage = "handshake"
        try:
            s.sendall(b"".join(conn.data_to_send()))
            while True:
                left = end - time.monotonic()
                if left <= 0:
                    what = "handshake" if stage == "handshake" else "echo"
                    return ProbeResult(False, "hang" if stage == "handshake" else "no-echo",
                                       f"no {what} within {self.deadline:g} s", time.monotonic() - t0)
                s.settimeout(left)
                try:
                    data = s.recv(65536)
                except socket.timeout:
                    continue
                events = conn.receive_data(data, time.monotonic())
                out = conn.data_to_send()
                if out:
                    s.sendall(b"".join(out))
                for ev in events:
                    if isinstance(ev, HandshakeComplete):
                        self.zmtp2 = ev.version < (3, 0)
                        if not (self.echo and echoes):
                            return ProbeResult(True, seconds=time.monotonic() - t0)
                        stage = "echo"
                        conn.send_message(want)
                        s.sendall(b"".join(conn.data_to_send()))
                    elif isinstance(ev, MessageReceived) and stage == "echo":
                        if ev.frames == want:
                            return ProbeResult(True, seconds=time.monotonic() - t0)
                        return ProbeResult(False, "no-echo", f"echo came back as {ev.frames!r}, sent {want!r}",
                                           time.monotonic() - t0)
                if not data:
                    return ProbeResult(False, "crash" if self._wait_exit(0.5) is not None else "protocol",
                                       f"target closed the probe connection during the {stage}",
                                       time.monotonic() - t0)
        except RemoteProtocolError as e:
            return ProbeResult(False, "protocol", f"target broke ZMTP in its answer: {e.message}",
                               time.monotonic() - t0)
        except OSError as e:
            status = self._wait_exit(0.5)
            if status is not None:
                return ProbeResult(False, "crash", f"target process exited (status {status})",
                                   time.monotonic() - t0)
            kind = "protocol"
            return ProbeResult(False, kind, f"{type(e).__name__} during the {stage}: {e}", time.monotonic() - t0)
        finally:
            s.close()

    def check_resources(self) -> ProbeResult:
        """Memory and descriptors within bounds of the baseline (give the target a moment to close)."""
        if self.pid is None or self.baseline is None:
            return ProbeResult(True)
        end = time.monotonic() + 1.0
        while True:
            now = read_resources(self.pid)
            if now is None:
                return ProbeResult(False, "crash", "target process is gone")
            rss_over = now.rss_kib - self.baseline.rss_kib > self.rss_limit_kib
            fds_over = now.fds - self.baseline.fds > self.fd_slack
            if not (rss_over or fds_over) or time.monotonic() > end:
                break
            time.sleep(0.05)
        if rss_over:
            return ProbeResult(False, "memory", f"RSS grew from {self.baseline.rss_kib} KiB to {now.rss_kib} KiB")
        if fds_over:
            return ProbeResult(False, "fds", f"open descriptors grew from {self.baseline.fds} to {now.fds}")
        return ProbeResult(True)

    def check(self) -> ProbeResult:
        """The whole oracle: alive (probe, retried), then resources.

        A PAIR or DEALER target may still be attached to the case's connection (or the last probe's)
        when the probe arrives, and then rightly refuses it or sends its echo elsewhere: for those the
        probe is retried for a few seconds before the target is blamed.
        """
        retries = 6 if self.socket_type.upper() in EXCLUSIVE else 1
        r = self.probe()
        for _ in range(retries):
            if r.ok or r.kind == "crash":
                break
            time.sleep(0.3)
            r = self.probe()
        if not r.ok:
            return r
        return self.check_resources()
