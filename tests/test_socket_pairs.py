"""Every compatible socket pair, zmtp against a real pyzmq (libzmq) peer, over tcp and ipc.

Each pair runs with zmtp on either side, zmtp binding or pyzmq binding, on both zmtp drivers, and
checks what the pattern means (envelopes, routing ids, subscriptions), not just that bytes arrive.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, List

import pytest
import zmq
from socket_helpers import TRANSPORTS, Harness, driver_fixture, harness_fixture, ipc_dir_fixture  # noqa: F401

import zmtp

# -- the scenarios ---------------------------------------------------------------------------------


@dataclass
class Link:
    h: Harness
    a: Any  # the first socket type of the pair
    b: Any  # the second
    binder: Any  # whichever of a, b bound


def sub_sync(h: Harness, pub: Any, sub: Any, topic: bytes) -> None:
    """Publish ``topic``-prefixed probes until ``sub`` gets one, then drain up to an end marker.

    Afterwards every subscription ``sub`` sent before is known to ``pub`` (one pipe keeps order)."""
    deadline = time.monotonic() + 3.0
    while True:
        pub.send(topic + b"-sync")
        h.idle(0.005)
        try:
            sub.recv_multipart(zmq.NOBLOCK)
            break
        except (zmq.Again, zmtp.Again):
            pass
        assert time.monotonic() < deadline, "subscription never reached the publisher"
    pub.send(topic + b"-end")
    while h.recv(sub) != [topic + b"-end"]:
        pass


def req_rep(k: Link) -> None:
    h, req, rep = k.h, k.a, k.b
    for i in range(3):
        request = [b"q%d" % i, b"", b"tail"]
        h.send(req, request)
        assert h.recv(rep) == request
        h.send(rep, [b"r%d" % i, b""])
        assert h.recv(req) == [b"r%d" % i, b""]


def req_router(k: Link) -> None:
    h, req, router = k.h, k.a, k.b
    for i in range(2):
        h.send(req, [b"hello", b"%d" % i])
        assert h.recv(router) == [b"client-A", b"", b"hello", b"%d" % i]
        h.send(router, [b"client-A", b"", b"world%d" % i])
        assert h.recv(req) == [b"world%d" % i]


def dealer_rep(k: Link) -> None:
    h, dealer, rep = k.h, k.a, k.b
    h.send(dealer, [b"", b"x", b"y"])
    assert h.recv(rep) == [b"x", b"y"]
    h.send(rep, [b"z"])
    assert h.recv(dealer) == [b"", b"z"]
    # a deeper envelope comes back whole
    h.send(dealer, [b"hop2", b"hop1", b"", b"deep"])
    assert h.recv(rep) == [b"deep"]
    h.send(rep, [b"deep-reply", b""])
    assert h.recv(dealer) == [b"hop2", b"hop1", b"", b"deep-reply", b""]


def dealer_router(k: Link) -> None:
    h, dealer, router = k.h, k.a, k.b
    h.send(dealer, [b"m1", b"m2"])
    assert h.recv(router) == [b"D1", b"m1", b"m2"]
    h.send(router, [b"D1", b"back", b""])
    assert h.recv(dealer) == [b"back", b""]
    h.send(dealer, [b""])
    assert h.recv(router) == [b"D1", b""]


def dealer_dealer(k: Link) -> None:
    h, a, b = k.h, k.a, k.b
    h.send(a, [b"1", b"", b"2"])
    assert h.recv(b) == [b"1", b"", b"2"]
    h.send(b, [b"3"])
    assert h.recv(a) == [b"3"]


def router_router(k: Link) -> None:
    h = k.h
    connecter = k.b if k.binder is k.a else k.a
    binder = k.binder
    bid, cid = binder.getsockopt(zmq.ROUTING_ID), connecter.getsockopt(zmq.ROUTING_ID)
    # the connecting side must know the binder's id, and wait until the peer is there
    h.wait(lambda: _try_send(connecter, [bid, b"hi"]), "ROUTER->ROUTER route")
    assert h.recv(binder) == [cid, b"hi"]
    h.send(binder, [cid, b"ho", b"!"])
    assert h.recv(connecter) == [bid, b"ho", b"!"]


def _try_send(sock: Any, msg: List[bytes]) -> bool:
    try:
        sock.send_multipart(msg, zmq.NOBLOCK)
        return True
    except (zmq.ZMQError, zmtp.ZMQError) as exc:
        assert exc.errno in (zmq.EHOSTUNREACH, zmq.EAGAIN), exc
        return False


def push_pull(k: Link) -> None:
    h, push, pull = k.h, k.a, k.b
    for i in range(20):
        h.send(push, [b"m%d" % i])
    h.send(push, [b"multi", b"", b"part"])
    for i in range(20):
        assert h.recv(pull) == [b"m%d" % i]
    assert h.recv(pull) == [b"multi", b"", b"part"]


def pub_sub(k: Link) -> None:
    h, pub, sub = k.h, k.a, k.b
    sub.subscribe(b"a")
    sub.subscribe(b"b")
    sub_sync(h, pub, sub, b"b")
    for m in (b"c-nope", b"a1", b"b1", b"ab", b"", b"x", b"B"):
        h.send(pub, [m])
    h.send(pub, [b"a-multi", b"part2"])
    h.send(pub, [b"b-end2"])
    got = []
    while True:
        msg = h.recv(sub)
        if msg == [b"b-end2"]:
            break
        got.append(msg)
    assert got == [[b"a1"], [b"b1"], [b"ab"], [b"a-multi", b"part2"]]
    # unsubscribe: once a later subscription is known, the publisher knows the cancel too
    sub.unsubscribe(b"a")
    sub.subscribe(b"c")
    sub_sync(h, pub, sub, b"c")
    h.send(pub, [b"a2"])
    h.send(pub, [b"b2"])
    assert h.recv(sub) == [b"b2"]


def pub_xsub(k: Link) -> None:
    h, pub, xsub = k.h, k.a, k.b
    h.send(xsub, [b"\x01a"])
    h.send(xsub, [b"\x01b"])
    sub_sync(h, pub, xsub, b"b")
    for m in (b"c-nope", b"a1", b"b1"):
        h.send(pub, [m])
    assert h.recv(xsub) == [b"a1"]
    assert h.recv(xsub) == [b"b1"]
    h.send(xsub, [b"\x00a"])
    h.send(xsub, [b"\x01c"])
    sub_sync(h, pub, xsub, b"c")
    h.send(pub, [b"a2"])
    h.send(pub, [b"b2"])
    assert h.recv(xsub) == [b"b2"]


def xpub_sub(k: Link) -> None:
    h, xpub, sub = k.h, k.a, k.b
    sub.subscribe(b"t")
    assert h.recv(xpub) == [b"\x01t"]
    h.send(xpub, [b"nope"])
    h.send(xpub, [b"t1", b"more"])
    assert h.recv(sub) == [b"t1", b"more"]
    sub.unsubscribe(b"t")
    assert h.recv(xpub) == [b"\x00t"]
    sub.subscribe(b"")
    assert h.recv(xpub) == [b"\x01"]
    h.send(xpub, [b"anything"])
    assert h.recv(sub) == [b"anything"]


def xpub_xsub(k: Link) -> None:
    h, xpub, xsub = k.h, k.a, k.b
    h.send(xsub, [b"\x01t"])
    assert h.recv(xpub) == [b"\x01t"]
    h.send(xpub, [b"u-nope"])
    h.send(xpub, [b"t-yes"])
    assert h.recv(xsub) == [b"t-yes"]
    h.send(xsub, [b"\x00t"])
    assert h.recv(xpub) == [b"\x00t"]


def pair_pair(k: Link) -> None:
    h, a, b = k.h, k.a, k.b
    h.send(a, [b"ping", b""])
    assert h.recv(b) == [b"ping", b""]
    h.send(b, [b""])
    assert h.recv(a) == [b""]
    h.send(b, [b"x"] * 5)
    assert h.recv(a) == [b"x"] * 5


@dataclass
class PairSpec:
    a: int
    b: int
    run: Callable[[Link], None]
    a_opts: Any = None
    b_opts: Any = None

    @property
    def name(self) -> str:
        return f"{zmq.SocketType(self.a).name}-{zmq.SocketType(self.b).name}"


PAIRS = [
    PairSpec(zmq.REQ, zmq.REP, req_rep),
    PairSpec(zmq.REQ, zmq.ROUTER, req_router, {"routing_id": b"client-A"}),
    PairSpec(zmq.DEALER, zmq.REP, dealer_rep),
    PairSpec(zmq.DEALER, zmq.ROUTER, dealer_router, {"routing_id": b"D1"}),
    PairSpec(zmq.DEALER, zmq.DEALER, dealer_dealer),
    PairSpec(zmq.ROUTER, zmq.ROUTER, router_router, {"routing_id": b"RA", "router_mandatory": 1},
             {"routing_id": b"RB", "router_mandatory": 1}),
    PairSpec(zmq.PUSH, zmq.PULL, push_pull),
    PairSpec(zmq.PUB, zmq.SUB, pub_sub),
    PairSpec(zmq.PUB, zmq.XSUB, pub_xsub),
    PairSpec(zmq.XPUB, zmq.SUB, xpub_sub),
    PairSpec(zmq.XPUB, zmq.XSUB, xpub_xsub),
    PairSpec(zmq.PAIR, zmq.PAIR, pair_pair),
]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("zmtp_binds", [True, False], ids=["zmtp_binds", "pyzmq_binds"])
@pytest.mark.parametrize("zmtp_is_a", [True, False], ids=["zmtp_a", "zmtp_b"])
@pytest.mark.parametrize("spec", PAIRS, ids=lambda s: s.name)
def test_pair(h: Harness, spec: PairSpec, zmtp_is_a: bool, zmtp_binds: bool, transport: str) -> None:
    a = h.sock(zmtp_is_a, spec.a, **(spec.a_opts or {}))
    b = h.sock(not zmtp_is_a, spec.b, **(spec.b_opts or {}))
    zsock, psock = (a, b) if zmtp_is_a else (b, a)
    binder, connecter = (zsock, psock) if zmtp_binds else (psock, zsock)
    h.link(binder, connecter, transport)
    spec.run(Link(h, a, b, binder))


@pytest.mark.parametrize("spec", [s for s in PAIRS if s.name != "ROUTER-ROUTER"], ids=lambda s: s.name)
def test_pair_inproc(h: Harness, spec: PairSpec) -> None:
    """The same scenarios between two zmtp sockets over inproc."""
    a = h.zsock(spec.a, **(spec.a_opts or {}))
    b = h.zsock(spec.b, **(spec.b_opts or {}))
    h.link(b, a, "inproc")
    spec.run(Link(h, a, b, b))


@pytest.mark.parametrize("transport", ["tcp", "ipc", "inproc"])
def test_router_router_zmtp_both(h: Harness, transport: str) -> None:
    a = h.zsock(zmq.ROUTER, routing_id=b"RA", router_mandatory=1)
    b = h.zsock(zmq.ROUTER, routing_id=b"RB", router_mandatory=1)
    h.link(b, a, transport)
    router_router(Link(h, a, b, b))


# -- routing ids -----------------------------------------------------------------------------------


@pytest.mark.parametrize("zmtp_router", [True, False])
def test_router_generated_ids_route_replies(h: Harness, zmtp_router: bool) -> None:
    router = h.sock(zmtp_router, zmq.ROUTER)
    ep = h.bind(router)
    dealers = [h.sock(not zmtp_router, zmq.DEALER) for _ in range(3)]
    for d in dealers:
        d.connect(ep)
    for i, d in enumerate(dealers):
        d.send(b"from%d" % i)
    ids = {}
    for _ in dealers:
        rid, body = h.recv(router)
        assert rid and rid not in ids
        ids[rid] = body
    assert sorted(ids.values()) == [b"from0", b"from1", b"from2"]
    for rid, body in ids.items():
        router.send_multipart([rid, b"re:" + body])
    for i, d in enumerate(dealers):
        assert h.recv(d) == [b"re:from%d" % i]


def test_router_sees_routing_id_set_with_setsockopt(h: Harness) -> None:
    router = h.psock(zmq.ROUTER)
    ep = h.bind(router)
    dealer = h.zsock(zmq.DEALER)
    dealer.setsockopt(zmtp.ROUTING_ID, b"\x00binary\xff")
    assert dealer.getsockopt(zmtp.IDENTITY) == b"\x00binary\xff"
    dealer.connect(ep)
    dealer.send(b"x")
    assert h.recv(router) == [b"\x00binary\xff", b"x"]


# -- load balancing and fair queueing --------------------------------------------------------------


def test_zmtp_push_round_robins_to_pyzmq_pulls(h: Harness) -> None:
    push = h.zsock(zmq.PUSH)
    ep = h.bind(push)
    pulls = [h.psock(zmq.PULL) for _ in range(2)]
    for p in pulls:
        p.connect(ep)
    h.zmtp_peers(push, 2)
    for i in range(10):
        push.send(b"%d" % i)
    got = [[h.recv(p)[0] for _ in range(5)] for p in pulls]
    assert sorted(got[0] + got[1], key=int) == [b"%d" % i for i in range(10)]
    # strict alternation: each puller got every other message
    assert {int(x) % 2 for x in got[0]} in ({0}, {1})
    assert {int(x) % 2 for x in got[1]} in ({0}, {1})


def test_zmtp_push_connecting_round_robins(h: Harness) -> None:
    """A connecting PUSH has a pipe per endpoint from connect() on, so it alternates at once."""
    pulls = [h.psock(zmq.PULL) for _ in range(2)]
    push = h.zsock(zmq.PUSH)
    for p in pulls:
        push.connect(h.bind(p))
    for i in range(10):
        push.send(b"%d" % i)
    got = [[h.recv(p)[0] for _ in range(5)] for p in pulls]
    assert sorted(got[0] + got[1], key=int) == [b"%d" % i for i in range(10)]


def test_pyzmq_push_round_robins_to_zmtp_pulls(h: Harness) -> None:
    push = h.psock(zmq.PUSH)
    monitor = push.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
    h.socks.append(monitor)
    ep = h.bind(push)
    pulls = [h.zsock(zmq.PULL) for _ in range(2)]
    for p in pulls:
        p.connect(ep)
    h.pyzmq_handshakes(monitor, 2)
    for i in range(10):
        push.send(b"%d" % i)
    got = [[h.recv(p)[0] for _ in range(5)] for p in pulls]
    assert sorted(got[0] + got[1], key=int) == [b"%d" % i for i in range(10)]


def test_zmtp_dealer_round_robins_to_pyzmq_reps(h: Harness) -> None:
    reps = [h.psock(zmq.REP) for _ in range(2)]
    dealer = h.zsock(zmq.DEALER)
    for r in reps:
        dealer.connect(h.bind(r))
    for i in range(4):
        dealer.send_multipart([b"", b"%d" % i])
    for r in reps:
        for _ in range(2):
            (body,) = h.recv(r)
            r.send(b"re" + body)
    replies = sorted(h.recv(dealer)[1] for _ in range(4))
    assert replies == [b"re0", b"re1", b"re2", b"re3"]


def _assert_interleaved(senders: List[bytes]) -> None:
    # fair queueing: neither peer's backlog is served wholly before the other's
    first_half = senders[: len(senders) // 2]
    assert len(set(first_half)) == 2, senders


def test_zmtp_pull_fair_queues(h: Harness) -> None:
    pull = h.zsock(zmq.PULL)
    ep = h.bind(pull)
    pushes = [h.psock(zmq.PUSH) for _ in range(2)]
    for p in pushes:
        p.connect(ep)
    h.zmtp_peers(pull, 2)
    for i, p in enumerate(pushes):
        for j in range(10):
            p.send_multipart([b"%d" % i, b"%d" % j])
    h.wait(lambda: all(len(pp.inbound) == 10 for pp in pull.core.pattern.pipes), "both backlogs")
    msgs = [h.recv(pull) for _ in range(20)]
    _assert_interleaved([m[0] for m in msgs])
    for i in range(2):  # each peer's order is kept
        assert [m[1] for m in msgs if m[0] == b"%d" % i] == [b"%d" % j for j in range(10)]


def test_zmtp_router_fair_queues(h: Harness) -> None:
    router = h.zsock(zmq.ROUTER)
    ep = h.bind(router)
    dealers = [h.psock(zmq.DEALER, routing_id=b"d%d" % i) for i in range(2)]
    for d in dealers:
        d.connect(ep)
    h.zmtp_peers(router, 2)
    for d in dealers:
        for j in range(6):
            d.send(b"%d" % j)
    h.wait(lambda: all(len(pp.inbound) == 6 for pp in router.core.pattern.pipes), "both backlogs")
    msgs = [h.recv(router) for _ in range(12)]
    _assert_interleaved([m[0] for m in msgs])


def test_pyzmq_pull_fair_queues_zmtp_pushes(h: Harness) -> None:
    pull = h.psock(zmq.PULL)
    ep = h.bind(pull)
    pushes = [h.zsock(zmq.PUSH) for _ in range(2)]
    for i, p in enumerate(pushes):
        p.connect(ep)
        for j in range(10):
            p.send(b"%d:%d" % (i, j))
    msgs = [h.recv(pull)[0] for _ in range(20)]
    for i in range(2):
        assert [m for m in msgs if m.startswith(b"%d:" % i)] == [b"%d:%d" % (i, j) for j in range(10)]


# -- sizes and shapes ------------------------------------------------------------------------------


@pytest.mark.parametrize("zmtp_sends", [True, False], ids=["zmtp_sends", "pyzmq_sends"])
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_big_and_many_part_messages(h: Harness, zmtp_sends: bool, transport: str) -> None:
    tx = h.sock(zmtp_sends, zmq.PAIR)
    rx = h.sock(not zmtp_sends, zmq.PAIR)
    h.link(rx, tx, transport)
    big = bytes(range(256)) * 4096  # 1 MiB
    h.send(tx, [big])
    parts = [b"%d" % i for i in range(100)]
    parts[50] = b""
    h.send(tx, parts)
    h.send(tx, [b""])
    h.send(tx, [b"", b"", b""])
    h.send(tx, [big[:300], b"x" * 70000])  # short and long frame headers
    assert h.recv(rx) == [big]
    assert h.recv(rx) == parts
    assert h.recv(rx) == [b""]
    assert h.recv(rx) == [b"", b"", b""]
    assert h.recv(rx) == [big[:300], b"x" * 70000]


@pytest.mark.parametrize("zmtp_sends", [True, False], ids=["zmtp_sends", "pyzmq_sends"])
def test_stream_of_messages_in_order(h: Harness, zmtp_sends: bool) -> None:
    push = h.sock(zmtp_sends, zmq.PUSH)
    pull = h.sock(not zmtp_sends, zmq.PULL)
    h.link(pull, push)
    n = 3000
    for i in range(n):
        h.send(push, [b"%d" % i])
    received = [h.recv(pull)[0] for _ in range(n)]
    assert received == [b"%d" % i for i in range(n)]


def test_zmtp_only_inproc_and_tcp_peers_mixed(h: Harness) -> None:
    pull = h.zsock(zmq.PULL)
    pull.bind("inproc://mixed-pull")
    ep = h.bind(pull)
    p1 = h.zsock(zmq.PUSH)
    p1.connect("inproc://mixed-pull")
    p2 = h.psock(zmq.PUSH)
    p2.connect(ep)
    p1.send(b"inproc")
    p2.send(b"tcp")
    assert sorted([h.recv(pull)[0], h.recv(pull)[0]]) == [b"inproc", b"tcp"]


# -- high-water marks ------------------------------------------------------------------------------


def test_push_hwm_without_peer_blocks(h: Harness) -> None:
    """A connecting PUSH queues up to SNDHWM for an absent peer, then would block."""
    push = h.zsock(zmq.PUSH, sndhwm=5, sndtimeo=100)
    push.connect("tcp://127.0.0.1:9")  # nothing listens on discard
    for i in range(5):
        push.send(b"%d" % i, zmtp.DONTWAIT)
    with pytest.raises(zmtp.Again):
        push.send(b"x", zmtp.DONTWAIT)
    t0 = time.monotonic()
    with pytest.raises(zmtp.Again):
        push.send(b"x")
    assert 0.08 <= time.monotonic() - t0 < 1.5
    assert not push.poll(0, zmtp.POLLOUT)


def test_push_blocks_at_hwm_when_peer_does_not_read(h: Harness) -> None:
    pull = h.psock(zmq.PULL, rcvhwm=5, rcvbuf=32768)
    push = h.zsock(zmq.PUSH, sndhwm=5, sndbuf=32768)
    h.link(pull, push)
    chunk = b"x" * 65536
    sent = 0
    deadline = time.monotonic() + 3.0
    while True:
        try:
            push.send(chunk, zmtp.DONTWAIT)
            sent += 1
        except zmtp.Again:
            # the connection may still be taking data: give it a moment, then retry
            h.idle(0.05)
            try:
                push.send(chunk, zmtp.DONTWAIT)
                sent += 1
                continue
            except zmtp.Again:
                break
        assert sent < 2000 and time.monotonic() < deadline, "PUSH never hit its high-water mark"
    assert sent >= 5
    push.sndtimeo = 100
    t0 = time.monotonic()
    with pytest.raises(zmtp.Again):
        push.send(chunk)
    assert time.monotonic() - t0 >= 0.08
    # the peer reads: everything arrives in order, and sending is possible again
    for _ in range(sent):
        assert h.recv(pull) == [chunk]
    push.send(b"after", zmtp.DONTWAIT)
    assert h.recv(pull) == [b"after"]


def test_pub_drops_at_hwm_and_never_blocks(h: Harness) -> None:
    sub = h.psock(zmq.SUB, rcvhwm=10, rcvbuf=32768)
    sub.subscribe(b"")
    pub = h.zsock(zmq.PUB, sndhwm=10, sndbuf=32768)
    h.link(sub, pub)
    sub_sync(h, pub, sub, b"s")
    n = 3000
    payload = b"y" * 4096
    t0 = time.monotonic()
    for i in range(n):
        pub.send_multipart([b"%d" % i, payload], zmtp.DONTWAIT)  # never Again
    assert time.monotonic() - t0 < 5.0
    pub.send(b"s-last")
    got = []
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        try:
            msg = sub.recv_multipart(zmq.NOBLOCK)
        except zmq.Again:
            h.idle(0.005)
            continue
        if msg == [b"s-last"]:
            break
        got.append(int(msg[0]))
    assert 0 < len(got) < n, len(got)
    assert got == sorted(got)


def test_xpub_sees_every_subscriber(h: Harness) -> None:
    xpub = h.zsock(zmq.XPUB)
    ep = h.bind(xpub)
    subs = [h.psock(zmq.SUB) for _ in range(2)]
    for s in subs:
        s.connect(ep)
    subs[0].subscribe(b"one")
    assert h.recv(xpub) == [b"\x01one"]
    subs[1].subscribe(b"two")
    assert h.recv(xpub) == [b"\x01two"]
    xpub.send(b"one!")
    xpub.send(b"two!")
    assert h.recv(subs[0]) == [b"one!"]
    assert h.recv(subs[1]) == [b"two!"]
    # a duplicate subscription is not reported again (XPUB_VERBOSE is off)
    subs[1].subscribe(b"one")
    h.nothing(xpub, 0.1)
    xpub.send(b"one!!")
    assert h.recv(subs[0]) == [b"one!!"]
    assert h.recv(subs[1]) == [b"one!!"]


def test_xpub_verbose_reports_duplicates(h: Harness) -> None:
    xpub = h.zsock(zmq.XPUB, xpub_verbose=1)
    ep = h.bind(xpub)
    subs = [h.psock(zmq.SUB) for _ in range(2)]
    for s in subs:
        s.connect(ep)
        s.subscribe(b"t")
        assert h.recv(xpub) == [b"\x01t"]
