"""Shared helpers for the robustness tests (bad input, reconnects, drivers) against real peers.

Peers are pyzmq (libzmq) sockets or raw TCP sockets written by hand; everything is on loopback with
ephemeral ports, and every wait has a deadline so that a bug fails a test instead of hanging it.
"""

from __future__ import annotations

import socket
import struct
import time
from typing import Any, Callable, Iterator, List, Optional

import zmq

import zmtp

DRIVERS = ["threaded", "blocking"]
LOCAL = "tcp://127.0.0.1:*"

# -- contexts --------------------------------------------------------------------------------------


def pyzmq_context() -> Iterator[zmq.Context]:
    """Body of each test module's ``pctx`` fixture: a pyzmq (libzmq) context, destroyed with linger 0."""
    ctx = zmq.Context()
    yield ctx
    ctx.destroy(linger=0)


def make_zctx(driver: str = "threaded") -> zmtp.Context:
    return zmtp.Context(driver=driver)


def endpoint(sock: Any) -> str:
    """The resolved endpoint of the last bind (works for zmtp and pyzmq sockets)."""
    ep = sock.getsockopt(zmtp.LAST_ENDPOINT)
    return ep.decode() if isinstance(ep, bytes) else ep


def port_of(ep: str) -> int:
    return int(ep.rsplit(":", 1)[1])


def host_port(ep: str) -> tuple[str, int]:
    host, port = ep[len("tcp://"):].rsplit(":", 1)
    return host, int(port)


# -- waiting ---------------------------------------------------------------------------------------


def pump(zsock: Any, seconds: float) -> None:
    """Let ``seconds`` pass while a zmtp socket's context does its I/O: a blocking-driver context is run
    by hand (nothing else turns its crank); a threaded one just does its work in its own thread."""
    ctx = zsock.context
    if (ctx.driver == 'threaded'):
        time.sleep(seconds)
        return
    ctx.engine.spin(seconds)


def wait_until(pred: Callable[[], bool], timeout: float = 3.0, zsock: Any = None, step: float = 0.01) -> bool:
    """Poll ``pred`` until true or ``timeout``; ``zsock`` (a zmtp socket) is pumped meanwhile, which is
    what turns the crank of a blocking-driver context."""
    deadline = time.monotonic() + timeout
    while True:
        if pred():
            return True
        if time.monotonic() >= deadline:
            return bool(pred())
        if zsock is not None:
            pump(zsock, step)
        else:
            time.sleep(step)


def recv_n(sock: Any, n: int, timeout: float = 3.0, multipart: bool = False, zsock: Any = None) -> List[Any]:
    """Receive ``n`` messages from a zmtp or pyzmq socket, giving up (not hanging) after ``timeout``.

    ``zsock``: a blocking-driver zmtp socket at the other end, pumped while waiting.
    """
    got: List[Any] = []
    deadline = time.monotonic() + timeout
    blocking = zsock is not None and not (zsock.context.driver == 'threaded')
    while len(got) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        if blocking:
            pump(zsock, 0.005)
            left = 0.005
        if sock.poll(max(1, int(left * 1000)), zmtp.POLLIN):
            while len(got) < n:
                try:
                    got.append(sock.recv_multipart(zmtp.DONTWAIT) if multipart else sock.recv(zmtp.DONTWAIT))
                except (zmtp.Again, zmq.Again):
                    break
    return got


def recv_one(sock: Any, timeout: float = 3.0, multipart: bool = False, zsock: Any = None) -> Any:
    got = recv_n(sock, 1, timeout, multipart, zsock)
    assert got, f"nothing received within {timeout} s"
    return got[0]


def drain(sock: Any, quiet: float = 0.2, zsock: Any = None) -> List[Any]:
    """Receive (multipart) until ``quiet`` seconds pass with nothing arriving."""
    got = []
    while True:
        if zsock is not None:
            pump(zsock, 0.005)
        if not sock.poll(int(quiet * 1000), zmtp.POLLIN):
            return got
        got.append(sock.recv_multipart(zmtp.DONTWAIT))


def still_serving(zsock: Any, psock: Any, tag: bytes = b"x", timeout: float = 3.0) -> None:
    """Assert that a good pyzmq peer and the zmtp socket still exchange a message.

    Supported pairs: zmtp PULL / pyzmq PUSH, zmtp ROUTER / pyzmq DEALER (both ways), zmtp XPUB or PUB /
    pyzmq SUB subscribed to everything.
    """
    kind = zsock.type
    if kind == zmtp.PULL:
        psock.send(tag)
        assert recv_one(zsock, timeout) == tag
    elif kind == zmtp.ROUTER:
        psock.send(tag)
        rid, body = recv_one(zsock, timeout, multipart=True)
        assert body == tag
        zsock.send_multipart([rid, b"re:" + tag])
        assert recv_one(psock, timeout) == b"re:" + tag
    elif kind in (zmtp.XPUB, zmtp.PUB):
        # a publisher drops what nobody is subscribed to yet: publish until one arrives
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            zsock.send(tag)
            pump(zsock, 0.001 if (zsock.context.driver == 'threaded') else 0.02)
            while psock.poll(5 if (zsock.context.driver == 'threaded') else 30, zmtp.POLLIN):
                if psock.recv() == tag:  # (earlier checks' extra copies may come first)
                    return
        raise AssertionError("the publisher no longer reaches its good subscriber")
    else:  # pragma: no cover - test bug
        raise AssertionError(f"no exchange defined for {zsock.core.type_name}")


# -- raw wire bytes --------------------------------------------------------------------------------


def greeting(minor: int = 1, major: int = 3, mechanism: bytes = b"NULL", as_server: int = 0) -> bytes:
    return (b"\xff" + bytes(8) + b"\x7f" + bytes((major, minor)) + mechanism.ljust(20, b"\x00")
            + bytes((as_server,)) + bytes(31))


def frame(body: bytes, *, more: bool = False, command: bool = False, extra_flags: int = 0) -> bytes:
    flags = (0x01 if more else 0) | (0x04 if command else 0) | extra_flags
    if len(body) > 255:
        return bytes((flags | 0x02,)) + struct.pack(">Q", len(body)) + body
    return bytes((flags, len(body))) + body


def command(name: bytes, data: bytes = b"") -> bytes:
    return frame(bytes((len(name),)) + name + data, command=True)


def prop(name: bytes, value: bytes) -> bytes:
    return bytes((len(name),)) + name + struct.pack(">I", len(value)) + value


def ready(socket_type: bytes, identity: Optional[bytes] = None) -> bytes:
    data = prop(b"Socket-Type", socket_type)
    if identity is not None:
        data += prop(b"Identity", identity)
    return command(b"READY", data)


def raw_connect(ep: str, timeout: float = 3.0) -> socket.socket:
    s = socket.create_connection(host_port(ep), timeout=timeout)
    s.settimeout(timeout)
    return s


def recv_exact(s: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError(f"EOF after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def read_frame(s: socket.socket) -> tuple[int, bytes]:
    flags, size = recv_exact(s, 2)
    if flags & 0x02:
        size = struct.unpack(">Q", bytes((size,)) + recv_exact(s, 7))[0]
    return flags, recv_exact(s, size)


def raw_handshake(ep: str, socket_type: bytes, identity: Optional[bytes] = None,
                  timeout: float = 3.0, zsock: Any = None, sndbuf: int = 0) -> socket.socket:
    """A raw TCP client that completes a NULL handshake by hand (then does whatever the test likes).

    ``zsock``: the zmtp socket at the other end, pumped meanwhile if its context is blocking-driver.
    """
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if sndbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
    s.settimeout(timeout)
    s.connect(host_port(ep))
    s.sendall(greeting() + ready(socket_type, identity))
    blocking = zsock is not None and not (zsock.context.driver == 'threaded')
    buf = b""
    deadline = time.monotonic() + timeout
    while True:
        # the greeting, then a READY short enough for a 1-byte size
        if len(buf) >= 66 and len(buf) >= 66 + buf[65]:
            break
        assert time.monotonic() < deadline, f"no handshake from the zmtp socket: {buf!r}"
        if blocking:
            pump(zsock, 0.005)
            s.settimeout(0.005)
        try:
            chunk = s.recv(4096)
        except socket.timeout:
            continue
        assert chunk, f"EOF during the handshake: {buf!r}"
        buf += chunk
    s.settimeout(timeout)
    assert buf[0] == 0xFF and buf[10] == 3, buf
    assert buf[64] & 0x04 and buf[67:72] == b"READY", buf
    assert len(buf) == 66 + buf[65], "extra bytes after READY"
    return s


def wait_eof(s: socket.socket, timeout: float = 3.0, zsock: Any = None) -> bool:
    """True once the peer closed the connection (EOF or reset); what it sent first is discarded.

    ``zsock``: the zmtp socket at the other end, pumped meanwhile if its context is blocking-driver.
    """
    deadline = time.monotonic() + timeout
    blocking = zsock is not None and not (zsock.context.driver == 'threaded')
    first = True
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        if blocking:
            if not first:
                pump(zsock, 0.01)
            first = False
            left = 0.0005
        s.settimeout(left)
        try:
            data = s.recv(65536)
        except socket.timeout:
            if blocking:
                continue
            return False
        except (ConnectionResetError, BrokenPipeError, ConnectionAbortedError):
            return True
        if not data:
            return True


def established(zsock: Any) -> int:
    """How many of a zmtp socket's connections have completed their handshake."""
    with zsock.core.lock:
        return sum(1 for st in zsock.core.streams if st.pipe is not None and not st.closed)


def wait_connected(zsock: Any, n: int = 1, timeout: float = 3.0) -> None:
    """Wait (pumping a blocking-driver context) until ``n`` connections are handshaken.  Needed before
    a libzmq PUSH/DEALER/REQ binder sends to a zmtp socket that connects: libzmq blocks without a peer."""
    assert wait_until(lambda: established(zsock) >= n, timeout, zsock), "no connection"


def stream_count(zsock: Any) -> int:
    """How many connections a zmtp socket holds (its internal stream set)."""
    with zsock.core.lock:
        return len(zsock.core.streams)
