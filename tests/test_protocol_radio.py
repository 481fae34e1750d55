"""ZMTP 3.1 JOIN and LEAVE (RFC 37 "Radio-Dish", RFC 48): a DISH tells its RADIOs which groups it wants.

libzmq 4.3 sends both as command frames on every ZMTP 3.x version (dish_session_t::pull_msg) and reads
them only on RADIO sessions (radio_session_t::push_msg), with groups of at most ZMQ_GROUP_MAX_LENGTH
(255) bytes.  The wire bytes below are written by hand.
"""

from __future__ import annotations

import pytest
from helpers_protocol import (
    FEED_MODES,
    ConnectionPair,
    CountingRandom,
    XorBoxMechanism,
    command,
    established,
    feed,
    joined,
    message,
)

from zmtp.protocol import (
    GROUP_MAX_LENGTH,
    Connection,
    ConnectionState,
    ErrorReason,
    Join,
    Leave,
    LocalProtocolError,
    MessageReceived,
    RemoteProtocolError,
)


def test_group_limit_is_libzmqs() -> None:
    assert GROUP_MAX_LENGTH == 255


@pytest.mark.parametrize("dish_minor", [1, 0])
def test_dish_sends_commands_on_every_3x_version(dish_minor: int) -> None:
    conn = established("DISH", "RADIO", peer_minor=dish_minor)
    conn.send_join(b"weather")
    conn.send_leave(b"weather")
    conn.send_join(b"")
    assert joined(conn) == b"\x04\x0c\x04JOINweather" + b"\x04\x0d\x05LEAVEweather" + b"\x04\x05\x04JOIN"


@pytest.mark.parametrize("mode", FEED_MODES)
def test_radio_reports_join_and_leave(mode: str) -> None:
    conn = established("RADIO", "DISH")
    data = command(b"JOIN", b"g1") + command(b"JOIN", b"g" * 255) + command(b"LEAVE", b"g1") + command(b"JOIN")
    assert feed(conn, data, mode) == [Join(b"g1"), Join(b"g" * 255), Leave(b"g1"), Join(b"")]
    assert all(type(e.group) is bytes for e in feed(established("RADIO", "DISH"), data))  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", [b"JOIN", b"LEAVE"])
def test_radio_refuses_a_group_beyond_the_limit(name: bytes) -> None:
    conn = established("RADIO", "DISH")
    with pytest.raises(RemoteProtocolError) as info:
        conn.receive_data(command(name, b"g" * 256))
    assert info.value.reason is ErrorReason.BAD_COMMAND
    assert "255" in str(info.value)
    assert conn.state is ConnectionState.CLOSED


@pytest.mark.parametrize("sock, peer", [("DISH", "RADIO"), ("DEALER", "ROUTER"), ("SUB", "PUB")])
def test_other_types_ignore_join_and_leave(sock: str, peer: str) -> None:
    conn = established(sock, peer)
    data = command(b"JOIN", b"g") + command(b"LEAVE", b"x" * 300) + message(b"ok")
    assert conn.receive_data(data) == [MessageReceived([b"ok"])]
    assert conn.state is ConnectionState.ESTABLISHED


@pytest.mark.parametrize("group", [b"g" * 256, b"a\x00b"])
def test_bad_groups_are_local_errors(group: bytes) -> None:
    conn = established("DISH", "RADIO")
    for call in (conn.send_join, conn.send_leave):
        with pytest.raises(LocalProtocolError) as info:
            call(group)
        assert info.value.reason is ErrorReason.INVALID_ARGUMENT
    assert conn.data_to_send() == [] and conn.state is ConnectionState.ESTABLISHED


def test_join_before_the_handshake_is_a_local_error() -> None:
    conn = Connection("DISH")
    with pytest.raises(LocalProtocolError) as info:
        conn.send_join(b"g")
    assert info.value.reason is ErrorReason.INVALID_STATE


@pytest.mark.parametrize("dish_minor", [1, 0])
def test_pair(dish_minor: int) -> None:
    pair = ConnectionPair(Connection("RADIO"), Connection("DISH", minor_version=dish_minor))
    pair.pump()
    pair.b.send_join(b"news")
    pair.b.send_join(b"sport")
    pair.b.send_leave(b"news")
    ea, _ = pair.pump()
    assert ea == [Join(b"news"), Join(b"sport"), Leave(b"news")]
    pair.a.send_message([b"sport", b"goal"])
    _, eb = pair.pump()
    assert eb == [MessageReceived([b"sport", b"goal"])]


def test_join_through_a_sealing_mechanism() -> None:
    radio = Connection("RADIO", mechanism=XorBoxMechanism(as_server=True))
    dish = Connection("DISH", mechanism=XorBoxMechanism(random_bytes=CountingRandom()))
    pair = ConnectionPair(radio, dish)
    pair.pump()
    dish.send_join(b"secret-group")
    assert b"secret-group" not in b"".join(dish._out)
    ea, _ = pair.pump()
    assert ea == [Join(b"secret-group")]
