"""The Connection state machine: sending, subscriptions, errors, local misuse, timers (fake clock)."""

from __future__ import annotations

from typing import List

import pytest
from helpers_protocol import (
    ConnectionPair,
    command,
    established,
    greeting,
    joined,
    message,
    ping,
    ready,
)

from zmtp.protocol import (
    Cancel,
    Connection,
    ConnectionClosed,
    ConnectionState,
    ErrorReason,
    ErrorReceived,
    HandshakeComplete,
    LocalProtocolError,
    MessageReceived,
    PingReceived,
    PongReceived,
    RemoteProtocolError,
    Subscribe,
)

# -- states ------------------------------------------------------------------------------------------------


def test_state_progression() -> None:
    conn = Connection("DEALER")
    assert conn.state is ConnectionState.GREETING
    conn.receive_data(greeting(1))
    assert conn.state is ConnectionState.HANDSHAKE
    conn.receive_data(ready("ROUTER"))
    assert conn.state is ConnectionState.ESTABLISHED


@pytest.mark.parametrize("minor", [0, 1])
def test_bad_constructor_arguments(minor: int) -> None:
    with pytest.raises(LocalProtocolError):
        Connection("DEALER", minor_version=minor + 2)
    with pytest.raises(LocalProtocolError):
        Connection("DEALER", identity=b"i" * 256)
    Connection("DEALER", identity=b"i" * 255, minor_version=minor)


def test_socket_type_name_is_upper_cased() -> None:
    conn = Connection("dealer")
    assert conn.socket_type == "DEALER"
    conn.receive_data(greeting(1) + ready("router"))
    assert conn.peer_socket_type == "ROUTER"


def test_end_of_stream() -> None:
    conn = established()
    assert conn.receive_data(b"") == [ConnectionClosed()]
    assert conn.state is ConnectionState.CLOSED
    assert conn.receive_data(message(b"x")) == []
    assert conn.receive_data(b"") == []


# -- sending --------------------------------------------------------------------------------------------


def test_send_message_wire_bytes() -> None:
    conn = established()
    conn.send_message([b"a", b"", b"c" * 256])
    assert joined(conn) == message(b"a", b"", b"c" * 256)
    assert not conn.has_data_to_send()


def test_data_to_send_is_taken_once() -> None:
    conn = Connection("DEALER")
    assert conn.has_data_to_send()
    assert len(conn.data_to_send()) == 1
    assert conn.data_to_send() == []
    assert not conn.has_data_to_send()


@pytest.mark.parametrize("state", ["greeting", "handshake", "closed"])
def test_send_before_handshake_or_after_close_is_local_error(state: str) -> None:
    conn = Connection("DEALER")
    if state != "greeting":
        conn.receive_data(greeting(1))
    if state == "closed":
        conn.receive_data(b"")
    conn.data_to_send()
    before = conn.state
    for call in (
        lambda: conn.send_message([b"x"]),
        lambda: conn.send_subscribe(b"t"),
        lambda: conn.send_cancel(b"t"),
        lambda: conn.send_ping(),
    ):
        with pytest.raises(LocalProtocolError) as info:
            call()
        assert info.value.reason is ErrorReason.INVALID_STATE
        assert conn.state is before
    assert conn.data_to_send() == []


def test_local_misuse_changes_nothing() -> None:
    conn = established()
    for call in (
        lambda: conn.send_message([]),
        lambda: conn.send_ping(0, b"x" * 17),
        lambda: conn.send_ping(10_000),
        lambda: conn.send_ping(-1),
    ):
        with pytest.raises(LocalProtocolError) as info:
            call()
        assert info.value.reason is ErrorReason.INVALID_ARGUMENT
        assert conn.state is ConnectionState.ESTABLISHED
        assert conn.data_to_send() == []
    # and the connection still works
    conn.send_message([b"ok"])
    assert joined(conn) == message(b"ok")
    assert conn.receive_data(message(b"in")) == [MessageReceived([b"in"])]


def test_send_error() -> None:
    conn = established()
    conn.send_error("going away")
    assert joined(conn) == command(b"ERROR", b"\x0agoing away")
    assert conn.state is ConnectionState.CLOSED
    conn.send_error("again")
    assert conn.data_to_send() == []


def test_send_error_during_greeting_sends_nothing() -> None:
    conn = Connection("DEALER")
    conn.data_to_send()
    conn.send_error("nope")
    assert conn.data_to_send() == []
    assert conn.state is ConnectionState.CLOSED


def test_message_sink() -> None:
    conn = established()
    got: List[List[bytes]] = []
    conn.message_sink = got.append
    assert conn.receive_data(message(b"a", b"b") + ping(0) + message(b"c")) == [PingReceived(0.0, b"")]
    assert got == [[b"a", b"b"], [b"c"]]


# -- subscriptions ---------------------------------------------------------------------------------------


def test_send_subscribe_on_31_is_a_command() -> None:
    conn = established("SUB", "PUB", peer_minor=1)
    conn.send_subscribe(b"topic")
    conn.send_cancel(b"topic")
    assert joined(conn) == command(b"SUBSCRIBE", b"topic") + command(b"CANCEL", b"topic")


@pytest.mark.parametrize("ours, theirs", [(0, 1), (1, 0), (0, 0)])
def test_send_subscribe_on_30_is_a_message(ours: int, theirs: int) -> None:
    conn = established("SUB", "PUB", peer_minor=theirs, minor_version=ours)
    conn.send_subscribe(b"topic")
    conn.send_cancel(b"")
    assert joined(conn) == message(b"\x01topic") + message(b"\x00")


@pytest.mark.parametrize("pub", ["PUB", "XPUB"])
@pytest.mark.parametrize("sub", ["SUB", "XSUB"])
@pytest.mark.parametrize("pub_minor, sub_minor", [(1, 1), (1, 0), (0, 1), (0, 0)])
def test_pair_subscriptions_on_every_version(pub: str, sub: str, pub_minor: int, sub_minor: int) -> None:
    pair = ConnectionPair(Connection(pub, minor_version=pub_minor), Connection(sub, minor_version=sub_minor))
    pair.pump()
    pair.b.send_subscribe(b"weather")
    pair.b.send_subscribe(b"")
    pair.b.send_cancel(b"weather")
    ea, eb = pair.pump()
    assert ea == [Subscribe(b"weather"), Subscribe(b""), Cancel(b"weather")]
    pair.a.send_message([b"weather", b"sunny"])
    ea, eb = pair.pump()
    assert eb == [MessageReceived([b"weather", b"sunny"])]


# -- remote errors -------------------------------------------------------------------------------------------


def test_remote_error_closes_for_good() -> None:
    conn = established()
    with pytest.raises(RemoteProtocolError) as info:
        conn.receive_data(b"\x08\x00")
    assert info.value.reason is ErrorReason.BAD_FRAME
    assert conn.state is ConnectionState.CLOSED
    assert conn.close_reason is info.value
    assert conn.receive_data(message(b"ok")) == []
    assert conn.receive_data(b"\x08\x00") == []  # no second raise either
    with pytest.raises(LocalProtocolError):
        conn.send_message([b"x"])
    assert conn.next_deadline() is None
    conn.handle_timer(1e9)


def test_established_failure_queues_error_command() -> None:
    conn = established()
    with pytest.raises(RemoteProtocolError) as info:
        conn.receive_data(b"\x10\x00")
    out = joined(conn)
    assert out == command(b"ERROR", bytes((len(info.value.message),)) + info.value.message.encode())


def test_incompatible_socket_type_queues_error() -> None:
    conn = Connection("PUSH")
    conn.data_to_send()
    with pytest.raises(RemoteProtocolError) as info:
        conn.receive_data(greeting(1) + ready("REP"))
    assert info.value.reason is ErrorReason.INCOMPATIBLE_SOCKET_TYPE
    assert "REP" in str(info.value)
    out = joined(conn)
    # our READY (sent on the greeting) and then the ERROR
    assert out.index(b"\x05READY") < out.index(b"\x05ERROR")
    assert repr(info.value).startswith("RemoteProtocolError(INCOMPATIBLE_SOCKET_TYPE")


def test_error_received_is_not_an_exception() -> None:
    conn = established()
    assert conn.receive_data(command(b"ERROR", b"\x01x")) == [ErrorReceived("x")]
    assert conn.state is ConnectionState.CLOSED
    assert isinstance(conn.close_reason, RemoteProtocolError)
    assert conn.close_reason.reason is ErrorReason.PEER_ERROR


# -- timers with a fake clock -----------------------------------------------------------------------------


def test_handshake_timeout() -> None:
    conn = Connection("DEALER", handshake_ivl=5.0, now=100.0)
    assert conn.next_deadline() == 105.0
    conn.handle_timer(104.99)
    assert conn.state is ConnectionState.GREETING
    conn.receive_data(greeting(1), now=104.99)
    assert conn.next_deadline() == 105.0  # the greeting alone does not complete the handshake
    conn.data_to_send()
    with pytest.raises(RemoteProtocolError) as info:
        conn.handle_timer(105.0)
    assert info.value.reason is ErrorReason.HANDSHAKE_TIMEOUT
    assert conn.state is ConnectionState.CLOSED
    assert b"\x05ERROR" in joined(conn)
    assert conn.next_deadline() is None


def test_handshake_timeout_during_greeting_sends_no_error() -> None:
    conn = Connection("DEALER", handshake_ivl=1.0)
    conn.data_to_send()
    with pytest.raises(RemoteProtocolError):
        conn.handle_timer(1.0)
    assert conn.data_to_send() == []


def test_handshake_completion_clears_handshake_deadline() -> None:
    conn = Connection("DEALER", handshake_ivl=5.0, now=0.0)
    conn.receive_data(greeting(1) + ready("ROUTER"), now=1.0)
    assert conn.next_deadline() is None
    conn.handle_timer(1000.0)
    assert conn.state is ConnectionState.ESTABLISHED


def test_no_handshake_limit() -> None:
    conn = Connection("DEALER", handshake_ivl=0)
    assert conn.next_deadline() is None
    conn.handle_timer(1e12)
    assert conn.state is ConnectionState.GREETING


def hb_conn(**kwargs: float) -> Connection:
    return established("DEALER", "ROUTER", now=10.0, handshake_ivl=0, **kwargs)  # type: ignore[arg-type]


def test_no_heartbeat_by_default() -> None:
    conn = hb_conn()
    assert conn.next_deadline() is None
    conn.handle_timer(1e6)
    assert conn.data_to_send() == []


def test_ping_every_heartbeat_ivl() -> None:
    conn = established("DEALER", "ROUTER", now=10.0, handshake_ivl=0, heartbeat_ivl=1.0, heartbeat_ttl=3.0)
    assert conn.next_deadline() == 11.0
    conn.handle_timer(10.5)
    assert conn.data_to_send() == []
    conn.handle_timer(11.0)
    assert joined(conn) == ping(30)  # TTL in deciseconds
    # waiting for traffic until 11 + heartbeat_timeout (= ivl by default); next PING at 12
    assert conn.next_deadline() == 12.0
    conn.receive_data(command(b"PONG"), now=11.2)
    assert conn.next_deadline() == 12.0
    conn.handle_timer(12.0)
    assert joined(conn) == ping(30)
    conn.receive_data(message(b"data counts as traffic"), now=12.5)
    conn.handle_timer(13.0)
    assert joined(conn) == ping(30)
    assert conn.state is ConnectionState.ESTABLISHED


def test_heartbeat_timeout_without_traffic() -> None:
    conn = hb_conn(heartbeat_ivl=1.0, heartbeat_timeout=0.5)
    conn.handle_timer(11.0)
    assert joined(conn) == ping(0)
    assert conn.next_deadline() == 11.5
    conn.handle_timer(11.49)
    assert conn.state is ConnectionState.ESTABLISHED
    with pytest.raises(RemoteProtocolError) as info:
        conn.handle_timer(11.5)
    assert info.value.reason is ErrorReason.HEARTBEAT_TIMEOUT
    assert conn.state is ConnectionState.CLOSED
    assert conn.next_deadline() is None


def test_heartbeat_timeout_longer_than_ivl() -> None:
    conn = hb_conn(heartbeat_ivl=1.0, heartbeat_timeout=2.5)
    conn.handle_timer(11.0)
    assert conn.next_deadline() == 12.0
    conn.handle_timer(12.0)  # second PING; the first one's deadline still stands
    assert conn.next_deadline() == 13.0
    conn.handle_timer(13.0)
    assert conn.next_deadline() == 13.5
    with pytest.raises(RemoteProtocolError):
        conn.handle_timer(13.5)


@pytest.mark.parametrize("traffic", [command(b"PONG"), message(b"x"), ping(0), command(b"UNKNOWN")])
def test_any_traffic_clears_heartbeat_timeout(traffic: bytes) -> None:
    conn = hb_conn(heartbeat_ivl=1.0, heartbeat_timeout=0.5)
    conn.handle_timer(11.0)
    conn.receive_data(traffic, now=11.4)
    assert conn.next_deadline() == 12.0
    conn.handle_timer(11.9)
    assert conn.state is ConnectionState.ESTABLISHED


def test_peer_ttl_honoured() -> None:
    conn = hb_conn()
    events = conn.receive_data(ping(20, b"c"), now=50.0)
    assert events == [PingReceived(2.0, b"c")]
    assert joined(conn) == command(b"PONG", b"c")
    assert conn.next_deadline() == 52.0
    # any traffic disarms the TTL until the next PING re-arms it (libzmq's decode_and_push)
    conn.receive_data(message(b"alive"), now=51.0)
    assert conn.next_deadline() is None
    conn.receive_data(ping(20, b"d"), now=60.0)
    assert conn.next_deadline() == 62.0
    conn.handle_timer(61.5)
    assert conn.state is ConnectionState.ESTABLISHED
    with pytest.raises(RemoteProtocolError) as info:
        conn.handle_timer(62.0)
    assert info.value.reason is ErrorReason.HEARTBEAT_TIMEOUT


def test_peer_ttl_zero_means_none() -> None:
    conn = hb_conn()
    conn.receive_data(ping(20), now=50.0)
    conn.receive_data(ping(0), now=51.0)
    assert conn.next_deadline() is None


def test_next_deadline_is_the_earliest() -> None:
    conn = hb_conn(heartbeat_ivl=5.0, heartbeat_timeout=1.0)
    conn.receive_data(ping(30), now=10.0)  # TTL deadline 13
    assert conn.next_deadline() == 13.0  # before the PING at 15
    conn.receive_data(ping(0), now=12.0)  # the peer stops asking for a TTL
    assert conn.next_deadline() == 15.0
    conn.handle_timer(15.0)
    assert conn.next_deadline() == 16.0  # pong deadline, before the next PING at 20


def test_pair_heartbeats() -> None:
    a = Connection("DEALER", heartbeat_ivl=1.0, heartbeat_ttl=5.0, now=0.0)
    b = Connection("ROUTER", now=0.0)
    pair = ConnectionPair(a, b)
    ea, eb = pair.pump(now=0.0)
    assert isinstance(ea[-1], HandshakeComplete) and isinstance(eb[-1], HandshakeComplete)
    a.handle_timer(1.0)
    ea, eb = pair.pump(now=1.0)
    assert eb == [PingReceived(5.0, b"")]
    assert ea == [PongReceived(b"")]
    assert a.next_deadline() == 2.0
    assert b.next_deadline() == 6.0
