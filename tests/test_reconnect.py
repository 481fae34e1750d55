"""Reconnects: nothing ZeroMQ promises to deliver is lost, and nothing is delivered twice.

A zmtp socket connects to a pyzmq (libzmq) socket that goes away and is bound again on the same port
(and the reverse: pyzmq connects to a zmtp socket that restarts).  Messages queued while the peer is
down, within SNDHWM, are all delivered once it is back, in order, exactly once.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any, Iterator, List

import pytest
import zmq
from robust_helpers import (
    DRIVERS,
    LOCAL,
    drain,
    endpoint,
    greeting,
    make_zctx,
    pump,
    pyzmq_context,
    ready,
    recv_n,
    recv_one,
    stream_count,
    wait_eof,
    wait_until,
)

import zmtp
from zmtp.transport import stream as stream_mod


@pytest.fixture
def pctx() -> Iterator[zmq.Context]:
    yield from pyzmq_context()


@pytest.fixture(params=DRIVERS)
def zctx(request: Any) -> Iterator[zmtp.Context]:
    ctx = make_zctx(request.param)
    yield ctx
    ctx.destroy(linger=0)


def _pbind(pctx: zmq.Context, kind: int, addr: str = LOCAL, **opts: Any) -> zmq.Socket:
    """A bound pyzmq socket.  Rebinding a port a pyzmq socket just closed is retried for a moment:
    libzmq closes its listener asynchronously, in its I/O thread."""
    s = pctx.socket(kind)
    s.linger = 0
    for k, v in opts.items():
        setattr(s, k, v)
    deadline = time.monotonic() + 2.0
    while True:
        try:
            s.bind(addr)
            return s
        except zmq.ZMQError as exc:
            if exc.errno != zmq.EADDRINUSE or time.monotonic() > deadline:
                s.close(0)
                raise
            time.sleep(0.005)


def _zconnect(zctx: zmtp.Context, kind: int, ep: str, **opts: Any) -> zmtp.Socket:
    z = zctx.socket(kind)
    z.linger = 0
    z.reconnect_ivl = 20
    for k, v in opts.items():
        setattr(z, k, v)
    z.connect(ep)
    return z


def _gone(z: zmtp.Socket) -> bool:
    """wait_until predicate: the zmtp socket noticed its only peer left."""
    return stream_count(z) == 0


# -- zmtp connects, the pyzmq binder restarts -------------------------------------------------------


def test_push_queues_while_peer_down(zctx: zmtp.Context, pctx: zmq.Context) -> None:
    pull = _pbind(pctx, zmq.PULL)
    ep = endpoint(pull)
    push = _zconnect(zctx, zmtp.PUSH, ep)
    for i in range(10):
        push.send(b"%d" % i)
    assert recv_n(pull, 10, zsock=push) == [b"%d" % i for i in range(10)]
    pull.close(0)
    assert wait_until(lambda: _gone(push), 3.0, push)
    for i in range(10, 510):  # within SNDHWM (1000): never blocks
        push.send(b"%d" % i, zmtp.DONTWAIT)
    pump(push, 0.1)  # reconnect attempts fail meanwhile
    pull = _pbind(pctx, zmq.PULL, ep)
    got = recv_n(pull, 500, zsock=push)
    got += drain(pull, 0.1, push)  # no duplicates trailing behind
    assert got == [b"%d" % i for i in range(10, 510)]


def test_push_several_restarts(zctx: zmtp.Context, pctx: zmq.Context) -> None:
    pull = _pbind(pctx, zmq.PULL)
    ep = endpoint(pull)
    push = _zconnect(zctx, zmtp.PUSH, ep)
    expected: List[bytes] = []
    got: List[bytes] = []
    n = 0
    for _round in range(4):
        for _ in range(50):
            push.send(b"%d" % n)
            expected.append(b"%d" % n)
            n += 1
        got += recv_n(pull, 50, zsock=push)
        pull.close(0)
        assert wait_until(lambda: _gone(push), 3.0, push)
        for _ in range(50):
            push.send(b"%d" % n, zmtp.DONTWAIT)
            expected.append(b"%d" % n)
            n += 1
        pull = _pbind(pctx, zmq.PULL, ep)
        got += recv_n(pull, 50, zsock=push)
    got += drain(pull, 0.1, push)
    assert got == expected


def test_push_blocks_at_sndhwm_while_down(zctx: zmtp.Context, pctx: zmq.Context) -> None:
    """While the peer is down the queue is bounded by SNDHWM: the (hwm+1)th send would block."""
    ep = _dead_endpoint(pctx)
    push = _zconnect(zctx, zmtp.PUSH, ep, sndhwm=20)
    for i in range(20):
        push.send(b"%d" % i, zmtp.DONTWAIT)
    with pytest.raises(zmtp.Again):
        push.send(b"over", zmtp.DONTWAIT)
    pull = _pbind(pctx, zmq.PULL, ep)
    assert recv_n(pull, 20, zsock=push) + drain(pull, 0.1, push) == [b"%d" % i for i in range(20)]
    push.send(b"over", zmtp.DONTWAIT)  # room again
    assert recv_one(pull, zsock=push) == b"over"


def test_dealer_queues_while_peer_down(zctx: zmtp.Context, pctx: zmq.Context) -> None:
    router = _pbind(pctx, zmq.ROUTER)
    ep = endpoint(router)
    dealer = _zconnect(zctx, zmtp.DEALER, ep, routing_id=b"dealer-1")
    dealer.send_multipart([b"hello", b"0"])
    assert recv_one(router, multipart=True, zsock=dealer) == [b"dealer-1", b"hello", b"0"]
    router.send_multipart([b"dealer-1", b"welcome"])
    assert recv_one(dealer) == b"welcome"
    router.close(0)
    assert wait_until(lambda: _gone(dealer), 3.0, dealer)
    for i in range(200):
        dealer.send_multipart([b"m", b"%d" % i], zmtp.DONTWAIT)
    router = _pbind(pctx, zmq.ROUTER, ep)
    got = recv_n(router, 200, multipart=True, zsock=dealer) + drain(router, 0.1, dealer)
    assert got == [[b"dealer-1", b"m", b"%d" % i] for i in range(200)]
    router.send_multipart([b"dealer-1", b"back"])  # and replies route to it again
    assert recv_one(dealer) == b"back"


def test_req_request_sent_while_rep_down(zctx: zmtp.Context, pctx: zmq.Context) -> None:
    rep = _pbind(pctx, zmq.REP)
    ep = endpoint(rep)
    req = _zconnect(zctx, zmtp.REQ, ep)
    req.send(b"q0")
    assert recv_one(rep, zsock=req) == b"q0"
    rep.send(b"a0")
    assert recv_one(req) == b"a0"
    rep.close(0)
    assert wait_until(lambda: _gone(req), 3.0, req)
    req.send(b"q1")  # queued: the REP is down
    rep = _pbind(pctx, zmq.REP, ep)
    assert recv_one(rep, zsock=req) == b"q1"
    rep.send(b"a1")
    assert recv_one(req) == b"a1"
    for i in range(2, 20):  # and the lock-step goes on
        req.send(b"q%d" % i)
        assert recv_one(rep, zsock=req) == b"q%d" % i
        rep.send(b"a%d" % i)
        assert recv_one(req) == b"a%d" % i


def test_sub_resubscribes_after_pub_restart(zctx: zmtp.Context, pctx: zmq.Context) -> None:
    pub = _pbind(pctx, zmq.PUB)
    ep = endpoint(pub)
    sub = _zconnect(zctx, zmtp.SUB, ep)
    sub.subscribe(b"A")

    def flows(tag: bytes) -> bool:
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            pub.send(b"B" + tag)
            pub.send(b"A" + tag)
            for msg in recv_n(sub, 1, 0.02):
                assert msg.startswith(b"A"), msg  # never a topic we did not subscribe to
                if msg == b"A" + tag:
                    return True
        return False

    assert flows(b"1")
    for restart in range(2):
        pub.close(0)
        assert wait_until(lambda: _gone(sub), 3.0, sub)
        pub = _pbind(pctx, zmq.PUB, ep)
        assert flows(b"after-%d" % restart), "no messages after the publisher came back"


def test_xpub_sees_resubscription(zctx: zmtp.Context, pctx: zmq.Context) -> None:
    """A zmtp SUB's subscriptions reach a restarted pyzmq XPUB again."""
    xpub = _pbind(pctx, zmq.XPUB)
    ep = endpoint(xpub)
    sub = _zconnect(zctx, zmtp.SUB, ep)
    sub.subscribe(b"topic")
    assert recv_one(xpub, zsock=sub) == b"\x01topic"
    xpub.close(0)
    assert wait_until(lambda: _gone(sub), 3.0, sub)
    xpub = _pbind(pctx, zmq.XPUB, ep)
    assert recv_one(xpub, zsock=sub) == b"\x01topic"


# -- backoff ---------------------------------------------------------------------------------------


def _attempt_times(monkeypatch: Any) -> List[float]:
    times: List[float] = []
    orig = stream_mod.Connecter._attempt

    def recording(self: Any) -> None:
        times.append(time.monotonic())
        orig(self)

    monkeypatch.setattr(stream_mod.Connecter, "_attempt", recording)
    return times


def _dead_endpoint(pctx: zmq.Context) -> str:
    """An endpoint nobody listens on (for now): bound by pyzmq, then closed."""
    s = _pbind(pctx, zmq.PULL)
    ep = endpoint(s)
    s.close(0)
    _pbind(pctx, zmq.PULL, ep).close(0)  # returns once libzmq's listener is really gone
    time.sleep(0.02)
    return ep


def test_reconnect_ivl_max_backoff(zctx: zmtp.Context, pctx: zmq.Context, monkeypatch: Any) -> None:
    times = _attempt_times(monkeypatch)
    ep = _dead_endpoint(pctx)
    push = _zconnect(zctx, zmtp.PUSH, ep, reconnect_ivl=40, reconnect_ivl_max=320)
    pump(push, 1.3)
    gaps = [b - a for a, b in zip(times, times[1:])]
    # 40, 80, 160, 320, 320 ... ms (roughly: timers are not exact)
    assert 5 <= len(times) <= 9, gaps
    assert 0.025 < gaps[0] < 0.1, gaps
    assert gaps[1] > gaps[0] * 1.4 and gaps[2] > gaps[1] * 1.4, gaps
    assert all(g < 0.6 for g in gaps), gaps  # capped at 320 ms (plus timer slack)
    assert max(gaps) > 0.28, gaps
    # once the peer is there, it connects within the current (capped) interval
    pull = _pbind(pctx, zmq.PULL, ep)
    push.send(b"late")
    assert recv_one(pull, 1.0, zsock=push) == b"late"


def test_reconnect_ivl_constant_without_max(zctx: zmtp.Context, pctx: zmq.Context, monkeypatch: Any) -> None:
    times = _attempt_times(monkeypatch)
    ep = _dead_endpoint(pctx)
    push = _zconnect(zctx, zmtp.PUSH, ep, reconnect_ivl=50)
    pump(push, 0.6)
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert 5 <= len(times) <= 14, gaps
    assert all(0.03 < g < 0.2 for g in gaps), gaps


def test_reconnect_ivl_minus_one_never_retries(zctx: zmtp.Context, pctx: zmq.Context, monkeypatch: Any) -> None:
    times = _attempt_times(monkeypatch)
    ep = _dead_endpoint(pctx)
    push = _zconnect(zctx, zmtp.PUSH, ep, reconnect_ivl=-1)
    pump(push, 0.3)
    assert len(times) == 1


# -- pyzmq connects, the zmtp binder restarts -------------------------------------------------------


def _zbind(zctx: zmtp.Context, kind: int, addr: str = LOCAL) -> zmtp.Socket:
    z = zctx.socket(kind)
    z.linger = 0
    z.bind(addr)
    return z


def _rebind(zctx: zmtp.Context, old: zmtp.Socket, kind: int, ep: str) -> zmtp.Socket:
    """Close ``old`` and bind a new zmtp socket on the same endpoint at once (as an app restarting)."""
    old.close()
    return _zbind(zctx, kind, ep)


def test_pyzmq_push_to_restarting_zmtp_pull(zctx: zmtp.Context, pctx: zmq.Context) -> None:
    pull = _zbind(zctx, zmtp.PULL)
    ep = endpoint(pull)
    push = pctx.socket(zmq.PUSH)
    push.linger = 0
    push.reconnect_ivl = 20
    push.connect(ep)
    for i in range(10):
        push.send(b"%d" % i)
    assert recv_n(pull, 10) == [b"%d" % i for i in range(10)]
    pull.close()
    time.sleep(0.1)  # libzmq notices the disconnect
    for i in range(10, 110):
        push.send(b"%d" % i)  # queued in libzmq
    pull = _zbind(zctx, zmtp.PULL, ep)
    got = recv_n(pull, 100) + [m[0] for m in drain(pull, 0.1)]
    assert got == [b"%d" % i for i in range(10, 110)]
    push.close(0)


def test_pyzmq_dealer_to_restarting_zmtp_router(zctx: zmtp.Context, pctx: zmq.Context) -> None:
    router = _zbind(zctx, zmtp.ROUTER)
    ep = endpoint(router)
    dealer = pctx.socket(zmq.DEALER)
    dealer.linger = 0
    dealer.reconnect_ivl = 20
    dealer.routing_id = b"D"
    dealer.connect(ep)
    dealer.send(b"one")
    assert recv_one(router, multipart=True) == [b"D", b"one"]
    router = _rebind(zctx, router, zmtp.ROUTER, ep)
    time.sleep(0.05)
    for i in range(50):
        dealer.send(b"%d" % i)
    got = recv_n(router, 50, multipart=True) + drain(router, 0.1)
    assert got == [[b"D", b"%d" % i] for i in range(50)]
    router.send_multipart([b"D", b"reply"])
    assert recv_one(dealer) == b"reply"
    dealer.close(0)


def test_pyzmq_sub_to_restarting_zmtp_pub(zctx: zmtp.Context, pctx: zmq.Context) -> None:
    pub = _zbind(zctx, zmtp.PUB)
    ep = endpoint(pub)
    sub = pctx.socket(zmq.SUB)
    sub.linger = 0
    sub.reconnect_ivl = 20
    sub.subscribe(b"A")
    sub.connect(ep)

    def flows(tag: bytes) -> bool:
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            pub.send(b"B" + tag)
            pub.send(b"A" + tag)
            pump(pub, 0.01)
            while sub.poll(5):
                msg = sub.recv()
                assert msg.startswith(b"A"), msg
                if msg == b"A" + tag:
                    return True
        return False

    assert flows(b"1")
    pub = _rebind(zctx, pub, zmtp.PUB, ep)
    assert flows(b"2"), "the pyzmq SUB's subscription did not reach the restarted zmtp PUB"
    sub.close(0)


# -- send and forget, linger ------------------------------------------------------------------------


def test_send_and_forget_threaded(pctx: zmq.Context) -> None:
    """Threaded driver: the app sends and sleeps; the I/O thread delivers everything meanwhile."""
    ctx = make_zctx("threaded")
    try:
        pull = _pbind(pctx, zmq.PULL)
        push = _zconnect(ctx, zmtp.PUSH, endpoint(pull))
        for i in range(1000):
            push.send(b"%d" % i)
        time.sleep(0.5)  # no zmtp call from here on
        got = []
        while len(got) < 1000 and pull.poll(200):
            got.append(pull.recv())
        assert got == [b"%d" % i for i in range(1000)]
    finally:
        ctx.destroy(linger=0)


def test_send_and_forget_before_peer_exists_threaded(pctx: zmq.Context) -> None:
    """... even when the peer binds only while the app sleeps (the I/O thread reconnects)."""
    ctx = make_zctx("threaded")
    try:
        ep = _dead_endpoint(pctx)
        push = _zconnect(ctx, zmtp.PUSH, ep)
        for i in range(1000):
            push.send(b"%d" % i)
        pull = _pbind(pctx, zmq.PULL, ep)
        time.sleep(0.5)
        got = []
        while len(got) < 1000 and pull.poll(200):
            got.append(pull.recv())
        assert got == [b"%d" % i for i in range(1000)]
    finally:
        ctx.destroy(linger=0)


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("connected", [True, False], ids=["connected", "not_yet_connected"])
def test_close_with_default_linger_then_term_delivers(pctx: zmq.Context, driver: str, connected: bool) -> None:
    """libzmq semantics: close() with the default linger (-1) then term() waits until what was queued is
    sent, even if the connection was not established when the messages were sent."""
    ctx = make_zctx(driver)
    ep = _dead_endpoint(pctx)
    pull = _pbind(pctx, zmq.PULL, ep) if connected else None
    push = ctx.socket(zmtp.PUSH)
    push.reconnect_ivl = 20
    push.connect(ep)
    assert push.linger == -1
    for i in range(300):
        push.send(b"%d" % i)
    if pull is None:
        timer = threading.Timer(0.3, lambda: got_pull.append(_pbind(pctx, zmq.PULL, ep)))
        got_pull: List[zmq.Socket] = []
        timer.start()
    push.close()
    done = threading.Event()

    def term() -> None:
        ctx.term()
        done.set()

    t = threading.Thread(target=term, daemon=True)
    t.start()
    t.join(5.0)
    assert done.is_set(), "term() hung"
    if pull is None:
        timer.join()
        pull = got_pull[0]
    got = []
    while len(got) < 300 and pull.poll(1000):
        got.append(pull.recv())
    assert got == [b"%d" % i for i in range(300)]


@pytest.mark.parametrize("driver", DRIVERS)
def test_close_linger_expires_without_peer(pctx: zmq.Context, driver: str) -> None:
    """With a finite linger and no peer ever, close + term give up after the linger."""
    ctx = make_zctx(driver)
    ep = _dead_endpoint(pctx)
    push = ctx.socket(zmtp.PUSH)
    push.linger = 200
    push.connect(ep)
    push.send(b"nobody")
    t0 = time.monotonic()
    push.close()
    ctx.term()
    took = time.monotonic() - t0
    assert took < 2.0, took


# -- a bad server on the connecting side ---------------------------------------------------------------


@pytest.mark.parametrize("reply", [b"HTTP/1.1 400 Bad Request\r\n\r\n", greeting(mechanism=b"PLAIN"),
                                   greeting() + ready(b"PUB"), b""],
                         ids=["http", "plain", "incompatible", "silent_close"])
def test_push_survives_bad_server_then_delivers(zctx: zmtp.Context, pctx: zmq.Context, reply: bytes) -> None:
    """A zmtp PUSH whose endpoint first answers with garbage drops that connection, retries, and delivers
    everything it queued meanwhile once a real peer takes the port."""
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(8)
    lsock.settimeout(0.005)
    ep = f"tcp://127.0.0.1:{lsock.getsockname()[1]}"
    push = _zconnect(zctx, zmtp.PUSH, ep)
    for i in range(100):
        push.send(b"%d" % i, zmtp.DONTWAIT)
    conns: List[socket.socket] = []
    try:
        deadline = time.monotonic() + 3.0
        while len(conns) < 2 and time.monotonic() < deadline:  # dropped, and retried
            pump(push, 0.005)
            try:
                conn, _ = lsock.accept()
            except socket.timeout:
                continue
            conns.append(conn)
            if reply:
                conn.sendall(reply)
            else:
                conn.close()
        assert len(conns) == 2, "no reconnect after the bad server"
        if reply:
            assert wait_eof(conns[0], 1.0, push)
    finally:
        for c in conns:
            c.close()
        lsock.close()
    pull = _pbind(pctx, zmq.PULL, ep)
    got = recv_n(pull, 100, zsock=push) + drain(pull, 0.1, push)
    assert got == [b"%d" % i for i in range(100)]


def test_zmtp_router_accepts_restarted_peer_with_same_identity(zctx: zmtp.Context, pctx: zmq.Context) -> None:
    """A pyzmq DEALER with a fixed routing id restarts (new socket, same id): the zmtp ROUTER routes to the
    new connection once the old one is gone."""
    router = _zbind(zctx, zmtp.ROUTER)
    ep = endpoint(router)
    for generation in range(3):
        dealer = pctx.socket(zmq.DEALER)
        dealer.linger = 0
        dealer.routing_id = b"fixed"
        dealer.connect(ep)
        dealer.send(b"gen%d" % generation)
        assert recv_one(router, multipart=True) == [b"fixed", b"gen%d" % generation]
        router.send_multipart([b"fixed", b"ack%d" % generation])
        assert recv_one(dealer, zsock=router) == b"ack%d" % generation
        dealer.close(0)
        assert wait_until(lambda: stream_count(router) == 0, 3.0, router)
