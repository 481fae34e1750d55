"""Socket patterns over bare Pipe objects: no sockets, no threads, no sleeping."""

from __future__ import annotations

from typing import Any, List, Optional, Tuple, Type

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zmtp.constants import Errno, SocketType
from zmtp.error import ZMQError
from zmtp.options import Options
from zmtp.patterns import (
    PATTERNS,
    Dealer,
    Pair,
    Pattern,
    Pipe,
    Pub,
    Pull,
    Push,
    Rep,
    Req,
    Router,
    Sub,
    SubscriptionChange,
    XPub,
    XSub,
)
from zmtp.patterns.pipe import Message, OutboundItem

# -- helpers ---------------------------------------------------------------------------------------


def make(cls: Type[Pattern], **opts: Any) -> Any:
    return cls(Options(**opts))


def attach(pattern: Pattern, n: int = 1, **kw: Any) -> List[Pipe]:
    pipes = []
    for _ in range(n):
        pipe = Pipe(**kw)
        assert pattern.attach(pipe)
        pipes.append(pipe)
    return pipes


def out(pipe: Pipe) -> List[OutboundItem]:
    """Everything queued for the peer, taken as the transport would take it."""
    items: List[OutboundItem] = []
    while True:
        item = pipe.take_outbound()
        if item is None:
            return items
        items.append(item)


def msgs(pipe: Pipe) -> List[Message]:
    items = out(pipe)
    assert all(isinstance(i, list) for i in items), items
    return [list(i) for i in items]  # type: ignore[arg-type]


def subs(pipe: Pipe) -> List[Tuple[bytes, bool]]:
    return [(i.topic, i.subscribe) for i in out(pipe) if isinstance(i, SubscriptionChange)]


def recv_all(pattern: Pattern) -> List[Message]:
    got: List[Message] = []
    while True:
        msg = pattern.recv()
        if msg is None:
            return got
        got.append(msg)


class Link:
    """Two pipes joined back to back, as inproc would join them (a test double for the transport)."""

    def __init__(self, a: Pattern, b: Pattern, *, a_identity: bytes = b"", b_identity: bytes = b"") -> None:
        self.a_pipe = Pipe(peer_identity=b_identity, peer_socket_type=b.socket_type_name)
        self.b_pipe = Pipe(peer_identity=a_identity, peer_socket_type=a.socket_type_name)
        assert a.attach(self.a_pipe)
        assert b.attach(self.b_pipe)

    def pump(self) -> None:
        for src, dst in ((self.a_pipe, self.b_pipe), (self.b_pipe, self.a_pipe)):
            while True:
                item = src.take_outbound()
                if item is None:
                    break
                if isinstance(item, SubscriptionChange):
                    dst.deliver_subscription(item.topic, item.subscribe)
                else:
                    dst.deliver(item)


def pump(*links: Link) -> None:
    for _ in range(3):
        for link in links:
            link.pump()


def errno_of(exc: pytest.ExceptionInfo[ZMQError]) -> Optional[int]:
    return exc.value.errno


# -- registry --------------------------------------------------------------------------------------


def test_registry_names_and_types() -> None:
    # classic types 0-11 (STREAM over raw connections), draft types 12-17, 19, 20 (DGRAM 18 is not a
    # pipe pattern)
    assert set(PATTERNS) == set(range(12)) | {12, 13, 14, 15, 16, 17, 19, 20}
    for num, cls in PATTERNS.items():
        assert cls.socket_type_name == SocketType(num).name
        pattern = cls(Options(), id_seed=7)
        assert isinstance(pattern, Pattern)


@pytest.mark.parametrize(
    "cls, op",
    [(Push, "recv"), (Pull, "send"), (Pub, "recv"), (Sub, "send")],
)
def test_enotsup(cls: Type[Pattern], op: str) -> None:
    pattern = make(cls)
    with pytest.raises(ZMQError) as exc:
        if op == "send":
            pattern.send([b"x"])
        else:
            pattern.recv()
    assert errno_of(exc) == Errno.ENOTSUP
    assert not (pattern.can_send() if op == "send" else pattern.can_recv())


# -- PUSH / PULL -----------------------------------------------------------------------------------


def test_push_round_robin_three_pipes() -> None:
    push = make(Push)
    pipes = attach(push, 3)
    for i in range(7):
        assert push.send([b"%d" % i])
    assert [m[0] for m in msgs(pipes[0])] == [b"0", b"3", b"6"]
    assert [m[0] for m in msgs(pipes[1])] == [b"1", b"4"]
    assert [m[0] for m in msgs(pipes[2])] == [b"2", b"5"]


def test_push_blocks_without_peer_and_at_hwm() -> None:
    push = make(Push)
    assert not push.can_send()
    assert push.send([b"x"]) is False
    a, b = attach(push, 2, sndhwm=2)
    assert push.can_send()
    for i in range(4):
        assert push.send([b"%d" % i])
    assert not push.can_send()
    assert push.send([b"more"]) is False
    # the transport drains one message of b: b becomes writable again and is used
    signals: List[int] = []
    push.signal = lambda: signals.append(1)
    assert b.take_outbound() == [b"1"]
    assert signals
    assert push.can_send()
    assert push.send([b"4"])
    assert push.send([b"5"]) is False
    assert msgs(a) == [[b"0"], [b"2"]]
    assert msgs(b) == [[b"3"], [b"4"]]


def test_push_skips_full_pipe() -> None:
    push = make(Push)
    full = Pipe(sndhwm=1)
    free = Pipe(sndhwm=0)  # unlimited
    push.attach(full)
    push.attach(free)
    for i in range(5):
        assert push.send([b"%d" % i])
    assert msgs(full) == [[b"0"]]
    assert len(msgs(free)) == 4


def test_push_detach_keeps_rotation() -> None:
    push = make(Push)
    a, b, c = attach(push, 3)
    push.send([b"0"])
    push.detach(b)
    assert b.pattern is None and b not in push.pipes
    for i in range(1, 5):
        push.send([b"%d" % i])
    got_a = [m[0] for m in msgs(a)]
    got_c = [m[0] for m in msgs(c)]
    assert sorted(got_a + got_c) == [b"0", b"1", b"2", b"3", b"4"]
    assert abs(len(got_a) - len(got_c)) <= 1
    assert msgs(b) == []
    push.detach(a)
    push.detach(c)
    assert push.send([b"x"]) is False


def test_push_multipart_is_whole() -> None:
    push = make(Push)
    a, b = attach(push, 2)
    push.send([b"a", b"b", memoryview(b"c")])
    assert a.outbound[0] == [b"a", b"b", memoryview(b"c")]


def test_pull_fair_queue() -> None:
    pull = make(Pull)
    a, b, c = attach(pull, 3)
    for i in range(3):
        a.deliver([b"a%d" % i])
    b.deliver([b"b0"])
    for i in range(2):
        c.deliver([b"c%d" % i])
    assert pull.can_recv()
    got = [m[0] for m in recv_all(pull)]
    assert got == [b"a0", b"b0", b"c0", b"a1", b"c1", b"a2"]
    assert not pull.can_recv()


def test_pull_signals_and_late_attach() -> None:
    pull = make(Pull)
    signals: List[int] = []
    pull.signal = lambda: signals.append(1)
    pipe = Pipe()
    pipe.deliver([b"early"])  # before attach: no pattern to tell
    pull.attach(pipe)
    assert pull.recv() == [b"early"]
    n = len(signals)
    pipe.deliver([b"x"])
    assert len(signals) == n + 1
    pipe.deliver([b"y"])  # not empty -> no new signal needed
    assert len(signals) == n + 1
    assert recv_all(pull) == [[b"x"], [b"y"]]


def test_pull_rcvhwm_space_hook() -> None:
    pull = make(Pull)
    (pipe,) = attach(pull, 1, rcvhwm=2)
    room: List[Pipe] = []
    pipe.on_inbound_space = room.append
    pipe.deliver([b"1"])
    pipe.deliver([b"2"])
    assert not pipe.can_deliver()
    assert pull.recv() == [b"1"]
    assert room == [pipe]


def test_pull_detach_drops_queued() -> None:
    pull = make(Pull)
    a, b = attach(pull, 2)
    a.deliver([b"a"])
    b.deliver([b"b"])
    pull.detach(a)
    assert recv_all(pull) == [[b"b"]]


def test_pull_thousands_of_pipes() -> None:
    pull = make(Pull)
    pipes = attach(pull, 3000)
    for i, pipe in enumerate(pipes):
        pipe.deliver([b"%d" % i])
        pipe.deliver([b"%d again" % i])
    got = recv_all(pull)
    assert len(got) == 6000
    assert got[:3000] == [[b"%d" % i] for i in range(3000)]
    assert got[3000:] == [[b"%d again" % i] for i in range(3000)]


def test_pull_conflate() -> None:
    pull = make(Pull, conflate=True)
    a, b = attach(pull, 2)
    for i in range(5):
        a.deliver([b"a%d" % i])
    b.deliver([b"b0"])
    assert recv_all(pull) == [[b"a4"], [b"b0"]]


# -- PAIR ------------------------------------------------------------------------------------------


def test_pair_one_peer_only() -> None:
    pair = make(Pair)
    assert not pair.can_send() and not pair.can_recv()
    assert pair.send([b"x"]) is False
    assert pair.recv() is None
    first, second = Pipe(sndhwm=1), Pipe()
    assert pair.attach(first) is True
    assert pair.attach(second) is False
    assert second.pattern is None and pair.pipes == [first]
    assert pair.send([b"a"])
    assert pair.send([b"b"]) is False  # HWM 1
    assert not pair.can_send()
    first.deliver([b"hi", b"there"])
    assert pair.can_recv()
    assert pair.recv() == [b"hi", b"there"]
    pair.detach(second)  # refused pipe: no effect
    assert pair.pipes == [first]
    pair.detach(first)
    third = Pipe()
    assert pair.attach(third) is True


def test_pair_gone_peer_with_unread_messages_gives_way_to_a_new_one() -> None:
    """The fuzzer's PAIR wedge: the peer left, its pipe lingers only for an unread message, and the
    application is blocked sending to it; a new peer must still be taken (and get the send)."""
    pair = make(Pair)
    old = Pipe()
    assert pair.attach(old)
    old.deliver([b"from the gone peer"])
    old.closed = True  # the transport: peer gone, kept readable
    assert pair.send([b"echo"]) is False  # nowhere to send
    new = Pipe()
    assert pair.attach(new) is True
    assert old.pattern is None and pair.pipes == [new]
    assert pair.send([b"echo"]) and list(new.outbound) == [[b"echo"]]


# -- DEALER ----------------------------------------------------------------------------------------


def test_dealer_round_robin_and_fair_queue() -> None:
    dealer = make(Dealer)
    a, b = attach(dealer, 2)
    for i in range(4):
        assert dealer.send([b"%d" % i, b"body"])
    assert msgs(a) == [[b"0", b"body"], [b"2", b"body"]]
    assert msgs(b) == [[b"1", b"body"], [b"3", b"body"]]
    a.deliver([b"a1"])
    a.deliver([b"a2"])
    b.deliver([b"b1"])
    assert recv_all(dealer) == [[b"a1"], [b"b1"], [b"a2"]]


def test_dealer_blocks_without_peers() -> None:
    dealer = make(Dealer)
    assert dealer.send([b"x"]) is False and not dealer.can_send()
    (pipe,) = attach(dealer, 1, sndhwm=1)
    assert dealer.send([b"x"]) and dealer.send([b"y"]) is False


def test_dealer_probe_router_and_conflate() -> None:
    dealer = make(Dealer, probe_router=True, conflate=True)
    (pipe,) = attach(dealer)
    assert msgs(pipe) == [[b""]]
    for i in range(3):
        pipe.deliver([b"%d" % i])
    assert recv_all(dealer) == [[b"2"]]


# -- REQ -------------------------------------------------------------------------------------------


def test_req_state_machine() -> None:
    req = make(Req)
    (pipe,) = attach(req)
    with pytest.raises(ZMQError) as exc:
        req.recv()
    assert errno_of(exc) == Errno.EFSM
    assert not req.can_recv()
    assert req.can_send()
    assert req.send([b"hello"])
    assert msgs(pipe) == [[b"", b"hello"]]
    assert not req.can_send()
    with pytest.raises(ZMQError) as exc:
        req.send([b"again"])
    assert errno_of(exc) == Errno.EFSM
    assert req.recv() is None  # no reply yet
    pipe.deliver([b"", b"world", b"!"])
    assert req.can_recv()
    assert req.recv() == [b"world", b"!"]
    assert req.can_send() and not req.can_recv()
    with pytest.raises(ZMQError):
        req.recv()


def test_req_drops_malformed_and_foreign_replies() -> None:
    req = make(Req)
    a, b = attach(req, 2)
    assert req.send([b"q"])
    assert msgs(a) == [[b"", b"q"]]
    b.deliver([b"", b"from b"])  # not the pipe the request went to
    a.deliver([b"no delimiter"])
    a.deliver([b""])  # delimiter with no body
    a.deliver([b"x", b"", b"y"])  # delimiter not first
    assert not req.can_recv()
    a.deliver([b"", b"ok"])
    assert req.recv() == [b"ok"]
    # next request goes to b (round robin); b's stale reply was consumed and dropped above
    assert req.send([b"q2"])
    assert msgs(b) == [[b"", b"q2"]]
    assert req.recv() is None


def test_req_blocks_without_peer() -> None:
    req = make(Req)
    assert not req.can_send()
    assert req.send([b"x"]) is False
    (pipe,) = attach(req)
    assert req.send([b"x"])


def test_req_correlate() -> None:
    req = make(Req, req_correlate=True)
    req = Req(Options(req_correlate=True), id_seed=41)
    (pipe,) = attach(req)
    assert req.send([b"q"])
    (sent,) = msgs(pipe)
    assert sent == [(42).to_bytes(4, "little"), b"", b"q"]
    pipe.deliver([(41).to_bytes(4, "little"), b"", b"stale"])
    pipe.deliver([sent[0], b"no delimiter"])
    pipe.deliver([sent[0]])
    assert req.recv() is None
    pipe.deliver([sent[0], b"", b"reply"])
    assert req.recv() == [b"reply"]
    assert req.send([b"q2"])
    assert msgs(pipe)[0][0] == (43).to_bytes(4, "little")


def test_req_relaxed_abandons_request() -> None:
    req = make(Req, req_relaxed=True, req_correlate=True)
    a, b = attach(req, 2)
    assert req.send([b"first"])
    assert req.can_send()
    assert req.send([b"second"])  # no EFSM
    (first,) = msgs(a)
    (second,) = msgs(b)
    a.deliver([first[0], b"", b"late reply to first"])
    assert not req.can_recv()
    b.deliver([second[0], b"", b"reply to second"])
    assert req.recv() == [b"reply to second"]


def test_req_relaxed_without_correlate_resends() -> None:
    req = make(Req, req_relaxed=True)
    (pipe,) = attach(req)
    req.send([b"1"])
    req.send([b"2"])
    assert msgs(pipe) == [[b"", b"1"], [b"", b"2"]]
    pipe.deliver([b"", b"r"])
    assert req.recv() == [b"r"]


def test_req_reply_pipe_detached_keeps_waiting() -> None:
    req = make(Req)
    a, b = attach(req, 2)
    req.send([b"q"])
    req.detach(a)
    assert req.recv() is None
    assert not req.can_send()  # strict: still waiting for the reply (as libzmq)
    with pytest.raises(ZMQError):
        req.send([b"again"])


def test_req_probe_router() -> None:
    req = make(Req, probe_router=True)
    (pipe,) = attach(req)
    assert msgs(pipe) == [[b""]]


def test_req_round_robin_requests() -> None:
    req = make(Req)
    pipes = attach(req, 3)
    for i in range(3):
        req.send([b"%d" % i])
        (sent,) = msgs(pipes[i])
        assert sent == [b"", b"%d" % i]
        pipes[i].deliver([b"", b"r%d" % i])
        assert req.recv() == [b"r%d" % i]


# -- ROUTER ----------------------------------------------------------------------------------------


def test_router_generated_ids_and_recv() -> None:
    router = Router(Options(), id_seed=0xFFFFFFFF)
    a, b = attach(router, 2)
    assert a.routing_id == b"\x00\xff\xff\xff\xff"
    assert b.routing_id == b"\x00\x00\x00\x00\x00"  # wraps like a uint32
    b.deliver([b"hello", b"world"])
    assert router.can_recv()
    assert router.recv() == [b"\x00\x00\x00\x00\x00", b"hello", b"world"]
    assert router.send([a.routing_id, b"to a"])
    assert msgs(a) == [[b"to a"]]
    assert router.route(a.routing_id) is a


def test_router_peer_identity_and_duplicate() -> None:
    router = make(Router)
    alice = Pipe(peer_identity=b"alice")
    assert router.attach(alice)
    assert alice.routing_id == b"alice"
    dup = Pipe(peer_identity=b"alice")
    assert router.attach(dup) is False
    assert dup.pattern is None and dup not in router.pipes
    assert router.send([bytearray(b"alice"), b"x"])
    assert router.send([memoryview(b"alice"), b"y"])
    assert msgs(alice) == [[b"x"], [b"y"]]
    router.detach(alice)
    assert router.route(b"alice") is None
    again = Pipe(peer_identity=b"alice")
    assert router.attach(again)


def test_router_handover() -> None:
    router = make(Router, router_handover=True)
    closed: List[Pipe] = []
    router.close_pipe = closed.append
    old = Pipe(peer_identity=b"svc")
    new = Pipe(peer_identity=b"svc")
    router.attach(old)
    old.deliver([b"pending"])
    assert router.attach(new)
    assert closed == [old]
    assert new.routing_id == b"svc"
    assert old.routing_id.startswith(b"\x00") and len(old.routing_id) == 5
    router.send([b"svc", b"to new"])
    assert msgs(new) == [[b"to new"]] and msgs(old) == []
    # the displaced pipe's queued message still arrives, under its new id
    assert router.recv() == [old.routing_id, b"pending"]
    router.detach(old)
    assert router.route(b"svc") is new


def test_router_unroutable_and_mandatory() -> None:
    router = make(Router)
    (pipe,) = attach(router, 1, sndhwm=1)
    assert router.send([b"nobody", b"x"])  # dropped
    assert router.send([pipe.routing_id])  # id without body: dropped
    assert router.send([pipe.routing_id, b"1"])
    assert router.send([pipe.routing_id, b"2"])  # full: dropped
    assert msgs(pipe) == [[b"1"]]
    assert router.can_send()

    mand = make(Router, router_mandatory=True)
    assert not mand.can_send()
    (pipe,) = attach(mand, 1, sndhwm=1)
    with pytest.raises(ZMQError) as exc:
        mand.send([b"nobody", b"x"])
    assert errno_of(exc) == Errno.EHOSTUNREACH
    assert mand.send([pipe.routing_id, b"1"])
    assert not mand.can_send()
    assert mand.send([pipe.routing_id, b"2"]) is False  # EAGAIN
    pipe.take_outbound()
    assert mand.can_send()
    assert mand.send([pipe.routing_id, b"2"])
    pipe.closed = True
    pipe.take_outbound()
    with pytest.raises(ZMQError) as exc:
        mand.send([pipe.routing_id, b"3"])
    assert errno_of(exc) == Errno.EHOSTUNREACH


def test_router_probe() -> None:
    router = make(Router, probe_router=True)
    (pipe,) = attach(router)
    assert msgs(pipe) == [[b""]]


def test_router_fair_queue() -> None:
    router = make(Router)
    a, b = attach(router, 2)
    a.deliver([b"a1"])
    a.deliver([b"a2"])
    b.deliver([b"b1"])
    assert [m[1] for m in recv_all(router)] == [b"a1", b"b1", b"a2"]


# -- REP -------------------------------------------------------------------------------------------


def test_rep_state_machine_and_envelope() -> None:
    rep = make(Rep)
    (pipe,) = attach(rep)
    with pytest.raises(ZMQError) as exc:
        rep.send([b"x"])
    assert errno_of(exc) == Errno.EFSM
    assert not rep.can_send()
    pipe.deliver([b"hop2", b"hop1", b"", b"request", b"part2"])
    assert rep.can_recv()
    assert rep.recv() == [b"request", b"part2"]
    assert rep.can_send() and not rep.can_recv()
    with pytest.raises(ZMQError) as exc:
        rep.recv()
    assert errno_of(exc) == Errno.EFSM
    assert rep.send([b"reply"])
    assert msgs(pipe) == [[b"hop2", b"hop1", b"", b"reply"]]
    assert not rep.can_send()


def test_rep_drops_malformed() -> None:
    rep = make(Rep)
    (pipe,) = attach(rep)
    pipe.deliver([b"no", b"delimiter"])
    pipe.deliver([b"id", b""])  # nothing after the delimiter
    assert not rep.can_recv()
    assert rep.recv() is None
    pipe.deliver([b"", b"ok"])
    assert rep.recv() == [b"ok"]


def test_rep_reply_to_gone_or_full_peer_dropped() -> None:
    rep = make(Rep)
    a, b = attach(rep, 2, sndhwm=1)
    a.deliver([b"", b"from a"])
    b.deliver([b"", b"from b"])
    assert rep.recv() == [b"from a"]
    rep.detach(a)
    assert rep.send([b"lost"])  # silently dropped
    assert rep.recv() == [b"from b"]
    b.write([b"filler"])  # b at HWM
    assert rep.send([b"dropped"])
    assert msgs(b) == [[b"filler"]]
    assert not rep.can_send() and rep.recv() is None


def test_rep_fair_queues_requests() -> None:
    rep = make(Rep)
    a, b = attach(rep, 2)
    a.deliver([b"", b"a1"])
    a.deliver([b"", b"a2"])
    b.deliver([b"", b"b1"])
    order = []
    for _ in range(3):
        order.append(rep.recv())
        rep.send([b"ok"])
    assert order == [[b"a1"], [b"b1"], [b"a2"]]
    assert len(msgs(a)) == 2 and len(msgs(b)) == 1


def test_req_router_dealer_rep_chain() -> None:
    """REQ -> ROUTER|DEALER proxy -> REP and back: the envelope grows a hop and shrinks again."""
    req = make(Req, req_correlate=True)
    router = make(Router)
    dealer = make(Dealer)
    rep = make(Rep)
    l1 = Link(req, router, a_identity=b"client")
    l2 = Link(dealer, rep)
    assert req.send([b"ping"])
    pump(l1, l2)
    msg = router.recv()
    assert msg is not None and msg[0] == b"client" and msg[2:] == [b"", b"ping"]
    assert dealer.send(msg)
    pump(l1, l2)
    assert rep.recv() == [b"ping"]
    assert rep.send([b"pong"])
    pump(l1, l2)
    back = dealer.recv()
    assert back is not None and back[0] == b"client"
    assert router.send(back)
    pump(l1, l2)
    assert req.recv() == [b"pong"]


# -- PUB / XPUB ------------------------------------------------------------------------------------


def test_pub_prefix_filtering_and_multipart() -> None:
    pub = make(Pub)
    a, b, c = attach(pub, 3)
    a.deliver_subscription(b"weather.", True)
    b.deliver_subscription(b"weather.uk", True)
    b.deliver_subscription(b"sport", True)
    c.deliver_subscription(b"", True)
    assert pub.send([b"weather.uk.london", b"12C"])
    assert pub.send([bytearray(b"weather.fr"), b"15C"])
    assert pub.send([memoryview(b"sport.cricket"), b"rain"])
    assert pub.send([b"weath"])
    assert msgs(a) == [[b"weather.uk.london", b"12C"], [bytearray(b"weather.fr"), b"15C"]]
    assert msgs(b) == [[b"weather.uk.london", b"12C"], [memoryview(b"sport.cricket"), b"rain"]]
    assert len(msgs(c)) == 4


def test_pub_no_subscribers_and_unsubscribe() -> None:
    pub = make(Pub)
    assert pub.can_send() and pub.send([b"x"])
    (pipe,) = attach(pub)
    assert pub.send([b"x"])
    pipe.deliver_subscription(b"x", True)
    pipe.deliver_subscription(b"x", True)  # a set, not a count (mtrie)
    pub.send([b"x1"])
    pipe.deliver_subscription(b"x", False)
    pub.send([b"x2"])
    assert msgs(pipe) == [[b"x1"]]


def test_pub_hwm_drops_never_blocks() -> None:
    pub = make(Pub)
    slow, fast = Pipe(sndhwm=2), Pipe(sndhwm=0)
    pub.attach(slow)
    pub.attach(fast)
    slow.deliver_subscription(b"", True)
    fast.deliver_subscription(b"", True)
    for i in range(10):
        assert pub.send([b"%d" % i, b"tail"])
    assert msgs(slow) == [[b"0", b"tail"], [b"1", b"tail"]]  # whole messages only
    assert len(msgs(fast)) == 10


def test_pub_detach_removes_subscriptions() -> None:
    pub = make(Pub)
    a, b = attach(pub, 2)
    a.deliver_subscription(b"t", True)
    b.deliver_subscription(b"t", True)
    pub.detach(a)
    pub.send([b"topic"])
    assert msgs(a) == [] and msgs(b) == [[b"topic"]]
    pub.detach(b)
    assert pub.send([b"topic"])


def test_pub_subscription_messages_and_data_dropped() -> None:
    """ZMTP 3.0 peers (and XSUB forwarders) subscribe with \\x01/\\x00 messages; PUB drops other data."""
    pub = make(Pub)
    (pipe,) = attach(pub)
    pipe.deliver([b"\x01abc"])
    pipe.deliver([b"junk"])
    assert not pipe.inbound
    pub.send([b"abcd"])
    pipe.deliver([b"\x00abc"])
    pub.send([b"abcd"])
    assert msgs(pipe) == [[b"abcd"]]


def test_pub_thousands_of_subscriptions_and_long_frames() -> None:
    pub = make(Pub)
    pipes = attach(pub, 200, sndhwm=0)
    for i in range(5000):
        pipes[i % 200].deliver_subscription(b"topic/%d/" % i, True)
    big = b"topic/4321/" + b"x" * 1_000_000
    for _ in range(200):
        assert pub.send([big, b"payload"])
    for i, pipe in enumerate(pipes):
        got = msgs(pipe)
        assert len(got) == (200 if i == 4321 % 200 else 0)
    # unrelated long frames match nothing, fast
    for _ in range(200):
        pub.send([b"q" * 1_000_000])
    assert all(not p.outbound for p in pipes)


def test_pub_invert_matching() -> None:
    pub = make(Pub, invert_matching=True)
    a, b = attach(pub, 2)
    a.deliver_subscription(b"a", True)
    pub.send([b"apple"])
    pub.send([b"banana"])
    assert msgs(a) == [[b"banana"]]
    assert msgs(b) == [[b"apple"], [b"banana"]]


def test_xpub_notifications_plain() -> None:
    xpub = make(XPub)
    signals: List[int] = []
    xpub.signal = lambda: signals.append(1)
    a, b = attach(xpub, 2)
    assert not xpub.can_recv()
    a.deliver_subscription(b"t", True)
    b.deliver_subscription(b"t", True)  # not the first: silent
    b.deliver_subscription(b"u", True)
    assert xpub.can_recv() and signals
    assert recv_all(xpub) == [[b"\x01t"], [b"\x01u"]]
    a.deliver_subscription(b"t", False)  # b still subscribed: silent
    b.deliver_subscription(b"t", False)
    assert recv_all(xpub) == [[b"\x00t"]]
    b.deliver_subscription(b"nope", False)  # unknown: libzmq reports it (rm != values_remain)
    assert recv_all(xpub) == [[b"\x00nope"]]


def test_xpub_verbose_and_verboser() -> None:
    xpub = make(XPub, xpub_verbose=True)
    a, b = attach(xpub, 2)
    a.deliver_subscription(b"t", True)
    b.deliver_subscription(b"t", True)
    a.deliver_subscription(b"t", False)
    b.deliver_subscription(b"t", False)
    assert recv_all(xpub) == [[b"\x01t"], [b"\x01t"], [b"\x00t"]]

    xpub = make(XPub, xpub_verboser=True)
    a, b = attach(xpub, 2)
    a.deliver_subscription(b"t", True)
    b.deliver_subscription(b"t", True)
    a.deliver_subscription(b"t", False)
    b.deliver_subscription(b"t", False)
    assert recv_all(xpub) == [[b"\x01t"], [b"\x01t"], [b"\x00t"], [b"\x00t"]]


def test_xpub_detach_cancels() -> None:
    xpub = make(XPub)
    a, b = attach(xpub, 2)
    a.deliver_subscription(b"shared", True)
    a.deliver_subscription(b"only-a", True)
    b.deliver_subscription(b"shared", True)
    recv_all(xpub)
    xpub.detach(a)
    assert recv_all(xpub) == [[b"\x00only-a"]]
    xpub.detach(b)
    assert recv_all(xpub) == [[b"\x00shared"]]

    verboser = make(XPub, xpub_verboser=True)
    a, b = attach(verboser, 2)
    a.deliver_subscription(b"shared", True)
    b.deliver_subscription(b"shared", True)
    recv_all(verboser)
    verboser.detach(a)
    assert recv_all(verboser) == [[b"\x00shared"]]


def test_xpub_upstream_data_and_old_style_subscriptions() -> None:
    xpub = make(XPub)
    (pipe,) = attach(xpub)
    pipe.deliver([b"\x01abc"])
    pipe.deliver([b"hello", b"upstream"])
    pipe.deliver([b""])
    assert recv_all(xpub) == [[b"\x01abc"], [b"hello", b"upstream"], [b""]]
    xpub.send([b"abc!"])
    assert msgs(pipe) == [[b"abc!"]]


def test_xpub_nodrop() -> None:
    xpub = make(XPub, xpub_nodrop=True)
    a, b = attach(xpub, 2, sndhwm=1)
    a.deliver_subscription(b"", True)
    b.deliver_subscription(b"x", True)
    assert xpub.send([b"x1"])
    assert xpub.send([b"x2"]) is False  # all-or-nothing
    assert xpub.send([b"y"]) is False  # a is full
    b.take_outbound()
    assert xpub.send([b"y"]) is False
    a.take_outbound()
    assert xpub.send([b"y"])
    assert msgs(a) == [[b"y"]] and msgs(b) == []


def test_xpub_manual_and_welcome() -> None:
    xpub = make(XPub, xpub_manual=True, xpub_welcome_msg=b"WELCOME")
    a, b = attach(xpub, 2)
    assert msgs(a) == [[b"WELCOME"]] and msgs(b) == [[b"WELCOME"]]
    a.deliver_subscription(b"t", True)
    b.deliver_subscription(b"t", True)
    xpub.send([b"t1"])
    assert msgs(a) == [] and msgs(b) == []  # nothing subscribed until the application says so
    assert xpub.recv() == [b"\x01t"]
    xpub.subscribe(b"t")  # applies to a
    assert xpub.recv() == [b"\x01t"]
    xpub.subscribe(b"other")  # applies to b
    xpub.send([b"t2"])
    xpub.send([b"other"])
    assert msgs(a) == [[b"t2"]] and msgs(b) == [[b"other"]]
    xpub.detach(b)
    assert xpub.recv() == [b"\x00t"]  # manual cancels for b's topics
    xpub.subscribe(b"zzz")  # no last pipe any more: ignored
    with pytest.raises(ZMQError):
        make(XPub).subscribe(b"x")


# -- SUB / XSUB ------------------------------------------------------------------------------------


def test_sub_subscribe_counted_and_resent() -> None:
    sub = make(Sub)
    (a,) = attach(sub)
    sub.subscribe(b"t")
    sub.subscribe(b"t")
    sub.subscribe(b"u")
    # every subscribe goes upstream (xsub.cpp), the cancel only with the last unsubscribe
    assert subs(a) == [(b"t", True), (b"t", True), (b"u", True)]
    sub.unsubscribe(b"t")
    assert subs(a) == []
    sub.unsubscribe(b"never")
    assert subs(a) == []
    # a new (or reconnected) pipe gets every current subscription, even when at HWM
    b = Pipe(sndhwm=1)
    b.write([b"filler"])
    sub.attach(b)
    assert [i for i in out(b) if isinstance(i, SubscriptionChange)] == [
        SubscriptionChange(b"t", True), SubscriptionChange(b"u", True),
    ]
    sub.unsubscribe(b"t")
    assert subs(a) == [(b"t", False)] and subs(b) == [(b"t", False)]


def test_sub_filters() -> None:
    sub = make(Sub)
    a, b = attach(sub, 2)
    a.deliver([b"nothing subscribed"])
    assert not sub.can_recv() and sub.recv() is None
    sub.subscribe(b"news")
    a.deliver([b"sport", b"x"])
    a.deliver([b"news.today", b"body"])
    b.deliver([bytearray(b"news!")])  # type: ignore[list-item]  # inproc may pass bytes-likes
    b.deliver([b"new"])
    assert sub.can_recv()
    # fair-queued: a's "sport" is dropped, then b's turn, then a's again
    assert recv_all(sub) == [[bytearray(b"news!")], [b"news.today", b"body"]]
    sub.subscribe(b"")
    a.deliver([b"anything"])
    assert recv_all(sub) == [[b"anything"]]


def test_sub_invert_and_conflate() -> None:
    sub = make(Sub, invert_matching=True)
    (pipe,) = attach(sub)
    sub.subscribe(b"skip")
    pipe.deliver([b"skip me"])
    pipe.deliver([b"keep me"])
    assert recv_all(sub) == [[b"keep me"]]

    sub = make(Sub, conflate=True)
    (pipe,) = attach(sub)
    sub.subscribe(b"")
    for i in range(5):
        pipe.deliver([b"%d" % i])
    assert recv_all(sub) == [[b"4"]]


def test_xsub_forwarding() -> None:
    xsub = make(XSub)
    (a,) = attach(xsub)
    assert xsub.can_send()
    assert xsub.send([b"\x01t"])
    assert xsub.send([b"\x01t"])
    assert xsub.send([b"\x00t"])  # count 2 -> 1: not forwarded
    assert xsub.send([b"\x00zzz"])  # unknown: not forwarded
    assert xsub.send([bytearray(b"\x01u")])
    assert subs(a) == [(b"t", True), (b"t", True), (b"u", True)]
    b = Pipe()
    xsub.attach(b)
    assert subs(b) == [(b"t", True), (b"u", True)]
    assert xsub.send([b"\x00t"])
    assert subs(a) == [(b"t", False)] and subs(b) == [(b"t", False)]
    # other messages go upstream to every peer as data
    assert xsub.send([b"hello", b"xpub"])
    assert msgs(a) == [[b"hello", b"xpub"]] and msgs(b) == [[b"hello", b"xpub"]]
    # recv is unfiltered, fair-queued
    a.deliver([b"x"])
    b.deliver([b"y"])
    a.deliver([b"z"])
    assert recv_all(xsub) == [[b"x"], [b"y"], [b"z"]]


def test_pub_sub_end_to_end_over_link() -> None:
    pub = make(XPub)
    sub = make(Sub)
    link = Link(pub, sub)
    sub.subscribe(b"a")
    link.pump()
    assert pub.recv() == [b"\x01a"]
    pub.send([b"apple", b"1"])
    pub.send([b"banana"])
    link.pump()
    assert recv_all(sub) == [[b"apple", b"1"]]
    sub.unsubscribe(b"a")
    link.pump()
    assert pub.recv() == [b"\x00a"]


# -- property tests --------------------------------------------------------------------------------



@settings(max_examples=200, deadline=None)
@given(
    subscriptions=st.lists(st.tuples(st.integers(0, 3), st.binary(max_size=3), st.booleans()), max_size=30),
    frames=st.lists(st.binary(max_size=5), max_size=20),
)
def test_pub_matches_naive_prefix(
    subscriptions: List[Tuple[int, bytes, bool]], frames: List[bytes]
) -> None:
    pub = make(Pub)
    pipes = attach(pub, 4, sndhwm=0)
    model: List[set[bytes]] = [set() for _ in pipes]
    for idx, topic, subscribe in subscriptions:
        pipes[idx].deliver_subscription(topic, subscribe)
        if subscribe:
            model[idx].add(topic)
        else:
            model[idx].discard(topic)
    for frame in frames:
        pub.send([frame])
    for pipe, mine in zip(pipes, model):
        expected = [[f] for f in frames if any(f.startswith(t) for t in mine)]
        assert msgs(pipe) == expected


@settings(max_examples=200, deadline=None)
@given(
    ops=st.lists(st.tuples(st.booleans(), st.binary(max_size=3)), max_size=30),
    frames=st.lists(st.binary(max_size=5), max_size=20),
    invert=st.booleans(),
)
def test_sub_matches_naive_counted(ops: List[Tuple[bool, bytes]], frames: List[bytes], invert: bool) -> None:
    sub = make(Sub, invert_matching=invert)
    (pipe,) = attach(sub)
    counts: dict[bytes, int] = {}
    for subscribe, topic in ops:
        if subscribe:
            sub.subscribe(topic)
            counts[topic] = counts.get(topic, 0) + 1
        elif counts.get(topic):
            sub.unsubscribe(topic)
            counts[topic] -= 1
    for frame in frames:
        pipe.deliver([frame])
    live = [t for t, n in counts.items() if n]
    expected = [[f] for f in frames if any(f.startswith(t) for t in live) != invert]
    assert recv_all(sub) == expected


@settings(max_examples=100, deadline=None)
@given(ops=st.lists(st.tuples(st.sampled_from(["send", "drain", "attach", "detach"]), st.integers(0, 5)),
                    max_size=60))
def test_push_never_loses_or_duplicates(ops: List[Tuple[str, int]]) -> None:
    """Load balancer invariants under random attach/detach/drain: every accepted message is queued once."""
    push = make(Push)
    live: List[Pipe] = []
    gone: List[Pipe] = []
    taken: List[bytes] = []
    accepted: List[bytes] = []
    counter = 0
    for op, n in ops:
        if op == "attach":
            pipe = Pipe(sndhwm=n % 3 + 1)
            push.attach(pipe)
            live.append(pipe)
        elif op == "detach" and live:
            pipe = live.pop(n % len(live))
            push.detach(pipe)
            gone.append(pipe)
        elif op == "drain" and live:
            pipe = live[n % len(live)]
            item = pipe.take_outbound()
            if item is not None:
                taken.append(item[0])  # type: ignore[index]
        elif op == "send":
            counter += 1
            frame = b"%d" % counter
            expect = any(p.writable() for p in live)
            ok = push.send([frame])
            assert ok == expect
            if ok:
                accepted.append(frame)
    queued = [m[0] for p in live + gone for m in p.outbound]  # type: ignore[index]
    assert sorted(taken + queued) == sorted(accepted)
    assert len(set(accepted)) == len(accepted)


def test_router_handover_with_synchronous_close() -> None:
    """A transport may detach the displaced pipe from inside close_pipe."""
    router = make(Router, router_handover=True)
    router.close_pipe = router.detach
    old, new = Pipe(peer_identity=b"svc"), Pipe(peer_identity=b"svc")
    router.attach(old)
    assert router.attach(new)
    assert old.pattern is None and router.pipes == [new]
    assert router.route(b"svc") is new


def test_router_generated_ids_skip_taken() -> None:
    """A peer may announce an identity that looks generated (libzmq 4.3 accepts it); no collision follows."""
    router = Router(Options(), id_seed=0)
    squatter = Pipe(peer_identity=b"\x00\x00\x00\x00\x00")
    assert router.attach(squatter)
    (anon,) = attach(router)
    assert anon.routing_id == b"\x00\x00\x00\x00\x01"
    assert router.route(b"\x00\x00\x00\x00\x00") is squatter
