"""Property tests: split invariance, encode/decode identity, robustness against arbitrary bytes, and
every socket-type pairing between two cores wired together in memory."""

from __future__ import annotations

import itertools
from typing import List, Optional, Tuple

import pytest
from helpers_protocol import (
    ConnectionPair,
    chunks,
    command,
    greeting,
    message,
    ping,
    ready,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zmtp.protocol import (
    COMPATIBLE,
    SOCKET_TYPE_NAMES,
    Connection,
    ConnectionState,
    ErrorReason,
    Event,
    FrameDecoder,
    HandshakeComplete,
    MessageReceived,
    RemoteProtocolError,
    encode_frames,
)
from zmtp.protocol.frames import HANDSHAKE_COMMAND_LIMIT, Decoded

FUZZ = settings(deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow])

# frames around the interesting sizes: empty, short, the 255/256 short/long boundary
frame_st = st.one_of(
    st.just(b""),
    st.binary(max_size=16),
    st.integers(250, 260).map(lambda n: bytes((n % 256,)) * n),
    st.binary(min_size=255, max_size=257),
)
multipart_st = st.lists(frame_st, min_size=1, max_size=6)


def split_points(draw: st.DrawFn, n: int) -> List[int]:
    return draw(st.lists(st.integers(0, n), max_size=20))


# -- any split gives the same events --------------------------------------------------------------------

item_st = st.one_of(
    multipart_st.map(lambda fs: message(*fs)),
    st.tuples(st.integers(0, 0xFFFF), st.binary(max_size=16)).map(lambda t: ping(*t)),
    st.binary(max_size=16).map(lambda c: command(b"PONG", c)),
    st.binary(max_size=300).map(lambda d: command(b"UNKNOWN-CMD", d)),
    st.binary(max_size=8).map(lambda t: command(b"SUBSCRIBE", t)),
)


@st.composite
def valid_stream(draw: st.DrawFn) -> bytes:
    minor = draw(st.sampled_from([0, 1]))
    identity = draw(st.one_of(st.none(), st.binary(max_size=255)))
    items = draw(st.lists(item_st, max_size=12))
    return greeting(minor) + ready("ROUTER", identity) + b"".join(items)


def run_stream(pieces: List[bytes]) -> Tuple[List[Event], bytes]:
    conn = Connection("DEALER")
    events: List[Event] = []
    for i, piece in enumerate(pieces):
        events += conn.receive_data(piece, now=float(i))
    assert conn.state is ConnectionState.ESTABLISHED
    return events, b"".join(conn.data_to_send())


@FUZZ
@given(valid_stream(), st.data())
def test_any_split_gives_the_same_events(stream: bytes, data: st.DataObject) -> None:
    expected, expected_out = run_stream([stream])
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=30))
    events, out = run_stream(chunks(stream, cuts))
    assert events == expected
    assert out == expected_out


def test_bytewise_split_of_a_long_stream() -> None:
    stream = greeting(1) + ready("ROUTER", b"id") + b"".join(
        message(b"m%d" % i, b"", b"x" * (i * 37 % 600)) for i in range(40)
    ) + ping(5, b"ctx") + command(b"PONG")
    expected, out = run_stream([stream])
    assert run_stream([stream[i : i + 1] for i in range(len(stream))]) == (expected, out)


# -- encode then decode is the identity ------------------------------------------------------------------


@FUZZ
@given(st.lists(multipart_st, max_size=10), st.data())
def test_encode_decode_identity(messages: List[List[bytes]], data: st.DataObject) -> None:
    out: List[bytes] = []
    for m in messages:
        encode_frames(m, out, large=data.draw(st.sampled_from([256, 1 << 16])))
    wire = b"".join(out)
    assert wire == b"".join(message(*m) for m in messages)  # agrees with the hand-written encoder
    dec = FrameDecoder()
    decoded: List[Decoded] = []
    for piece in chunks(wire, data.draw(st.lists(st.integers(0, len(wire)), max_size=20))):
        decoded += dec.feed(piece)
    assert decoded == messages
    assert dec.buffered == 0


@FUZZ
@given(st.lists(multipart_st, min_size=1, max_size=8), st.sampled_from([0, 1]), st.integers(1, 50))
def test_send_message_through_a_pair_is_the_identity(
    messages: List[List[bytes]], minor: int, chunk: int
) -> None:
    pair = ConnectionPair(
        Connection("DEALER", minor_version=minor),
        Connection("ROUTER"),
        split=lambda b: [b[i : i + chunk] for i in range(0, len(b), chunk)],
    )
    pair.pump()
    for m in messages:
        pair.a.send_message(m)
    _, eb = pair.pump()
    assert eb == [MessageReceived(m) for m in messages]


# -- arbitrary bytes only ever raise RemoteProtocolError ----------------------------------------------------

PREFIXES = {
    "nothing": b"",
    "greeting": greeting(1),
    "handshake": greeting(1) + ready("ROUTER"),
}

# random frames: any flags byte (reserved bits included), short or long sizes, bodies shorter or longer
frameish_st = st.tuples(
    st.integers(0, 255), st.one_of(st.integers(0, 255), st.integers(0, 2**64 - 1)), st.binary(max_size=40)
).map(lambda t: bytes((t[0],)) + (t[1].to_bytes(8, "big") if t[0] & 2 else bytes((t[1] % 256,))) + t[2])
garbage_st = st.one_of(st.binary(max_size=300), st.lists(frameish_st, max_size=8).map(b"".join))


def check_robust(conn: Connection, pieces: List[bytes], limit: Optional[int]) -> None:
    for piece in pieces:
        try:
            conn.receive_data(piece)
        except RemoteProtocolError as exc:
            assert isinstance(exc.reason, ErrorReason)
            assert conn.state is ConnectionState.CLOSED
            assert conn.receive_data(piece) == []
            return
        # never buffer more than one maximal message plus a frame header
        assert len(conn._greeting_buf) <= 64
        if limit is not None:
            assert conn._decoder.buffered <= limit + 9
        if conn.state is not ConnectionState.ESTABLISHED:  # anonymous peers are bounded in any case
            assert conn._decoder.buffered <= HANDSHAKE_COMMAND_LIMIT + 9


@FUZZ
@given(
    st.sampled_from(sorted(PREFIXES)),
    garbage_st,
    st.sampled_from([None, 0, 10, 300]),
    st.data(),
)
def test_arbitrary_bytes_only_raise_remote_errors(
    prefix: str, garbage: bytes, limit: Optional[int], data: st.DataObject
) -> None:
    conn = Connection("DEALER", max_message_size=-1 if limit is None else limit)
    stream = PREFIXES[prefix] + garbage
    check_robust(conn, chunks(stream, data.draw(st.lists(st.integers(0, len(stream)), max_size=10))), limit)


@FUZZ
@given(st.binary(min_size=1, max_size=200), st.sampled_from(["PUB", "XPUB", "SUB", "DEALER"]))
def test_arbitrary_bytes_after_handshake_on_any_type(garbage: bytes, sock: str) -> None:
    peer = sorted(COMPATIBLE[sock])[0]
    conn = Connection(sock, max_message_size=64)
    conn.receive_data(greeting(1) + ready(peer))
    check_robust(conn, [garbage], 64)


@FUZZ
@given(st.binary(min_size=64, max_size=64))
def test_arbitrary_greetings(data: bytes) -> None:
    conn = Connection("DEALER")
    try:
        conn.receive_data(data)
    except RemoteProtocolError:
        assert conn.state is ConnectionState.CLOSED
    else:
        assert conn.state is ConnectionState.HANDSHAKE


# -- two cores for every socket-type pairing ----------------------------------------------------------------

ALL_TYPES = sorted(SOCKET_TYPE_NAMES.values())
PAIRS = list(itertools.product(ALL_TYPES, ALL_TYPES))


def test_compatibility_table_is_symmetric() -> None:
    for a, peers in COMPATIBLE.items():
        for b in peers:
            assert a in COMPATIBLE[b], (a, b)


@pytest.mark.parametrize("a_type, b_type", PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
def test_pair_handshake_for_every_type_pair(a_type: str, b_type: str) -> None:
    pair = ConnectionPair(Connection(a_type, identity=b"A"), Connection(b_type, identity=b"B"))
    ea, eb = pair.pump()
    if b_type in COMPATIBLE.get(a_type, frozenset()):
        assert pair.errors == {"a": None, "b": None}
        hs_a, hs_b = ea[-1], eb[-1]
        assert isinstance(hs_a, HandshakeComplete) and isinstance(hs_b, HandshakeComplete)
        assert (hs_a.socket_type, hs_b.socket_type) == (b_type, a_type)
        assert pair.a.state is pair.b.state is ConnectionState.ESTABLISHED
    else:
        for side in "ab":
            err = pair.errors[side]
            assert err is not None and err.reason is ErrorReason.INCOMPATIBLE_SOCKET_TYPE, (side, err)
        assert pair.a.state is pair.b.state is ConnectionState.CLOSED


compat_pairs = sorted((a, b) for a, peers in COMPATIBLE.items() for b in peers)


@FUZZ
@given(
    st.sampled_from(compat_pairs),
    st.sampled_from([0, 1]),
    st.sampled_from([0, 1]),
    st.binary(max_size=255),
    st.binary(max_size=255),
    st.integers(1, 70),
)
def test_pair_handshake_property(
    types: Tuple[str, str], minor_a: int, minor_b: int, id_a: bytes, id_b: bytes, chunk: int
) -> None:
    a_type, b_type = types
    pair = ConnectionPair(
        Connection(a_type, identity=id_a, minor_version=minor_a),
        Connection(b_type, identity=id_b, minor_version=minor_b),
        split=lambda b: [b[i : i + chunk] for i in range(0, len(b), chunk)],
    )
    ea, eb = pair.pump()
    hs_a, hs_b = ea[-1], eb[-1]
    assert isinstance(hs_a, HandshakeComplete) and isinstance(hs_b, HandshakeComplete)
    version = (3, min(minor_a, minor_b))
    assert hs_a.version == hs_b.version == version
    routing = {"REQ", "DEALER", "ROUTER"}
    assert hs_a.identity == (id_b if b_type in routing else b"")
    assert hs_b.identity == (id_a if a_type in routing else b"")
