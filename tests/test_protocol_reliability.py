"""The core's side of issue 9 (reliability under hostile peers): each row reproduced in memory.

- row 11: what was complete before a bad frame is delivered, however the bytes were split;
- rows 5 and 6: memory follows what arrived, never what was announced; impossible sizes are refused;
- row 12: a flood of empty frames costs a bounded multiple of MAXMSGSIZE;
- row 13: Socket-Type/Identity repeated with another value, or a second READY, are refused;
- row 4: a PING flood leaves at most one PONG queued; pending_output() tells the driver;
- large bodies arrive as the bytearray they were received into, and nothing hashes them as bytes.
"""

from __future__ import annotations

import struct
from typing import List, Optional, Tuple

import pytest
from helpers_protocol import (
    ConnectionPair,
    CountingRandom,
    XorBoxMechanism,
    chunks,
    command,
    established,
    frame,
    greeting,
    joined,
    message,
    ping,
    prop,
    ready,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zmtp.protocol import (
    Connection,
    ConnectionState,
    ErrorReason,
    Event,
    FrameDecoder,
    HandshakeComplete,
    MessageReceived,
    PingReceived,
    PongReceived,
    RemoteProtocolError,
    Subscribe,
)
from zmtp.protocol.frames import FRAME_COST, FREE_FRAMES, LARGE_BODY, frame_header

FUZZ = settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])

# -- row 11: deliver what was complete, then fail; the same for every split ----


def test_ten_good_messages_then_an_oversize_frame_in_one_read() -> None:
    good = b"".join(message(b"m%d" % i) for i in range(10))
    bad = frame_header(2000, 0)
    dec = FrameDecoder(max_message_size=1000)
    out = dec.feed(good + bad)
    assert out == [[b"m%d" % i] for i in range(10)]
    assert dec.error is not None and dec.error.reason is ErrorReason.MESSAGE_TOO_LARGE
    with pytest.raises(RemoteProtocolError) as info:
        dec.feed(b"more")
    assert info.value is dec.error

    conn = established(max_message_size=1000)
    with pytest.raises(RemoteProtocolError) as cinfo:
        conn.receive_data(good + bad)
    assert cinfo.value.events == [MessageReceived([b"m%d" % i]) for i in range(10)]
    assert conn.state is ConnectionState.CLOSED


def test_messages_before_the_fault_reach_the_sink_too() -> None:
    conn = established(max_message_size=1000)
    got: List[List[bytes]] = []
    conn.message_sink = got.append
    with pytest.raises(RemoteProtocolError) as info:
        conn.receive_data(message(b"a") + message(b"b", b"c") + b"\x08\x00")
    assert got == [[b"a"], [b"b", b"c"]]
    assert info.value.events == []  # messages went to the sink, not into events
    assert info.value.reason is ErrorReason.BAD_FRAME


def test_fault_inside_a_large_body_feed() -> None:
    """A large body completes and the next frame is bad, in one feed: the body is still delivered."""
    big = b"L" * (LARGE_BODY + 10)
    wire = message(big) + b"\x80\x00"
    dec = FrameDecoder()
    assert dec.feed(wire[:100]) == []
    out = dec.feed(wire[100:])
    assert out == [[big]] and dec.error is not None and dec.error.reason is ErrorReason.BAD_FRAME


ITEMS = st.one_of(
    st.lists(st.binary(max_size=40), min_size=1, max_size=3).map(lambda fs: message(*fs)),
    st.tuples(st.integers(0, 0xFFFF), st.binary(max_size=16)).map(lambda t: ping(*t)),
    st.binary(max_size=8).map(lambda c: command(b"PONG", c)),
    st.binary(max_size=8).map(lambda t: command(b"SUBSCRIBE", t)),
    st.just(frame(b"x" * 300)),  # over a 256-byte limit
    st.just(frame_header(2**63 - 1, 0)),  # no allocation could hold it
    st.just(b"\x08\x00"),  # reserved flag bit
    st.just(command(b"READY", prop("Socket-Type", b"ROUTER"))),  # a second READY
    st.just(frame(b"\x00", command=True)),  # malformed command
    st.binary(min_size=1, max_size=12),  # garbage
)


def run(pieces: List[bytes], limit: int) -> Tuple[List[Event], Optional[Tuple[ErrorReason, str]], bytes]:
    conn = Connection("PUB", max_message_size=limit)
    events: List[Event] = []
    error = None
    for piece in pieces:
        try:
            events += conn.receive_data(piece)
        except RemoteProtocolError as exc:
            events += exc.events
            error = (exc.reason, exc.message)
            break
    return events, error, b"".join(conn.data_to_send())


@FUZZ
@given(st.lists(ITEMS, max_size=10), st.sampled_from([-1, 256]), st.data())
def test_any_stream_split_anywhere_gives_the_same_events_and_error(
    items: List[bytes], limit: int, data: st.DataObject
) -> None:
    stream = greeting(1) + ready("SUB") + b"".join(items)
    whole = run([stream], limit)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=25))
    assert run(chunks(stream, cuts), limit) == whole
    assert run([stream[i : i + 1] for i in range(len(stream))], limit) == whole


def run_with_sinks(
    pieces: List[bytes], limit: int, sinks: bool
) -> Tuple[List[List[bytes]], List[Event], Optional[Tuple[ErrorReason, str]]]:
    """A PULL fed ``pieces``: the messages delivered (through the driver's sinks, or as events), the
    other events, and the error."""
    conn = Connection("PULL", max_message_size=limit)
    msgs: List[List[bytes]] = []
    events: List[Event] = []
    error = None
    for piece in pieces:
        try:
            got = conn.receive_data(piece)
        except RemoteProtocolError as exc:
            got = exc.events
            error = (exc.reason, exc.message)
        for event in got:
            if isinstance(event, MessageReceived):
                msgs.append(list(event.frames))
            else:
                events.append(event)
            if sinks and isinstance(event, HandshakeComplete):
                conn.set_message_sinks(msgs.append, msgs.extend)
        if error is not None:
            break
    return msgs, events, error


@FUZZ
@given(st.lists(ITEMS, max_size=10), st.sampled_from([-1, 256]), st.data())
def test_batch_sink_delivers_the_same_messages_events_and_error(
    items: List[bytes], limit: int, data: st.DataObject
) -> None:
    """The driver's fast path (data messages handed over in batches, decoding paused at each command)
    is observably the same as the event path, however the bytes are split."""
    stream = greeting(1) + ready("PUSH") + b"".join(items)
    plain = run_with_sinks([stream], limit, sinks=False)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=25))
    assert run_with_sinks(chunks(stream, cuts), limit, sinks=True) == plain
    assert run_with_sinks([stream[i : i + 1] for i in range(len(stream))], limit, sinks=True) == plain


def test_batch_sink_keeps_order_around_large_bodies() -> None:
    big = b"B" * (LARGE_BODY * 2)
    wire = message(b"a") + message(big) + message(b"b") + ping(0) + message(b"c")
    conn = established()
    got: List[List[bytes]] = []
    conn.set_message_sinks(got.append, got.extend)
    events = conn.receive_data(wire[:1000]) + conn.receive_data(wire[1000:])
    assert got == [[b"a"], [big], [b"b"], [b"c"]]
    assert events == [PingReceived(0.0, b"")]


# -- rows 5 and 6: allocation follows what arrived ----


def test_announced_frames_cost_what_arrived() -> None:
    """Row 5: 1,000 connections announce 1 MiB each and send 102 KB: we hold about 102 KB each."""
    sent = 102_000
    total_allocated = 0
    for _ in range(1000):
        conn = established(max_message_size=1 << 20)
        conn.receive_data(frame_header(1 << 20, 0) + b"z" * sent)
        total_allocated += conn._decoder.allocated
    assert total_allocated == 1000 * sent


def test_large_body_memory_is_what_arrived() -> None:
    conn = established()
    conn.receive_data(frame_header(1 << 30, 0) + b"a" * 100)
    total = 100
    while total < (8 << 20):
        conn.receive_data(b"b" * 65536)
        total += 65536
        assert conn._decoder.allocated == total
    assert conn._decoder.buffered == total


def test_huge_announcement_is_dropped_at_once() -> None:
    """Row 6: a 2**63-1 header with MAXMSGSIZE unset: refused at the header, nothing allocated."""
    conn = established()
    with pytest.raises(RemoteProtocolError) as info:
        conn.receive_data(b"\x02" + struct.pack(">Q", 2**63 - 1))
    assert info.value.reason is ErrorReason.MESSAGE_TOO_LARGE
    assert conn._decoder.allocated == 0
    assert conn.state is ConnectionState.CLOSED


# -- row 12: empty-frame floods are bounded ----


def test_empty_more_frames_flood_is_bounded() -> None:
    limit = 1 << 20
    conn = established(max_message_size=limit)
    chunk = b"\x01\x00" * 50_000
    fed = 0
    with pytest.raises(RemoteProtocolError) as info:
        for _ in range(1000):  # up to 100 MB of empty MORE frames
            conn.receive_data(chunk)
            fed += 50_000
            assert len(conn._decoder._parts) <= FREE_FRAMES + limit // FRAME_COST
    assert info.value.reason is ErrorReason.MESSAGE_TOO_LARGE
    assert fed <= FREE_FRAMES + limit // FRAME_COST
    assert "frames" in str(info.value)


def test_frame_charge_boundaries() -> None:
    # FREE_FRAMES frames cost only their bytes
    assert FrameDecoder(max_message_size=0).feed(message(*[b""] * FREE_FRAMES)) == [[b""] * FREE_FRAMES]
    # one more costs FRAME_COST bytes
    parts = [b""] * (FREE_FRAMES + 1)
    assert FrameDecoder(max_message_size=FRAME_COST).feed(message(*parts)) == [parts]
    with pytest.raises(RemoteProtocolError):
        FrameDecoder(max_message_size=FRAME_COST - 1).feed(message(*parts))
    # no limit, no charge
    many = [b""] * 5000
    assert FrameDecoder().feed(message(*many)) == [many]


def test_sealed_messages_are_charged_the_same() -> None:
    a = Connection("DEALER", mechanism=XorBoxMechanism(random_bytes=CountingRandom()))
    # (the limit must leave room for the handshake commands, which it bounds too)
    b = Connection("ROUTER", mechanism=XorBoxMechanism(as_server=True), max_message_size=3 * FRAME_COST)
    pair = ConnectionPair(a, b)
    pair.pump()
    a.send_message([b""] * (FREE_FRAMES + 3))
    _, eb = pair.pump()
    assert eb == [MessageReceived([b""] * (FREE_FRAMES + 3))]
    a.send_message([b""] * (FREE_FRAMES + 4))
    pair.pump()
    err = pair.errors["b"]
    assert err is not None and err.reason is ErrorReason.MESSAGE_TOO_LARGE


# -- row 13: READY metadata that contradicts itself, and a second READY ----


@pytest.mark.parametrize(
    "props",
    [
        [("Socket-Type", b"PUSH"), ("Socket-Type", b"ROUTER")],  # bad, then good
        [("Socket-Type", b"ROUTER"), ("Socket-Type", b"PUSH")],  # good, then bad
        [("Socket-Type", b"ROUTER"), ("socket-type", b"DEALER")],  # two good ones that disagree
        [("Socket-Type", b"ROUTER"), ("Identity", b"a"), ("Identity", b"b")],
    ],
)
def test_contradicting_ready_is_refused(props: List[Tuple[str, bytes]]) -> None:
    conn = Connection("DEALER")
    with pytest.raises(RemoteProtocolError) as info:
        conn.receive_data(greeting(1) + command(b"READY", b"".join(prop(n, v) for n, v in props)))
    assert info.value.reason is ErrorReason.BAD_METADATA
    assert conn.state is ConnectionState.CLOSED


def test_repeated_agreeing_properties_are_fine() -> None:
    conn = Connection("DEALER")
    body = prop("Socket-Type", b"ROUTER") + prop("Socket-Type", b"ROUTER") + prop("X-A", b"1") + prop("X-A", b"2")
    conn.receive_data(greeting(1) + command(b"READY", body))
    assert conn.state is ConnectionState.ESTABLISHED
    assert conn.peer_metadata["x-a"] == b"1"  # the first value stands, as in libzmq's metadata map


def test_second_ready_in_the_same_read_as_the_first() -> None:
    conn = Connection("DEALER")
    with pytest.raises(RemoteProtocolError) as info:
        conn.receive_data(greeting(1) + ready("ROUTER") + ready("ROUTER"))
    assert info.value.reason is ErrorReason.UNEXPECTED_COMMAND
    assert [type(e).__name__ for e in info.value.events] == ["GreetingReceived", "HandshakeComplete"]


# -- row 4: PING floods ----


def test_ping_flood_keeps_one_pong() -> None:
    conn = established()
    assert conn.pending_output() == 0
    for i in range(10_000):
        conn.receive_data(ping(0, b"%d" % i))
    assert conn.pending_output() == len(command(b"PONG", b"9999"))
    assert joined(conn) == command(b"PONG", b"9999")  # the newest context
    assert conn.pending_output() == 0


def test_pong_replaced_in_place_keeps_other_output() -> None:
    conn = established()
    conn.receive_data(ping(0, b"old"))
    conn.send_message([b"data"])
    conn.receive_data(ping(0, b"new"))
    assert joined(conn) == message(b"data") + command(b"PONG", b"new")
    conn.receive_data(ping(0, b"next"))  # after the driver took the output, a fresh PONG is queued
    assert joined(conn) == command(b"PONG", b"next")


def test_pending_output_counts_everything_queued() -> None:
    conn = Connection("DEALER")
    assert conn.pending_output() == 11  # the first greeting stage
    conn.data_to_send()
    conn.receive_data(greeting(1) + ready("ROUTER"))
    queued = conn.pending_output()
    assert queued == len(joined(conn)) > 0


def test_ping_flood_on_a_sealed_link_stays_in_order() -> None:
    """The replacement PONG is sealed last, so the receiver sees a gap in the sequence, never a reversal."""
    a = Connection("DEALER", mechanism=XorBoxMechanism(random_bytes=CountingRandom()))
    b = Connection("ROUTER", mechanism=XorBoxMechanism(as_server=True))
    pair = ConnectionPair(a, b)
    pair.pump()
    for i in range(100):
        a.send_ping(0, b"%d" % i)
        if i == 50:
            a.send_message([b"mid"])
    # b answers each PING but its output is not drained in between
    events = b.receive_data(b"".join(a.data_to_send()))
    assert len(events) == 101 and MessageReceived([b"mid"]) in events
    assert b.pending_output() < 100  # one sealed PONG, not a hundred
    b.send_message([b"after"])
    b.receive_data(ping(0)[:1])  # half a frame: no output moves
    b.receive_data(b"")  # (and the stream ends: what is queued still goes out)
    assert a.receive_data(b"".join(b.data_to_send())) == [PongReceived(b"99"), MessageReceived([b"after"])]


# -- large bodies ----


def test_large_subscription_message_yields_a_bytes_topic() -> None:
    conn = established("PUB", "SUB", peer_minor=0)
    topic = b"t" * (LARGE_BODY + 100)
    wire = message(b"\x01" + topic)
    assert conn.receive_data(wire[:5000]) == []
    events = conn.receive_data(wire[5000:40000]) + conn.receive_data(wire[40000:])
    assert events == [Subscribe(topic)]
    assert type(events[0].topic) is bytes  # type: ignore[attr-defined]
    assert hash(events[0].topic)  # type: ignore[attr-defined]


def test_large_command_bodies_are_bytes() -> None:
    conn = established("PUB", "SUB")
    topic = b"s" * (LARGE_BODY * 2)
    wire = command(b"SUBSCRIBE", topic)
    events = conn.receive_data(wire[:1000]) + conn.receive_data(wire[1000:])
    assert events == [Subscribe(topic)] and type(events[0].topic) is bytes  # type: ignore[attr-defined]


def test_large_data_frame_is_bytes() -> None:
    conn = established()
    body = b"q" * (LARGE_BODY * 3)
    wire = message(body)
    events = conn.receive_data(wire[:10_000]) + conn.receive_data(wire[10_000:])
    assert events == [MessageReceived([body])]
    assert type(events[0].frames[0]) is bytes  # type: ignore[attr-defined]


def test_ping_answered_during_large_body() -> None:
    """The PONG logic and large bodies coexist: a PING after a large frame is still answered once."""
    conn = established()
    conn.receive_data(message(b"z" * (LARGE_BODY + 1)) + ping(0, b"a") + ping(0, b"b"))
    assert joined(conn) == command(b"PONG", b"b")
    assert conn.receive_data(ping(0, b"c")) == [PingReceived(0.0, b"c")]
