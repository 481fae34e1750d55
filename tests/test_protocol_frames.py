"""Framing (RFC 23 / RFC 37 section 3.3): the FrameDecoder, encode_frames, and size limits."""

from __future__ import annotations

import struct
from typing import List

import pytest
from helpers_protocol import FEED_MODES, command, established, feed, frame, greeting, message, ready
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zmtp.protocol import (
    Connection,
    ConnectionClosed,
    ConnectionState,
    ErrorReason,
    FrameDecoder,
    MessageReceived,
    RemoteProtocolError,
    encode_frames,
)
from zmtp.protocol.frames import MAX_FRAME_SIZE, Decoded, encode_command, frame_header


def decode(data: bytes, mode: str = "whole", decoder: FrameDecoder | None = None) -> List[Decoded]:
    dec = decoder if decoder is not None else FrameDecoder()
    if mode == "whole":
        return dec.feed(data)
    if mode == "bytewise":
        out: List[Decoded] = []
        for i in range(len(data)):
            out += dec.feed(data[i : i + 1])
        return out
    if mode == "trailing":
        # the start of another frame rides along and completes nothing
        out = dec.feed(data + b"\x02\x00\x00")
        assert dec.buffered == 3
        assert dec.feed(b"\x00\x00\x00\x00\x00\x01Z") == [[b"Z"]]
        return out
    raise ValueError(mode)


CASES = [
    ("empty frame", frame(b""), [[b""]]),
    ("short frame", frame(b"hello"), [[b"hello"]]),
    ("255 bytes short", frame(b"x" * 255), [[b"x" * 255]]),
    ("256 bytes long", frame(b"y" * 256), [[b"y" * 256]]),
    ("long flag on a small frame", frame(b"abc", long=True), [[b"abc"]]),
    ("long empty frame", frame(b"", long=True), [[b""]]),
    ("multipart", message(b"a", b"", b"c" * 300, b""), [[b"a", b"", b"c" * 300, b""]]),
    ("two messages", message(b"1") + message(b"2", b"3"), [[b"1"], [b"2", b"3"]]),
    ("command", command(b"PING", b"\x00\x00"), [b"\x04PING\x00\x00"]),
    ("long command", frame(b"\x05READY" + b"m" * 300, command=True), [b"\x05READY" + b"m" * 300]),
    ("command then message", command(b"X") + message(b"m"), [b"\x01X", [b"m"]]),
    ("message then command", message(b"m", b"n") + command(b"X"), [[b"m", b"n"], b"\x01X"]),
]


@pytest.mark.parametrize("mode", FEED_MODES)
@pytest.mark.parametrize("name, data, expected", CASES, ids=[c[0] for c in CASES])
def test_decoder_cases(name: str, data: bytes, expected: List[Decoded], mode: str) -> None:
    dec = FrameDecoder()
    assert decode(data, mode, dec) == expected
    assert all(type(p) is bytes for item in expected for p in (item if isinstance(item, list) else [item]))


def test_decoder_returns_bytes_even_from_bytearray_and_memoryview() -> None:
    data = message(b"ab", b"cd")
    for wrapped in (bytearray(data), memoryview(data)):
        out = FrameDecoder().feed(wrapped)  # type: ignore[arg-type]
        assert out == [[b"ab", b"cd"]]
        assert all(type(p) is bytes for p in out[0])


@pytest.mark.parametrize("bit", [0x08, 0x10, 0x20, 0x40, 0x80])
@pytest.mark.parametrize("base", [0x00, 0x03, 0x04])
def test_reserved_flag_bits_are_bad_frame(bit: int, base: int) -> None:
    dec = FrameDecoder()
    header = bytes((base | bit,)) + (struct.pack(">Q", 1) if base & 0x02 else b"\x01")
    with pytest.raises(RemoteProtocolError) as info:
        dec.feed(header)  # the header alone is enough to judge
    assert info.value.reason is ErrorReason.BAD_FRAME


def test_command_in_the_middle_of_a_multipart_message() -> None:
    dec = FrameDecoder()
    assert dec.feed(frame(b"part", more=True)) == []
    with pytest.raises(RemoteProtocolError) as info:
        dec.feed(command(b"PING", b"\x00\x00"))
    assert info.value.reason is ErrorReason.BAD_FRAME


def test_command_in_the_middle_judged_at_its_header() -> None:
    dec = FrameDecoder()
    with pytest.raises(RemoteProtocolError) as info:
        dec.feed(frame(b"part", more=True) + b"\x04\x10")  # 16-byte command body not yet sent
    assert info.value.reason is ErrorReason.BAD_FRAME


# -- size limits -----------------------------------------------------------------------------------------


def test_huge_frame_header_with_limit_fails_immediately() -> None:
    dec = FrameDecoder(max_message_size=1 << 20)
    with pytest.raises(RemoteProtocolError) as info:
        dec.feed(b"\x02" + struct.pack(">Q", 2**62))
    assert info.value.reason is ErrorReason.MESSAGE_TOO_LARGE
    assert dec.buffered <= 9


def test_huge_frame_header_fed_bytewise_fails_at_last_size_byte() -> None:
    dec = FrameDecoder(max_message_size=100)
    header = b"\x02" + struct.pack(">Q", 2**62)
    for b in header[:-1]:
        assert dec.feed(bytes((b,))) == []
    with pytest.raises(RemoteProtocolError):
        dec.feed(header[-1:])


def test_huge_frame_without_limit_does_not_allocate_up_front() -> None:
    dec = FrameDecoder(max_message_size=-1)
    assert dec.feed(b"\x02" + struct.pack(">Q", 2**46) + b"abc") == []
    assert dec.buffered < 64 and dec.allocated < 64
    for _ in range(100):
        dec.feed(b"z" * 100)
    assert dec.buffered < 64 + 100 * 100
    assert dec.allocated < 64 + 100 * 100


@pytest.mark.parametrize("size", [2**63 - 1, 2**64 - 1, 2**62, MAX_FRAME_SIZE + 1])
@pytest.mark.parametrize("command", [False, True])
def test_frame_no_allocation_could_hold_is_refused_at_its_header(size: int, command: bool) -> None:
    """libzmq drops such a frame when its malloc fails (src/v2_decoder.cpp size_ready): so do we, at once."""
    dec = FrameDecoder(max_message_size=-1, command_limit=MAX_FRAME_SIZE)
    with pytest.raises(RemoteProtocolError) as info:
        dec.feed(bytes((0x06 if command else 0x02,)) + struct.pack(">Q", size))
    assert info.value.reason is ErrorReason.MESSAGE_TOO_LARGE
    assert str(MAX_FRAME_SIZE) in str(info.value)
    conn = established("DEALER", "ROUTER")
    with pytest.raises(RemoteProtocolError):
        conn.receive_data(bytes((0x06 if command else 0x02,)) + struct.pack(">Q", size))
    assert conn.state is ConnectionState.CLOSED


def test_max_frame_size_is_the_connections_choice() -> None:
    conn = established("DEALER", "ROUTER", max_frame_size=1 << 30)
    assert conn.receive_data(frame_header(1 << 30, 0)) == []
    conn = established("DEALER", "ROUTER", max_frame_size=1 << 30)
    with pytest.raises(RemoteProtocolError) as info:
        conn.receive_data(frame_header((1 << 30) + 1, 0))
    assert info.value.reason is ErrorReason.MESSAGE_TOO_LARGE


def test_huge_command_header_fails_immediately() -> None:
    dec = FrameDecoder(command_limit=1000)
    with pytest.raises(RemoteProtocolError) as info:
        dec.feed(b"\x06" + struct.pack(">Q", 2**62))
    assert info.value.reason is ErrorReason.MESSAGE_TOO_LARGE


@pytest.mark.parametrize("limit", [0, 1, 255, 256, 1000])
def test_single_frame_at_and_over_the_limit(limit: int) -> None:
    assert FrameDecoder(max_message_size=limit).feed(frame(b"q" * limit)) == [[b"q" * limit]]
    dec = FrameDecoder(max_message_size=limit)
    with pytest.raises(RemoteProtocolError) as info:
        dec.feed(frame(b"q" * (limit + 1))[:9])  # header (+ a little body) only
    assert info.value.reason is ErrorReason.MESSAGE_TOO_LARGE


def test_limit_bounds_the_whole_multipart_message() -> None:
    dec = FrameDecoder(max_message_size=10)
    assert dec.feed(message(b"12345", b"12345")) == [[b"12345", b"12345"]]
    assert dec.feed(frame(b"123456", more=True)) == []
    assert dec.buffered == 6
    with pytest.raises(RemoteProtocolError) as info:
        dec.feed(b"\x00\x05")  # 6 + 5 > 10, judged at the header
    assert info.value.reason is ErrorReason.MESSAGE_TOO_LARGE


def test_unlimited_accepts_large_frames() -> None:
    big = b"\xab" * (3 << 20)
    assert FrameDecoder(max_message_size=-1).feed(frame(big)) == [[big]]


def test_connection_limit_checked_at_header() -> None:
    conn = established("DEALER", "ROUTER", max_message_size=1000)
    with pytest.raises(RemoteProtocolError) as info:
        conn.receive_data(b"\x02" + struct.pack(">Q", 2**62))
    assert info.value.reason is ErrorReason.MESSAGE_TOO_LARGE
    assert conn._decoder.buffered < 100
    assert conn.state is ConnectionState.CLOSED


def test_connection_large_frame_at_limit() -> None:
    conn = established("DEALER", "ROUTER", max_message_size=5000)
    assert conn.receive_data(frame(b"z" * 5000)) == [MessageReceived([b"z" * 5000])]


def test_connection_unlimited_huge_header_buffers_little() -> None:
    conn = established("DEALER", "ROUTER")
    assert conn.receive_data(b"\x02" + struct.pack(">Q", 2**46) + b"x" * 10) == []
    assert conn._decoder.buffered < 100


# -- linear buffering ----------------------------------------------------------------------------------


@pytest.mark.timeout(30)
def test_many_small_frames_in_small_chunks() -> None:
    n = 100_000
    data = b"".join(frame(b"%05d" % (i % 100000)) for i in range(n))
    for step in (7, 13):  # aligned with the 7-byte frames, then not
        dec = FrameDecoder()
        out: List[Decoded] = []
        for i in range(0, len(data), step):
            out += dec.feed(data[i : i + step])
        assert len(out) == n
        assert out[0] == [b"00000"] and out[-1] == [b"%05d" % ((n - 1) % 100000)]
        assert dec.buffered == 0


@pytest.mark.timeout(30)
def test_large_frame_in_small_pieces() -> None:
    body = bytes(range(256)) * 4096 * 4  # 4 MiB
    data = frame(body)
    dec = FrameDecoder()
    out: List[Decoded] = []
    for i in range(0, len(data), 1000):
        out += dec.feed(data[i : i + 1000])
        assert dec.buffered <= len(data)
    assert out == [[body]]
    assert dec.buffered == 0


@pytest.mark.timeout(30)
def test_many_frame_multipart_in_one_byte_pieces() -> None:
    parts = [bytes((i % 256,)) * (i % 5) for i in range(5000)]
    data = message(*parts)
    dec = FrameDecoder()
    out: List[Decoded] = []
    for i in range(len(data)):
        out += dec.feed(data[i : i + 1])
    assert out == [parts]


# -- encoding ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "size, header",
    [
        (0, b"\x00\x00"),
        (1, b"\x00\x01"),
        (255, b"\x00\xff"),
        (256, b"\x02" + struct.pack(">Q", 256)),
        (70000, b"\x02" + struct.pack(">Q", 70000)),
    ],
)
def test_encode_frames_headers(size: int, header: bytes) -> None:
    body = b"b" * size
    out: List[bytes] = []
    encode_frames([body], out)
    assert b"".join(out) == header + body
    out = []
    encode_frames([body, b""], out)
    assert b"".join(out) == bytes((header[0] | 1,)) + header[1:] + body + b"\x00\x00"


def test_encode_frames_large_frames_are_separate_buffers() -> None:
    big = b"L" * 300
    out: List[bytes] = []
    encode_frames([b"s", big, b"t"], out, large=300)
    assert out[1] == b"\x03" + struct.pack(">Q", 300)
    assert out[2] is big
    assert b"".join(out) == message(b"s", big, b"t")


def test_frame_header_and_encode_command() -> None:
    assert frame_header(5, 0x04) == b"\x04\x05"
    assert frame_header(300, 0x04) == b"\x06" + struct.pack(">Q", 300)
    assert encode_command(b"\x04PONG") == command(b"PONG")
    assert encode_command(b"\x05READY" + b"m" * 300) == frame(b"\x05READY" + b"m" * 300, command=True)


@pytest.mark.parametrize("mode", FEED_MODES)
def test_multipart_through_connection(mode: str) -> None:
    conn = established("DEALER", "ROUTER")
    events = feed(conn, message(b"", b"x" * 256, b"") + message(b"solo"), mode)
    assert events == [MessageReceived([b"", b"x" * 256, b""]), MessageReceived([b"solo"])]



# -- the handshake phase --------------------------------------------------------------------------------


def test_decoder_handshaking_pauses_after_each_command() -> None:
    dec = FrameDecoder(handshaking=True)
    data = command(b"A") + command(b"B") + message(b"m")
    assert dec.feed(data) == [b"\x01A"]
    assert dec.paused
    assert dec.feed(b"") == [b"\x01B"]
    assert dec.paused
    with pytest.raises(RemoteProtocolError) as info:
        dec.feed(b"")  # still handshaking: the data frame is refused
    assert info.value.reason is ErrorReason.UNEXPECTED_COMMAND


def test_decoder_resumes_with_data_once_the_handshake_is_over() -> None:
    dec = FrameDecoder(handshaking=True)
    assert dec.feed(command(b"READY") + message(b"m", b"n")) == [b"\x05READY"]
    dec.handshaking = False
    assert dec.feed(b"") == [[b"m", b"n"]]
    assert not dec.paused and dec.buffered == 0


def test_data_frame_header_during_handshake_refused_at_once() -> None:
    """Even without a size limit an anonymous peer cannot make us buffer a huge data frame."""
    conn = Connection("DEALER", max_message_size=-1)
    conn.receive_data(greeting(1))
    with pytest.raises(RemoteProtocolError) as info:
        conn.receive_data(b"\x02" + struct.pack(">Q", 2**62) + b"x" * 100)
    assert info.value.reason is ErrorReason.UNEXPECTED_COMMAND
    assert conn._decoder.buffered < 200


@pytest.mark.parametrize("mode", ["whole", "bytewise"])
def test_ready_and_large_message_in_one_chunk(mode: str) -> None:
    big = b"B" * ((2 << 20) if mode == "whole" else 3000)
    conn = Connection("DEALER")
    events = feed(conn, greeting(1) + ready("ROUTER") + message(b"", big) + command(b"PONG"), mode)
    assert [type(e).__name__ for e in events] == [
        "GreetingReceived", "HandshakeComplete", "MessageReceived", "PongReceived"
    ]
    assert events[2] == MessageReceived([b"", big])


# -- large bodies, collected as they arrive -------------------------------------------------------


@pytest.mark.parametrize("chunk", [9, 1000, 70000, 300000])
def test_large_frame_any_split(chunk: int) -> None:
    big = bytes(range(256)) * 4096  # 1 MiB
    wire = message(b"head", big, b"") + message(b"after")
    conn = established()
    events: List[object] = []
    for pos in range(0, len(wire), chunk):
        events += conn.receive_data(wire[pos : pos + chunk])
    assert events == [MessageReceived([b"head", big, b""]), MessageReceived([b"after"])]
    frames = [f for e in events for f in e.frames]  # type: ignore[attr-defined]
    assert [type(f) for f in frames] == [bytes, bytes, bytes, bytes]


def test_large_frames_received_into_reused_chunks() -> None:
    """The driver's recv_into path: chunks the decoder offers and reuses, same result as feeding."""
    from zmtp.protocol.frames import BODY_CHUNK, SPARE_CHUNKS

    big = bytes(range(256)) * 4096  # 1 MiB
    wire = (message(b"head", big) + message(big + b"!")) * 3
    conn = established()
    events: List[object] = []
    pos = 0
    while pos < len(wire):
        view = conn.receive_buffer()
        if view is None:
            chunk = wire[pos : pos + 70000]
            events += conn.receive_data(chunk)
            pos += len(chunk)
            continue
        assert len(view) <= BODY_CHUNK
        n = min(len(view), 100_000, len(wire) - pos)
        view[:n] = wire[pos : pos + n]
        view.release()
        pos += n
        events += conn.buffer_received(n)
        assert conn._decoder.allocated <= conn._decoder.buffered + (SPARE_CHUNKS + 1) * BODY_CHUNK
    assert events == [MessageReceived([b"head", big]), MessageReceived([big + b"!"])] * 3
    assert all(type(f) is bytes for e in events for f in e.frames)  # type: ignore[attr-defined]
    assert conn._decoder.allocated <= SPARE_CHUNKS * BODY_CHUNK  # only reusable chunks remain


def test_large_frame_then_trailing_data_in_same_feed() -> None:
    big = b"x" * 200_000
    wire = message(big) + message(b"tail")
    decoder = FrameDecoder()
    assert decoder.feed(wire[:50_000]) == []
    assert decoder.buffered == 50_000 - 9
    assert decoder.feed(wire[50_000:]) == [[big], [b"tail"]]
    assert decoder.buffered == 0


def test_announced_huge_frame_holds_only_what_arrived() -> None:
    decoder = FrameDecoder()  # no size limit
    announced = 1 << 30
    decoder.feed(frame_header(announced, 0) + b"z" * (1 << 20))
    # 1 MiB of a 1 GiB body: exactly what arrived is held
    assert decoder.buffered == 1 << 20
    assert decoder.allocated == 1 << 20
    decoder.feed(b"z" * 100)
    assert decoder.allocated == (1 << 20) + 100


def test_peer_closing_inside_a_large_body_is_clean() -> None:
    conn = established()
    conn.receive_data(frame_header(500_000, 0) + b"a" * 100_000)
    assert conn.receive_data(b"") == [ConnectionClosed()]


@pytest.mark.timeout(120)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    bodies=st.lists(
        st.one_of(st.binary(max_size=300), st.integers(0, 3).map(lambda k: bytes([k]) * (70_000 + k))),
        min_size=1, max_size=12),
    cuts=st.lists(st.integers(1, 200_000), max_size=20),
    sink=st.booleans(),
)
def test_reads_as_views_of_a_reused_buffer_keep_nothing_of_it(bodies: List[bytes], cuts: List[int],
                                                              sink: bool) -> None:
    """A driver may hand each read over as a view of one reused buffer (the threaded driver does): every
    message must be the same as from ``bytes`` input, whatever the split, after the buffer is scribbled."""
    stream = greeting(1) + ready("DEALER") + b"".join(
        command(b"PING", b"\x00\x01") + message(body) if i % 3 == 2 else message(b"m%d" % i, body)
        for i, body in enumerate(bodies))
    points = sorted({0, len(stream), *(c % len(stream) for c in cuts)})

    def run(as_view: bool) -> List[object]:
        conn = Connection("DEALER")
        got: List[object] = []
        if sink:
            conn.receive_data(greeting(1) + ready("DEALER"))
            conn.set_message_sinks(lambda frames: got.append(list(frames)),
                                   lambda batch: got.extend(list(m) for m in batch))
            data = stream[len(greeting(1) + ready("DEALER")):]
        else:
            data = stream
        cut = sorted({0, len(data), *(p % max(1, len(data)) for p in points)})
        shared = bytearray(len(data))
        for a, b in zip(cut, cut[1:]):
            if as_view:
                shared[: b - a] = data[a:b]
                events = conn.receive_data(memoryview(shared)[: b - a])
                shared[:] = b"\xee" * len(shared)  # the driver's next read overwrites the buffer
            else:
                events = conn.receive_data(data[a:b])
            got.extend(e.frames if isinstance(e, MessageReceived) else type(e).__name__ for e in events)
        return got

    expected = run(False)
    assert run(True) == expected
    assert sum(1 for m in expected if isinstance(m, list)) == len(bodies)
