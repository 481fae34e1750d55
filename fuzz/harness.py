"""The fuzz target for ``zmtp.protocol``: any bytes fed to a Connection or a FrameDecoder.

Invariant (the one tests/test_protocol_fuzz.py states for its inputs): whatever arrives, the receive
path raises nothing but :class:`~zmtp.protocol.RemoteProtocolError`, a failed connection stays failed,
and the decoder never holds more than the size limits allow, nor more than what actually arrived.

The first bytes of an input choose the configuration (socket type, drafts included; ZMTP 3.0/3.1;
as-server; mechanism: NULL, PLAIN server or client, CURVE server or client; maximum message size; ZMTP
2.0 fallback; how the stream is cut into ``receive_data`` calls; whether a valid greeting + READY is
prepended so mutations reach the established state); the rest is the stream.  The
same function runs under atheris (``python fuzz/run_atheris.py``) and under Hypothesis
(tests/test_fuzz_harness.py).
"""

from __future__ import annotations

import os
import tracemalloc
from typing import Callable, List, Optional

from zmtp.protocol import (
    COMPATIBLE,
    AuthenticationRequested,
    Connection,
    ConnectionState,
    FrameDecoder,
    Greeting,
    Mechanism,
    NullMechanism,
    RemoteProtocolError,
    encode_metadata,
)
from zmtp.protocol.curve import CurveClient, CurveServer
from zmtp.protocol.frames import BODY_CHUNK, HANDSHAKE_COMMAND_LIMIT, SPARE_CHUNKS
from zmtp.protocol.plain import PlainClient, PlainServer

SOCKET_TYPES = ["PAIR", "PUB", "SUB", "REQ", "REP", "DEALER", "ROUTER", "PULL", "PUSH", "XPUB", "XSUB",
                # draft types: their JOIN/LEAVE commands and single-part rules
                "SERVER", "CLIENT", "RADIO", "DISH", "GATHER", "SCATTER", "DGRAM", "PEER", "CHANNEL"]
#: Fixed CURVE keys (any 32 bytes are a valid secret key; garbage never opens their boxes anyway).
CURVE_SECRET = bytes(range(1, 33))
CURVE_SERVER_PUBLIC = bytes(range(33, 65))
MAX_SIZES = [-1, 0, 100, 70000]
#: Greeting (64 bytes) or ZMTP 2.0 greeting (at most 14 + 255) held before the frames start.
GREETING_SLACK = 14 + 255
HEADER = 9


class InvariantBroken(AssertionError):
    """The core did something the invariant forbids (the fuzzer reports it as a crash)."""


def valid_prefix(socket_type: str, minor: int) -> bytes:
    """A greeting and READY from a peer our ``socket_type`` accepts (so mutations reach ESTABLISHED)."""
    peer = sorted(COMPATIBLE[socket_type])[0]
    body = b"\x05READY" + encode_metadata({"Socket-Type": peer.encode(), "Identity": b""})
    return Greeting(3, minor).encode() + bytes((4, len(body))) + body


def _counter_random() -> Callable[[int], bytes]:
    """Deterministic "randomness" for the mechanisms, so every input replays exactly."""
    state = [0]

    def draw(n: int) -> bytes:
        state[0] += 1
        return (state[0].to_bytes(8, "big") * (n // 8 + 1))[:n]

    return draw


def mechanism_for(choice: int, as_server: bool) -> Optional[Mechanism]:
    """0: NULL; 1: PLAIN server (its ZAP decision is always 200); 2: PLAIN client; 3: CURVE."""
    if choice == 1:
        return PlainServer(zap=True)
    if choice == 2:
        return PlainClient(username=b"user", password=b"pass")
    if choice == 3:
        if as_server:
            return CurveServer(secret_key=CURVE_SECRET, random_bytes=_counter_random())
        return CurveClient(public_key=CURVE_SERVER_PUBLIC, secret_key=CURVE_SECRET, server_key=CURVE_SERVER_PUBLIC,
                           random_bytes=_counter_random())
    return NullMechanism(as_server=as_server)


def _cuts(data: bytes, mode: int) -> List[bytes]:
    if mode == 0 or not data:
        return [data] if data else []
    step = mode
    return [data[i : i + step] for i in range(0, len(data), step)]


def decoder_buffered(conn: Connection) -> int:
    """How much the connection's decoder holds.  The one private attribute the harness reads: the
    Connection has no public ``buffered`` (the lead may add one; see the report)."""
    dec: FrameDecoder = conn._decoder  # noqa: SLF001
    return dec.buffered


#: "Memory follows what arrived" (frames.py): what arrived and is not yet delivered, plus at most
#: SPARE_CHUNKS + 1 reusable chunks of BODY_CHUNK bytes kept for ``recv_into``.
CHUNK_ALLOWANCE = (SPARE_CHUNKS + 1) * BODY_CHUNK


def check_connection(data: bytes) -> None:
    """Feed ``data`` (configuration bytes first) to a Connection; raise InvariantBroken on a violation."""
    if len(data) < 3:
        return
    cfg, flags, cut = data[0], data[1], data[2]
    stream = data[3:]
    socket_type = SOCKET_TYPES[cfg % len(SOCKET_TYPES)]
    minor = flags & 1
    as_server = bool(flags & 2)
    max_size = MAX_SIZES[(flags >> 2) & 3]
    fallback = bool(flags & 16)
    choice = flags >> 6
    if flags & 32 and choice == 0:
        stream = valid_prefix(socket_type, minor) + stream
    elif choice:
        mech = {1: b"PLAIN", 2: b"PLAIN", 3: b"CURVE"}[choice]
        stream = Greeting(3, minor, mech, choice == 2).encode() + stream
    conn = Connection(socket_type, minor_version=minor, mechanism=mechanism_for(choice, as_server),
                      max_message_size=max_size, handshake_ivl=0, zmtp2_fallback=fallback)
    fed = 0
    failed: Optional[RemoteProtocolError] = None
    for i, piece in enumerate(_cuts(stream, cut % 17)):
        fed += len(piece)
        try:
            events = conn.receive_data(piece, float(i))
            if any(isinstance(ev, AuthenticationRequested) for ev in events):
                conn.authentication_result(b"200", now=float(i))
        except RemoteProtocolError as e:
            failed = e
            if conn.state is not ConnectionState.CLOSED:
                raise InvariantBroken(f"a RemoteProtocolError left the connection {conn.state}") from e
            if conn.receive_data(b"\x00\x00", float(i)) != []:
                raise InvariantBroken("a failed connection produced events afterwards") from e
            break
        held = decoder_buffered(conn)
        if held > fed:
            raise InvariantBroken(f"decoder holds {held} bytes after only {fed} arrived")
        limit = HANDSHAKE_COMMAND_LIMIT if conn.state is not ConnectionState.ESTABLISHED else max_size
        if conn.state is ConnectionState.ESTABLISHED and max_size < 0:
            limit = -1
        if limit >= 0 and held > limit + HEADER + GREETING_SLACK:
            raise InvariantBroken(f"decoder holds {held} bytes; the limit is {limit} ({conn.state})")
    del failed
    conn.data_to_send()


def check_decoder(data: bytes) -> None:
    """Feed ``data`` to a bare FrameDecoder (handshaking or not, with limits) and check its bounds."""
    if len(data) < 3:
        return
    flags, cut = data[0], data[1]
    stream = data[2:]
    max_size = MAX_SIZES[flags & 3]
    handshaking = bool(flags & 4)
    command_limit = [HANDSHAKE_COMMAND_LIMIT, 0, 300][(flags >> 3) % 3]
    dec = FrameDecoder(max_message_size=max_size, command_limit=command_limit, handshaking=handshaking)
    if flags & 64:
        dec.reserved = 0xFC  # ZMTP 2.0 framing
    fed = 0
    step = (cut - 199) * 4096 if cut >= 200 else cut % 33  # large steps reach the recv_into path
    for piece in _cuts(stream, step):
        fed += len(piece)
        try:
            view = dec.body_buffer() if flags & 128 else None
            if view is not None and len(view):  # the driver's recv_into path
                n = min(len(view), len(piece))
                view[:n] = piece[:n]
                view.release()
                dec.body_received(n)
                piece = piece[n:]
            elif view is not None:
                view.release()
            dec.feed(piece)
            while dec.paused and dec.error is None:
                dec.feed(b"")
            if dec.error is not None:
                dec.feed(b"")  # raises the pending error
        except RemoteProtocolError:
            return
        held = dec.buffered
        if held > fed:
            raise InvariantBroken(f"decoder holds {held} bytes after only {fed} arrived")
        # while handshaking only commands get in; afterwards data is bounded only by max_message_size
        cap = command_limit if handshaking else (max(command_limit, max_size) if max_size >= 0 else -1)
        if cap >= 0 and held > cap + HEADER:
            raise InvariantBroken(f"decoder holds {held} bytes over the limit {cap}")
        allocated = dec.allocated
        if allocated > fed + CHUNK_ALLOWANCE + HEADER:
            raise InvariantBroken(f"decoder allocated {allocated} bytes for {fed} that arrived")


#: With ZMTP_FUZZ_MEMORY=1 every input also runs under tracemalloc, and the peak of what Python really
#: allocated must stay within MEMORY_SLACK of a constant times the input: this catches memory the
#: decoder's own accounting (``allocated``) misses, at about a tenth of the speed.
TRACE_MEMORY = os.environ.get("ZMTP_FUZZ_MEMORY") == "1"
MEMORY_SLACK = 4 << 20


def check(data: bytes) -> None:
    """The harness entry: the first byte picks the target (Connection or FrameDecoder)."""
    if not data:
        return
    target = check_decoder if data[0] & 1 else check_connection
    if not TRACE_MEMORY:
        target(data[1:])
        return
    tracemalloc.start()
    try:
        target(data[1:])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    if peak > 64 * len(data) + MEMORY_SLACK:
        raise InvariantBroken(f"{peak} bytes allocated at the peak for a {len(data)}-byte input")
