"""Raw ZMTP bytes for the attackers (written by hand, so that no zmtp code is trusted to attack zmtp)."""

from __future__ import annotations

import socket
import struct
from typing import Tuple

GREETING = b"\xff" + bytes(8) + b"\x7f" + bytes((3, 1)) + b"NULL".ljust(20, b"\x00") + b"\x00" + bytes(31)
#: The greeting cut where libzmq and zmtp read it in stages: signature + major, then the rest.
GREETING_STAGES = (GREETING[:11], GREETING[11:])


def frame(body: bytes, *, more: bool = False, command: bool = False) -> bytes:
    flags = (0x01 if more else 0) | (0x04 if command else 0)
    if len(body) > 255:
        return bytes((flags | 0x02,)) + struct.pack(">Q", len(body)) + body
    return bytes((flags, len(body))) + body


def long_header(size: int, *, more: bool = False, command: bool = False) -> bytes:
    """A LONG frame header announcing ``size`` bytes (the body is the caller's business)."""
    return bytes((0x02 | (0x01 if more else 0) | (0x04 if command else 0),)) + struct.pack(">Q", size)


def command(name: bytes, data: bytes = b"") -> bytes:
    return frame(bytes((len(name),)) + name + data, command=True)


def prop(name: bytes, value: bytes) -> bytes:
    return bytes((len(name),)) + name + struct.pack(">I", len(value)) + value


def ready(socket_type: bytes, extra: bytes = b"") -> bytes:
    return command(b"READY", prop(b"Socket-Type", socket_type) + extra)


def ping(context: bytes = b"", ttl: int = 0) -> bytes:
    return command(b"PING", struct.pack(">H", ttl) + context)


def connect(addr: Tuple[str, int], timeout: float = 5.0, rcvbuf: int = 0, sndbuf: int = 0) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    if sndbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
    s.settimeout(timeout)
    s.connect(addr)
    return s


def reset(s: socket.socket) -> None:
    """Close with an RST (SO_LINGER 0), as a crashed or hostile peer does."""
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    s.close()


def recv_exact(s: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError(f"EOF after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def read_frame(s: socket.socket) -> Tuple[int, bytes]:
    flags, size = recv_exact(s, 2)
    if flags & 0x02:
        size = struct.unpack(">Q", bytes((size,)) + recv_exact(s, 7))[0]
    return flags, recv_exact(s, size)


def handshake(addr: Tuple[str, int], socket_type: bytes, timeout: float = 5.0, **kw: int) -> socket.socket:
    """Connect, exchange greetings and READY as ``socket_type``: a peer ready to misbehave."""
    s = connect(addr, timeout, **kw)
    s.sendall(GREETING + ready(socket_type))
    recv_exact(s, 64)
    flags, body = read_frame(s)
    assert flags & 0x04 and body[1:6] == b"READY", (flags, body[:16])
    return s


__all__ = ["GREETING", "GREETING_STAGES", "frame", "long_header", "command", "prop", "ready", "ping", "connect",
           "reset", "recv_exact", "read_frame", "handshake"]
