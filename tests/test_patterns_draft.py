"""Draft (thread-safe) socket patterns over bare Pipe objects: CLIENT, SERVER, PEER, RADIO, DISH,
SCATTER, GATHER, CHANNEL, with libzmq 4.3.5's semantics (see each module's docstring for the source)."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Type

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zmtp.constants import Errno, SocketType
from zmtp.error import ZMQError
from zmtp.options import Options
from zmtp.patterns import (
    GROUP_MAX_LENGTH,
    PATTERNS,
    Channel,
    Client,
    Dish,
    Gather,
    GroupChange,
    Pattern,
    Peer,
    Pipe,
    Radio,
    Scatter,
    Server,
    SingleMessage,
    SubscriptionChange,
)
from zmtp.patterns.pipe import OutboundItem

DRAFT = [Server, Client, Radio, Dish, Gather, Scatter, Peer, Channel]


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
    items: List[OutboundItem] = []
    while True:
        item = pipe.take_outbound()
        if item is None:
            return items
        items.append(item)


def errno_of(fn: Any, *args: Any) -> Optional[int]:
    with pytest.raises(ZMQError) as exc:
        fn(*args)
    return exc.value.errno


def recv_all(pattern: Pattern) -> List[SingleMessage]:
    got: List[SingleMessage] = []
    while True:
        msg = pattern.recv_single()
        if msg is None:
            return got
        got.append(msg)


class Link:
    """Two patterns joined back to back, as inproc would (GroupChange -> deliver_group)."""

    def __init__(self, a: Pattern, b: Pattern) -> None:
        self.a_pipe = Pipe(peer_socket_type=b.socket_type_name)
        self.b_pipe = Pipe(peer_socket_type=a.socket_type_name)
        assert a.attach(self.a_pipe)
        assert b.attach(self.b_pipe)

    def pump(self) -> None:
        for src, dst in ((self.a_pipe, self.b_pipe), (self.b_pipe, self.a_pipe)):
            while True:
                item = src.take_outbound()
                if item is None:
                    break
                if isinstance(item, GroupChange):
                    dst.deliver_group(item.group, item.join)
                elif isinstance(item, SubscriptionChange):
                    dst.deliver_subscription(item.topic, item.subscribe)
                else:
                    dst.deliver(item)


# -- registry and common rules ---------------------------------------------------------------------


def test_registry_has_draft_types() -> None:
    for cls in DRAFT:
        num = SocketType[cls.socket_type_name]
        assert PATTERNS[num] is cls
        assert cls.thread_safe
    assert SocketType.DGRAM not in PATTERNS  # not a pattern over pipes (UDP raw datagrams)
    for cls in PATTERNS.values():
        if cls not in DRAFT:
            assert not cls.thread_safe
            with pytest.raises(ZMQError) as exc:
                cls(Options()).send_single(b"x")
            assert exc.value.errno == Errno.ENOTSUP


@pytest.mark.parametrize("cls", [Client, Server, Radio, Scatter, Peer, Channel])
def test_multipart_send_is_einval_and_sends_nothing(cls: Type[Pattern]) -> None:
    pattern = make(cls)
    pipes = attach(pattern, 1 if cls is Channel else 2)
    if isinstance(pattern, Radio):
        pipes[0].deliver_group(b"", True)
    assert errno_of(pattern.send, [b"a", b"b"]) == Errno.EINVAL
    assert all(not p.outbound for p in pipes)


@pytest.mark.parametrize("cls, op", [(Gather, "send"), (Dish, "send"), (Scatter, "recv"), (Radio, "recv")])
def test_enotsup(cls: Type[Pattern], op: str) -> None:
    pattern = make(cls)
    attach(pattern)
    if op == "send":
        assert errno_of(pattern.send, [b"a", b"b"]) == Errno.ENOTSUP  # checked before the shape
        assert errno_of(pattern.send_single, b"a") == Errno.ENOTSUP
    else:
        assert errno_of(pattern.recv) == Errno.ENOTSUP
        assert errno_of(pattern.recv_single) == Errno.ENOTSUP
        assert not pattern.can_recv()


@pytest.mark.parametrize("cls", [Client, Server, Gather, Peer, Channel])
def test_multipart_from_peer_dropped_connection_kept(cls: Type[Pattern]) -> None:
    closed: List[Pipe] = []
    pattern = make(cls)
    pattern.close_pipe = closed.append
    (pipe,) = attach(pattern)
    pipe.deliver([b"a", b"b"])
    pipe.deliver([b"ok"])
    pipe.deliver([b"x", b"y", b"z"])
    assert pattern.can_recv()
    assert [m.body for m in recv_all(pattern)] == [b"ok"]
    assert not pattern.can_recv()
    pipe.deliver([b"c", b"d"])
    assert not pattern.can_recv()  # exact POLLIN: nothing deliverable
    assert closed == [] and pipe.pattern is pattern


# -- CLIENT ----------------------------------------------------------------------------------------


def test_client_round_robin_fair_queue_and_blocking() -> None:
    client = make(Client)
    assert not client.can_send()
    assert not client.send([b"x"])  # no peer: would block (RFC 41)
    a, b = attach(client, 2, sndhwm=2)
    for i in range(4):
        assert client.send([b"%d" % i])
    assert [m for m in out(a)] == [[b"0"], [b"2"]]
    assert [m for m in out(b)] == [[b"1"], [b"3"]]
    for i in range(4):
        assert client.send_single(b"f%d" % i)
    assert not client.send([b"full"]) and not client.can_send()
    a.take_outbound()
    assert client.can_send() and client.send([b"again"])
    a.deliver([b"from-a"])
    b.deliver([b"from-b"])
    a.deliver([b"from-a2"])
    assert recv_all(client) == [SingleMessage(b"from-a"), SingleMessage(b"from-b"), SingleMessage(b"from-a2")]
    a.deliver([b"plain"])
    assert client.recv() == [b"plain"]


# -- SERVER / PEER ---------------------------------------------------------------------------------


def test_server_routing_ids() -> None:
    server = Server(Options(), id_seed=0xFFFFFFFF)
    a, b, c = attach(server, 3)
    # the counter starts at the seed, wraps and never gives 0
    assert [p.server_routing_id for p in (a, b, c)] == [0xFFFFFFFF, 1, 2]
    b.deliver([b"hi"])
    a.deliver([b"ho"])
    assert recv_all(server) == [SingleMessage(b"hi", 1), SingleMessage(b"ho", 0xFFFFFFFF)]
    assert server.send_single(b"to-b", 1)
    assert out(b) == [[b"to-b"]] and not a.outbound and not c.outbound
    assert server.route(2) is c


def test_server_unknown_id_no_id_and_gone_peer() -> None:
    server = Server(Options(), id_seed=5)
    (a,) = attach(server)
    assert errno_of(server.send_single, b"x", 6) == Errno.EHOSTUNREACH
    assert errno_of(server.send_single, b"x", 0) == Errno.EHOSTUNREACH
    assert errno_of(server.send, [b"x"]) == Errno.EHOSTUNREACH  # no routing id: 0
    a.closed = True  # the peer went away, its last messages still unread
    assert errno_of(server.send_single, b"x", 5) == Errno.EHOSTUNREACH
    server.detach(a)
    assert errno_of(server.send_single, b"x", 5) == Errno.EHOSTUNREACH
    assert server.can_send()  # POLLOUT is always true (server.cpp xhas_out)


def test_server_blocks_at_hwm_never_drops() -> None:
    server = Server(Options(), id_seed=10)
    (a,) = attach(server, sndhwm=1)
    woken: List[int] = []
    server.signal = lambda: woken.append(1)
    assert server.send_single(b"1", 10)
    assert not server.send_single(b"2", 10)  # EAGAIN: the socket layer waits (RFC 41)
    assert out(a) == [[b"1"]]
    assert woken  # pipe_writable woke the waiting sender
    assert server.send_single(b"2", 10)


def test_server_ids_skip_ids_in_use_after_wrap() -> None:
    server = Server(Options(), id_seed=1)
    pipes = attach(server, 3)  # 1, 2, 3
    server._next_id = 2  # as after a wrap-around
    (d,) = attach(server)
    assert d.server_routing_id == 4
    assert sorted(p.server_routing_id for p in pipes) == [1, 2, 3]


def test_peer_last_routing_id_and_two_way() -> None:
    peer = Peer(Options(), id_seed=100)
    assert peer.socket_type_name == "PEER"
    (a,) = attach(peer)
    assert peer.last_routing_id == 100 == a.server_routing_id
    (b,) = attach(peer)
    assert peer.last_routing_id == 101
    b.deliver([b"ping"])
    msg = peer.recv_single()
    assert msg == SingleMessage(b"ping", 101)
    assert peer.send_single(b"pong", msg.routing_id)
    assert out(b) == [[b"pong"]]


def test_client_server_end_to_end() -> None:
    server = Server(Options(), id_seed=7)
    clients = [make(Client), make(Client)]
    links = [Link(c, server) for c in clients]
    for i, c in enumerate(clients):
        assert c.send([b"req-%d" % i])
    for link in links:
        link.pump()
    reqs = recv_all(server)
    assert [r.body for r in reqs] == [b"req-0", b"req-1"]
    for r in reqs:
        assert server.send_single(b"re:" + r.body, r.routing_id)
    for link in links:
        link.pump()
    assert [c.recv() for c in clients] == [[b"re:req-0"], [b"re:req-1"]]


# -- RADIO / DISH ----------------------------------------------------------------------------------


def test_radio_sends_to_joined_groups_only_on_the_wire_shape() -> None:
    radio = make(Radio)
    a, b = attach(radio, 2)
    a.deliver_group(b"weather", True)
    b.deliver_group(b"news", True)
    b.deliver_group(b"weather", True)
    assert radio.send_single(b"rain", group=b"weather")
    assert radio.send_single(b"war", group=b"news")
    assert radio.send_single(b"nobody", group=b"sports")
    assert radio.send([b"empty group"])  # group b"": nobody joined it
    assert out(a) == [[b"weather", b"rain"]]
    assert out(b) == [[b"weather", b"rain"], [b"news", b"war"]]
    assert radio.can_send()
    # exact match, not prefix (RFC 48)
    assert radio.send_single(b"x", group=b"weather2") and not a.outbound


def test_radio_join_counting_leave_and_detach() -> None:
    radio = make(Radio)
    a, b = attach(radio, 2)
    a.deliver_group(b"g", True)
    a.deliver_group(b"g", True)  # libzmq's multimap: two JOINs need two LEAVEs
    a.deliver_group(b"g", False)
    radio.send_single(b"1", group=b"g")
    assert out(a) == [[b"g", b"1"]]
    a.deliver_group(b"g", False)
    a.deliver_group(b"g", False)  # LEAVE without JOIN: ignored
    b.deliver_group(b"never", False)
    radio.send_single(b"2", group=b"g")
    assert not a.outbound
    b.deliver_group(b"h", True)
    radio.detach(b)
    assert radio.members(b"h") == set()
    assert radio.send_single(b"3", group=b"h") and not b.outbound


def test_radio_hwm_drops_or_nodrop_eagain() -> None:
    radio = make(Radio)
    a, b = attach(radio, 2, sndhwm=1)
    for p in (a, b):
        p.deliver_group(b"g", True)
    assert radio.send_single(b"1", group=b"g")
    a.take_outbound()
    assert radio.send_single(b"2", group=b"g")  # b is full: b misses it, never blocks
    assert out(a) == [[b"g", b"2"]] and out(b) == [[b"g", b"1"]]
    nodrop = make(Radio, xpub_nodrop=True)
    c, d = attach(nodrop, 2, sndhwm=1)
    for p in (c, d):
        p.deliver_group(b"g", True)
    assert nodrop.send_single(b"1", group=b"g")
    c.take_outbound()
    assert not nodrop.send_single(b"2", group=b"g")  # d full: EAGAIN, nothing sent
    assert not c.outbound
    assert nodrop.send_single(b"x", group=b"other")  # no member full for that group


def test_radio_group_limits_and_hostile_joins() -> None:
    radio = make(Radio)
    closed: List[Pipe] = []
    radio.close_pipe = closed.append
    a, b = attach(radio, 2)
    assert errno_of(radio.send_single, b"x", 0, b"g" * (GROUP_MAX_LENGTH + 1)) == Errno.EINVAL
    a.deliver_group(b"g" * GROUP_MAX_LENGTH, True)
    assert radio.send_single(b"max", group=b"g" * GROUP_MAX_LENGTH)
    assert out(a) == [[b"g" * GROUP_MAX_LENGTH, b"max"]]
    b.deliver_group(b"x" * 300, True)  # libzmq 4.3.5 aborts here; we drop that peer only
    assert closed == [b]
    # a flood of duplicate JOINs is a counter, not memory
    for _ in range(10000):
        a.deliver_group(b"flood", True)
    assert radio.members(b"flood") == {a}
    # data messages from a dish are discarded (RFC 48)
    a.deliver([b"junk"])
    assert not a.inbound


def test_radio_udp_pipe_takes_every_group() -> None:
    radio = make(Radio)
    udp = Pipe()
    udp.subscribe_to_all = True
    assert radio.attach(udp)
    (tcp,) = attach(radio)
    tcp.deliver_group(b"g", True)
    radio.send_single(b"1", group=b"g")
    radio.send_single(b"2", group=b"h")
    assert out(udp) == [[b"g", b"1"], [b"h", b"2"]]
    assert out(tcp) == [[b"g", b"1"]]


def test_dish_join_leave_sent_and_resent() -> None:
    dish = make(Dish)
    (a,) = attach(dish)
    dish.join(b"one")
    dish.join(b"two")
    dish.leave(b"one")
    assert out(a) == [GroupChange(b"one", True), GroupChange(b"two", True), GroupChange(b"one", False)]
    (b,) = attach(dish)  # a new peer gets the current groups (and a reconnect is a new pipe)
    assert out(b) == [GroupChange(b"two", True)]
    assert dish.groups == [b"two"]


def test_dish_join_leave_errors() -> None:
    dish = make(Dish)
    dish.join(b"g" * GROUP_MAX_LENGTH)
    assert errno_of(dish.join, b"g" * (GROUP_MAX_LENGTH + 1)) == Errno.EINVAL
    assert errno_of(dish.join, b"g" * GROUP_MAX_LENGTH) == Errno.EINVAL  # joined twice
    assert errno_of(dish.leave, b"nope") == Errno.EINVAL
    assert errno_of(dish.leave, b"g" * (GROUP_MAX_LENGTH + 1)) == Errno.EINVAL
    dish.join(b"")  # the empty group is a group like any other
    assert dish.can_send()  # dish.cpp xhas_out: always true, although send is ENOTSUP


def test_dish_filters_on_receipt_and_reports_group() -> None:
    dish = make(Dish)
    (a,) = attach(dish)
    dish.join(b"g")
    a.deliver([b"g", b"1"])
    a.deliver([b"h", b"not joined"])
    a.deliver([b"g", b"2"])
    assert recv_all(dish) == [SingleMessage(b"1", 0, b"g"), SingleMessage(b"2", 0, b"g")]
    a.deliver([b"g", b"queued before leave"])
    dish.leave(b"g")
    assert dish.recv_single() is None and not dish.can_recv()  # filtered at recv time, like libzmq
    dish.join(b"c")
    a.deliver([b"c\x00junk", b"c-string"])  # libzmq compares groups as C strings
    assert dish.recv() == [b"c-string"]


def test_dish_malformed_message_drops_the_peer() -> None:
    for bad in ([b"lonely"], [b"g", b"body", b"extra"], [b"x" * 256, b"body"]):
        dish = make(Dish)
        closed: List[Pipe] = []
        dish.close_pipe = closed.append
        a, b = attach(dish, 2)
        dish.join(b"g")
        a.deliver([b"g", b"before"])
        a.deliver(bad)
        a.deliver([b"g", b"after"])  # already refused: never delivered
        b.deliver([b"g", b"other peer"])
        assert closed == [a]
        assert sorted(m.body for m in recv_all(dish)) == [b"before", b"other peer"]
        dish.detach(a)
        assert a.inbound_filter is None


def test_dish_screens_messages_queued_before_attach() -> None:
    dish = make(Dish)
    closed: List[Pipe] = []
    dish.close_pipe = closed.append
    dish.join(b"g")
    pipe = Pipe()
    pipe.deliver([b"g", b"early"])
    pipe.deliver([b"bad"])
    pipe.deliver([b"g", b"late"])
    assert dish.attach(pipe)
    assert closed == [pipe]
    assert recv_all(dish) == [SingleMessage(b"early", 0, b"g")]


def test_radio_dish_end_to_end() -> None:
    radio = make(Radio)
    dishes = [make(Dish), make(Dish)]
    links = [Link(radio, d) for d in dishes]
    dishes[0].join(b"a")
    dishes[1].join(b"b")
    for link in links:
        link.pump()
    for group in (b"a", b"b", b"c"):
        radio.send_single(b"to-" + group, group=group)
    for link in links:
        link.pump()
    assert recv_all(dishes[0]) == [SingleMessage(b"to-a", 0, b"a")]
    assert recv_all(dishes[1]) == [SingleMessage(b"to-b", 0, b"b")]
    dishes[0].leave(b"a")
    links[0].pump()
    radio.send_single(b"again", group=b"a")
    assert not links[0].a_pipe.outbound


# -- SCATTER / GATHER ------------------------------------------------------------------------------


def test_scatter_round_robin_and_blocking() -> None:
    scatter = make(Scatter)
    assert not scatter.send([b"x"]) and not scatter.can_send()
    a, b = attach(scatter, 2, sndhwm=1)
    assert scatter.send([b"1"]) and scatter.send_single(b"2")
    assert not scatter.send([b"3"])  # both full: block, never drop (RFC 49)
    assert out(a) == [[b"1"]] and out(b) == [[b"2"]]
    assert scatter.can_send()


def test_gather_fair_queue() -> None:
    gather = make(Gather)
    a, b = attach(gather, 2)
    for i in range(2):
        a.deliver([b"a%d" % i])
        b.deliver([b"b%d" % i])
    assert [m.body for m in recv_all(gather)] == [b"a0", b"b0", b"a1", b"b1"]
    assert not gather.can_send()


def test_scatter_gather_end_to_end() -> None:
    scatter = make(Scatter)
    gathers = [make(Gather), make(Gather)]
    links = [Link(scatter, g) for g in gathers]
    for i in range(4):
        assert scatter.send([b"%d" % i])
    for link in links:
        link.pump()
    assert [[m.body for m in recv_all(g)] for g in gathers] == [[b"0", b"2"], [b"1", b"3"]]


# -- CHANNEL ---------------------------------------------------------------------------------------


def test_channel_one_peer_single_part() -> None:
    channel = make(Channel)
    assert not channel.send([b"x"]) and not channel.can_send()
    (a,) = attach(channel, sndhwm=1)
    assert not channel.attach(Pipe())  # a second peer is refused
    assert channel.send([b"1"])
    assert not channel.send([b"2"])  # at SNDHWM: block
    assert out(a) == [[b"1"]]
    a.deliver([b"in"])
    assert channel.recv_single() == SingleMessage(b"in")
    channel.detach(a)
    assert not channel.can_send()
    (b,) = attach(channel)
    assert channel.send([b"new peer"]) and out(b) == [[b"new peer"]]


def test_channel_pair_end_to_end() -> None:
    a, b = make(Channel), make(Channel)
    link = Link(a, b)
    assert a.send([b"ping"])
    link.pump()
    assert b.recv() == [b"ping"]
    assert b.send_single(b"pong")
    link.pump()
    assert a.recv_single() == SingleMessage(b"pong")


# -- properties ------------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    ops=st.lists(
        st.tuples(st.sampled_from(["join", "leave", "send", "detach", "attach"]), st.integers(0, 3),
                  st.sampled_from([b"", b"a", b"b", b"ab"])),
        max_size=50,
    )
)
def test_radio_matches_model(ops: List[Any]) -> None:
    """RADIO's routing equals a model of per-pipe JOIN counts; nothing is sent twice or lost."""
    radio = make(Radio)
    pipes: List[Optional[Pipe]] = [None] * 4
    counts: List[Dict[bytes, int]] = [{} for _ in range(4)]
    for op, idx, group in ops:
        pipe = pipes[idx]
        if op == "attach" and pipe is None:
            new = pipes[idx] = Pipe(sndhwm=0)
            assert radio.attach(new)
            counts[idx] = {}
        elif pipe is None:
            continue
        elif op == "join":
            pipe.deliver_group(group, True)
            counts[idx][group] = counts[idx].get(group, 0) + 1
        elif op == "leave":
            pipe.deliver_group(group, False)
            if counts[idx].get(group):
                counts[idx][group] -= 1
        elif op == "detach":
            radio.detach(pipe)
            pipes[idx] = None
        else:
            radio.send_single(b"m", group=group)
            for j, p in enumerate(pipes):
                if p is not None:
                    want = [[group, b"m"]] if counts[j].get(group) else []
                    assert out(p) == want
