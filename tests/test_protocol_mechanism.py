"""The hooks security mechanisms plug into (mechanism.py): frames sealed after the handshake, the ZAP
pause and resume (RFC 27), and randomness from the driver.  Proven with a toy sealing mechanism
(helpers_protocol.XorBoxMechanism) and with NULL + ZAP, over two Connections wired together in memory."""

from __future__ import annotations

import struct
from typing import List, Optional, Tuple

import pytest
from helpers_protocol import (
    ConnectionPair,
    CountingRandom,
    XorBoxMechanism,
    chunks,
    greeting,
    joined,
    ready,
    zmtp2_greeting,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zmtp.protocol import (
    AuthenticationRequested,
    Cancel,
    Connection,
    ConnectionClosed,
    ConnectionState,
    ErrorReason,
    ErrorReceived,
    GreetingReceived,
    HandshakeComplete,
    LocalProtocolError,
    MessageReceived,
    NullMechanism,
    PingReceived,
    PongReceived,
    RemoteProtocolError,
    State,
    Subscribe,
)
from zmtp.protocol.frames import frame_header


def sealed_pair(
    a_type: str = "DEALER",
    b_type: str = "ROUTER",
    *,
    zap: bool = False,
    split: Optional[int] = None,
    a_minor: int = 1,
    **kwargs: object,
) -> Tuple[ConnectionPair, XorBoxMechanism, XorBoxMechanism]:
    """Client a, server b, both XORBOX; pumped through the handshake unless ``zap`` pauses it."""
    ma = XorBoxMechanism(random_bytes=CountingRandom(), user=b"alice")
    mb = XorBoxMechanism(as_server=True, zap=zap)
    a = Connection(a_type, mechanism=ma, identity=b"A", minor_version=a_minor, **kwargs)  # type: ignore[arg-type]
    b = Connection(b_type, mechanism=mb, identity=b"B", **kwargs)  # type: ignore[arg-type]
    cut = None if split is None else (lambda data: [data[i : i + split] for i in range(0, len(data), split)])
    pair = ConnectionPair(a, b, split=cut)
    return pair, ma, mb


def established_pair(**kwargs: object) -> Tuple[ConnectionPair, XorBoxMechanism, XorBoxMechanism]:
    pair, ma, mb = sealed_pair(**kwargs)  # type: ignore[arg-type]
    ea, eb = pair.pump()
    assert pair.errors == {"a": None, "b": None}
    assert isinstance(ea[-1], HandshakeComplete) and isinstance(eb[-1], HandshakeComplete)
    return pair, ma, mb


# -- sealed frames ---------------------------------------------------------------------------------------


MESSAGES = [
    [b"hello"],
    [b"", b"", b""],
    [b"multi", b"part", b"", b"message"],
    [bytes(range(256)) * 300],  # 76,800 bytes: a large body, received in place
    [b"head", b"x" * (1 << 20), b"tail"],
]


@pytest.mark.parametrize("split", [None, 1000, 7])
def test_messages_through_the_seal(split: Optional[int]) -> None:
    pair, ma, mb = established_pair(split=split)
    msgs = MESSAGES if split != 7 else MESSAGES[:3]
    for m in msgs:
        pair.a.send_message(m)
    _, eb = pair.pump()
    assert eb == [MessageReceived(m) for m in msgs]
    assert all(type(f) in (bytes, bytearray) for e in eb for f in e.frames)  # type: ignore[attr-defined]
    for m in msgs:
        pair.b.send_message(m)
    ea, _ = pair.pump()
    assert ea == [MessageReceived(m) for m in msgs]


def test_the_wire_is_sealed() -> None:
    pair, ma, mb = established_pair()
    before = ma.sealed_count
    pair.a.send_message([b"secret-one", b"secret-two"])
    wire = joined(pair.a)
    assert ma.sealed_count == before + 2  # one encode_frame per frame
    assert b"secret" not in wire
    # two data frames, no MORE, no COMMAND on the wire: MORE travels inside the box
    pos = 0
    while pos < len(wire):
        flags, size = wire[pos], wire[pos + 1]
        assert flags == 0 and wire[pos + 2 : pos + 10] == b"\x07MESSAGE"
        pos += 2 + size
    assert pair.b.receive_data(wire) == [MessageReceived([b"secret-one", b"secret-two"])]


def test_large_sealed_frame_goes_long_and_stays_its_own_buffer() -> None:
    pair, ma, mb = established_pair()
    big = b"B" * 100_000
    pair.a.send_message([big])
    out = pair.a.data_to_send()
    assert out[0] == frame_header(len(big) + ma.frame_overhead, 0)
    assert out[0][0] == 0x02  # LONG added by the connection
    assert len(out[1]) == len(big) + ma.frame_overhead
    assert pair.b.receive_data(b"".join(out)) == [MessageReceived([big])]


def test_ping_pong_through_the_seal() -> None:
    pair, ma, mb = established_pair()
    before = ma.sealed_count
    pair.a.send_ping(2.5, b"ctx")
    assert ma.sealed_count == before + 1
    assert b"PING" not in b"".join(pair.a._out)
    ea, eb = pair.pump()
    assert eb == [PingReceived(2.5, b"ctx")]
    assert ea == [PongReceived(b"ctx")]


def test_heartbeat_ping_is_sealed() -> None:
    pair, ma, mb = sealed_pair(heartbeat_ivl=1.0)
    pair.pump(now=0.0)
    pair.a.handle_timer(1.0)
    assert b"PING" not in b"".join(pair.a._out)
    ea, eb = pair.pump(now=1.0)
    assert eb == [PingReceived(0.0, b"")] and ea == [PongReceived(b"")]


@pytest.mark.parametrize("sub_minor", [1, 0])
def test_subscribe_and_cancel_through_the_seal(sub_minor: int) -> None:
    pair, ma, mb = established_pair(a_type="SUB", b_type="PUB", a_minor=sub_minor)
    pair.a.send_subscribe(b"weather")
    pair.a.send_subscribe(b"")
    pair.a.send_cancel(b"weather")
    wire = b"".join(pair.a._out)
    assert b"SUBSCRIBE" not in wire and b"weather" not in wire
    _, eb = pair.pump()
    assert eb == [Subscribe(b"weather"), Subscribe(b""), Cancel(b"weather")]
    assert all(type(e.topic) is bytes for e in eb)  # type: ignore[attr-defined]
    pair.b.send_message([b"weather", b"sunny"])
    ea, _ = pair.pump()
    assert ea == [MessageReceived([b"weather", b"sunny"])]


def test_error_through_the_seal() -> None:
    pair, ma, mb = established_pair()
    pair.a.send_error("going away")
    assert b"going away" not in b"".join(pair.a._out)
    _, eb = pair.pump()
    assert eb == [ErrorReceived("going away")]
    assert pair.b.state is ConnectionState.CLOSED


def test_protocol_failure_sends_a_sealed_error() -> None:
    pair, ma, mb = established_pair()
    with pytest.raises(RemoteProtocolError):
        pair.b.receive_data(b"\x00\x03abc")  # an unsealed frame
    out = joined(pair.b)
    assert b"ERROR" not in out and out[2:10] == b"\x07MESSAGE"
    events = pair.a.receive_data(out)
    assert len(events) == 1 and isinstance(events[0], ErrorReceived)
    assert "XORBOX" in events[0].reason


def test_tampering_is_refused() -> None:
    pair, ma, mb = established_pair()
    pair.a.send_message([b"pay me 10"])
    wire = bytearray(joined(pair.a))
    wire[20] ^= 0x01
    with pytest.raises(RemoteProtocolError) as info:
        pair.b.receive_data(bytes(wire))
    assert info.value.reason is ErrorReason.BAD_FRAME and "tampered" in str(info.value)
    assert pair.b.state is ConnectionState.CLOSED


def test_replay_is_refused() -> None:
    pair, ma, mb = established_pair()
    pair.a.send_message([b"once"])
    wire = joined(pair.a)
    assert pair.b.receive_data(wire) == [MessageReceived([b"once"])]
    with pytest.raises(RemoteProtocolError) as info:
        pair.b.receive_data(wire)
    assert "replayed" in str(info.value)


def test_max_message_size_is_judged_on_the_plaintext() -> None:
    pair, ma, mb = established_pair(max_message_size=1000)
    pair.a.send_message([b"m" * 600, b"n" * 400])  # exactly the limit: fine
    _, eb = pair.pump()
    assert eb == [MessageReceived([b"m" * 600, b"n" * 400])]
    pair.a.send_message([b"m" * 600, b"n" * 401])
    pair.pump()
    err = pair.errors["b"]
    assert err is not None and err.reason is ErrorReason.MESSAGE_TOO_LARGE


def test_wire_frame_bounded_at_its_header() -> None:
    pair, ma, mb = established_pair(max_message_size=1000)
    limit = 1000 + mb.frame_overhead
    assert pair.b.receive_data(frame_header(limit, 0)) == []  # may still be a legal sealed frame
    pair2, _, mb2 = established_pair(max_message_size=1000)
    with pytest.raises(RemoteProtocolError) as info:
        pair2.b.receive_data(frame_header(limit + 1, 0))
    assert info.value.reason is ErrorReason.MESSAGE_TOO_LARGE
    assert pair2.b._decoder.buffered < 64


def test_command_in_the_middle_of_a_sealed_multipart_message() -> None:
    pair, ma, mb = established_pair()
    wire_flags, first = ma.encode_frame(0x01, b"part")
    _, cmd = ma.encode_frame(0x04, b"\x04PING\x00\x00")
    with pytest.raises(RemoteProtocolError) as info:
        pair.b.receive_data(frame_header(len(first), wire_flags) + first + frame_header(len(cmd), 0) + cmd)
    assert info.value.reason is ErrorReason.BAD_FRAME


@settings(deadline=None, max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.lists(st.binary(max_size=300), min_size=1, max_size=4), min_size=1, max_size=6),
    st.integers(1, 200),
)
def test_sealed_split_invariance(messages: List[List[bytes]], chunk: int) -> None:
    pair, ma, mb = established_pair(split=chunk)
    for m in messages:
        pair.a.send_message(m)
    pair.a.send_ping(0, b"p")
    _, eb = pair.pump()
    assert eb == [MessageReceived(m) for m in messages] + [PingReceived(0.0, b"p")]


def test_randomness_comes_from_the_driver() -> None:
    rnd = CountingRandom()
    mech = XorBoxMechanism(random_bytes=rnd)
    conn = Connection("DEALER", mechanism=mech)
    assert rnd.drawn == []  # nothing drawn until the mechanism needs it
    conn.receive_data(greeting(1, mechanism=b"XORBOX", as_server=1))
    assert rnd.drawn == [8]
    assert mech.random_bytes is rnd


def test_null_never_seals() -> None:
    conn = Connection("DEALER")
    conn.receive_data(greeting(1) + ready("ROUTER"))
    assert not conn._sealed and not conn._decoder.raw


# -- the ZAP pause ---------------------------------------------------------------------------------------------


def zap_paused_pair(**kwargs: object) -> Tuple[ConnectionPair, XorBoxMechanism, XorBoxMechanism]:
    pair, ma, mb = sealed_pair(zap=True, **kwargs)  # type: ignore[arg-type]
    ea, eb = pair.pump()
    assert eb[-1] == AuthenticationRequested(b"XORBOX", [b"alice"])
    assert pair.b.protocol_state is State.AUTHENTICATING
    assert pair.b.state is ConnectionState.HANDSHAKE
    assert not any(isinstance(e, HandshakeComplete) for e in ea + eb)
    return pair, ma, mb


def test_zap_200_completes_the_handshake() -> None:
    pair, ma, mb = zap_paused_pair()
    events = pair.b.authentication_result(b"200", b"OK", b"alice-id", {"X-Role": b"admin", "User-Id": b"spoof"})
    assert events == []  # the client's READY comes only after ours
    ea, eb = pair.pump()
    hs_a, hs_b = ea[-1], eb[-1]
    assert isinstance(hs_a, HandshakeComplete) and isinstance(hs_b, HandshakeComplete)
    assert hs_b.user_id == b"alice-id" and pair.b.user_id == b"alice-id"
    # ZAP properties merged as libzmq does: they win over the peer's; User-Id is the ZAP user id
    assert hs_b.metadata["user-id"] == b"alice-id"
    assert hs_b.metadata["x-role"] == b"admin"
    assert hs_b.metadata["socket-type"] == b"DEALER"
    assert hs_a.user_id == b"" and "user-id" not in hs_a.metadata
    pair.a.send_message([b"after", b"auth"])
    _, eb = pair.pump()
    assert eb == [MessageReceived([b"after", b"auth"])]


@pytest.mark.parametrize("status", [b"400", b"500"])
def test_zap_refusal_sends_error_and_closes(status: bytes) -> None:
    pair, ma, mb = zap_paused_pair()
    with pytest.raises(RemoteProtocolError) as info:
        pair.b.authentication_result(status, b"no such user")
    assert info.value.reason is ErrorReason.AUTHENTICATION_FAILED
    assert status.decode() in str(info.value) and "no such user" in str(info.value)
    assert pair.b.state is ConnectionState.CLOSED and pair.b.close_reason is info.value
    out = joined(pair.b)
    assert out == b"\x04" + bytes((len(b"\x05ERROR\x03") + 3,)) + b"\x05ERROR\x03" + status  # only this, unsealed
    assert pair.a.receive_data(out) == [ErrorReceived(status.decode())]
    assert pair.a.state is ConnectionState.CLOSED


def test_zap_300_closes_silently() -> None:
    pair, ma, mb = zap_paused_pair()
    with pytest.raises(RemoteProtocolError) as info:
        pair.b.authentication_result(b"300", b"try later")
    assert info.value.reason is ErrorReason.AUTHENTICATION_FAILED
    assert pair.b.data_to_send() == []


def test_input_is_held_while_authenticating() -> None:
    """What arrives during the pause is decoded only after the decision, and only then."""
    mech = NullMechanism(zap=True)
    conn = Connection("ROUTER", mechanism=mech)
    conn.data_to_send()
    events = conn.receive_data(greeting(1) + ready("DEALER", b"peer"))
    assert events == [GreetingReceived((3, 1), b"NULL", False), AuthenticationRequested(b"NULL", [])]
    assert conn.protocol_state is State.AUTHENTICATING
    assert not mech._ready_received  # the peer's READY was held, not handed to the mechanism
    assert conn.data_to_send() == []  # and our READY waits for the decision
    assert conn.receive_data(b"") == [ConnectionClosed()]
    assert conn.authentication_result(b"200") == []


def test_null_zap_200_then_held_ready_completes() -> None:
    conn = Connection("ROUTER", mechanism=NullMechanism(zap=True))
    conn.data_to_send()
    assert conn.receive_data(greeting(1) + ready("DEALER", b"peer"))[-1] == AuthenticationRequested(b"NULL", [])
    assert b"READY" not in joined(conn)
    events = conn.authentication_result(b"200", b"OK", b"uid", {}, now=1.0)
    assert b"\x05READY" in joined(conn)  # our READY now
    assert len(events) == 1 and isinstance(events[0], HandshakeComplete)
    assert events[0].identity == b"peer" and events[0].user_id == b"uid"
    assert events[0].metadata["user-id"] == b"uid"
    assert conn.state is ConnectionState.ESTABLISHED


def test_null_zap_pair_with_a_plain_null_client() -> None:
    pair = ConnectionPair(Connection("DEALER"), Connection("ROUTER", mechanism=NullMechanism(zap=True)))
    ea, eb = pair.pump()
    assert eb[-1] == AuthenticationRequested(b"NULL", [])
    assert not any(isinstance(e, HandshakeComplete) for e in ea)
    # the client's READY was held: the decision lets it through, which completes the server's side
    events = pair.b.authentication_result(b"200", b"", b"", {})
    assert len(events) == 1 and isinstance(events[0], HandshakeComplete)
    ea2, eb2 = pair.pump()
    assert any(isinstance(e, HandshakeComplete) for e in ea + ea2)
    assert pair.a.state is pair.b.state is ConnectionState.ESTABLISHED


def test_null_zap_refusal_reaches_a_null_client() -> None:
    pair = ConnectionPair(Connection("DEALER"), Connection("ROUTER", mechanism=NullMechanism(zap=True)))
    pair.pump()
    with pytest.raises(RemoteProtocolError):
        pair.b.authentication_result(b"400", b"bad address")
    ea, _ = pair.pump()
    assert ea == [ErrorReceived("400")]


def test_data_held_across_the_decision_arrives_in_order() -> None:
    """The peer's READY and (unusually early) messages, held during the pause, come out in order."""
    conn = Connection("ROUTER", mechanism=NullMechanism(zap=True))
    conn.receive_data(greeting(1))
    assert conn.protocol_state is State.AUTHENTICATING
    wire = ready("DEALER") + b"\x00\x03one" + b"\x00\x03two"
    for piece in chunks(wire, [3, 10, 25]):
        assert conn.receive_data(piece) == []
    events = conn.authentication_result(b"200")
    assert [type(e).__name__ for e in events] == ["HandshakeComplete", "MessageReceived", "MessageReceived"]
    assert events[1:] == [MessageReceived([b"one"]), MessageReceived([b"two"])]


def test_held_input_is_bounded() -> None:
    conn = Connection("ROUTER", mechanism=NullMechanism(zap=True))
    conn.receive_data(greeting(1))
    with pytest.raises(RemoteProtocolError) as info:
        for _ in range(20):
            conn.receive_data(b"\x00" * (1 << 17))
    assert info.value.reason is ErrorReason.UNEXPECTED_COMMAND
    assert conn.state is ConnectionState.CLOSED


def test_handshake_timeout_runs_while_waiting() -> None:
    conn = Connection("ROUTER", mechanism=NullMechanism(zap=True), handshake_ivl=2.0, now=10.0)
    conn.receive_data(greeting(1), now=10.5)
    assert conn.protocol_state is State.AUTHENTICATING
    assert conn.next_deadline() == 12.0
    with pytest.raises(RemoteProtocolError) as info:
        conn.handle_timer(12.0)
    assert info.value.reason is ErrorReason.HANDSHAKE_TIMEOUT
    assert conn.authentication_result(b"200") == []  # the answer came too late: nothing happens


def test_authentication_result_misuse() -> None:
    conn = Connection("ROUTER")
    with pytest.raises(LocalProtocolError) as info:
        conn.authentication_result(b"200")
    assert info.value.reason is ErrorReason.INVALID_STATE
    conn = Connection("ROUTER", mechanism=NullMechanism(zap=True))
    conn.receive_data(greeting(1))
    for bad in (b"201", b"20", b"OK", b""):
        with pytest.raises(LocalProtocolError) as info:
            conn.authentication_result(bad)
        assert info.value.reason is ErrorReason.INVALID_ARGUMENT
        assert conn.protocol_state is State.AUTHENTICATING  # unchanged


def test_zap_refuses_the_zmtp2_fallback() -> None:
    """libzmq does not downgrade to ZMTP 2.0 when ZAP is enabled (zmtp_engine_t::handshake_v2_0)."""
    conn = Connection("ROUTER", mechanism=NullMechanism(zap=True))
    assert joined(conn) == greeting(1, padding=struct.pack(">Q", 1))  # all 64 bytes: no staging
    with pytest.raises(RemoteProtocolError) as info:
        conn.receive_data(zmtp2_greeting("DEALER"))
    assert info.value.reason is ErrorReason.UNSUPPORTED_VERSION
