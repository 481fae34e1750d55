"""Both drivers (threaded: a background I/O thread; blocking: I/O inside the app's own calls) against
pyzmq peers: the same small scenarios pass with each, the blocking driver starts no thread, and
heartbeats work both ways (zmtp detects a silent peer; libzmq's PINGs are answered).
"""

from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from typing import Any, Iterator, List, Tuple

import pytest
import zmq
from robust_helpers import (
    DRIVERS,
    LOCAL,
    command,
    endpoint,
    greeting,
    make_zctx,
    pump,
    pyzmq_context,
    raw_handshake,
    read_frame,
    ready,
    recv_n,
    recv_one,
    stream_count,
    wait_connected,
    wait_eof,
    wait_until,
)

import zmtp


@pytest.fixture
def pctx() -> Iterator[zmq.Context]:
    yield from pyzmq_context()


@pytest.fixture(params=DRIVERS)
def zctx(request: Any) -> Iterator[zmtp.Context]:
    ctx = make_zctx(request.param)
    yield ctx
    ctx.destroy(linger=0)


def _pair(zctx: zmtp.Context, pctx: zmq.Context, ztype: int, ptype: int, zmtp_binds: bool) -> Tuple[Any, Any]:
    z = zctx.socket(ztype)
    z.linger = 0
    p = pctx.socket(ptype)
    p.linger = 0
    if zmtp_binds:
        z.bind(LOCAL)
        p.connect(endpoint(z))
    else:
        p.bind(LOCAL)
        z.connect(endpoint(p))
        wait_connected(z)
    return z, p


BINDS = pytest.mark.parametrize("zmtp_binds", [True, False], ids=["zmtp_binds", "zmtp_connects"])


# -- the same scenarios with both drivers -------------------------------------------------------------


@BINDS
def test_push_to_pyzmq_pull(zctx: zmtp.Context, pctx: zmq.Context, zmtp_binds: bool) -> None:
    push, pull = _pair(zctx, pctx, zmtp.PUSH, zmq.PULL, zmtp_binds)
    for i in range(200):
        push.send_multipart([b"k", b"%d" % i])
    assert recv_n(pull, 200, multipart=True, zsock=push) == [[b"k", b"%d" % i] for i in range(200)]


@BINDS
def test_pyzmq_push_to_pull(zctx: zmtp.Context, pctx: zmq.Context, zmtp_binds: bool) -> None:
    pull, push = _pair(zctx, pctx, zmtp.PULL, zmq.PUSH, zmtp_binds)
    for i in range(200):
        push.send(b"%d" % i)
    assert recv_n(pull, 200) == [b"%d" % i for i in range(200)]


@BINDS
def test_req_to_pyzmq_rep(zctx: zmtp.Context, pctx: zmq.Context, zmtp_binds: bool) -> None:
    req, rep = _pair(zctx, pctx, zmtp.REQ, zmq.REP, zmtp_binds)
    for i in range(20):
        req.send(b"q%d" % i)
        assert recv_one(rep, zsock=req) == b"q%d" % i
        rep.send(b"a%d" % i)
        assert recv_one(req) == b"a%d" % i


@BINDS
def test_pyzmq_req_to_rep(zctx: zmtp.Context, pctx: zmq.Context, zmtp_binds: bool) -> None:
    rep, req = _pair(zctx, pctx, zmtp.REP, zmq.REQ, zmtp_binds)
    for i in range(20):
        req.send_multipart([b"q", b"%d" % i])
        assert recv_one(rep, multipart=True) == [b"q", b"%d" % i]
        rep.send(b"a%d" % i)
        assert recv_one(req, zsock=rep) == b"a%d" % i


@BINDS
def test_pub_to_pyzmq_sub(zctx: zmtp.Context, pctx: zmq.Context, zmtp_binds: bool) -> None:
    pub, sub = _pair(zctx, pctx, zmtp.PUB, zmq.SUB, zmtp_binds)
    sub.subscribe(b"A")
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:  # until the subscription has arrived
        pub.send(b"Awarm")
        pump(pub, 0.01)
        if sub.poll(5):
            break
    while sub.poll(20):
        sub.recv()
    for i in range(50):
        pub.send(b"B%d" % i)
        pub.send(b"A%d" % i)
    assert recv_n(sub, 50, zsock=pub) == [b"A%d" % i for i in range(50)]
    assert not sub.poll(50)


@BINDS
def test_pyzmq_pub_to_sub(zctx: zmtp.Context, pctx: zmq.Context, zmtp_binds: bool) -> None:
    sub, pub = _pair(zctx, pctx, zmtp.SUB, zmq.PUB, zmtp_binds)
    sub.subscribe(b"A")
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:
        pub.send(b"Awarm")
        if sub.poll(10):
            break
    while sub.poll(20):
        sub.recv()
    for i in range(50):
        pub.send(b"B%d" % i)
        pub.send(b"A%d" % i)
    assert recv_n(sub, 50) == [b"A%d" % i for i in range(50)]
    assert not sub.poll(50)


@BINDS
def test_dealer_to_pyzmq_router(zctx: zmtp.Context, pctx: zmq.Context, zmtp_binds: bool) -> None:
    dealer, router = _pair(zctx, pctx, zmtp.DEALER, zmq.ROUTER, zmtp_binds)
    for i in range(50):
        dealer.send_multipart([b"", b"%d" % i])
    got = recv_n(router, 50, multipart=True, zsock=dealer)
    assert [m[1:] for m in got] == [[b"", b"%d" % i] for i in range(50)]
    rid = got[0][0]
    for i in range(50):
        router.send_multipart([rid, b"r%d" % i])
    assert recv_n(dealer, 50) == [b"r%d" % i for i in range(50)]


@BINDS
def test_pyzmq_dealer_to_router(zctx: zmtp.Context, pctx: zmq.Context, zmtp_binds: bool) -> None:
    router, dealer = _pair(zctx, pctx, zmtp.ROUTER, zmq.DEALER, zmtp_binds)
    dealer.routing_id = b"d1"  # before connect: set it again on a fresh socket
    dealer.close(0)
    dealer = pctx.socket(zmq.DEALER)
    dealer.linger = 0
    dealer.routing_id = b"d1"
    if zmtp_binds:
        dealer.connect(endpoint(router))
    else:
        router.close()
        dealer.bind(LOCAL)
        router = zctx.socket(zmtp.ROUTER)
        router.linger = 0
        router.connect(endpoint(dealer))
        wait_connected(router)
    for i in range(50):
        dealer.send(b"%d" % i)
    got = recv_n(router, 50, multipart=True)
    assert got == [[b"d1", b"%d" % i] for i in range(50)]
    for i in range(50):
        router.send_multipart([b"d1", b"r%d" % i])
    assert recv_n(dealer, 50, zsock=router) == [b"r%d" % i for i in range(50)]


# -- threads -------------------------------------------------------------------------------------------


def test_blocking_driver_starts_no_thread(pctx: zmq.Context) -> None:
    before = threading.active_count()
    names = {t.name for t in threading.enumerate()}
    ctx = zmtp.Context(driver="blocking")
    try:
        pull = ctx.socket(zmtp.PULL)
        pull.bind(LOCAL)
        push = ctx.socket(zmtp.PUSH)
        push.connect(endpoint(pull))
        rep = ctx.socket(zmtp.REP)
        rep.bind(LOCAL)
        req = pctx.socket(zmq.REQ)
        req.connect(endpoint(rep))
        req.send(b"ping")
        assert recv_one(rep) == b"ping"
        rep.send(b"pong")
        push.send(b"hello")
        assert recv_one(pull) == b"hello"
        assert req.recv() == b"pong"
        assert threading.active_count() == before
        assert {t.name for t in threading.enumerate()} == names
    finally:
        ctx.destroy(linger=0)
    assert threading.active_count() == before


def test_io_threads_zero_is_blocking() -> None:
    before = threading.active_count()
    ctx = zmtp.Context(io_threads=0)
    try:
        assert ctx.driver == "blocking"
        s = ctx.socket(zmtp.PULL)
        s.bind(LOCAL)
        assert threading.active_count() == before
    finally:
        ctx.destroy(linger=0)


def test_threaded_driver_has_one_thread_gone_after_term() -> None:
    before = threading.active_count()
    ctx = zmtp.Context()
    a = ctx.socket(zmtp.PULL)
    a.bind(LOCAL)
    b = ctx.socket(zmtp.PUSH)
    b.connect(endpoint(a))
    b.send(b"x")
    assert recv_one(a) == b"x"
    assert threading.active_count() == before + 1
    ctx.destroy(linger=0)
    assert wait_until(lambda: threading.active_count() == before, 2.0)


def test_blocking_driver_nothing_moves_between_calls(pctx: zmq.Context) -> None:
    """Documented behaviour: with the blocking driver a message sent just before a sleep waits for the
    next zmtp call (here the connection is not even made until then)."""
    pull = pctx.socket(zmq.PULL)
    pull.linger = 0
    pull.bind(LOCAL)
    ctx = zmtp.Context(driver="blocking")
    try:
        push = ctx.socket(zmtp.PUSH)
        push.linger = 0
        push.connect(endpoint(pull))
        push.send(b"later")
        assert not pull.poll(200)
        assert recv_one(pull, zsock=push) == b"later"
    finally:
        ctx.destroy(linger=0)


# -- heartbeats ------------------------------------------------------------------------------------


def _hb(z: Any, ivl: int = 50, timeout: int = 200) -> None:
    z.heartbeat_ivl = ivl
    z.heartbeat_timeout = timeout


def test_heartbeat_drops_silent_raw_peer(zctx: zmtp.Context) -> None:
    """A peer that completes the handshake and then goes silent (answers no PING) is dropped."""
    router = zctx.socket(zmtp.ROUTER)
    router.linger = 0
    _hb(router, 50, 200)
    router.bind(LOCAL)
    s = raw_handshake(endpoint(router), b"DEALER", zsock=router)
    try:
        t0 = time.monotonic()
        s.settimeout(0.005)
        got = b""
        while b"\x04PING" not in got and time.monotonic() - t0 < 2.0:  # we are PINGed ...
            pump(router, 0.01)
            try:
                got += s.recv(4096)
            except socket.timeout:
                pass
        assert b"\x04PING" in got
        assert wait_eof(s, 2.0, router), "a silent peer was never dropped"  # ... and never answer
        took = time.monotonic() - t0
        assert 0.15 < took < 1.5, took
        assert wait_until(lambda: stream_count(router) == 0, 1.0, router)
    finally:
        s.close()


def test_heartbeat_keeps_answering_raw_peer(zctx: zmtp.Context) -> None:
    """A raw peer that answers PINGs with PONGs stays connected well past the heartbeat timeout."""
    pull = zctx.socket(zmtp.PULL)
    pull.linger = 0
    _hb(pull, 50, 150)
    pull.bind(LOCAL)
    s = raw_handshake(endpoint(pull), b"PUSH", zsock=pull)
    try:
        deadline = time.monotonic() + 0.6
        pings = 0
        s.settimeout(0.005)
        buf = b""
        while time.monotonic() < deadline:
            pump(pull, 0.005)
            try:
                chunk = s.recv(4096)
            except socket.timeout:
                continue
            assert chunk, "dropped although it answered every PING"
            buf += chunk
            while len(buf) >= 2 and len(buf) >= 2 + buf[1]:
                body = buf[2:2 + buf[1]]
                buf = buf[2 + buf[1]:]
                if body[:5] == b"\x04PING":
                    pings += 1
                    s.sendall(command(b"PONG", body[7:]))
        assert pings >= 3
        assert stream_count(pull) == 1
        s.sendall(b"\x00\x05alive")
        assert recv_one(pull) == b"alive"
    finally:
        s.close()


def test_heartbeat_connecting_side_drops_silent_peer_and_reconnects(zctx: zmtp.Context) -> None:
    """A zmtp PUSH whose (raw) peer goes silent after the handshake drops it and reconnects."""
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(4)
    lsock.settimeout(0.005)
    port = lsock.getsockname()[1]
    push = zctx.socket(zmtp.PUSH)
    push.linger = 0
    push.reconnect_ivl = 20
    _hb(push, 50, 200)
    push.connect(f"tcp://127.0.0.1:{port}")
    accepted: List[Tuple[float, socket.socket]] = []
    try:
        deadline = time.monotonic() + 3.0
        while len(accepted) < 2 and time.monotonic() < deadline:
            pump(push, 0.01)
            try:
                conn, _ = lsock.accept()
            except socket.timeout:
                continue
            conn.settimeout(0.005)
            accepted.append((time.monotonic(), conn))
            conn.sendall(greeting() + ready(b"PULL"))  # then never a word more
        assert len(accepted) == 2, "the silent peer was not dropped and reconnected"
        gap = accepted[1][0] - accepted[0][0]
        assert 0.15 < gap < 1.5, gap
        first = accepted[0][1]
        first.settimeout(0.5)
        assert wait_eof(first, 0.5)
    finally:
        for _, c in accepted:
            c.close()
        lsock.close()


@pytest.mark.parametrize("pyzmq_binds", [True, False], ids=["pyzmq_binds", "pyzmq_connects"])
def test_libzmq_pings_are_answered(zctx: zmtp.Context, pctx: zmq.Context, pyzmq_binds: bool) -> None:
    """pyzmq with HEARTBEAT_IVL + HEARTBEAT_TIMEOUT stays connected to zmtp past the timeout."""
    p = pctx.socket(zmq.DEALER)
    p.linger = 0
    p.heartbeat_ivl = 50
    p.heartbeat_timeout = 150
    p.routing_id = b"hb"
    mon = p.get_monitor_socket(zmq.EVENT_DISCONNECTED | zmq.EVENT_HANDSHAKE_SUCCEEDED)
    z = zctx.socket(zmtp.ROUTER)
    z.linger = 0
    try:
        if pyzmq_binds:
            p.bind(LOCAL)
            z.connect(endpoint(p))
            wait_connected(z)
        else:
            z.bind(LOCAL)
            p.connect(endpoint(z))
        p.send(b"hi")
        assert recv_one(z, multipart=True) == [b"hb", b"hi"]
        with z.core.lock:
            first = next(iter(z.core.streams))
        events: List[int] = []
        deadline = time.monotonic() + 0.8  # > 5 x the timeout
        while time.monotonic() < deadline:
            pump(z, 0.01)  # the blocking driver answers PINGs while the app is inside a call
            while mon.poll(0):
                events.append(struct.unpack("=hi", mon.recv_multipart()[0])[0])
        assert zmq.EVENT_DISCONNECTED not in events, events
        with z.core.lock:
            assert z.core.streams == {first}, "the connection was replaced"
        z.send_multipart([b"hb", b"still here"])
        assert recv_one(p, zsock=z) == b"still here"
    finally:
        p.disable_monitor()
        mon.close(0)
        p.close(0)


def test_zmtp_pings_answered_by_libzmq(zctx: zmtp.Context, pctx: zmq.Context) -> None:
    """zmtp's own PINGs get libzmq's PONGs: a zmtp socket with a short timeout keeps its connection."""
    p = pctx.socket(zmq.ROUTER)
    p.linger = 0
    p.bind(LOCAL)
    z = zctx.socket(zmtp.DEALER)
    z.linger = 0
    _hb(z, 40, 120)
    z.connect(endpoint(p))
    z.send(b"hi")
    rid, body = recv_one(p, multipart=True, zsock=z)
    assert body == b"hi"
    with z.core.lock:
        first = next(iter(z.core.streams))
    pump(z, 0.7)
    with z.core.lock:
        assert z.core.streams == {first} and not first.closed, "dropped although libzmq answered PINGs"
    p.send_multipart([rid, b"still here"])
    assert recv_one(z) == b"still here"


def test_heartbeat_ttl_is_sent(zctx: zmtp.Context) -> None:
    """HEARTBEAT_TTL goes out in zmtp's PINGs (deciseconds), for the peer to time us out by."""
    pull = zctx.socket(zmtp.PULL)
    pull.linger = 0
    _hb(pull, 30, 1000)
    pull.heartbeat_ttl = 1500
    pull.bind(LOCAL)
    s = raw_handshake(endpoint(pull), b"PUSH", zsock=pull)
    try:
        deadline = time.monotonic() + 2.0
        s.settimeout(0.005)
        while time.monotonic() < deadline:
            pump(pull, 0.01)
            try:
                flags, body = read_frame(s)
            except socket.timeout:
                continue
            if body[:5] == b"\x04PING":
                assert struct.unpack(">H", body[5:7])[0] == 15
                return
        raise AssertionError("no PING")
    finally:
        s.close()


def test_peer_ttl_enforced(zctx: zmtp.Context) -> None:
    """A peer whose PING asks for a TTL and then goes silent is dropped after that TTL."""
    pull = zctx.socket(zmtp.PULL)
    pull.linger = 0
    pull.bind(LOCAL)
    s = raw_handshake(endpoint(pull), b"PUSH", zsock=pull)
    try:
        s.sendall(command(b"PING", struct.pack(">H", 3)))  # TTL 300 ms
        t0 = time.monotonic()
        s.settimeout(1.0)
        flags, body = read_frame(s) if (zctx.driver == 'threaded') else (4, b"\x04PONG")
        assert body[:5] == b"\x04PONG"
        assert wait_eof(s, 2.0, pull)
        took = time.monotonic() - t0
        assert 0.2 < took < 1.5, took
    finally:
        s.close()



_PEER_SCRIPT = """
import sys, time, zmq
ctx = zmq.Context()
s = ctx.socket(zmq.PUSH)
s.connect(sys.argv[1])
s.send(b"up")
time.sleep(30)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGSTOP"), reason="needs SIGSTOP")
def test_heartbeat_detects_stopped_pyzmq_process() -> None:
    """A pyzmq peer in another process that is frozen (SIGSTOP: its kernel still ACKs, it never PONGs)
    is dropped by zmtp's heartbeat."""
    ctx = make_zctx("threaded")
    proc = None
    try:
        pull = ctx.socket(zmtp.PULL)
        pull.linger = 0
        _hb(pull, 50, 200)
        pull.bind(LOCAL)
        proc = subprocess.Popen([sys.executable, "-c", _PEER_SCRIPT, endpoint(pull)])
        assert recv_one(pull, 10.0) == b"up"
        assert stream_count(pull) == 1
        os.kill(proc.pid, signal.SIGSTOP)
        t0 = time.monotonic()
        assert wait_until(lambda: stream_count(pull) == 0, 3.0), "a frozen peer was never dropped"
        took = time.monotonic() - t0
        assert 0.1 < took < 1.5, took
    finally:
        if proc is not None:
            proc.kill()
            proc.wait(5)
        ctx.destroy(linger=0)
