"""Commands (RFC 37 section 3.4) and metadata (section 3.5), decoded through a Connection."""

from __future__ import annotations

import struct

import pytest
from helpers_protocol import (
    FEED_MODES,
    after_greeting,
    command,
    established,
    feed,
    frame,
    greeting,
    joined,
    message,
    ping,
    prop,
    ready,
)
from hypothesis import given
from hypothesis import strategies as st

from zmtp.protocol import (
    MAX_PING_CONTEXT,
    Cancel,
    Connection,
    ConnectionState,
    ErrorReason,
    ErrorReceived,
    GreetingReceived,
    HandshakeComplete,
    LocalProtocolError,
    MessageReceived,
    PingReceived,
    PongReceived,
    RemoteProtocolError,
    Subscribe,
    decode_metadata,
    encode_metadata,
)
from zmtp.protocol.commands import (
    decode_error,
    decode_ping,
    encode_error,
    encode_ping,
    encode_pong,
    split_command,
)

# -- READY and metadata ----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", FEED_MODES)
def test_ready_completes_handshake(mode: str) -> None:
    conn = Connection("DEALER", identity=b"me")
    events = feed(conn, greeting(1) + ready("ROUTER", b"peer-id", prop("X-Extra", b"v")), mode)
    assert events == [
        GreetingReceived((3, 1), b"NULL", False),
        HandshakeComplete(
            "ROUTER", b"peer-id", (3, 1), {"socket-type": b"ROUTER", "identity": b"peer-id", "x-extra": b"v"}
        ),
    ]
    assert conn.state is ConnectionState.ESTABLISHED
    assert conn.peer_socket_type == "ROUTER"
    assert conn.peer_identity == b"peer-id"


@pytest.mark.parametrize("mode", FEED_MODES)
def test_metadata_names_are_case_insensitive(mode: str) -> None:
    conn = Connection("SUB")
    body = prop("SOCKET-TYPE", b"pub") + prop("iDeNtItY", b"abc") + prop("User-Thing", b"\x00\xff")
    events = feed(conn, greeting(1) + command(b"READY", body), mode)
    hs = events[1]
    assert isinstance(hs, HandshakeComplete)
    assert hs.socket_type == "PUB"
    assert hs.identity == b"abc"
    assert hs.metadata == {"socket-type": b"pub", "identity": b"abc", "user-thing": b"\x00\xff"}


def test_our_ready_layout() -> None:
    conn = Connection("DEALER", identity=b"ID", metadata={"X-App": b"demo"})
    conn.data_to_send()
    conn.receive_data(greeting(1))
    expected = command(b"READY", prop("Socket-Type", b"DEALER") + prop("Identity", b"ID") + prop("X-App", b"demo"))
    # the rest of our staged greeting, then READY
    assert after_greeting(conn) == expected


@pytest.mark.parametrize("sock, sends_identity", [("REQ", True), ("DEALER", True), ("ROUTER", True),
                                                  ("PUB", False), ("SUB", False), ("PUSH", False)])
def test_identity_property_only_for_routing_types(sock: str, sends_identity: bool) -> None:
    conn = Connection(sock, identity=b"")
    conn.data_to_send()
    conn.receive_data(greeting(1))
    props = decode_metadata(after_greeting(conn)[8:])
    assert props["socket-type"] == sock.encode()
    assert ("identity" in props) is sends_identity


def test_numeric_socket_type() -> None:
    conn = Connection(5)
    assert conn.socket_type == "DEALER"
    with pytest.raises(LocalProtocolError):
        Connection(99)


@pytest.mark.parametrize("name", ["Socket-Type", "IDENTITY"])
def test_metadata_option_may_not_override_reserved_names(name: str) -> None:
    with pytest.raises(LocalProtocolError) as info:
        Connection("DEALER", metadata={name: b"x"})
    assert info.value.reason is ErrorReason.INVALID_ARGUMENT


def test_ready_without_socket_type() -> None:
    conn = Connection("DEALER")
    conn.data_to_send()
    with pytest.raises(RemoteProtocolError) as info:
        conn.receive_data(greeting(1) + command(b"READY", prop("Identity", b"x")))
    assert info.value.reason is ErrorReason.BAD_METADATA
    assert conn.state is ConnectionState.CLOSED


def test_ready_identity_too_long() -> None:
    conn = Connection("ROUTER")
    with pytest.raises(RemoteProtocolError) as info:
        conn.receive_data(greeting(1) + ready("DEALER", b"i" * 256))
    assert info.value.reason is ErrorReason.BAD_METADATA


BAD_METADATA = [
    ("zero-length name", b"\x00" + struct.pack(">I", 0)),
    ("truncated name", b"\x0bSocket-Ty"),
    ("name length only", b"\x05"),
    ("truncated value length", b"\x01a\x00\x00"),
    ("value length beyond body", b"\x01a" + struct.pack(">I", 10) + b"short"),
    ("value length 2**32-1", b"\x01a" + struct.pack(">I", 2**32 - 1)),
    ("non-ascii name", b"\x02\xc3\xa9" + struct.pack(">I", 0)),
    ("good then truncated", prop("Socket-Type", b"ROUTER") + b"\x03ab"),
]


@pytest.mark.parametrize("body", [c[1] for c in BAD_METADATA], ids=[c[0] for c in BAD_METADATA])
def test_bad_metadata(body: bytes) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        decode_metadata(body)
    assert info.value.reason is ErrorReason.BAD_METADATA
    conn = Connection("DEALER")
    conn.data_to_send()
    with pytest.raises(RemoteProtocolError) as info:
        conn.receive_data(greeting(1) + command(b"READY", body))
    assert info.value.reason is ErrorReason.BAD_METADATA
    assert conn.state is ConnectionState.CLOSED
    # a handshake-phase failure queues an ERROR command for the peer (after our greeting's rest and READY)
    out = after_greeting(conn)
    assert out.startswith(b"\x04") and b"\x05ERROR" in out


def test_property_count_is_bounded() -> None:
    """A READY may carry MAX_PROPERTIES properties; one more is refused before the rest is decoded
    (issue 9 row 9: ~175,000 empty properties in 1 MiB stalled the socket's other peers)."""
    from zmtp.protocol.metadata import MAX_PROPERTIES

    filler = prop("X-A", b"") * (MAX_PROPERTIES - 1)
    conn = Connection("DEALER")
    events = conn.receive_data(greeting(1) + ready("ROUTER", None, filler))
    assert isinstance(events[-1], HandshakeComplete) and events[-1].metadata["x-a"] == b""
    conn = Connection("DEALER")
    conn.data_to_send()
    with pytest.raises(RemoteProtocolError, match=f"more than {MAX_PROPERTIES} properties") as info:
        conn.receive_data(greeting(1) + ready("ROUTER", None, filler + prop("X-B", b"")))
    assert info.value.reason is ErrorReason.BAD_METADATA
    assert conn.state is ConnectionState.CLOSED


def test_metadata_round_trip_and_order() -> None:
    props = [("Socket-Type", b"DEALER"), ("Identity", b""), ("X-Big", b"v" * 70000), ("Z", b"\x00")]
    raw = encode_metadata(props)
    assert raw == b"".join(prop(n, v) for n, v in props)
    assert decode_metadata(raw) == {n.lower(): v for n, v in props}
    assert encode_metadata(dict(props)) == raw
    assert decode_metadata(b"") == {}


@pytest.mark.parametrize("name", ["", "n" * 256])
def test_encode_metadata_rejects_bad_names(name: str) -> None:
    with pytest.raises(LocalProtocolError):
        encode_metadata({name: b""})


_names = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=255)


@given(st.dictionaries(_names.map(str.lower), st.binary(max_size=300), max_size=8))
def test_metadata_round_trip_property(props: dict) -> None:
    assert decode_metadata(encode_metadata(props)) == props


@given(st.binary(max_size=64))
def test_decode_metadata_never_raises_anything_else(data: bytes) -> None:
    try:
        decode_metadata(data)
    except RemoteProtocolError as exc:
        assert exc.reason is ErrorReason.BAD_METADATA


# -- ERROR -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", FEED_MODES)
@pytest.mark.parametrize("name", [b"ERROR", b"^RROR"])
def test_error_during_handshake(mode: str, name: bytes) -> None:
    conn = Connection("DEALER")
    events = feed(conn, greeting(1) + command(name, b"\x06denied"), mode)
    assert events == [GreetingReceived((3, 1), b"NULL", False), ErrorReceived("denied")]
    assert conn.state is ConnectionState.CLOSED
    assert conn.receive_data(ready("ROUTER")) == []


@pytest.mark.parametrize("mode", FEED_MODES)
@pytest.mark.parametrize("name", [b"ERROR", b"^RROR"])
def test_error_after_handshake(mode: str, name: bytes) -> None:
    conn = established()
    events = feed(conn, message(b"before") + command(name, b"\x03bye"), mode)
    assert events == [MessageReceived([b"before"]), ErrorReceived("bye")]
    assert conn.state is ConnectionState.CLOSED
    assert conn.receive_data(message(b"after")) == []


def test_error_then_more_frames_in_the_same_chunk() -> None:
    """What follows an ERROR in the same read is dropped, not judged as a protocol violation."""
    conn = Connection("DEALER")
    events = conn.receive_data(greeting(1) + command(b"ERROR", b"\x02no") + message(b"junk") + b"\xff\xff")
    assert events[-1] == ErrorReceived("no")
    assert conn.state is ConnectionState.CLOSED
    conn = established()
    assert conn.receive_data(command(b"ERROR", b"\x02no") + message(b"x")) == [ErrorReceived("no")]
    assert conn.next_deadline() is None


def test_error_reason_codec() -> None:
    assert encode_error("boom") == b"\x05ERROR\x04boom"
    assert decode_error(b"\x04boom") == "boom"
    assert decode_error(b"") == ""
    assert decode_error(b"\x10short") == "short"  # lenient about a lying length byte
    assert decode_error(b"\x02\xff\xfe") == "\ufffd\ufffd"
    long = encode_error("r" * 400)
    assert long[6] == 255 and len(long) == 6 + 1 + 255


# -- SUBSCRIBE / CANCEL --------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", FEED_MODES)
@pytest.mark.parametrize("sock, peer", [("PUB", "SUB"), ("XPUB", "XSUB")])
def test_subscribe_cancel_commands(mode: str, sock: str, peer: str) -> None:
    conn = established(sock, peer)
    data = command(b"SUBSCRIBE", b"topic") + command(b"SUBSCRIBE") + command(b"CANCEL", b"topic")
    assert feed(conn, data, mode) == [Subscribe(b"topic"), Subscribe(b""), Cancel(b"topic")]


@pytest.mark.parametrize("mode", FEED_MODES)
@pytest.mark.parametrize("peer_minor", [0, 1])
def test_subscribe_cancel_messages_on_publishers(mode: str, peer_minor: int) -> None:
    conn = established("XPUB", "SUB", peer_minor=peer_minor)
    data = message(b"\x01news") + message(b"\x01") + message(b"\x00news") + message(b"\x02other") + message(b"")
    assert feed(conn, data, mode) == [
        Subscribe(b"news"), Subscribe(b""), Cancel(b"news"), MessageReceived([b"\x02other"]), MessageReceived([b""])
    ]


def test_subscription_bytes_are_plain_messages_on_other_types() -> None:
    conn = established("SUB", "PUB")
    assert conn.receive_data(message(b"\x01news")) == [MessageReceived([b"\x01news"])]


# -- PING / PONG ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", FEED_MODES)
@pytest.mark.parametrize("ctx", [b"", b"c", b"x" * MAX_PING_CONTEXT])
def test_ping_answered_with_pong(mode: str, ctx: bytes) -> None:
    conn = established()
    events = feed(conn, ping(25, ctx), mode)
    assert events == [PingReceived(2.5, ctx)]
    assert joined(conn) == command(b"PONG", ctx)


def test_ping_context_too_long_is_truncated_like_libzmq() -> None:
    conn = established()
    events = conn.receive_data(ping(0, b"0123456789abcdefXYZ"))
    assert events == [PingReceived(0.0, b"0123456789abcdef")]
    assert joined(conn) == command(b"PONG", b"0123456789abcdef")
    assert conn.state is ConnectionState.ESTABLISHED


@pytest.mark.parametrize("data", [b"", b"\x00"])
def test_ping_too_short(data: bytes) -> None:
    conn = established()
    with pytest.raises(RemoteProtocolError) as info:
        conn.receive_data(command(b"PING", data))
    assert info.value.reason is ErrorReason.BAD_COMMAND


@pytest.mark.parametrize("mode", FEED_MODES)
def test_pong_received(mode: str) -> None:
    conn = established()
    assert feed(conn, command(b"PONG", b"ctx"), mode) == [PongReceived(b"ctx")]
    assert conn.data_to_send() == []


def test_ping_codec() -> None:
    assert encode_ping(100, b"ab") == b"\x04PING\x00\x64ab"
    assert decode_ping(b"\xff\xffabc") == (65535, b"abc")
    assert encode_pong(b"q") == b"\x04PONGq"
    with pytest.raises(LocalProtocolError):
        encode_ping(0x10000)
    with pytest.raises(LocalProtocolError):
        encode_ping(-1)
    with pytest.raises(LocalProtocolError):
        encode_ping(0, b"x" * 17)


def test_send_ping_layout() -> None:
    conn = established()
    conn.send_ping(1.5, b"hb")
    assert joined(conn) == ping(15, b"hb")


# -- unknown and malformed commands -------------------------------------------------------------------------


@pytest.mark.parametrize("mode", FEED_MODES)
def test_unknown_commands_ignored_after_handshake(mode: str) -> None:
    conn = established()
    # (READY is not among them: a second READY is a protocol error, see test_protocol_state.py)
    data = command(b"HELLO", b"x") + command(b"X" * 255, b"data" * 100) + command(b"WELCOME") + message(b"ok")
    assert feed(conn, data, mode) == [MessageReceived([b"ok"])]
    assert conn.state is ConnectionState.ESTABLISHED


@pytest.mark.parametrize("name", [b"HELLO", b"PING", b"SUBSCRIBE", b"FOO"])
def test_unexpected_command_during_handshake(name: bytes) -> None:
    conn = Connection("DEALER")
    conn.data_to_send()
    with pytest.raises(RemoteProtocolError) as info:
        conn.receive_data(greeting(1) + command(name, b"\x00\x00"))
    assert info.value.reason is ErrorReason.UNEXPECTED_COMMAND
    assert b"\x05ERROR" in joined(conn)


def test_data_message_during_handshake() -> None:
    conn = Connection("DEALER")
    with pytest.raises(RemoteProtocolError) as info:
        conn.receive_data(greeting(1) + message(b"early"))
    assert info.value.reason is ErrorReason.UNEXPECTED_COMMAND


@pytest.mark.parametrize("body", [b"", b"\x00", b"\x00abc", b"\x05ABC", b"\xff" + b"x" * 254])
def test_malformed_command_bodies(body: bytes) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        split_command(body)
    assert info.value.reason is ErrorReason.BAD_COMMAND
    conn = established()
    with pytest.raises(RemoteProtocolError) as info:
        conn.receive_data(frame(body, command=True))
    assert info.value.reason is ErrorReason.BAD_COMMAND


def test_split_command() -> None:
    assert split_command(b"\x04PINGdata") == (b"PING", b"data")
    assert split_command(b"\x04PING") == (b"PING", b"")


def test_handshake_commands_are_bounded() -> None:
    conn = Connection("DEALER")
    with pytest.raises(RemoteProtocolError) as info:
        conn.receive_data(greeting(1) + b"\x06" + struct.pack(">Q", (1 << 20) + 1))
    assert info.value.reason is ErrorReason.MESSAGE_TOO_LARGE


def test_large_commands_allowed_after_handshake() -> None:
    conn = established()
    assert conn.receive_data(command(b"BIGCMD", b"x" * (2 << 20))) == []


@pytest.mark.parametrize("mode", FEED_MODES)
@pytest.mark.parametrize("established_first", [False, True])
def test_libzmq_unprefixed_rror_body(mode: str, established_first: bool) -> None:
    """libzmq 4.3's PLAIN server sends the body ``^RROR`` + status with no name-length byte."""
    conn = established() if established_first else Connection("DEALER")
    head = b"" if established_first else greeting(1)
    events = feed(conn, head + frame(b"^RROR\x03400", command=True), mode)
    assert events[-1] == ErrorReceived("400")
    assert conn.state is ConnectionState.CLOSED
    assert split_command(b"^RROR\x03400") == (b"ERROR", b"\x03400")
