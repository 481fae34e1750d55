"""Shared helpers for the socket-level tests (zmtp against real pyzmq/libzmq peers).

A :class:`Harness` owns one zmtp context (threaded or blocking driver) and one pyzmq context, makes
sockets on either, and tears everything down with linger 0.  Every wait has a deadline, so a bug fails
the test instead of hanging it.

The blocking driver does no I/O between calls.  When a test waits on the *pyzmq* side for something a
zmtp socket must send (or for a handshake), :meth:`Harness.pump` turns the zmtp reactor, as the zmtp
application's own next call would.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import time
from typing import Any, Callable, Iterator, List, Sequence

import pytest
import zmq

import zmtp

DRIVERS = ["threaded", "blocking"]
TRANSPORTS = ["tcp", "ipc"]
#: Default deadline (seconds) for anything we wait for.
WAIT = 3.0


def has_ipv6_loopback() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def is_zmtp(sock: Any) -> bool:
    return isinstance(sock, zmtp.Socket)


def pump(socks: Sequence[Any], duration: float = 0.002) -> bool:
    """Turn the reactor of every blocking-driver zmtp context among ``socks`` once.

    Returns True when some reactor was turned (so the caller need not sleep)."""
    turned = False
    seen = set()
    for s in socks:
        if not is_zmtp(s) or s.closed:
            continue
        ctx = s.context
        if id(ctx) in seen or ctx.driver != "blocking":
            continue
        seen.add(id(ctx))
        ctx.engine.spin(duration)
        turned = True
    return turned


class Harness:
    """Sockets on one zmtp context and one pyzmq context, with waits that never hang."""

    def __init__(self, driver: str, ipc_dir: str) -> None:
        self.driver = driver
        self.zctx = zmtp.Context(driver=driver)
        self.pctx = zmq.Context()
        self.ipc_dir = ipc_dir
        self.socks: List[Any] = []
        self._n = 0

    # -- making sockets ------------------------------------------------------------------------
    def zsock(self, kind: int, **opts: Any) -> zmtp.Socket:
        s = self.zctx.socket(kind)
        s.linger = 0
        s.sndtimeo = int(WAIT * 1000)  # a send that should not block fails instead of hanging
        for name, value in opts.items():
            setattr(s, name, value)
        self.socks.append(s)
        return s

    def psock(self, kind: int, **opts: Any) -> zmq.Socket:
        s = self.pctx.socket(kind)
        s.linger = 0
        s.sndtimeo = int(WAIT * 1000)
        for name, value in opts.items():
            setattr(s, name, value)
        self.socks.append(s)
        return s

    def sock(self, use_zmtp: bool, kind: int, **opts: Any) -> Any:
        return self.zsock(kind, **opts) if use_zmtp else self.psock(kind, **opts)

    def addr(self, transport: str) -> str:
        """A bind address: an ephemeral tcp port, or a fresh ipc path."""
        if transport == "tcp":
            return "tcp://127.0.0.1:*"
        if transport == "ipc":
            self._n += 1
            return f"ipc://{self.ipc_dir}/s{self._n}"
        if transport == "inproc":
            self._n += 1
            return f"inproc://h{id(self):x}-{self._n}"
        raise ValueError(transport)

    def bind(self, sock: Any, transport: str = "tcp") -> str:
        sock.bind(self.addr(transport))
        ep = sock.getsockopt(zmq.LAST_ENDPOINT)
        return ep.decode() if isinstance(ep, bytes) else ep

    def link(self, binder: Any, connecter: Any, transport: str = "tcp") -> str:
        ep = self.bind(binder, transport)
        connecter.connect(ep)
        return ep

    # -- waiting -------------------------------------------------------------------------------
    def pump(self) -> bool:
        self.nudge()
        return pump(self.socks)

    def nudge(self) -> None:
        """Let every pyzmq socket process its pending commands (new pipes, subscriptions)."""
        for s in self.socks:
            if not is_zmtp(s) and not s.closed:
                s.getsockopt(zmq.EVENTS)

    def idle(self, seconds: float) -> None:
        """Let time pass while keeping every blocking-driver reactor turning."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if not self.pump():
                time.sleep(0.002)

    def wait(self, cond: Callable[[], Any], what: str = "condition", timeout: float = WAIT) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = cond()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}")
            if not self.pump():
                time.sleep(0.002)

    def send(self, sock: Any, msg: List[bytes], timeout: float = WAIT) -> None:
        """Send a multipart message.  A pyzmq socket may have to wait for a blocking-driver zmtp peer
        to connect (nothing moves until zmtp is called), so it retries while pumping zmtp."""
        if is_zmtp(sock):
            sock.send_multipart(msg)
            return
        deadline = time.monotonic() + timeout
        while True:
            try:
                sock.send_multipart(msg, zmq.NOBLOCK)
                return
            except zmq.Again:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"pyzmq send would still block after {timeout}s")
            if not self.pump():
                time.sleep(0.002)

    def recv(self, sock: Any, timeout: float = WAIT) -> List[bytes]:
        """One whole multipart message from ``sock`` (zmtp or pyzmq), or AssertionError."""
        if is_zmtp(sock):
            # A blocking-driver recv turns its own reactor; pyzmq peers have their I/O thread, but a
            # libzmq socket handles pipe attachment only inside its own API calls (a bound SUB sends
            # its subscriptions to a new publisher only then): nudge them between short waits.
            old = sock.rcvtimeo
            deadline = time.monotonic() + timeout
            try:
                while True:
                    sock.rcvtimeo = 20
                    try:
                        return sock.recv_multipart()
                    except zmtp.Again:
                        pass
                    self.nudge()
                    if time.monotonic() > deadline:
                        raise AssertionError(f"zmtp {sock.core.type_name} recv timed out after {timeout}s")
            finally:
                sock.rcvtimeo = old
        deadline = time.monotonic() + timeout
        while True:
            try:
                return sock.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"pyzmq recv timed out after {timeout}s")
            if not self.pump():
                sock.poll(5)

    def nothing(self, sock: Any, seconds: float = 0.1) -> None:
        """Assert that ``sock`` receives nothing within ``seconds``."""
        self.idle(seconds)
        try:
            msg = sock.recv_multipart(zmq.NOBLOCK)
        except (zmq.Again, zmtp.Again):
            return
        raise AssertionError(f"unexpected message {msg!r}")

    def zmtp_peers(self, sock: zmtp.Socket, n: int) -> None:
        """Wait until the zmtp socket has ``n`` connected peers (handshakes done)."""
        def ready() -> bool:
            with sock.core.lock:
                return sum(1 for p in sock.core.pattern.pipes if p.data is not None and p.peer_socket_type) >= n
        self.wait(ready, f"{n} peer(s) on zmtp {sock.core.type_name}")

    def pyzmq_handshakes(self, monitor: Any, n: int) -> None:
        """Wait for ``n`` HANDSHAKE_SUCCEEDED events on a pyzmq monitor socket."""
        from zmq.utils.monitor import recv_monitor_message

        seen = 0
        deadline = time.monotonic() + WAIT
        while seen < n:
            if time.monotonic() > deadline:
                raise AssertionError(f"saw {seen} of {n} handshakes")
            if monitor.poll(5):
                ev = recv_monitor_message(monitor)
                if ev["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                    seen += 1
            else:
                self.pump()

    def close(self) -> None:
        for s in self.socks:
            try:
                s.close(linger=0)
            except Exception:
                pass
        self.zctx.destroy(linger=0)
        self.pctx.destroy(linger=0)


def short_tmpdir(tmp_path: Any) -> Iterator[str]:
    """``tmp_path`` if ipc paths fit in it (sun_path is ~107 bytes), else a short temporary dir."""
    path = str(tmp_path)
    if len(path) < 70:
        yield path
        return
    short = tempfile.mkdtemp(prefix="zt", dir="/tmp" if os.path.isdir("/tmp") else None)
    try:
        yield short
    finally:
        shutil.rmtree(short, ignore_errors=True)


@pytest.fixture(name="driver", params=DRIVERS)
def driver_fixture(request: Any) -> str:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(name="ipc_dir")
def ipc_dir_fixture(tmp_path: Any) -> Iterator[str]:
    yield from short_tmpdir(tmp_path)


@pytest.fixture(name="h")
def harness_fixture(driver: str, ipc_dir: str) -> Iterator[Harness]:
    harness = Harness(driver, ipc_dir)
    try:
        yield harness
    finally:
        harness.close()


def expect_errno(errno: int, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> zmtp.ZMQError:
    with pytest.raises(zmtp.ZMQError) as info:
        fn(*args, **kwargs)
    assert info.value.errno == errno, f"errno {info.value.errno} ({info.value}), expected {errno}"
    return info.value
