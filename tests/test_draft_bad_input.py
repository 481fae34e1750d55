"""Misbehaving peers of the draft sockets (issue 14, "Bad input"): clear error or drop, the socket serves on.

The bad peer is a raw TCP socket speaking ZMTP through :mod:`zmtp.protocol` (its handshake), with
hand-made frames where the protocol helper would refuse to build them (a JOIN over 255 bytes).  What
each socket does is libzmq 4.3.5's (spec-notes.md Part 4):

* CLIENT, SERVER, GATHER, CHANNEL, PEER drop a multipart message and keep the connection;
* a DISH drops the *connection* on anything but ``[group (<= 255 bytes), body]`` (earlier messages stay);
* a RADIO drops the peer that JOINs a group over 255 bytes (libzmq aborts the process there);
* a flood of JOINs costs a counter per (peer, group): the RADIO keeps serving;
* udp: a datagram shorter than its group length is dropped (tests/test_udp.py has the datagram cases).
"""

from __future__ import annotations

import socket
import struct
import time
from typing import Iterator, List, Optional, Tuple

import pytest

import zmtp
from zmtp.protocol.connection import Connection
from zmtp.protocol.events import ConnectionClosed, HandshakeComplete, MessageReceived

pytestmark = pytest.mark.timeout(60)

RECV_MS = 3000


@pytest.fixture
def ctx() -> Iterator[zmtp.Context]:
    c = zmtp.Context()
    yield c
    c.destroy(linger=0)


def frame(body: bytes, more: bool = False, command: bool = False) -> bytes:
    """One ZMTP 3.x frame, by hand (RFC 37 section 2.3.3)."""
    flags = (0x01 if more else 0) | (0x04 if command else 0)
    if len(body) > 255:
        return bytes((flags | 0x02,)) + struct.pack(">Q", len(body)) + body
    return bytes((flags, len(body))) + body


class RawPeer:
    """A peer that completes the ZMTP handshake and then sends whatever it is told to."""

    def __init__(self, endpoint: str, socket_type: str) -> None:
        host, port = endpoint[len("tcp://"):].rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=5)
        self.conn = Connection(socket_type)
        self.messages: List[List[bytes]] = []
        self.closed = False
        self._flush()
        deadline = time.monotonic() + 5
        while not self._pump(HandshakeComplete):
            assert time.monotonic() < deadline, "no handshake"

    def _flush(self) -> None:
        for chunk in self.conn.data_to_send():
            self.sock.sendall(chunk)

    def _pump(self, want: Optional[type] = None, timeout: float = 0.2) -> bool:
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return False
        except ConnectionError:
            data = b""
        if not data:
            self.closed = True
            return want is None
        found = False
        for event in self.conn.receive_data(data):
            if isinstance(event, MessageReceived):
                self.messages.append(list(event.frames))
            elif isinstance(event, ConnectionClosed):
                self.closed = True
            if want is not None and isinstance(event, want):
                found = True
        self._flush()
        return found

    def send(self, *frames: bytes) -> None:
        self.conn.send_message(list(frames))
        self._flush()

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def join(self, group: bytes) -> None:
        self.send_raw(frame(b"\x04JOIN" + group, command=True))

    def leave(self, group: bytes) -> None:
        self.send_raw(frame(b"\x05LEAVE" + group, command=True))

    def wait_closed(self, seconds: float = 5.0) -> bool:
        """True once the other side closed the connection."""
        deadline = time.monotonic() + seconds
        while not self.closed and time.monotonic() < deadline:
            self._pump()
        return self.closed

    def wait_message(self, seconds: float = 5.0) -> List[bytes]:
        deadline = time.monotonic() + seconds
        while not self.messages:
            assert not self.closed, "connection closed"
            assert time.monotonic() < deadline, "no message"
            self._pump()
        return self.messages.pop(0)

    def close(self) -> None:
        self.sock.close()


def bound(ctx: zmtp.Context, kind: int) -> Tuple[zmtp.Socket, str]:
    s = ctx.socket(kind)
    s.linger = 0
    s.rcvtimeo = RECV_MS
    s.sndtimeo = RECV_MS
    s.bind("tcp://127.0.0.1:*")
    return s, s.last_endpoint.decode()


# -- multipart into the single-part types ------------------------------------------------------------
@pytest.mark.parametrize("zmtp_type, raw_type", [
    ("SERVER", "CLIENT"), ("CLIENT", "SERVER"), ("GATHER", "SCATTER"), ("CHANNEL", "CHANNEL"), ("PEER", "PEER"),
])
def test_multipart_is_dropped_and_the_connection_kept(ctx: zmtp.Context, zmtp_type: str, raw_type: str) -> None:
    s, ep = bound(ctx, getattr(zmtp, zmtp_type))
    raw = RawPeer(ep, raw_type)
    try:
        raw.send(b"part1", b"part2")
        raw.send(b"m1", b"m2", b"m3")
        raw.send(b"single")
        f = s.recv(copy=False)
        assert f.bytes == b"single"
        s.rcvtimeo = 100
        with pytest.raises(zmtp.Again):
            s.recv()
        if zmtp_type == "GATHER":
            return
        # the same connection still carries replies
        if zmtp_type in ("SERVER", "PEER"):
            assert f.routing_id
            s.send(b"reply", routing_id=f.routing_id)
        else:
            s.send(b"reply")
        assert raw.wait_message() == [b"reply"]
    finally:
        raw.close()


# -- DISH: a malformed radio message drops that connection -----------------------------------------
@pytest.mark.parametrize("bad", [
    [b"alone"],                     # no group frame
    [b"g", b"x", b"y"],             # a multipart body
    [b"G" * 256, b"body"],          # a group over 255 bytes
])
def test_dish_drops_a_malformed_radio(ctx: zmtp.Context, bad: List[bytes]) -> None:
    dish, ep = bound(ctx, zmtp.DISH)
    dish.join("g")
    dish.join("G" * 255)
    good = ctx.socket(zmtp.RADIO)
    good.linger = 0
    good.connect(ep)
    raw = RawPeer(ep, "RADIO")
    try:
        raw.send(b"g", b"before")
        raw.send(*bad)
        raw.send(b"g", b"after")
        assert raw.wait_closed(), "the DISH kept a peer that sent a malformed message"
        assert dish.recv() == b"before"
        # the well-behaved RADIO is still heard
        deadline = time.monotonic() + 5
        dish.rcvtimeo = 50
        while True:
            good.send(b"good", group="g")
            try:
                got = dish.recv()
            except zmtp.Again:
                assert time.monotonic() < deadline
                continue
            assert got in (b"good",), got  # never b"after"
            break
    finally:
        raw.close()
        good.close(linger=0)


# -- RADIO: a JOIN over the limit drops that peer; a flood of JOINs costs counters ---------------------
def _good_dish(ctx: zmtp.Context, ep: str, radio: zmtp.Socket, group: str) -> zmtp.Socket:
    d = ctx.socket(zmtp.DISH)
    d.linger = 0
    d.connect(ep)
    d.join(group)
    d.rcvtimeo = 50
    deadline = time.monotonic() + 5
    while True:
        radio.send(b"probe", group=group)
        try:
            if d.recv() == b"probe":
                break
        except zmtp.Again:
            assert time.monotonic() < deadline, "JOIN never reached the RADIO"
    d.rcvtimeo = RECV_MS
    return d


def test_radio_drops_a_peer_joining_an_overlong_group(ctx: zmtp.Context) -> None:
    radio, ep = bound(ctx, zmtp.RADIO)
    good = _good_dish(ctx, ep, radio, "g")
    ok = RawPeer(ep, "DISH")
    bad = RawPeer(ep, "DISH")
    try:
        ok.join(b"L" * 255)  # the longest allowed: fine
        bad.join(b"L" * 256)  # libzmq 4.3.5 aborts here (radio.cpp errno_assert)
        assert bad.wait_closed(), "the RADIO kept a peer that joined a 256-byte group"
        deadline = time.monotonic() + 5
        while not ok.messages:
            radio.send(b"to the longest group", group="L" * 255)
            ok._pump(timeout=0.05)
            assert time.monotonic() < deadline
        assert ok.messages[0] == [b"L" * 255, b"to the longest group"]
        radio.send(b"still serving", group="g")
        got = good.recv()
        while got == b"probe":
            got = good.recv()
        assert got == b"still serving"
    finally:
        ok.close()
        bad.close()


def _sync(raw: RawPeer, radio: zmtp.Socket, marker: bytes) -> List[List[bytes]]:
    """JOIN ``marker`` on ``raw``'s connection and wait until the RADIO sends it a message of that group:
    everything ``raw`` sent before is then processed (one connection is read in order).  Returns the
    messages ``raw`` received before the marker's."""
    raw.join(marker)
    deadline = time.monotonic() + 10
    while True:
        radio.send(b"sync", group=marker.decode())
        raw._pump(timeout=0.05)
        for i, m in enumerate(raw.messages):
            if m[0] == marker:
                before = raw.messages[:i]
                raw.messages.clear()
                return before
        assert time.monotonic() < deadline, "the RADIO never processed the JOIN"


def test_radio_survives_a_join_flood(ctx: zmtp.Context) -> None:
    radio, ep = bound(ctx, zmtp.RADIO)
    good = _good_dish(ctx, ep, radio, "g")
    raw = RawPeer(ep, "DISH")
    try:
        same = frame(b"\x04JOINflood", command=True)
        distinct = b"".join(frame(b"\x04JOIN" + b"d%06d" % i, command=True) for i in range(5000))
        raw.send_raw(same * 50_000 + distinct)
        radio.send(b"after the flood", group="g")
        got = good.recv()
        while got == b"probe":
            got = good.recv()
        assert got == b"after the flood"
        _sync(raw, radio, b"sync1")
        # every JOIN counted (libzmq's multimap): 49,999 LEAVEs leave the flooder a member
        raw.send_raw(frame(b"\x05LEAVEflood", command=True) * 49_999)
        _sync(raw, radio, b"sync2")
        radio.send(b"still a member", group="flood")
        assert [m for m in _sync(raw, radio, b"sync3") if m[0] != b"sync2"] == [[b"flood", b"still a member"]]
        raw.leave(b"flood")
        _sync(raw, radio, b"sync4")
        radio.send(b"gone", group="flood")
        assert [m for m in _sync(raw, radio, b"sync5") if m[0] != b"sync4"] == []
        radio.send(b"end", group="g")
        assert good.recv() == b"end"
    finally:
        raw.close()


# -- the application side --------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["CLIENT", "SERVER", "RADIO", "SCATTER", "CHANNEL", "PEER"])
def test_multipart_send_is_einval_and_queues_nothing(ctx: zmtp.Context, kind: str) -> None:
    s = ctx.socket(getattr(zmtp, kind))
    s.linger = 0
    for call in (lambda: s.send(b"a", zmtp.SNDMORE), lambda: s.send_multipart([b"a", b"b"]),
                 lambda: s.send_multipart([b"a"], zmtp.SNDMORE)):
        with pytest.raises(zmtp.ZMQError) as info:
            call()
        assert info.value.errno == zmtp.EINVAL
    assert not s.core.send_parts


def test_group_and_join_limits(ctx: zmtp.Context) -> None:
    dish = ctx.socket(zmtp.DISH)
    radio = ctx.socket(zmtp.RADIO)
    for call in (lambda: dish.join("x" * 256), lambda: radio.send(b"m", group="x" * 256)):
        with pytest.raises(zmtp.ZMQError) as info:
            call()
        assert info.value.errno == zmtp.EINVAL
    dish.join("x" * 255)
    dish.close(linger=0)
    radio.close(linger=0)
