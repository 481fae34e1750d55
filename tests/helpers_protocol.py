"""Shared helpers for the tests of the sans-IO core (``zmtp.protocol``).

The wire bytes here are written out by hand (``struct``/``bytes``), not produced by the core's own
encoders, so a decoder test cannot pass merely because encoder and decoder share a mistake.
"""

from __future__ import annotations

import hashlib
import socket
import struct
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

from zmtp.protocol import (
    Connection,
    ConnectionState,
    ErrorReason,
    Event,
    Mechanism,
    PongReceived,
    RemoteProtocolError,
)
from zmtp.protocol.commands import ERROR, READY, command_body, decode_error
from zmtp.protocol.mechanism import AuthRequest, PeerErrorCommand, zap_error_replies
from zmtp.protocol.metadata import decode_metadata

# -- hand-written wire bytes ------------------------------------------------------------------------

MORE = 0x01
LONG = 0x02
COMMAND = 0x04


def greeting(
    minor: int = 1,
    *,
    major: int = 3,
    mechanism: bytes = b"NULL",
    as_server: int = 0,
    padding: bytes = bytes(8),
    filler: bytes = bytes(31),
) -> bytes:
    """A 64-byte ZMTP 3.x greeting as RFC 23/37 lay it out."""
    assert len(padding) == 8 and len(filler) == 31
    return (
        b"\xff" + padding + b"\x7f" + bytes((major, minor)) + mechanism.ljust(20, b"\x00")
        + bytes((as_server,)) + filler
    )


def libzmq_greeting(routing_id_len: int = 0, minor: int = 1) -> bytes:
    """What libzmq sends: routing-id length + 1 in the signature padding, as-server 0."""
    return greeting(minor, padding=struct.pack(">Q", routing_id_len + 1))


#: How much of its greeting a Connection with the ZMTP 2.0 fallback (the default) sends at once: the
#: signature and major version 3.  The other 53 bytes follow once the peer's version byte is in.
STAGE1 = 11


def our_greeting(minor: int = 1, as_server: int = 0) -> bytes:
    """The 64 bytes a Connection sends (empty routing id: libzmq's padding of a 64-bit 1)."""
    return greeting(minor, as_server=as_server, padding=struct.pack(">Q", 1))


def after_greeting(conn: Connection, minor: int = 1, as_server: int = 0) -> bytes:
    """Drain ``conn``'s output, which must begin with the rest of its staged greeting; return what follows."""
    out = joined(conn)
    rest = our_greeting(minor, as_server)[STAGE1:]
    assert out[: len(rest)] == rest, out[: len(rest)]
    return out[len(rest) :]


# -- ZMTP 2.0 (RFC 15), written out by hand -----------------------------------------------------------

#: RFC 15 signature (padding all zero) and revision 0x01.
ZMTP2_SIGNATURE = b"\xff" + bytes(8) + b"\x7f"
#: RFC 15 socket-type octets.
ZMTP2_TYPES = {"PAIR": 0, "PUB": 1, "SUB": 2, "REQ": 3, "REP": 4, "DEALER": 5, "ROUTER": 6, "PULL": 7, "PUSH": 8}


def zmtp2_greeting(socket_type: Union[str, int], identity: bytes = b"") -> bytes:
    """A ZMTP 2.0 peer's greeting: signature, revision 1, socket type, identity as a short final frame."""
    octet = ZMTP2_TYPES[socket_type] if isinstance(socket_type, str) else socket_type
    assert len(identity) < 256
    return ZMTP2_SIGNATURE + b"\x01" + bytes((octet,)) + b"\x00" + bytes((len(identity),)) + identity


def our_zmtp2_reply(socket_octet: int, identity: bytes = b"") -> bytes:
    """Everything a Connection sends to a ZMTP 2.0 peer before any message: its first stage (major
    version 3, which a 2.0 peer reads as "at least 2.0"), socket type, identity frame."""
    return our_greeting()[:STAGE1] + bytes((socket_octet, 0, len(identity))) + identity


def frame(body: bytes, *, more: bool = False, command: bool = False, long: Optional[bool] = None) -> bytes:
    flags = (MORE if more else 0) | (COMMAND if command else 0)
    if long is None:
        long = len(body) > 255
    if long:
        return bytes((flags | LONG,)) + struct.pack(">Q", len(body)) + body
    return bytes((flags, len(body))) + body


def message(*frames: bytes) -> bytes:
    """A multipart data message (MORE on every frame but the last)."""
    last = len(frames) - 1
    return b"".join(frame(f, more=i < last) for i, f in enumerate(frames))


def command(name: bytes, data: bytes = b"") -> bytes:
    return frame(bytes((len(name),)) + name + data, command=True)


def prop(name: Union[str, bytes], value: bytes) -> bytes:
    raw = name.encode() if isinstance(name, str) else name
    return bytes((len(raw),)) + raw + struct.pack(">I", len(value)) + value


def ready(socket_type: str = "ROUTER", identity: Optional[bytes] = None, *extra: bytes) -> bytes:
    body = prop("Socket-Type", socket_type.encode())
    if identity is not None:
        body += prop("Identity", identity)
    return command(b"READY", body + b"".join(extra))


def ping(ttl_deciseconds: int = 0, context: bytes = b"") -> bytes:
    return command(b"PING", struct.pack(">H", ttl_deciseconds) + context)


def handshake(socket_type: str = "ROUTER", minor: int = 1, identity: Optional[bytes] = None) -> bytes:
    """A peer's whole handshake: greeting then READY."""
    return greeting(minor) + ready(socket_type, identity)


# -- feeding ------------------------------------------------------------------------------------------

FEED_MODES = ("whole", "bytewise", "trailing")

#: A PONG command frame: the "trailing data" appended after a case (its first 3 bytes complete nothing).
TAIL = command(b"PONG", b"tail")
TAIL_SPLIT = 3


def feed(conn: Connection, data: bytes, mode: str = "whole", now: float = 0.0) -> List[Event]:
    """Feed ``data`` whole, one byte at a time, or followed by the start of another frame.

    In "trailing" mode the first bytes of :data:`TAIL` ride along with ``data``; they must produce no
    event, and (when the connection is established) the rest of TAIL must then complete a PONG.
    """
    if mode == "whole":
        return conn.receive_data(data, now)
    if mode == "bytewise":
        events: List[Event] = []
        for i in range(len(data)):
            events += conn.receive_data(data[i : i + 1], now)
        return events
    if mode == "trailing":
        events = conn.receive_data(data + TAIL[:TAIL_SPLIT], now)
        if conn.state is ConnectionState.ESTABLISHED:
            rest = conn.receive_data(TAIL[TAIL_SPLIT:], now)
            assert rest == [PongReceived(b"tail")], rest
        return events
    raise ValueError(mode)


def chunks(data: bytes, cuts: Sequence[int]) -> List[bytes]:
    """Split ``data`` at the (sorted, deduplicated) offsets ``cuts``."""
    points = sorted({c for c in cuts if 0 < c < len(data)})
    out = []
    prev = 0
    for p in points + [len(data)]:
        out.append(data[prev:p])
        prev = p
    return [c for c in out if c]


def established(
    local: Union[str, int] = "DEALER",
    peer: str = "ROUTER",
    *,
    peer_minor: int = 1,
    peer_identity: Optional[bytes] = None,
    now: float = 0.0,
    **kwargs: object,
) -> Connection:
    """A Connection that has completed the NULL handshake with a hand-written peer; output drained."""
    conn = Connection(local, now=now, **kwargs)  # type: ignore[arg-type]
    conn.receive_data(greeting(peer_minor) + ready(peer, peer_identity), now)
    assert conn.state is ConnectionState.ESTABLISHED
    conn.data_to_send()
    return conn


def joined(conn: Connection) -> bytes:
    return b"".join(conn.data_to_send())


# -- two cores wired together in memory ----------------------------------------------------------------


class ConnectionPair:
    """Two Connections shuttling ``data_to_send()`` into each other's ``receive_data()``.

    ``split`` (optional) cuts every transfer into chunks, to exercise partial reads.  Events and the
    RemoteProtocolError each side raised (if any) are collected per side.
    """

    def __init__(
        self,
        a: Connection,
        b: Connection,
        split: Optional[Callable[[bytes], List[bytes]]] = None,
    ) -> None:
        self.a = a
        self.b = b
        self.split = split
        self.events: Dict[str, List[Event]] = {"a": [], "b": []}
        self.errors: Dict[str, Optional[RemoteProtocolError]] = {"a": None, "b": None}

    def _deliver(self, src: Connection, dst: Connection, key: str, now: float) -> bool:
        out = src.data_to_send()
        if not out:
            return False
        data = b"".join(out)
        for piece in self.split(data) if self.split else [data]:
            try:
                self.events[key] += dst.receive_data(piece, now)
            except RemoteProtocolError as exc:
                self.errors[key] = exc
        return True

    def pump(self, now: float = 0.0, max_rounds: int = 100) -> Tuple[List[Event], List[Event]]:
        """Shuttle until both sides are quiet; returns (and clears) the events of a and of b."""
        for _ in range(max_rounds):
            moved_ab = self._deliver(self.a, self.b, "b", now)
            moved_ba = self._deliver(self.b, self.a, "a", now)
            if not (moved_ab or moved_ba):
                break
        else:  # pragma: no cover
            raise AssertionError("the pair never went quiet")
        ea, eb = self.events["a"], self.events["b"]
        self.events = {"a": [], "b": []}
        return ea, eb


# -- driving a core over a real socket (live tests) ------------------------------------------------------


class SocketDriver:
    """A tiny blocking I/O loop around one Connection and one connected plain socket.

    Its clock counts seconds since the driver was made, so build the Connection with the default
    ``now=0.0`` just before.
    """

    def __init__(self, conn: Connection, sock: socket.socket) -> None:
        self.conn = conn
        self.sock = sock
        self.events: List[Event] = []
        self._t0 = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self._t0

    def flush(self) -> None:
        for buf in self.conn.data_to_send():
            self.sock.sendall(buf)

    def step(self, timeout: float = 0.05) -> List[Event]:
        """Flush, wait up to ``timeout`` for bytes, feed them, fire due timers, flush again."""
        self.flush()
        deadline = self.conn.next_deadline()
        if deadline is not None:
            timeout = max(0.001, min(timeout, deadline - self.now()))
        self.sock.settimeout(timeout)
        new: List[Event] = []
        try:
            data = self.sock.recv(1 << 20)
        except socket.timeout:
            data = None
        except ConnectionError:
            data = b""
        if data is not None:
            new = self.conn.receive_data(data, self.now())
        deadline = self.conn.next_deadline()
        if deadline is not None and self.now() >= deadline:
            self.conn.handle_timer(self.now())
        self.flush()
        self.events += new
        return new

    def wait_for(
        self,
        predicate: Callable[[Event], bool],
        timeout: float = 5.0,
        idle: Optional[Callable[[], object]] = None,
    ) -> Event:
        """Step until an event satisfying ``predicate`` arrives (searching earlier ones first).

        ``idle`` is called before every step (e.g. to let a pyzmq socket process its commands).
        """
        end = time.monotonic() + timeout
        seen = 0
        while True:
            for ev in self.events[seen:]:
                if predicate(ev):
                    self.events.remove(ev)
                    return ev
            seen = len(self.events)
            if time.monotonic() > end:
                raise AssertionError(f"timed out waiting; events so far: {self.events!r}")
            if idle is not None:
                idle()
            self.step()

    def run_for(self, seconds: float) -> List[Event]:
        end = time.monotonic() + seconds
        start = len(self.events)
        while time.monotonic() < end:
            self.step(min(0.05, max(0.001, end - time.monotonic())))
        return self.events[start:]


# -- a toy sealing mechanism (tests only: it proves the hooks, it protects nothing) ------------------------


def _keystream(key: bytes, seq: int, n: int) -> bytes:
    block = hashlib.blake2b(key + seq.to_bytes(8, "big"), digest_size=64).digest()
    return (block * (n // 64 + 1))[:n]


def _xor(data: bytes, stream: bytes) -> bytes:
    return (int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")).to_bytes(len(data), "big")


class XorBoxMechanism(Mechanism):
    """A CurveZMQ-shaped toy: HELLO (salt + user) -> [ZAP] -> READY <-> READY, then every frame becomes a
    data frame ``"\x07MESSAGE" + sequence number + XOR-ed (in-box flags + body) + 8-byte MAC``.

    The in-box flags use CURVE's bits (0x01 MORE, 0x02 COMMAND), the sequence number must strictly
    increase (gaps allowed), and the MAC covers the sequence number and the plaintext, so tampering and
    replay are refused as CURVE refuses them.  The client's salt comes from ``random_bytes``.
    """

    name = b"XORBOX"
    transforms_frames = True
    frame_overhead = 8 + 8 + 1 + 8

    def __init__(
        self,
        *,
        as_server: bool = False,
        zap: bool = False,
        user: bytes = b"user",
        random_bytes: Optional[Callable[[int], bytes]] = None,
    ) -> None:
        super().__init__(as_server=as_server, random_bytes=random_bytes)
        self.zap = zap
        self.user = user
        self._metadata = b""
        self._salt = b""
        self._hello_received = False
        self._send_seq = 0
        self._recv_seq = 0
        self.sealed_count = 0

    def _key(self, sending: bool) -> bytes:
        to_client = self.as_server == sending
        return (b"s2c" if to_client else b"c2s") + self._salt

    def start(self, metadata: bytes) -> List[bytes]:
        self._metadata = metadata
        if self.as_server:
            return []
        assert self.random_bytes is not None, "the client needs randomness from the driver"
        self._salt = self.random_bytes(8)
        return [command_body(b"HELLO", self._salt + self.user)]

    def receive_command(self, name: bytes, data: bytes) -> List[bytes]:
        if name == ERROR:
            raise PeerErrorCommand(decode_error(data))
        if self.as_server and name == b"HELLO" and not self._hello_received:
            self._hello_received = True
            self._salt = bytes(data[:8])
            if self.zap:
                self.auth_request = AuthRequest(self.name, [bytes(data[8:])])
                return []
            return [command_body(READY, self._metadata)]
        if name == READY and (self._hello_received or not self.as_server) and not self.complete:
            self.peer_metadata = decode_metadata(data, "READY")
            self.complete = True
            return [] if self.as_server else [command_body(READY, self._metadata)]
        raise RemoteProtocolError(
            ErrorReason.UNEXPECTED_COMMAND, f"peer sent {bytes(name)!r} during the XORBOX handshake"
        )

    def auth_result(
        self, status_code: bytes, status_text: bytes, user_id: bytes, metadata: Dict[str, bytes]
    ) -> List[bytes]:
        if status_code != b"200":
            return zap_error_replies(status_code)
        return [command_body(READY, self._metadata)]

    def encode_frame(self, flags: int, body: bytes) -> Tuple[int, bytes]:
        self._send_seq += 1
        seq = self._send_seq
        key = self._key(sending=True)
        inner = bytes(((1 if flags & MORE else 0) | (2 if flags & COMMAND else 0),)) + bytes(body)
        mac = hashlib.blake2b(key + seq.to_bytes(8, "big") + inner, digest_size=8).digest()
        self.sealed_count += 1
        return 0, b"\x07MESSAGE" + seq.to_bytes(8, "big") + _xor(inner, _keystream(key, seq, len(inner))) + mac

    def decode_frame(self, flags: int, body: bytes) -> Tuple[int, bytes]:
        wire = bytes(body)
        if len(wire) < self.frame_overhead or wire[:8] != b"\x07MESSAGE":
            raise RemoteProtocolError(ErrorReason.BAD_FRAME, "peer sent a frame that is no XORBOX MESSAGE")
        seq = int.from_bytes(wire[8:16], "big")
        if seq <= self._recv_seq:
            raise RemoteProtocolError(ErrorReason.BAD_FRAME, f"peer replayed XORBOX message {seq}")
        key = self._key(sending=False)
        inner = _xor(wire[16:-8], _keystream(key, seq, len(wire) - 24))
        if hashlib.blake2b(key + wire[8:16] + inner, digest_size=8).digest() != wire[-8:]:
            raise RemoteProtocolError(ErrorReason.BAD_FRAME, "peer sent a tampered XORBOX message")
        self._recv_seq = seq
        if inner[0] & ~3:
            raise RemoteProtocolError(ErrorReason.BAD_FRAME, "XORBOX in-box flags have reserved bits set")
        return (MORE if inner[0] & 1 else 0) | (COMMAND if inner[0] & 2 else 0), inner[1:]


class CountingRandom:
    """A deterministic ``random_bytes`` for tests that records how much was drawn."""

    def __init__(self) -> None:
        self.drawn: List[int] = []

    def __call__(self, n: int) -> bytes:
        self.drawn.append(n)
        return bytes((len(self.drawn) + i) % 256 for i in range(n))
