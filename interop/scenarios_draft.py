"""What each *draft* pattern pair must do (libzmq's thread-safe sockets), in the style of scenarios.py.

CLIENT-SERVER (RFC 41), RADIO-DISH (RFC 48, over tcp, ipc and udp), SCATTER-GATHER (RFC 49),
CHANNEL-CHANNEL (RFC 52) and PEER-PEER (RFC 51).  Messages are single-part; the scenarios use the
draft calls of :mod:`interop.api` (``send_draft`` / ``recv_draft`` for routing ids and groups,
``join``/``leave``, ``connect_peer``).

:data:`DRAFT_PATTERNS` are cells of the matrix (``interop.matrix.ALL_PATTERNS``).  The only real peer
with these types is zeromq.js (pyzmq's wheels lack libzmq's draft API: their cells are "n/a"); it has
no PEER (no ``connect_peer``), so PEER-PEER runs against zmtp itself (the ``zmtp`` peer, which runs
every draft pair).  tests/test_patterns_draft_interop.py runs the scenarios with zeromq.js in both
seats, which checks the scenarios themselves against libzmq.
"""

from __future__ import annotations

import time
from typing import Callable, List, Sequence, Tuple

from .api import CheckFailed, InteropError, Received, Sock, Timeout
from .scenarios import (
    RECV_MS,
    SHAPES,
    Pattern,
    Run,
    check_round_robin,
    expect,
    is_probe,
    probe_until,
    send,
    show,
)

#: The single-part message shapes (multipart is refused by these types).
SINGLE_SHAPES: List[Tuple[str, List[bytes]]] = [("hello", [b"hello"])] + [
    (name, shape) for name, shape in SHAPES if len(shape) == 1
]
#: The largest datagram a libzmq DISH reads whole (udp_engine.hpp ``MAX_UDP_MSG``); zmtp's RADIO sends
#: nothing larger over udp.
MAX_UDP_MSG = 8192
#: The longest group a libzmq 4.3.5 DISH survives over udp: it reads the group length as a signed char
#: and aborts on 128 or more (udp_engine.cpp ``in_event``; spec-notes.md Part 4, UDP).
UDP_GROUP_MAX = 127


def expect_error(what: str, error: str, op: Callable[[], None]) -> None:
    """``op`` must fail with ``error`` (an errno name such as ``EINVAL``)."""
    try:
        op()
    except InteropError as e:
        if e.error != error:
            raise CheckFailed(f"{what}: expected {error}, got {e.error}: {e.detail}") from None
        return
    raise CheckFailed(f"{what}: expected {error}, the call succeeded")


def recv_draft_or_fail(sock: Sock, what: str, timeout: int = RECV_MS) -> Received:
    try:
        return sock.recv_draft(timeout)
    except Timeout:
        raise CheckFailed(f"{what}: {sock.label} received nothing within {timeout}ms") from None


def recv_draft_skipping_probes(sock: Sock, what: str, timeout: int = RECV_MS) -> Received:
    deadline = time.monotonic() + timeout / 1000
    while True:
        left = max(1, int((deadline - time.monotonic()) * 1000))
        got = recv_draft_or_fail(sock, what, left)
        if not is_probe(got.frames):
            return got


# ---------------------------------------------------------------- CLIENT-SERVER


def client_server(run: Run) -> None:
    client, server = run.make("A", "CLIENT"), run.make("B", "SERVER")
    run.wire(client, server)
    rid = 0
    for name, shape in SINGLE_SHAPES:
        send(client.sock, shape, f"request {name}")
        got = recv_draft_or_fail(server.sock, f"request {name}")
        if got.frames != shape:
            raise CheckFailed(f"request {name}: SERVER expected {show(shape)}, got {show(got.frames)}")
        if not 0 < got.routing_id < 1 << 32 or (rid and got.routing_id != rid):
            raise CheckFailed(f"request {name}: bad or changing routing id {got.routing_id} (first {rid})")
        rid = got.routing_id
        server.sock.send_draft([b"re:" + shape[0]], RECV_MS, routing_id=rid)
        expect(client.sock, [b"re:" + shape[0]], f"reply {name}")

    # multipart is refused on both types; an unknown routing id is EHOSTUNREACH
    expect_error("CLIENT multipart send", "EINVAL", lambda: client.sock.send([b"a", b"b"], 200))
    expect_error("SERVER multipart send", "EINVAL",
                 lambda: server.sock.send_draft([b"a", b"b"], 200, routing_id=rid))
    unknown = rid ^ 0x5A5A5A5A or 1
    expect_error("SERVER send to an unknown routing id", "EHOSTUNREACH",
                 lambda: server.sock.send_draft([b"lost"], 200, routing_id=unknown))

    # two clients: distinct routing ids, each reply goes to its own client
    clients = [run.make("A", "CLIENT"), run.make("A", "CLIENT")]
    server2 = run.make("B", "SERVER")
    run.wire(*clients, server2)
    for i, c in enumerate(clients):
        send(c.sock, [b"from-%d" % i], "two clients")
    ids = {}
    for _ in clients:
        got = recv_draft_or_fail(server2.sock, "two clients")
        ids[got.frames[0]] = got.routing_id
    if len(set(ids.values())) != 2 or sorted(ids) != [b"from-0", b"from-1"]:
        raise CheckFailed(f"two clients: SERVER saw {ids}")
    for i in reversed(range(len(clients))):
        server2.sock.send_draft([b"to-%d" % i], RECV_MS, routing_id=ids[b"from-%d" % i])
    for i, c in enumerate(clients):
        expect(c.sock, [b"to-%d" % i], "reply routed by routing id")

    # one client round-robins over two servers
    c3 = run.make("A", "CLIENT")
    servers = [run.make("B", "SERVER"), run.make("B", "SERVER")]
    run.wire(c3, *servers)
    probe_until("round-robin setup", lambda: c3.sock.send([b"~probe"], 100), [s.sock for s in servers])
    sent = [f"rr-{i}".encode() for i in range(6)]
    for m in sent:
        send(c3.sock, [m], "round-robin")
    check_round_robin("round-robin", [s.sock for s in servers], sent,
                      lambda s: recv_draft_skipping_probes(s, "round-robin").frames[0])

    # reconnect: after the binding side restarts a round trip works again (a connecting CLIENT keeps
    # its queue, so the request is delivered once the connection is back)
    b = client if run.binder == "A" else server
    new = run.restart(b)
    client2, server3 = (new, server) if b is client else (client, new)
    send(client2.sock, [b"after"], "request after restart")
    got = recv_draft_or_fail(server3.sock, "request after restart")
    if got.frames != [b"after"]:
        raise CheckFailed(f"request after restart: got {show(got.frames)}")
    server3.sock.send_draft([b"ok"], RECV_MS, routing_id=got.routing_id)
    expect(client2.sock, [b"ok"], "reply after restart")


# ---------------------------------------------------------------- RADIO-DISH


def _join_live(radio: Sock, dishes: Sequence[Sock], group: bytes, what: str) -> None:
    """Probe ``group`` until every dish has one: the JOINs reached the radio."""
    probe_until(what, lambda: radio.send_draft([group + b"~probe"], 100, group=group), dishes)


def _collect(dish: Sock, end: bytes, what: str) -> List[Tuple[bytes, bytes]]:
    out = []
    while True:
        got = recv_draft_skipping_probes(dish, what)
        if got.frames == [end]:
            return out
        out.append((got.group, got.frames[0]))


def radio_dish(run: Run) -> None:
    radio, dish = run.make("A", "RADIO"), run.make("B", "DISH")
    run.wire(radio, dish)
    dish.sock.join(b"weather")
    _join_live(radio.sock, [dish.sock], b"weather", "join weather")
    # exact matching, the group reported with each message
    for group, body in ((b"news", b"n.1"), (b"weather", b"w.1"), (b"weathe", b"prefix"),
                        (b"weather2", b"longer"), (b"", b"empty group"), (b"weather", b"w.end")):
        radio.sock.send_draft([body], RECV_MS, group=group)
    got = _collect(dish.sock, b"w.end", "group filter")
    if got != [(b"weather", b"w.1")]:
        raise CheckFailed(f"group filter (joined b'weather'): got {got}")
    # leave one group, join another
    dish.sock.leave(b"weather")
    dish.sock.join(b"news")
    _join_live(radio.sock, [dish.sock], b"news", "join news")
    for group, body in ((b"weather", b"w.2"), (b"news", b"n.2"), (b"news", b"n.end")):
        radio.sock.send_draft([body], RECV_MS, group=group)
    got = _collect(dish.sock, b"n.end", "after leave")
    if got != [(b"news", b"n.2")]:
        raise CheckFailed(f"after leaving b'weather' and joining b'news': got {got}")
    # errors: joined twice, leave without join, group over 255 bytes, multipart
    expect_error("join a group twice", "EINVAL", lambda: dish.sock.join(b"news"))
    expect_error("leave a group not joined", "EINVAL", lambda: dish.sock.leave(b"weather"))
    expect_error("join a 256-byte group", "EINVAL", lambda: dish.sock.join(b"x" * 256))
    expect_error("RADIO multipart send", "EINVAL", lambda: radio.sock.send_draft([b"a", b"b"], 200, group=b"news"))
    # shapes, and the longest group (over udp: what a datagram, and a libzmq DISH, can take)
    shapes = SINGLE_SHAPES
    longest = b"G" * 255
    if run.transport == "udp":
        longest = b"G" * UDP_GROUP_MAX
        room = MAX_UDP_MSG - 1 - len(longest)
        shapes = [(n, s) for n, s in SINGLE_SHAPES if len(s[0]) <= room] + [("largest datagram", [b"D" * room])]
    dish.sock.join(longest)
    _join_live(radio.sock, [dish.sock], longest, f"join a {len(longest)}-byte group")
    for name, shape in shapes:
        radio.sock.send_draft(shape, RECV_MS, group=longest)
        got1 = recv_draft_skipping_probes(dish.sock, f"dish gets {name}")
        if got1.frames != shape or got1.group != longest:
            raise CheckFailed(f"dish gets {name}: got {show(got1.frames)} in group {got1.group[:8]!r}…")

    # fan-out: two dishes with different groups
    radio2 = run.make("A", "RADIO")
    dishes = [run.make("B", "DISH"), run.make("B", "DISH")]
    run.wire(radio2, *dishes)
    for d, g in zip(dishes, (b"F", b"G")):
        d.sock.join(g)
        _join_live(radio2.sock, [d.sock], g, f"fan-out join {g!r}")
    for g, m in ((b"F", b"F.1"), (b"G", b"G.1"), (b"F", b"F.end"), (b"G", b"G.end")):
        radio2.sock.send_draft([m], RECV_MS, group=g)
    for d, g in zip(dishes, (b"F", b"G")):
        got = _collect(d.sock, g + b".end", "fan-out")
        if got != [(g, g + b".1")]:
            raise CheckFailed(f"fan-out: {d.sock.label} joined {g!r} got {got}")

    # reconnect: the group is live again after the binding side restarts (a new DISH joins again)
    radio3, dish3 = run.make("A", "RADIO"), run.make("B", "DISH")
    run.wire(radio3, dish3)
    dish3.sock.join(b"R")
    _join_live(radio3.sock, [dish3.sock], b"R", "join R")
    if run.binder == "A":
        radio3 = run.restart(radio3)
    else:
        dish3 = run.restart(dish3, before_bind=lambda w: w.sock.join(b"R"))
    _join_live(radio3.sock, [dish3.sock], b"R", "group after the binder restarts")
    radio3.sock.send_draft([b"R.after"], RECV_MS, group=b"R")
    got1 = recv_draft_skipping_probes(dish3.sock, "publish after restart")
    if got1.frames != [b"R.after"] or got1.group != b"R":
        raise CheckFailed(f"publish after restart: got {show(got1.frames)} in {got1.group!r}")


# ---------------------------------------------------------------- SCATTER-GATHER


def scatter_gather(run: Run) -> None:
    scatter, gather = run.make("A", "SCATTER"), run.make("B", "GATHER")
    run.wire(scatter, gather)
    for name, shape in SINGLE_SHAPES:
        send(scatter.sock, shape, name)
        expect(gather.sock, shape, name)
    expect_error("SCATTER multipart send", "EINVAL", lambda: scatter.sock.send([b"a", b"b"], 200))

    # round-robin over two gatherers
    s2 = run.make("A", "SCATTER")
    gathers = [run.make("B", "GATHER"), run.make("B", "GATHER")]
    run.wire(s2, *gathers)
    probe_until("round-robin setup", lambda: s2.sock.send([b"~probe"], 100), [g.sock for g in gathers])
    sent = [f"rr-{i}".encode() for i in range(6)]
    for m in sent:
        send(s2.sock, [m], "round-robin")
    check_round_robin("round-robin", [g.sock for g in gathers], sent,
                      lambda s: recv_draft_skipping_probes(s, "round-robin").frames[0])

    # reconnect: what the connecting SCATTER queued while the GATHER was down arrives
    s3, g3 = run.make("A", "SCATTER"), run.make("B", "GATHER")
    run.wire(s3, g3)
    send(s3.sock, [b"before"], "before restart")
    expect(g3.sock, [b"before"], "before restart")
    if run.binder == "B":
        queued = [f"queued-{i}".encode() for i in range(3)]

        def while_down() -> None:
            for m in queued:
                send(s3.sock, [m], "while the gatherer is down")

        new = run.restart(g3, while_down=while_down)
        for m in queued:
            expect(new.sock, [m], "after the gatherer rebinds (queued message lost?)")
    else:
        new_s = run.restart(s3)
        send(new_s.sock, [b"after"], "after the scatterer rebinds")
        expect(g3.sock, [b"after"], "after the scatterer rebinds")


# ---------------------------------------------------------------- CHANNEL-CHANNEL


def channel_channel(run: Run) -> None:
    a, b = run.make("A", "CHANNEL"), run.make("B", "CHANNEL")
    run.wire(a, b)
    for name, shape in SINGLE_SHAPES:
        send(a.sock, shape, f"A→B {name}")
        expect(b.sock, shape, f"A→B {name}")
        send(b.sock, shape, f"B→A {name}")
        expect(a.sock, shape, f"B→A {name}")
    expect_error("CHANNEL multipart send", "EINVAL", lambda: a.sock.send([b"a", b"b"], 200))
    binder, conn = (a, b) if run.binder == "A" else (b, a)
    new = run.restart(binder)
    send(conn.sock, [b"after"], "after the binder restarts")
    expect(new.sock, [b"after"], "after the binder restarts")
    send(new.sock, [b"back"], "after the binder restarts")
    expect(conn.sock, [b"back"], "after the binder restarts")


# ---------------------------------------------------------------- PEER-PEER


def peer_peer(run: Run) -> None:
    """RFC 51: routing by the id ``connect_peer`` returns (known before the connection exists), the
    binding side answering by the id each message came with."""
    a, b = run.make("A", "PEER"), run.make("B", "PEER")
    binder, conn = (a, b) if run.binder == "A" else (b, a)
    binder.endpoint = run.bind(binder.sock, run.endpoint())
    rid = conn.sock.connect_peer(binder.endpoint)
    if not 0 < rid < 1 << 32:
        raise CheckFailed(f"connect_peer returned {rid}, not a non-zero 32-bit routing id")
    back = 0
    for name, shape in SINGLE_SHAPES:
        # sent at once: the connecting PEER's queue exists before the connection (RFC 51)
        conn.sock.send_draft(shape, RECV_MS, routing_id=rid)
        got = recv_draft_or_fail(binder.sock, f"to the binder: {name}")
        if got.frames != shape:
            raise CheckFailed(f"to the binder: {name}: got {show(got.frames)}")
        if not 0 < got.routing_id < 1 << 32 or (back and got.routing_id != back):
            raise CheckFailed(f"to the binder: {name}: bad or changing routing id {got.routing_id} (first {back})")
        back = got.routing_id
        binder.sock.send_draft([b"re:" + shape[0]], RECV_MS, routing_id=back)
        got = recv_draft_or_fail(conn.sock, f"reply {name}")
        if got.frames != [b"re:" + shape[0]] or got.routing_id != rid:
            raise CheckFailed(f"reply {name}: got {show(got.frames)} from routing id {got.routing_id}, want {rid}")
    expect_error("PEER multipart send", "EINVAL", lambda: conn.sock.send_draft([b"a", b"b"], 200, routing_id=rid))
    expect_error("PEER send to an unknown routing id", "EHOSTUNREACH",
                 lambda: conn.sock.send_draft([b"lost"], 200, routing_id=rid ^ 0x5A5A5A5A or 1))
    expect_error("PEER send without a routing id", "EHOSTUNREACH",
                 lambda: conn.sock.send_draft([b"lost"], 200, routing_id=0))

    # one PEER connected to two: distinct ids, each message to the one it names
    c2 = run.make(conn.role, "PEER")
    targets = [run.make(binder.role, "PEER"), run.make(binder.role, "PEER")]
    for t in targets:
        t.endpoint = run.bind(t.sock, run.endpoint())
    ids = [c2.sock.connect_peer(t.endpoint or "") for t in targets]
    if len(set(ids)) != 2 or 0 in ids:
        raise CheckFailed(f"two connect_peer calls returned {ids}")
    for i in reversed(range(2)):
        c2.sock.send_draft([b"to-%d" % i], RECV_MS, routing_id=ids[i])
    for i, t in enumerate(targets):
        got = recv_draft_or_fail(t.sock, "addressed by routing id")
        if got.frames != [b"to-%d" % i]:
            raise CheckFailed(f"addressed by routing id: {t.sock.label} got {show(got.frames)}, want to-{i}")

    # the binder restarts: what the connecting PEER queued for the same id meanwhile arrives
    def while_down() -> None:
        conn.sock.send_draft([b"queued"], RECV_MS, routing_id=rid)

    new = run.restart(binder, while_down=while_down)
    got = recv_draft_or_fail(new.sock, "after the binder restarts (queued message lost?)")
    if got.frames != [b"queued"]:
        raise CheckFailed(f"after the binder restarts: got {show(got.frames)}")
    new.sock.send_draft([b"back"], RECV_MS, routing_id=got.routing_id)
    got = recv_draft_or_fail(conn.sock, "reply after the binder restarts")
    if got.frames != [b"back"] or got.routing_id != rid:
        raise CheckFailed(f"reply after restart: got {show(got.frames)} from {got.routing_id}, want {rid}")


# ---------------------------------------------------------------- registry

DRAFT_PATTERNS: List[Pattern] = [
    Pattern("CLIENT-SERVER", "CLIENT", "SERVER", client_server),
    Pattern("RADIO-DISH", "RADIO", "DISH", radio_dish),
    Pattern("SCATTER-GATHER", "SCATTER", "GATHER", scatter_gather),
    Pattern("CHANNEL-CHANNEL", "CHANNEL", "CHANNEL", channel_channel, symmetric=True),
    Pattern("PEER-PEER", "PEER", "PEER", peer_peer, symmetric=True),
]
#: The pairs that may run over udp (libzmq's UDP transport is for RADIO and DISH only).
UDP_PATTERNS = frozenset({"RADIO-DISH"})
DRAFT_PATTERNS_BY_NAME = {p.name: p for p in DRAFT_PATTERNS}
