"""The ZMTP 2.0 fallback (RFC 15): a Connection meeting a peer whose version byte is 1.

The 2.0 peer is written out by hand (helpers_protocol.zmtp2_greeting and friends)::

    greeting  ff 00*8 7f | 01 (revision) | socket-type octet | identity frame: 00 len body
    frames    flags (bit 0 MORE, bit 1 LONG = 8-byte size, bits 2-7 reserved) size body

The live tests at the end check those same hand-written bytes against libzmq (which still speaks 2.0 to
a peer whose revision is 1), and check that libzmq answers a 2.0 peer with exactly the bytes the
Connection sends in its place.
"""

from __future__ import annotations

import select
import socket
import struct
import time
from typing import Callable, Dict, Iterator, List, Tuple

import pytest
from helpers_protocol import (
    STAGE1,
    ZMTP2_TYPES,
    ConnectionPair,
    SocketDriver,
    chunks,
    frame,
    greeting,
    joined,
    message,
    our_greeting,
    our_zmtp2_reply,
    ready,
    zmtp2_greeting,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zmtp.protocol import (
    SOCKET_TYPE_NAMES,
    Cancel,
    Connection,
    ConnectionClosed,
    ConnectionState,
    ErrorReason,
    Event,
    GreetingReceived,
    HandshakeComplete,
    LocalProtocolError,
    MessageReceived,
    RemoteProtocolError,
    Subscribe,
    is_compatible,
)
from zmtp.protocol.greeting import Greeting

try:  # only the live tests at the end need pyzmq
    import zmq
except ImportError:  # pragma: no cover
    zmq = None

#: What a Connection sends as its 2.0 socket-type octet: RFC 15's numbers; XPUB/XSUB go as PUB/SUB.
OUR_OCTET = dict(ZMTP2_TYPES, XPUB=1, XSUB=2)
#: What a 2.0 peer may send: RFC 15's numbers, plus libzmq's own 9 (XPUB) and 10 (XSUB).
PEER_OCTETS = dict(ZMTP2_TYPES, XPUB=9, XSUB=10)

PAIRS = [(ours, peer) for ours in OUR_OCTET for peer in PEER_OCTETS if is_compatible(ours, peer)]

MODES = ("whole", "bytewise", "trailing")

#: The "trailing data" for 2.0 (a command frame would be a protocol error there): a data frame, of
#: which the first byte rides along with the case and must complete nothing.
TAIL2 = frame(b"tail")


def feed2(conn: Connection, data: bytes, mode: str = "whole") -> List[Event]:
    """Feed ``data`` whole, byte by byte, or followed by the start of another (2.0) data frame."""
    if mode == "whole":
        return conn.receive_data(data)
    if mode == "bytewise":
        events: List[Event] = []
        for i in range(len(data)):
            events += conn.receive_data(data[i : i + 1])
        return events
    if mode == "trailing":
        events = conn.receive_data(data + TAIL2[:1])
        if conn.state is ConnectionState.ESTABLISHED:
            assert conn.receive_data(TAIL2[1:]) == [MessageReceived([b"tail"])]
        return events
    raise ValueError(mode)


def zmtp2_established(ours: str = "DEALER", peer: str = "ROUTER", identity: bytes = b"", **kwargs: object
                      ) -> Connection:
    """A Connection that fell back to 2.0 with a hand-written peer; output drained."""
    conn = Connection(ours, **kwargs)  # type: ignore[arg-type]
    conn.receive_data(zmtp2_greeting(PEER_OCTETS[peer], identity))
    assert conn.state is ConnectionState.ESTABLISHED and conn.zmtp2
    conn.data_to_send()
    return conn


def hs_events(peer: str, identity: bytes) -> List[Event]:
    return [
        GreetingReceived((2, 0), b"NULL", False),
        HandshakeComplete(peer, identity, (2, 0), {"socket-type": peer.encode(), "identity": identity}),
    ]


# -- the fallback handshake ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("ours, peer", PAIRS, ids=[f"{o}-{p}" for o, p in PAIRS])
def test_fallback_handshake(ours: str, peer: str, mode: str) -> None:
    conn = Connection(ours, identity=b"our-id")
    assert joined(conn) == our_greeting()[:STAGE1]
    events = feed2(conn, zmtp2_greeting(PEER_OCTETS[peer], b"peer-id"), mode)
    assert events == hs_events(peer, b"peer-id")
    assert conn.state is ConnectionState.ESTABLISHED
    assert conn.zmtp2 and conn.minor_version == 0
    assert conn.peer_greeting == Greeting(2, 0, b"NULL", False)
    assert (conn.peer_socket_type, conn.peer_identity) == (peer, b"peer-id")
    assert conn.peer_metadata == {"socket-type": peer.encode(), "identity": b"peer-id"}
    # our socket type (XPUB/XSUB as PUB/SUB) and our identity, in 2.0 form; no rest of a 3.x greeting
    assert joined(conn) == bytes((OUR_OCTET[ours], 0x00, 6)) + b"our-id"


@pytest.mark.parametrize("padding", [bytes(8), struct.pack(">Q", 6)], ids=["rfc15", "libzmq-style"])
def test_exact_bytes_on_the_wire(padding: bytes) -> None:
    """We answer at the peer's version byte, as libzmq does, and send nothing a 2.0 peer cannot read."""
    peer = b"\xff" + padding + b"\x7f" + b"\x01" + b"\x06" + b"\x00\x05" + b"route"
    conn = Connection("DEALER", identity=b"me")
    sent = joined(conn)
    assert sent == b"\xff" + bytes(7) + b"\x01" + b"\x7f" + b"\x03"  # signature + major version 3
    assert conn.receive_data(peer[:10]) == []
    assert conn.data_to_send() == []  # a 2.0 peer and a 3.x peer look alike so far
    assert conn.receive_data(peer[10:11]) == []  # revision 1: fall back now
    sent += joined(conn)
    assert sent == our_zmtp2_reply(5, b"me")
    assert sent[11:] == b"\x05" + b"\x00\x02me"  # DEALER, identity frame
    assert conn.receive_data(peer[11:]) == hs_events("ROUTER", b"route")
    assert conn.data_to_send() == []
    conn.send_message([b"a", b"", b"b" * 300, b"c"])
    assert joined(conn) == (
        b"\x01\x01a" + b"\x01\x00" + b"\x03" + struct.pack(">Q", 300) + b"b" * 300 + b"\x00\x01c"
    )


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("ours", ["DEALER", "PUSH", "PUB"])
@pytest.mark.parametrize("identity", [b"", b"\x00bin", bytes(range(255))], ids=["empty", "binary", "255"])
def test_identity_exchange(identity: bytes, ours: str, mode: str) -> None:
    """Both ways and for every socket type: a 2.0 peer always sends an identity frame, and so do we."""
    peer = {"DEALER": "ROUTER", "PUSH": "PULL", "PUB": "SUB"}[ours]
    conn = Connection(ours, identity=identity[::-1])
    conn.data_to_send()
    events = feed2(conn, zmtp2_greeting(peer, identity), mode)
    assert events == hs_events(peer, identity)
    assert conn.peer_identity == identity
    assert joined(conn) == bytes((OUR_OCTET[ours], 0, len(identity))) + identity[::-1]


def test_greeting_and_messages_in_one_chunk() -> None:
    conn = Connection("PULL")
    events = conn.receive_data(zmtp2_greeting("PUSH", b"p") + message(b"one") + message(b"two", b"2"))
    assert events == hs_events("PUSH", b"p") + [MessageReceived([b"one"]), MessageReceived([b"two", b"2"])]


def test_partial_greeting_waits() -> None:
    data = zmtp2_greeting("ROUTER", b"abc")
    conn = Connection("DEALER")
    assert conn.receive_data(data[:-1]) == []
    assert conn.state is ConnectionState.GREETING
    assert conn.receive_data(data[-1:]) == hs_events("ROUTER", b"abc")


def test_close_during_and_after_fallback() -> None:
    conn = Connection("DEALER")
    conn.receive_data(zmtp2_greeting("ROUTER")[:12])
    assert conn.receive_data(b"") == [ConnectionClosed()]
    conn = zmtp2_established()
    assert conn.receive_data(b"") == [ConnectionClosed()]
    assert conn.state is ConnectionState.CLOSED


# -- what we refuse ------------------------------------------------------------------------------------------


def _refused(conn: Connection, data: bytes, mode: str) -> RemoteProtocolError:
    with pytest.raises(RemoteProtocolError) as info:
        feed2(conn, data, mode)
    assert conn.state is ConnectionState.CLOSED
    assert conn.close_reason is info.value
    return info.value


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "ours, octet",
    [("DEALER", 8), ("DEALER", 7), ("SUB", 2), ("PUB", 9), ("PUSH", 4), ("PAIR", 5), ("REQ", 3),
     ("DEALER", 11), ("DEALER", 12), ("DEALER", 0x42), ("DEALER", 0xFF)],
)
def test_incompatible_socket_type(ours: str, octet: int, mode: str) -> None:
    conn = Connection(ours)
    conn.data_to_send()
    exc = _refused(conn, zmtp2_greeting(octet, b"id"), mode)
    assert exc.reason is ErrorReason.INCOMPATIBLE_SOCKET_TYPE
    assert SOCKET_TYPE_NAMES.get(octet, str(octet)) in str(exc)
    # our type and identity went out, but no ERROR command: a 2.0 peer could not read one
    assert joined(conn) == bytes((OUR_OCTET[ours], 0, 0))


@pytest.mark.parametrize("ours", ["CLIENT", "SERVER", "RADIO", "DISH", "PEER"])
def test_socket_type_without_a_zmtp2_number_refused(ours: str) -> None:
    conn = Connection(ours)
    conn.data_to_send()
    exc = _refused(conn, zmtp2_greeting("PAIR")[:STAGE1], "whole")
    assert exc.reason is ErrorReason.UNSUPPORTED_VERSION
    assert conn.data_to_send() == []


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("flags", [0x01, 0x02, 0x03, 0x04, 0x08, 0x80])
def test_identity_frame_with_bad_flags_refused(flags: int, mode: str) -> None:
    data = zmtp2_greeting("ROUTER", b"id")
    if flags & 0x02:  # LONG: an 8-byte size
        data = data[:12] + bytes((flags,)) + struct.pack(">Q", 2) + b"id"
    else:
        data = data[:12] + bytes((flags,)) + data[13:]
    conn = Connection("DEALER")
    conn.data_to_send()
    exc = _refused(conn, data, mode)
    assert exc.reason is ErrorReason.BAD_GREETING
    assert joined(conn) == bytes((5, 0, 0))  # no ERROR command


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "bad",
    [
        b"\x04\x05\x04PING",  # a 3.x command frame: bit 2 is reserved in 2.0
        b"\x05\x01x",
        b"\x06" + struct.pack(">Q", 1) + b"x",
        b"\x08\x01x",
        b"\x80\x01x",
        b"\x01\x01a" + b"\x04\x01x",  # in the middle of a multipart message
    ],
)
def test_reserved_flag_bits_are_bad_frames(bad: bytes, mode: str) -> None:
    conn = Connection("DEALER")
    conn.data_to_send()
    exc = _refused(conn, zmtp2_greeting("ROUTER") + bad, mode)
    assert exc.reason is ErrorReason.BAD_FRAME
    assert joined(conn) == bytes((5, 0, 0))  # no ERROR command after the handshake either


def test_3x_commands_are_bad_frames_after_fallback() -> None:
    """What a confused peer might send after a 2.0 greeting: READY / SUBSCRIBE / PING commands."""
    for cmd in (ready("ROUTER"), b"\x04\x0a\x09SUBSCRIBE", b"\x04\x07\x04PING\x00\x00"):
        conn = zmtp2_established()
        with pytest.raises(RemoteProtocolError) as info:
            conn.receive_data(cmd)
        assert info.value.reason is ErrorReason.BAD_FRAME
        assert conn.data_to_send() == []


def test_max_message_size_applies_to_zmtp2() -> None:
    conn = zmtp2_established("PULL", "PUSH", max_message_size=10)
    assert conn.receive_data(message(b"12345", b"67890")) == [MessageReceived([b"12345", b"67890"])]
    with pytest.raises(RemoteProtocolError) as info:
        conn.receive_data(message(b"12345", b"678901"))
    assert info.value.reason is ErrorReason.MESSAGE_TOO_LARGE


# -- subscriptions, PING, heartbeats -------------------------------------------------------------------------


@pytest.mark.parametrize("ours, peer", [("SUB", "PUB"), ("SUB", "XPUB"), ("XSUB", "PUB")])
def test_our_subscriptions_are_data_messages(ours: str, peer: str) -> None:
    conn = zmtp2_established(ours, peer)
    conn.send_subscribe(b"topic")
    assert joined(conn) == b"\x00\x06\x01topic"
    conn.send_subscribe(b"")
    assert joined(conn) == b"\x00\x01\x01"
    conn.send_cancel(b"topic")
    assert joined(conn) == b"\x00\x06\x00topic"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("ours, peer", [("PUB", "SUB"), ("XPUB", "SUB"), ("PUB", "XSUB")])
def test_publisher_turns_data_into_subscriptions(ours: str, peer: str, mode: str) -> None:
    conn = Connection(ours)
    stream = (
        zmtp2_greeting(PEER_OCTETS[peer])
        + frame(b"\x01news") + frame(b"\x01") + frame(b"\x00news") + frame(b"\x01" + b"t" * 300)
    )
    events = feed2(conn, stream, mode)
    assert events[2:] == [Subscribe(b"news"), Subscribe(b""), Cancel(b"news"), Subscribe(b"t" * 300)]


def test_send_ping_refused_on_zmtp2() -> None:
    conn = zmtp2_established()
    with pytest.raises(LocalProtocolError) as info:
        conn.send_ping(1.0, b"ctx")
    assert info.value.reason is ErrorReason.INVALID_STATE
    assert conn.state is ConnectionState.ESTABLISHED
    assert conn.data_to_send() == []


def test_no_heartbeat_or_handshake_deadline_on_zmtp2() -> None:
    conn = Connection("DEALER", heartbeat_ivl=1.0, heartbeat_ttl=3.0, handshake_ivl=5.0, now=100.0)
    assert conn.next_deadline() == 105.0
    conn.receive_data(zmtp2_greeting("ROUTER"), now=101.0)
    conn.data_to_send()
    assert conn.next_deadline() is None
    conn.handle_timer(1000.0)
    assert conn.data_to_send() == []
    assert conn.state is ConnectionState.ESTABLISHED
    # the same settings against a 3.x peer do arm a PING (the contrast that makes the above meaningful)
    conn3 = Connection("DEALER", heartbeat_ivl=1.0, handshake_ivl=5.0, now=100.0)
    conn3.receive_data(greeting(1) + ready("ROUTER"), now=101.0)
    assert conn3.next_deadline() == 102.0


def test_send_error_after_fallback_sends_nothing() -> None:
    conn = zmtp2_established()
    conn.send_error("bye")
    assert conn.state is ConnectionState.CLOSED
    assert conn.data_to_send() == []


# -- messages -----------------------------------------------------------------------------------------------

MESSAGES = [
    [b""],
    [b"x"],
    [b"", b""],
    [b"a" * 255],
    [b"b" * 256],
    [b"env", b"", b"c" * 70000, b"end"],
    [bytes(range(256)) * 300],
]


@pytest.mark.parametrize("mode", MODES)
def test_messages_from_peer(mode: str) -> None:
    conn = Connection("PULL")
    stream = zmtp2_greeting("PUSH") + b"".join(message(*m) for m in MESSAGES)
    events = feed2(conn, stream, mode)
    assert events[2:] == [MessageReceived(m) for m in MESSAGES]


def test_messages_to_peer() -> None:
    conn = zmtp2_established("PUSH", "PULL")
    for m in MESSAGES:
        conn.send_message(m)
        assert joined(conn) == message(*m)  # hand-written 2.0 framing


def test_message_sink_after_fallback() -> None:
    conn = zmtp2_established("PULL", "PUSH")
    got: List[List[bytes]] = []
    conn.message_sink = got.append
    assert conn.receive_data(message(b"a", b"b") + message(b"c")) == []
    assert got == [[b"a", b"b"], [b"c"]]


# -- any split gives the same events ----------------------------------------------------------------------

frame_st = st.one_of(st.binary(max_size=8), st.binary(min_size=254, max_size=258))


@settings(deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(
    identity=st.binary(max_size=255),
    messages=st.lists(st.lists(frame_st, min_size=1, max_size=4), max_size=5),
    ours=st.sampled_from(["PULL", "PUB", "XPUB"]),
    data=st.data(),
)
def test_split_invariance(identity: bytes, messages: List[List[bytes]], ours: str, data: st.DataObject) -> None:
    peer = {"PULL": "PUSH", "PUB": "SUB", "XPUB": "XSUB"}[ours]
    stream = zmtp2_greeting(PEER_OCTETS[peer], identity) + b"".join(message(*m) for m in messages)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=20))

    whole = Connection(ours, identity=b"me")
    expected = whole.receive_data(stream)
    assert expected[:2] == hs_events(peer, identity)
    assert len(expected) == 2 + len(messages)
    for ev, m in zip(expected[2:], messages):
        if isinstance(ev, (Subscribe, Cancel)):  # a publisher reads \x01/\x00 as (un)subscriptions
            assert ours != "PULL" and m[0][:1] in (b"\x00", b"\x01") and ev.topic == m[0][1:]
        else:
            assert ev == MessageReceived(m)

    split = Connection(ours, identity=b"me")
    events: List[Event] = []
    for piece in chunks(stream, cuts):
        events += split.receive_data(piece)
    assert events == expected
    assert joined(split) == joined(whole) == our_zmtp2_reply(OUR_OCTET[ours], b"me")


# -- staging does not disturb ZMTP 3.x between two cores ------------------------------------------------------


@pytest.mark.parametrize("fallback_a, fallback_b", [(True, True), (True, False), (False, True)])
@pytest.mark.parametrize("bytewise", [False, True])
def test_staged_and_whole_greetings_interoperate(fallback_a: bool, fallback_b: bool, bytewise: bool) -> None:
    a = Connection("DEALER", identity=b"A", zmtp2_fallback=fallback_a)
    b = Connection("ROUTER", zmtp2_fallback=fallback_b)
    pair = ConnectionPair(a, b, split=(lambda d: [d[i : i + 1] for i in range(len(d))]) if bytewise else None)
    ea, eb = pair.pump()
    assert pair.errors == {"a": None, "b": None}
    assert ea[-1] == HandshakeComplete("ROUTER", b"", (3, 1), {"socket-type": b"ROUTER", "identity": b""})
    assert eb[-1] == HandshakeComplete("DEALER", b"A", (3, 1), {"socket-type": b"DEALER", "identity": b"A"})
    assert not (a.zmtp2 or b.zmtp2)


# -- live: hand-written ZMTP 2.0 against libzmq ------------------------------------------------------------------

class Zmtp2Peer:
    """A ZMTP 2.0 peer written out by hand over a plain TCP socket (blocking, with timeouts)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        sock.settimeout(5)

    def recv_exactly(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise AssertionError(f"peer closed after {len(buf)} of {n} bytes")
            buf += chunk
        return buf

    def handshake(self, socket_type: str, identity: bytes = b"") -> Tuple[bytes, int, bytes]:
        """Send our whole 2.0 greeting; return the peer's first 11 bytes, socket-type octet, identity."""
        self.sock.sendall(zmtp2_greeting(socket_type, identity))
        head = self.recv_exactly(11)
        octet = self.recv_exactly(1)[0]
        flags, size = self.recv_exactly(2)
        assert flags == 0x00, f"identity frame flags {flags:#04x}"
        return head, octet, self.recv_exactly(size)

    def send(self, *frames: bytes) -> None:
        self.sock.sendall(message(*frames))

    def recv(self) -> List[bytes]:
        frames = []
        while True:
            flags = self.recv_exactly(1)[0]
            assert not flags & 0xFC, f"reserved flag bits in {flags:#04x}"
            size = struct.unpack(">Q", self.recv_exactly(8))[0] if flags & 0x02 else self.recv_exactly(1)[0]
            frames.append(self.recv_exactly(size))
            if not flags & 0x01:
                return frames


@pytest.fixture
def ctx() -> Iterator[zmq.Context]:
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


def zsock(ctx: zmq.Context, kind: str, **opts: object) -> zmq.Socket:
    s = ctx.socket(getattr(zmq, kind))
    s.linger = 0
    s.rcvtimeo = 5000
    s.sndtimeo = 5000
    for name, value in opts.items():
        s.setsockopt(getattr(zmq, name), value)
    return s


def raw_link(ctx: zmq.Context, kind: str, raw_connects: bool, **opts: object
             ) -> Tuple[zmq.Socket, Zmtp2Peer]:
    zs = zsock(ctx, kind, **opts)
    if raw_connects:
        zs.bind("tcp://127.0.0.1:*")
        port = int(zs.getsockopt(zmq.LAST_ENDPOINT).decode().rsplit(":", 1)[1])
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    else:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(5)
        zs.connect(f"tcp://127.0.0.1:{listener.getsockname()[1]}")
        sock, _ = listener.accept()
        listener.close()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return zs, Zmtp2Peer(sock)


@pytest.fixture
def raw_socks() -> Iterator[List[socket.socket]]:
    socks: List[socket.socket] = []
    yield socks
    for s in socks:
        s.close()


LIBZMQ_OCTET: Dict[str, int] = {name: num for num, name in SOCKET_TYPE_NAMES.items() if num <= 10}



def live(test: Callable[..., None]) -> Callable[..., None]:
    """Mark a test that talks to libzmq over loopback TCP: a timeout, and a skip without pyzmq."""
    return pytest.mark.timeout(30)(pytest.mark.skipif(zmq is None, reason="needs pyzmq")(test))

DIRECTIONS = pytest.mark.parametrize("raw_connects", [True, False], ids=["raw-connects", "pyzmq-connects"])


@live
@DIRECTIONS
@pytest.mark.parametrize(
    "kind, raw_type, routing_id",
    [("PULL", "PUSH", b""), ("PUSH", "PULL", b""), ("DEALER", "ROUTER", b"zd"), ("ROUTER", "DEALER", b""),
     ("REQ", "REP", b""), ("REP", "REQ", b""), ("PUB", "SUB", b""), ("XPUB", "SUB", b""), ("SUB", "PUB", b""),
     ("PAIR", "PAIR", b"")],
)
def test_libzmq_answers_a_zmtp2_peer_as_we_do(ctx: zmq.Context, raw_socks: List[socket.socket], kind: str,
                                               raw_type: str, routing_id: bytes, raw_connects: bool) -> None:
    """libzmq's reply to our hand-written 2.0 greeting is, byte for byte, what a Connection sends to the
    same greeting (bar the routing-id length libzmq keeps in its padding, which we leave at 1)."""
    opts = {"ROUTING_ID": routing_id} if routing_id else {}
    _zs, peer = raw_link(ctx, kind, raw_connects, **opts)
    raw_socks.append(peer.sock)
    head, octet, identity = peer.handshake(raw_type, b"raw-id")
    assert head[0] == 0xFF and head[9] == 0x7F and head[10] == 3
    assert struct.unpack(">Q", head[1:9])[0] == len(routing_id) + 1
    assert octet == LIBZMQ_OCTET[kind]
    assert identity == routing_id

    conn = Connection(kind, identity=routing_id)
    assert conn.receive_data(zmtp2_greeting(raw_type, b"raw-id")) == hs_events(raw_type, b"raw-id")
    ours = joined(conn)
    libzmq = head + bytes((octet, 0, len(identity))) + identity
    # same signature (bar the padding), same major version, same identity frame ...
    assert ours[:1] + ours[9:11] + ours[12:] == libzmq[:1] + libzmq[9:11] + libzmq[12:]
    # ... and the same socket-type octet, except for XPUB/XSUB
    if kind in ("XPUB", "XSUB"):
        assert ours[11] == OUR_OCTET[kind] and octet == PEER_OCTETS[kind]  # we send 1/2, libzmq 9/10
    else:
        assert ours[11] == octet


@live
@DIRECTIONS
def test_zmtp2_push_to_libzmq_pull(ctx: zmq.Context, raw_socks: List[socket.socket], raw_connects: bool) -> None:
    pull, peer = raw_link(ctx, "PULL", raw_connects)
    raw_socks.append(peer.sock)
    assert peer.handshake("PUSH")[1] == 7
    for m in MESSAGES:
        peer.send(*m)
    for m in MESSAGES:
        assert pull.recv_multipart() == m


@live
@DIRECTIONS
def test_zmtp2_pull_from_libzmq_push(ctx: zmq.Context, raw_socks: List[socket.socket], raw_connects: bool
                                     ) -> None:
    push, peer = raw_link(ctx, "PUSH", raw_connects)
    raw_socks.append(peer.sock)
    assert peer.handshake("PULL")[1] == 8
    for m in MESSAGES:
        push.send_multipart(m)
    for m in MESSAGES:
        assert peer.recv() == m


@live
@DIRECTIONS
def test_zmtp2_rep_with_libzmq_req(ctx: zmq.Context, raw_socks: List[socket.socket], raw_connects: bool) -> None:
    req, peer = raw_link(ctx, "REQ", raw_connects)
    raw_socks.append(peer.sock)
    assert peer.handshake("REP")[1] == 3
    req.send(b"question")
    assert peer.recv() == [b"", b"question"]  # REQ's empty delimiter frame
    peer.send(b"", b"answer")
    assert req.recv() == b"answer"


@live
@DIRECTIONS
def test_zmtp2_dealer_identity_reaches_libzmq_router(ctx: zmq.Context, raw_socks: List[socket.socket],
                                                     raw_connects: bool) -> None:
    router, peer = raw_link(ctx, "ROUTER", raw_connects)
    raw_socks.append(peer.sock)
    assert peer.handshake("DEALER", b"raw-dealer") [1:] == (6, b"")
    peer.send(b"hello", b"", b"x" * 300)
    assert router.recv_multipart() == [b"raw-dealer", b"hello", b"", b"x" * 300]
    router.send_multipart([b"raw-dealer", b"back"])
    assert peer.recv() == [b"back"]


@live
@DIRECTIONS
def test_zmtp2_sub_with_libzmq_xpub(ctx: zmq.Context, raw_socks: List[socket.socket], raw_connects: bool) -> None:
    xpub, peer = raw_link(ctx, "XPUB", raw_connects)
    raw_socks.append(peer.sock)
    assert peer.handshake("SUB")[1] == 9  # libzmq sends its own XPUB number: why we accept 9 and 10
    peer.send(b"\x01news")  # a 2.0 subscription is a data message
    assert xpub.recv() == b"\x01news"
    xpub.send(b"sports")
    xpub.send_multipart([b"news", b"flash"])
    assert peer.recv() == [b"news", b"flash"]  # XPUB filtered "sports" by our subscription
    peer.send(b"\x00news")
    assert xpub.recv() == b"\x00news"


def recv_poking(peer: Zmtp2Peer, zs: zmq.Socket, timeout: float = 5.0) -> List[bytes]:
    """Wait for a message from libzmq that only its application thread sends (a SUB attaches its pipe,
    and so sends its subscriptions, only when the application calls into the socket): poke meanwhile."""
    end = time.monotonic() + timeout
    while True:
        zs.getsockopt(zmq.EVENTS)
        ready_, _, _ = select.select([peer.sock], [], [], 0.02)
        if ready_:
            return peer.recv()
        assert time.monotonic() < end, "libzmq sent nothing"


@live
@DIRECTIONS
def test_zmtp2_pub_with_libzmq_sub(ctx: zmq.Context, raw_socks: List[socket.socket], raw_connects: bool) -> None:
    sub, peer = raw_link(ctx, "SUB", raw_connects)
    raw_socks.append(peer.sock)
    assert peer.handshake("PUB")[1] == 2
    sub.setsockopt(zmq.SUBSCRIBE, b"news")
    assert recv_poking(peer, sub) == [b"\x01news"]  # to a 2.0 peer libzmq subscribes with a data message
    peer.send(b"sports")  # SUB filters locally
    peer.send(b"news", b"flash")
    assert sub.recv_multipart() == [b"news", b"flash"]
    sub.setsockopt(zmq.UNSUBSCRIBE, b"news")
    assert recv_poking(peer, sub) == [b"\x00news"]


@live
@DIRECTIONS
@pytest.mark.parametrize("fallback", [True, False], ids=["staged", "whole"])
def test_core_3x_with_libzmq_unchanged(ctx: zmq.Context, raw_socks: List[socket.socket], raw_connects: bool,
                                       fallback: bool) -> None:
    """The other side of the coin: a Connection with or without the fallback still speaks 3.1 to libzmq,
    and its first bytes on the wire are the 11-byte stage (or the whole greeting)."""
    router, peer = raw_link(ctx, "ROUTER", raw_connects)
    raw_socks.append(peer.sock)
    conn = Connection("DEALER", identity=b"core", zmtp2_fallback=fallback)
    first = joined(conn)
    assert first == (our_greeting()[:STAGE1] if fallback else our_greeting())
    peer.sock.sendall(first)
    drv = SocketDriver(conn, peer.sock)
    hs = drv.wait_for(lambda e: isinstance(e, HandshakeComplete))
    assert hs == HandshakeComplete("ROUTER", b"", (3, 1), {"socket-type": b"ROUTER", "identity": b""})
    assert drv.events == [GreetingReceived((3, 1), b"NULL", False)]
    assert not conn.zmtp2
    conn.send_message([b"hello"])
    drv.flush()
    assert router.recv_multipart() == [b"core", b"hello"]
    router.send_multipart([b"core", b"world"])
    assert drv.wait_for(lambda e: isinstance(e, MessageReceived)) == MessageReceived([b"world"])
