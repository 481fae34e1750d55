"""The ``zmtp`` logger: silent by default; when configured, it says why a connection was dropped in the
protocol core's own sentences, and logs reconnect attempts, handshake failures and accept failures.
The hot path never logs, and nothing is formatted for a logger that is off."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import textwrap
import time
from typing import Any, Iterator, List

import pytest
import zmq
from robust_helpers import greeting, ready

import zmtp
from zmtp.transport import failure

ENV = dict(os.environ, PYTHONPATH=os.pathsep.join(
    [os.path.dirname(os.path.dirname(os.path.abspath(zmtp.__file__)))] + sys.path))


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: List[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def wait_for(self, text: str, timeout: float = 3.0) -> logging.LogRecord:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for r in list(self.records):
                if text in r.getMessage():
                    return r
            time.sleep(0.01)
        raise AssertionError(f"no log record with {text!r}: {[r.getMessage() for r in self.records]}")


@pytest.fixture
def records() -> Iterator[Records]:
    logger = logging.getLogger("zmtp")
    handler = Records()
    old = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)


@pytest.fixture
def zctx() -> Iterator[zmtp.Context]:
    ctx = zmtp.Context()
    yield ctx
    ctx.destroy(linger=0)


def raw_server(reply: bytes) -> socket.socket:
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(4)
    lsock.settimeout(3)
    return lsock


def serve_once(lsock: socket.socket, reply: bytes) -> None:
    conn, _ = lsock.accept()
    conn.sendall(reply)
    conn.settimeout(1)
    try:
        conn.recv(4096)
        time.sleep(0.1)
    except OSError:
        pass
    conn.close()


def test_quiet_by_default() -> None:
    """With logging unconfigured nothing reaches stderr (Python's last-resort handler would print
    warnings), though a peer broke the protocol."""
    code = textwrap.dedent("""
        import socket, time, zmtp
        l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
        ctx = zmtp.Context(); s = ctx.socket(zmtp.REQ); s.linger = 0
        s.connect("tcp://127.0.0.1:%d" % l.getsockname()[1])
        c, _ = l.accept(); c.sendall(b"HTTP/1.1 400 Bad Request\\r\\n\\r\\n"); time.sleep(0.3)
        s.close(); ctx.term(); print("done")
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=30)
    assert proc.stdout.strip() == "done", proc.stderr
    assert proc.stderr == ""
    assert any(isinstance(h, logging.NullHandler) for h in logging.getLogger("zmtp").handlers)


def test_protocol_violation_in_the_cores_words(zctx: zmtp.Context, records: Records) -> None:
    """A peer that says it is a PUB to our REQ: a warning naming the endpoint, the rule, the reason."""
    lsock = raw_server(b"")
    ep = f"tcp://127.0.0.1:{lsock.getsockname()[1]}"
    s = zctx.socket(zmtp.REQ)
    s.linger = 0
    s.connect(ep)
    serve_once(lsock, greeting() + ready(b"PUB"))
    lsock.close()
    record = records.wait_for("cannot talk to")
    assert record.levelno == logging.WARNING and record.name == "zmtp"
    message = record.getMessage()
    assert message.startswith(f"{ep} (peer 127.0.0.1): handshake failed: ")
    assert "peer is a PUB socket, which a REQ socket cannot talk to (incompatible-socket-type)" in message
    records.wait_for(f"{ep}: reconnecting in ")


def test_http_peer_and_handshake_timeout(zctx: zmtp.Context, records: Records) -> None:
    s = zctx.socket(zmtp.ROUTER)
    s.linger = 0
    s.handshake_ivl = 100
    s.bind("tcp://127.0.0.1:*")
    ep = s.last_endpoint.decode()
    port = int(ep.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as c:
        c.sendall(b"GET / HTTP/1.1\r\n\r\n")
        r = records.wait_for("only ZMTP 3.x is supported")
        assert r.levelno == logging.WARNING
    with socket.create_connection(("127.0.0.1", port)):
        r = records.wait_for("did not complete the ZMTP handshake in time")
        assert r.levelno == logging.INFO and "(handshake-timeout)" in r.getMessage()


def test_connection_lost_after_handshake(zctx: zmtp.Context, records: Records) -> None:
    pctx = zmq.Context()
    try:
        p = pctx.socket(zmq.ROUTER)
        p.linger = 0
        p.bind("tcp://127.0.0.1:*")
        ep = p.last_endpoint.decode()
        s = zctx.socket(zmtp.DEALER)
        s.linger = 0
        s.connect(ep)
        s.send(b"x")
        assert p.recv_multipart()[1] == b"x"
        p.close()
        r = records.wait_for("connection lost")
        assert r.levelno == logging.DEBUG
        assert "(EPIPE)" in r.getMessage() or "(ECONNRESET)" in r.getMessage()
        records.wait_for("connect failed: Connection refused (ECONNREFUSED)")
    finally:
        pctx.destroy(0)


def test_reconnect_stop_is_logged(zctx: zmtp.Context, records: Records) -> None:
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    ep = f"tcp://127.0.0.1:{lsock.getsockname()[1]}"
    lsock.close()
    s = zctx.socket(zmtp.DEALER)
    s.linger = 0
    s.reconnect_stop = zmtp.RECONNECT_STOP_CONN_REFUSED
    s.connect(ep)
    r = records.wait_for("not reconnecting (RECONNECT_STOP)")
    assert r.levelno == logging.INFO


def test_accept_failure_emfile() -> None:
    """Out of file descriptors: ACCEPT_FAILED (EMFILE) for the monitor, a warning for the log, and the
    listener accepts again once descriptors are free (it backs off instead of spinning)."""
    code = textwrap.dedent("""
        import json, logging, os, resource, socket, time, zmtp
        got = []
        class H(logging.Handler):
            def emit(self, r): got.append((r.levelname, r.getMessage()))
        log = logging.getLogger("zmtp"); log.addHandler(H()); log.setLevel(logging.DEBUG)
        ctx = zmtp.Context(); s = ctx.socket(zmtp.ROUTER); s.linger = 0
        mon = s.get_monitor_socket(zmtp.EVENT_ACCEPTED | zmtp.EVENT_ACCEPT_FAILED)
        s.bind("tcp://127.0.0.1:*"); port = int(s.last_endpoint.decode().rsplit(":", 1)[1])
        clients = [socket.socket() for _ in range(3)]
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        nfd = len(os.listdir("/proc/self/fd"))
        resource.setrlimit(resource.RLIMIT_NOFILE, (nfd, hard))
        for c in clients:
            c.connect(("127.0.0.1", port))
        events = []
        def read(until, n):
            deadline = time.monotonic() + 5
            while sum(1 for e in events if e[0] == until) < n and time.monotonic() < deadline:
                if mon.poll(50):
                    ev = zmtp.utils.monitor.recv_monitor_message(mon)
                    events.append((int(ev["event"]), ev["value"]))
        read(int(zmtp.EVENT_ACCEPT_FAILED), 1)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        read(int(zmtp.EVENT_ACCEPTED), 3)
        print(json.dumps({"events": events, "log": got}))
        for c in clients: c.close()
        mon.close(); s.close(); ctx.term()
    """)
    code = "import zmtp.utils.monitor\n" + code
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    events = [tuple(e) for e in out["events"]]
    failed = (int(zmtp.EVENT_ACCEPT_FAILED), zmtp.EMFILE)
    assert failed in events
    assert events.count(failed) < 10, events  # backing off, not spinning
    assert sum(1 for e in events if e[0] == zmtp.EVENT_ACCEPTED) == 3, events
    warnings = [m for level, m in out["log"] if level == "WARNING" and "accept failed" in m]
    assert warnings and "Too many open files (EMFILE); trying again in " in warnings[0], out["log"]


def test_nothing_formatted_when_off_and_hot_path_silent(zctx: zmtp.Context, monkeypatch: Any) -> None:
    """With the logger off, a failing connection never builds its sentence; a message exchange never
    calls the logger at all."""
    calls: List[Any] = []

    def counting(error: BaseException) -> str:
        calls.append(error)
        return "x"

    monkeypatch.setattr("zmtp.transport.stream.describe", counting)
    monkeypatch.setattr("zmtp.core.describe", counting)
    logger = logging.getLogger("zmtp")
    monkeypatch.setattr(logger, "level", logging.CRITICAL + 1)
    lsock = raw_server(b"")
    s = zctx.socket(zmtp.REQ)
    s.linger = 0
    s.monitor("inproc://log-off", zmtp.EVENT_HANDSHAKE_FAILED_PROTOCOL)
    mon = zctx.socket(zmtp.PAIR)
    mon.connect("inproc://log-off")
    s.connect(f"tcp://127.0.0.1:{lsock.getsockname()[1]}")
    serve_once(lsock, greeting() + ready(b"PUB"))
    lsock.close()
    assert mon.poll(3000)  # the failure happened ...
    assert calls == []  # ... and nobody described it
    mon.close()
    s.close()

    monkeypatch.setattr(logger, "level", logging.DEBUG)
    seen: List[Any] = []
    monkeypatch.setattr(logger, "_log", lambda *a, **k: seen.append(a))
    a = zctx.socket(zmtp.PAIR)
    b = zctx.socket(zmtp.PAIR)
    a.linger = b.linger = 0
    a.bind("tcp://127.0.0.1:*")
    b.connect(a.last_endpoint.decode())
    seen.clear()
    for i in range(2000):
        b.send(b"%d" % i)
        assert a.recv() == b"%d" % i
    assert seen == []
    a.close()
    b.close()


def test_describe_sentences() -> None:
    from zmtp.protocol import ErrorReason, RemoteProtocolError

    exc = RemoteProtocolError(ErrorReason.BAD_FRAME, "peer sent a frame with reserved flag bits set (flags 0xf0)")
    assert failure.describe(exc) == "peer sent a frame with reserved flag bits set (flags 0xf0) (bad-frame)"
    assert failure.describe(ConnectionResetError(104, "Connection reset by peer")) == \
        "Connection reset by peer (ECONNRESET)"
    assert failure.describe(failure.PeerClosed()) == "peer closed the connection (EPIPE)"
