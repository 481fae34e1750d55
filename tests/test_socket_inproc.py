"""inproc:// between zmtp sockets of one context, on both drivers."""

from __future__ import annotations

import threading
import time
from typing import List

import pytest
import zmq
from socket_helpers import WAIT, Harness, driver_fixture, expect_errno, harness_fixture, ipc_dir_fixture  # noqa: F401

import zmtp


def test_connect_before_bind(h: Harness) -> None:
    push = h.zsock(zmq.PUSH)
    push.connect("inproc://later")
    for i in range(3):
        push.send(b"early %d" % i)  # queued on the pipe that exists from connect() on
    pull = h.zsock(zmq.PULL)
    pull.bind("inproc://later")
    assert [h.recv(pull) for _ in range(3)] == [[b"early %d" % i] for i in range(3)]
    push.send(b"after")
    assert h.recv(pull) == [b"after"]


def test_req_connect_before_bind(h: Harness) -> None:
    req = h.zsock(zmq.REQ)
    req.connect("inproc://svc")
    req.send(b"q")
    rep = h.zsock(zmq.REP)
    rep.bind("inproc://svc")
    assert h.recv(rep) == [b"q"]
    rep.send(b"a")
    assert h.recv(req) == [b"a"]


def test_router_dealer_identities(h: Harness) -> None:
    router = h.zsock(zmq.ROUTER)
    router.bind("inproc://rd")
    dealers = [h.zsock(zmq.DEALER, routing_id=b"w%d" % i) for i in range(3)]
    for d in dealers:
        d.connect("inproc://rd")
        d.send_multipart([b"", b"ready"])
    seen = sorted(h.recv(router)[0] for _ in dealers)
    assert seen == [b"w0", b"w1", b"w2"]
    for i in (2, 0, 1):
        router.send_multipart([b"w%d" % i, b"", b"job%d" % i])
    for i, d in enumerate(dealers):
        assert h.recv(d) == [b"", b"job%d" % i]
    router.router_mandatory = 1
    expect_errno(zmq.EHOSTUNREACH, router.send_multipart, [b"w9", b"x"])


def test_router_router_inproc_knows_binder_id(h: Harness) -> None:
    server = h.zsock(zmq.ROUTER, routing_id=b"server")
    server.bind("inproc://rr")
    client = h.zsock(zmq.ROUTER, routing_id=b"client", router_mandatory=1)
    client.connect("inproc://rr")
    client.send_multipart([b"server", b"hello"])  # inproc connects at once
    assert h.recv(server) == [b"client", b"hello"]
    server.send_multipart([b"client", b"hi"])
    assert h.recv(client) == [b"server", b"hi"]


def test_pub_sub_filtering_and_unsubscribe(h: Harness) -> None:
    pub = h.zsock(zmq.PUB)
    pub.bind("inproc://news")
    sub = h.zsock(zmq.SUB)
    sub.connect("inproc://news")
    sub.subscribe(b"sport")
    sub.subscribe("weather")
    for topic in (b"sport.football", b"politics", b"weather.rain", b"sportsman"):
        pub.send_multipart([topic, b"body"])
    got = [h.recv(sub)[0] for _ in range(3)]
    assert got == [b"sport.football", b"weather.rain", b"sportsman"]
    sub.unsubscribe(b"sport")
    pub.send(b"sport.tennis")
    pub.send(b"weather.sun")
    assert h.recv(sub) == [b"weather.sun"]
    h.nothing(sub, 0.02)


def test_xpub_xsub_inproc(h: Harness) -> None:
    xpub = h.zsock(zmq.XPUB)
    xpub.bind("inproc://x")
    sub = h.zsock(zmq.SUB)
    sub.connect("inproc://x")
    sub.subscribe(b"t")
    assert h.recv(xpub) == [b"\x01t"]
    xsub = h.zsock(zmq.XSUB)
    xsub.connect("inproc://x")
    xsub.send(b"\x01u")
    assert h.recv(xpub) == [b"\x01u"]
    xpub.send(b"t1")
    xpub.send(b"u1")
    assert h.recv(sub) == [b"t1"]
    assert h.recv(xsub) == [b"u1"]
    sub.unsubscribe(b"t")
    assert h.recv(xpub) == [b"\x00t"]


def test_hwm_adds_up_and_blocks(h: Harness) -> None:
    pull = h.zsock(zmq.PULL, rcvhwm=3)
    pull.bind("inproc://hwm")
    push = h.zsock(zmq.PUSH, sndhwm=3)
    push.connect("inproc://hwm")
    sent = 0
    with pytest.raises(zmtp.Again):
        for _ in range(100):
            push.send(b"%d" % sent, zmtp.DONTWAIT)
            sent += 1
    assert sent == 6  # SNDHWM + RCVHWM, as libzmq's inproc
    push.sndtimeo = 50
    t0 = time.monotonic()
    with pytest.raises(zmtp.Again):
        push.send(b"x")
    assert time.monotonic() - t0 >= 0.04
    # reading makes room again (libzmq reports it at the reader's low-water mark, not at once)
    got = []
    while True:
        got.append(h.recv(pull)[0])
        try:
            push.send(b"6", zmtp.DONTWAIT)
            break
        except zmtp.Again:
            assert len(got) < 6, "reading never made room"
    while len(got) < 7:
        got.append(h.recv(pull)[0])
    assert got == [b"%d" % i for i in range(7)]


def test_pub_drops_at_hwm_inproc(h: Harness) -> None:
    pub = h.zsock(zmq.PUB, sndhwm=2)
    pub.bind("inproc://drop")
    sub = h.zsock(zmq.SUB, rcvhwm=2)
    sub.connect("inproc://drop")
    sub.subscribe(b"")
    for i in range(50):
        pub.send(b"%d" % i, zmtp.DONTWAIT)
    got = []
    while True:
        try:
            got.append(int(sub.recv(zmtp.DONTWAIT)))
        except zmtp.Again:
            break
    assert 0 < len(got) <= 4 and got == sorted(got)


def test_round_robin_and_fair_queue(h: Harness) -> None:
    push = h.zsock(zmq.PUSH)
    push.bind("inproc://rr")
    pulls = [h.zsock(zmq.PULL) for _ in range(3)]
    for p in pulls:
        p.connect("inproc://rr")
    for i in range(9):
        push.send(b"%d" % i)
    for k, p in enumerate(pulls):
        assert [int(h.recv(p)[0]) % 3 for _ in range(3)] == [k] * 3
    pull = h.zsock(zmq.PULL)
    pull.bind("inproc://fq")
    pushes = [h.zsock(zmq.PUSH) for _ in range(2)]
    for i, p in enumerate(pushes):
        p.connect("inproc://fq")
        for j in range(4):
            p.send(b"%d-%d" % (i, j))
    order = [h.recv(pull)[0][:1] for _ in range(8)]
    assert order[:4].count(b"0") == 2  # alternating


def test_unbind_and_rebind(h: Harness) -> None:
    a = h.zsock(zmq.PULL)
    a.bind("inproc://re")
    b = h.zsock(zmq.PULL)
    expect_errno(zmq.EADDRINUSE, b.bind, "inproc://re")
    a.unbind("inproc://re")
    b.bind("inproc://re")
    push = h.zsock(zmq.PUSH)
    push.connect("inproc://re")
    push.send(b"to b")
    assert h.recv(b) == [b"to b"]
    h.nothing(a, 0.01)


def test_disconnect(h: Harness) -> None:
    pulls = [h.zsock(zmq.PULL) for _ in range(2)]
    pulls[0].bind("inproc://d0")
    pulls[1].bind("inproc://d1")
    push = h.zsock(zmq.PUSH)
    push.connect("inproc://d0")
    push.connect("inproc://d1")
    push.disconnect("inproc://d0")
    for i in range(3):
        push.send(b"%d" % i)
    assert [h.recv(pulls[1]) for _ in range(3)] == [[b"0"], [b"1"], [b"2"]]
    h.nothing(pulls[0], 0.01)


def test_messages_survive_sender_close(h: Harness) -> None:
    pull = h.zsock(zmq.PULL)
    pull.bind("inproc://bye")
    push = h.zsock(zmq.PUSH)
    push.connect("inproc://bye")
    push.send(b"last words")
    push.close()
    assert h.recv(pull) == [b"last words"]


def test_pair_refuses_second_peer(h: Harness) -> None:
    a = h.zsock(zmq.PAIR)
    a.bind("inproc://pair")
    b = h.zsock(zmq.PAIR)
    b.connect("inproc://pair")
    c = h.zsock(zmq.PAIR)
    c.connect("inproc://pair")
    b.send(b"from b")
    assert h.recv(a) == [b"from b"]
    a.send(b"to b")
    assert h.recv(b) == [b"to b"]
    if c.poll(0, zmtp.POLLOUT):  # (c's pipe may exist, but nothing it sends reaches a)
        c.send(b"from c", zmtp.DONTWAIT)
    h.nothing(a, 0.02)


def test_big_and_multipart_inproc(h: Harness) -> None:
    a, b = h.zsock(zmq.PAIR), h.zsock(zmq.PAIR)
    a.bind("inproc://big")
    b.connect("inproc://big")
    big = b"\xab" * (1 << 20)
    parts = [b"%d" % i for i in range(100)] + [b""]
    a.send(big)
    a.send_multipart(parts)
    assert h.recv(b) == [big]
    assert h.recv(b) == parts


def test_inproc_does_not_cross_contexts(h: Harness) -> None:
    pull = h.zsock(zmq.PULL)
    pull.bind("inproc://mine")
    other = zmtp.Context()
    try:
        push = other.socket(zmq.PUSH)
        push.linger = 0
        push.connect("inproc://mine")
        push.send(b"lost", zmtp.DONTWAIT)
        h.nothing(pull, 0.02)
    finally:
        other.destroy(linger=0)


def test_threads_on_either_end(driver: str) -> None:
    ctx = zmtp.Context(driver=driver)
    try:
        pull = ctx.socket(zmq.PULL)
        pull.bind("inproc://threads")
        pull.rcvtimeo = int(WAIT * 1000)
        n = 2000
        errors: List[BaseException] = []

        def producer() -> None:
            try:
                push = ctx.socket(zmq.PUSH)
                push.sndhwm = 10
                push.sndtimeo = int(WAIT * 1000)
                push.connect("inproc://threads")
                for i in range(n):
                    push.send(b"%d" % i)
                push.close()
            except BaseException as exc:  # noqa: B036
                errors.append(exc)

        t = threading.Thread(target=producer)
        t.start()
        got = [int(pull.recv()) for _ in range(n)]
        t.join(WAIT)
        assert not errors, errors
        assert got == list(range(n))
    finally:
        ctx.destroy(linger=0)


def test_inproc_req_rep_across_threads(driver: str) -> None:
    ctx = zmtp.Context(driver=driver)
    try:
        rep = ctx.socket(zmq.REP)
        rep.bind("inproc://echo")
        rep.rcvtimeo = int(WAIT * 1000)

        def server() -> None:
            for _ in range(50):
                rep.send(rep.recv().upper())

        t = threading.Thread(target=server)
        t.start()
        req = ctx.socket(zmq.REQ)
        req.rcvtimeo = int(WAIT * 1000)
        req.connect("inproc://echo")
        for i in range(50):
            req.send(b"m%d" % i)
            assert req.recv() == b"M%d" % i
        t.join(WAIT)
        assert not t.is_alive()
    finally:
        ctx.destroy(linger=0)


@pytest.mark.parametrize("driver", ["threaded", "blocking"])
def test_connect_before_bind_link_closes_with_the_binder(driver: str) -> None:
    """A link joined when the name was bound later must still go away when the binder closes."""
    ctx = zmtp.Context(driver=driver)
    try:
        push = ctx.socket(zmtp.PUSH)
        push.connect("inproc://late-binder")
        pull = ctx.socket(zmtp.PULL)
        pull.bind("inproc://late-binder")
        push.send(b"one")
        pull.rcvtimeo = 1000
        assert pull.recv() == b"one"
        pull.close(linger=0)
        # the only peer is gone: PUSH has nowhere to put a message (libzmq: EAGAIN with DONTWAIT)
        with pytest.raises(zmtp.Again):
            push.send(b"two", zmtp.DONTWAIT)
    finally:
        ctx.destroy(linger=0)
