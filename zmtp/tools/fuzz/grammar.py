"""Valid ZMTP pieces, built with the core's own encoders where it has them.

These are the raw material of every case: a mutator starts from a valid greeting, READY, command or
message and breaks one layer of it, so the peer under test gets past every check but the one aimed at.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

from zmtp.protocol import Greeting, encode_frames, encode_metadata
from zmtp.protocol.commands import command_body

MORE, LONG, COMMAND = 0x01, 0x02, 0x04

#: For a target socket type: the type we claim, the message we send to probe it, and whether it echoes.
PEER_ROLE: Dict[str, Tuple[str, List[bytes], bool]] = {
    "REP": ("REQ", [b"", b"probe"], True),
    "ROUTER": ("DEALER", [b"probe"], True),
    "DEALER": ("DEALER", [b"probe"], True),
    "PAIR": ("PAIR", [b"probe"], True),
    "REQ": ("REP", [], False),
    "PUB": ("SUB", [], False),
    "XPUB": ("SUB", [], False),
    "SUB": ("PUB", [], False),
    "XSUB": ("PUB", [], False),
    "PUSH": ("PULL", [], False),
    "PULL": ("PUSH", [b"probe"], False),
}


def greeting(minor: int = 1, mechanism: bytes = b"NULL", as_server: bool = False) -> bytes:
    """A valid 64-byte ZMTP 3.x greeting (RFC 23/37 section 3.2)."""
    return Greeting(3, minor, mechanism, as_server).encode()


def frame(body: bytes, flags: int = 0, long: Optional[bool] = None, size: Optional[int] = None) -> bytes:
    """One frame with any flags; ``size`` lies about the body length when given."""
    n = len(body) if size is None else size
    if long is None:
        long = n > 255
    if long:
        return bytes((flags | LONG,)) + n.to_bytes(8, "big") + body
    return bytes((flags & ~LONG & 0xFF, n & 0xFF)) + body


def command(name: bytes, data: bytes = b"") -> bytes:
    """A command frame (RFC 37 section 3.4)."""
    return frame(command_body(name, data), COMMAND)


def metadata(props: Sequence[Tuple[str, bytes]]) -> bytes:
    """Encoded properties, in order (RFC 37 section 3.5)."""
    return encode_metadata(list(props))


def ready(socket_type: str, identity: Optional[bytes] = None,
          extra: Sequence[Tuple[str, bytes]] = ()) -> bytes:
    """A valid READY command frame."""
    props: List[Tuple[str, bytes]] = [("Socket-Type", socket_type.encode())]
    if identity is not None:
        props.append(("Identity", identity))
    props.extend(extra)
    return command(b"READY", metadata(props))


def message(frames: List[bytes]) -> bytes:
    """A whole data message."""
    out: List[bytes] = []
    encode_frames(frames, out)
    return b"".join(out)


def ping(ttl: int = 0, context: bytes = b"") -> bytes:
    """A PING command; ``ttl`` in deciseconds (RFC 37 section 3.4.4)."""
    return command(b"PING", ttl.to_bytes(2, "big") + context)


#: ZMTP 2.0 socket-type octets (RFC 15).
ZMTP2_TYPE = {"PAIR": 0, "PUB": 1, "SUB": 2, "REQ": 3, "REP": 4, "DEALER": 5, "ROUTER": 6, "PULL": 7, "PUSH": 8}


def session(target_type: str, minor: int = 1, messages: int = 1, zmtp2: bool = False) -> List[bytes]:
    """A whole valid client session against a ``target_type`` peer, as chunks: greeting, READY, messages.

    With ``zmtp2`` it is a ZMTP 2.0 session (RFC 15): a greeting with socket type and identity, no READY.
    """
    ours, probe, _ = PEER_ROLE.get(target_type.upper(), ("PAIR", [b"probe"], False))
    identity = b"" if ours in ("REQ", "DEALER", "ROUTER") else None
    if zmtp2:
        chunks = [zmtp2_greeting(ZMTP2_TYPE.get(ours, 0)), b""]
    else:
        chunks = [greeting(minor), ready(ours, identity)]
    for _ in range(messages):
        if probe:
            chunks.append(message(probe))
    return chunks


def zmtp2_greeting(socket_type: int, identity: bytes = b"") -> bytes:
    """A ZMTP 2.0 greeting (RFC 15): signature, revision 1, socket type, identity frame."""
    return b"\xff" + bytes(8) + b"\x7f" + bytes((1, socket_type, 0, len(identity))) + identity
