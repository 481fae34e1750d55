"""The greeting (RFC 23 / RFC 37 section 3.2): our layout, what we accept, what we refuse and when."""

from __future__ import annotations

import struct

import pytest
from helpers_protocol import (
    FEED_MODES,
    STAGE1,
    after_greeting,
    feed,
    greeting,
    joined,
    libzmq_greeting,
    our_greeting,
    ready,
)

from zmtp.protocol import (
    Connection,
    ConnectionState,
    ErrorReason,
    GreetingReceived,
    HandshakeComplete,
    LocalProtocolError,
    Mechanism,
    NullMechanism,
    RemoteProtocolError,
)
from zmtp.protocol.greeting import Greeting, negotiated_minor, parse_greeting

# -- what we send -------------------------------------------------------------------------------------


class _OtherMechanism(Mechanism):
    """A stand-in for a security mechanism (PLAIN, CURVE): only its name matters here."""

    name = b"PLAIN"

    def start(self, metadata: bytes) -> list[bytes]:
        return []


@pytest.mark.parametrize("minor", [0, 1])
@pytest.mark.parametrize("staged", [True, False], ids=["staged", "whole"])
def test_our_greeting_exact_bytes(minor: int, staged: bool) -> None:
    conn = Connection("DEALER", minor_version=minor, zmtp2_fallback=staged)
    out = conn.data_to_send()
    expected = (
        # signature: the padding is a 64-bit 1, as libzmq sends for an empty routing id (a ZMTP 1.0
        # peer reads it as "identity length 1 = flags byte only")
        b"\xff" + bytes(7) + b"\x01" + b"\x7f"
        + bytes((3, minor))
        + b"NULL" + bytes(16)
        + b"\x00"  # as-server
        + bytes(31)
    )
    assert len(expected) == 64
    assert expected == our_greeting(minor)
    if not staged:
        # without the ZMTP 2.0 fallback the greeting is queued at construction and sent whole
        assert b"".join(out) == expected
        assert conn.data_to_send() == []
        assert conn.receive_data(greeting(1)[:STAGE1]) == []
        assert conn.data_to_send() == []
        assert conn.state is ConnectionState.GREETING
        return
    # staged like libzmq: signature + major version at once, before anything is received ...
    assert b"".join(out) == expected[:STAGE1]
    assert conn.data_to_send() == []
    # ... nothing more until the peer's version byte has arrived ...
    assert conn.receive_data(greeting(1)[:10]) == []
    assert conn.data_to_send() == []
    # ... and once it says 3.x, the other 53 bytes, exactly once
    assert conn.receive_data(greeting(1)[10:11]) == []
    assert joined(conn) == expected[STAGE1:]
    assert conn.receive_data(greeting(1)[11:63]) == []
    assert conn.data_to_send() == []
    assert conn.state is ConnectionState.GREETING


@pytest.mark.parametrize("major", [3, 4, 255])
def test_staged_greeting_rest_follows_any_3x_or_later_version(major: int) -> None:
    conn = Connection("DEALER")
    assert joined(conn) == our_greeting()[:STAGE1]
    conn.receive_data(greeting(1, major=major)[:STAGE1])
    assert joined(conn) == our_greeting()[STAGE1:]


def test_security_mechanism_sends_whole_greeting_at_once() -> None:
    """ZMTP 2.0 has no security mechanisms, so with one there is nothing to stage for."""
    conn = Connection("DEALER", mechanism=_OtherMechanism())
    raw = joined(conn)
    assert len(raw) == 64 and raw[12:32] == b"PLAIN" + bytes(15)


def _whole_greeting(conn: Connection) -> bytes:
    """Our staged greeting in full: the first stage, then the rest once a 3.1 peer's version is in."""
    raw = joined(conn)
    conn.receive_data(greeting(1)[:STAGE1])
    return raw + joined(conn)


def test_our_greeting_byte_offsets() -> None:
    raw = _whole_greeting(Connection("PUB"))
    assert len(raw) == 64
    assert raw[0] == 0xFF and raw[9] == 0x7F
    assert raw[10:12] == b"\x03\x01"
    assert raw[12:32].rstrip(b"\x00") == b"NULL"
    assert raw[32] == 0
    assert raw[33:] == bytes(31)


def test_greeting_as_server_flag_and_mechanism_name() -> None:
    raw = Greeting(3, 1, b"PLAIN", True).encode()
    assert raw[12:32] == b"PLAIN" + bytes(15)
    assert raw[32] == 1


@pytest.mark.parametrize("bad", [b"", b"X" * 21, b"NU LL", b"NU\x00LL"])
def test_greeting_rejects_bad_mechanism_names(bad: bytes) -> None:
    with pytest.raises(LocalProtocolError) as info:
        Greeting(mechanism=bad)
    assert info.value.reason is ErrorReason.INVALID_ARGUMENT


def test_mechanism_as_server_goes_into_greeting() -> None:
    conn = Connection("DEALER", mechanism=NullMechanism(as_server=True))
    assert _whole_greeting(conn)[32] == 1
    conn = Connection("DEALER", mechanism=NullMechanism(as_server=True), zmtp2_fallback=False)
    assert joined(conn)[32] == 1


# -- what we accept -----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", FEED_MODES)
def test_greeting_received_event(mode: str) -> None:
    conn = Connection("DEALER")
    conn.data_to_send()
    events = feed(conn, greeting(1), mode)
    assert events == [GreetingReceived((3, 1), b"NULL", False)]
    assert conn.state is ConnectionState.HANDSHAKE
    # the rest of our greeting, then our READY, follow the peer's greeting
    out = after_greeting(conn)
    assert out[0] == 0x04 and out[2:8] == b"\x05READY"


@pytest.mark.parametrize("mode", FEED_MODES)
@pytest.mark.parametrize("routing_id_len", [0, 5, 255])
def test_libzmq_padding_and_as_server_zero_accepted(mode: str, routing_id_len: int) -> None:
    conn = Connection("DEALER")
    events = feed(conn, libzmq_greeting(routing_id_len) + ready("ROUTER"), mode)
    assert isinstance(events[0], GreetingReceived)
    assert events[0].as_server is False
    assert isinstance(events[1], HandshakeComplete)


def test_nonzero_filler_and_as_server_one_accepted() -> None:
    conn = Connection("DEALER")
    events = conn.receive_data(greeting(1, as_server=1, filler=b"\x55" * 31))
    assert events == [GreetingReceived((3, 1), b"NULL", True)]


def test_greeting_with_trailing_handshake_and_message_in_one_chunk() -> None:
    conn = Connection("DEALER")
    events = conn.receive_data(greeting(1) + ready("ROUTER") + b"\x00\x02hi")
    assert [type(e).__name__ for e in events] == ["GreetingReceived", "HandshakeComplete", "MessageReceived"]


@pytest.mark.parametrize(
    "ours, peer_major, peer_minor, negotiated",
    [
        (1, 3, 0, 0),
        (1, 3, 1, 1),
        (1, 3, 2, 1),
        (1, 3, 255, 1),
        (0, 3, 1, 0),
        (0, 3, 0, 0),
        (1, 4, 0, 1),  # a future major version: we speak ours, the peer must downgrade
        (0, 4, 7, 0),
        (1, 255, 255, 1),
    ],
)
def test_version_negotiation(ours: int, peer_major: int, peer_minor: int, negotiated: int) -> None:
    conn = Connection("DEALER", minor_version=ours)
    events = conn.receive_data(greeting(peer_minor, major=peer_major) + ready("ROUTER"))
    assert events[0] == GreetingReceived((peer_major, peer_minor), b"NULL", False)
    assert conn.minor_version == negotiated
    assert events[1] == HandshakeComplete("ROUTER", b"", (3, negotiated), {"socket-type": b"ROUTER"})


def test_negotiated_minor_function() -> None:
    assert negotiated_minor(Greeting(3, 1), Greeting(3, 0)) == 0
    assert negotiated_minor(Greeting(3, 0), Greeting(3, 1)) == 0
    assert negotiated_minor(Greeting(3, 1), Greeting(3, 9)) == 1
    assert negotiated_minor(Greeting(3, 1), Greeting(4, 0)) == 1


# -- what we refuse, and how early ------------------------------------------------------------------------


def _feed_until_error(conn: Connection, data: bytes) -> tuple[int, RemoteProtocolError]:
    """Feed one byte at a time; return how many bytes had been fed when it raised, and the error."""
    for i in range(len(data)):
        try:
            conn.receive_data(data[i : i + 1])
        except RemoteProtocolError as exc:
            return i + 1, exc
    raise AssertionError("no error raised")


@pytest.mark.parametrize("first", [0x00, 0x01, 0x05, 0x7F, 0xFE])
def test_zmtp10_first_byte_refused_at_once(first: int) -> None:
    conn = Connection("DEALER")
    n, exc = _feed_until_error(conn, bytes((first,)) + b"\x00identity" + bytes(60))
    assert n == 1
    assert exc.reason is ErrorReason.UNSUPPORTED_VERSION
    assert "ZMTP 1.0" in str(exc)
    assert conn.state is ConnectionState.CLOSED


def test_zmtp10_long_identity_refused_at_byte_10() -> None:
    # ZMTP 1.0 with a long identity: 0xFF, 8-byte length, flags byte with bit 0 clear.
    data = b"\xff" + struct.pack(">Q", 300) + b"\x00" + bytes(300)
    conn = Connection("DEALER")
    n, exc = _feed_until_error(conn, data)
    assert n == 10
    assert exc.reason is ErrorReason.UNSUPPORTED_VERSION
    assert "ZMTP 1.0" in str(exc)


NO_FALLBACK = pytest.mark.parametrize(
    "no_fallback",
    [{"zmtp2_fallback": False}, {"mechanism": _OtherMechanism()}],
    ids=["fallback-off", "security-mechanism"],
)


@NO_FALLBACK
@pytest.mark.parametrize("whole", [False, True])
def test_zmtp20_refused_at_version_byte(whole: bool, no_fallback: dict) -> None:
    """Without the fallback (turned off, or a security mechanism) a 2.0 peer is refused (see
    test_protocol_zmtp2.py for the fallback itself)."""
    # ZMTP 2.0 (RFC 15): signature, revision 0x01, socket type, identity.
    data = b"\xff" + bytes(7) + b"\x01\x7f" + b"\x01" + b"\x05" + b"\x00\x00"
    conn = Connection("DEALER", **no_fallback)
    if whole:
        # only 11 bytes: we must not wait for 64 before judging
        with pytest.raises(RemoteProtocolError) as info:
            conn.receive_data(data[:11])
        exc = info.value
    else:
        n, exc = _feed_until_error(conn, data)
        assert n == 11
    assert exc.reason is ErrorReason.UNSUPPORTED_VERSION
    assert "ZMTP 2.0" in str(exc)
    assert conn.state is ConnectionState.CLOSED


@pytest.mark.parametrize("fallback", [True, False])
@pytest.mark.parametrize("major", [0, 2])
def test_other_old_versions_refused(major: int, fallback: bool) -> None:
    """Revision 0 (versioned ZMTP 1.0) is refused even with the 2.0 fallback; revision 2 is no 2.0 either
    (libzmq would take it for 3.x)."""
    conn = Connection("DEALER", zmtp2_fallback=fallback)
    with pytest.raises(RemoteProtocolError) as info:
        conn.receive_data(greeting(0, major=major)[:11])
    assert info.value.reason is ErrorReason.UNSUPPORTED_VERSION


@pytest.mark.parametrize("fallback", [True, False])
@pytest.mark.parametrize("peer", [b"\x01\x00", b"\xff" + bytes(8) + b"\x7f\x00"], ids=["zmtp10", "zmtp10-versioned"])
def test_version_error_queues_no_error_command(fallback: bool, peer: bytes) -> None:
    """A ZMTP 1.0/2.0 peer would not understand an ERROR command: nothing but our greeting (so far) goes
    out: its first stage when staged, all of it otherwise."""
    conn = Connection("DEALER", zmtp2_fallback=fallback)
    with pytest.raises(RemoteProtocolError):
        conn.receive_data(peer)
    assert joined(conn) == (our_greeting()[:STAGE1] if fallback else greeting(1, padding=struct.pack(">Q", 1)))


@pytest.mark.parametrize("mode", ["whole", "bytewise"])
@pytest.mark.parametrize("mech", [b"PLAIN", b"CURVE", b"GSSAPI"])
def test_mechanism_mismatch(mode: str, mech: bytes) -> None:
    conn = Connection("DEALER")
    with pytest.raises(RemoteProtocolError) as info:
        feed(conn, greeting(1, mechanism=mech), mode)
    assert info.value.reason is ErrorReason.MECHANISM_MISMATCH
    assert mech.decode() in str(info.value)
    assert conn.state is ConnectionState.CLOSED
    assert conn.receive_data(ready("ROUTER")) == []


@pytest.mark.parametrize("mech", [bytes(20), b"\x00NULL" + bytes(15), b"NU\x00LL" + bytes(15), b"NU-LL" + bytes(15)])
def test_malformed_mechanism_name(mech: bytes) -> None:
    data = b"\xff" + bytes(8) + b"\x7f\x03\x01" + mech + bytes(32)
    assert len(data) == 64
    with pytest.raises(RemoteProtocolError) as info:
        parse_greeting(data)
    assert info.value.reason is ErrorReason.BAD_GREETING
    conn = Connection("DEALER")
    with pytest.raises(RemoteProtocolError) as info:
        conn.receive_data(data)
    assert info.value.reason is ErrorReason.BAD_GREETING


def test_partial_greeting_waits() -> None:
    conn = Connection("DEALER")
    assert conn.receive_data(greeting(1)[:63]) == []
    assert conn.state is ConnectionState.GREETING
    assert conn.receive_data(greeting(1)[63:]) == [GreetingReceived((3, 1), b"NULL", False)]
