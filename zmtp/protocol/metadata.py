"""Metadata properties carried by READY (and the mechanisms' INITIATE/WELCOME) commands.

RFC 37 section 3.5: each property is a 1-byte name length, the name, a 4-byte (network order) value
length, the value.  Every length is checked against what is left of the body, so a lying length is a
protocol error and never an out-of-range read or a large allocation.  Property names are
case-insensitive (RFC 37; libzmq compares them with ``strcasecmp`` semantics), so they are kept
lower-cased here while the original spelling is sent.
"""

from __future__ import annotations

import struct
from typing import Dict, Iterable, Mapping, Tuple

from .errors import ErrorReason, LocalProtocolError, RemoteProtocolError

SOCKET_TYPE = "socket-type"
IDENTITY = "identity"
#: Properties the connection acts on: every occurrence must agree.
_CHECKED = frozenset({SOCKET_TYPE, IDENTITY})
_U32 = struct.Struct(">I").unpack_from
#: The most properties one command may carry.  RFC 37 sets no limit and libzmq has none, but a real
#: peer sends a handful (Socket-Type, Identity, the user's ZMQ_METADATA "X-" names), while a 1 MiB READY
#: of empty properties holds ~175,000 of them: decoding those in Python takes 35-80 ms, during which
#: every other peer of the socket waits (issue 9 row 9: libzmq parses them in C in ~2 ms).  Past this
#: limit the command is refused as a protocol error and the connection dropped.
MAX_PROPERTIES = 4096


def encode_metadata(properties: Mapping[str, bytes] | Iterable[Tuple[str, bytes]]) -> bytes:
    """Encode properties in order (pass a dict or pairs)."""
    items = properties.items() if isinstance(properties, Mapping) else properties
    chunks = []
    for name, value in items:
        try:
            raw = name.encode("ascii")
        except UnicodeEncodeError:
            raise LocalProtocolError(ErrorReason.INVALID_ARGUMENT, f"metadata name must be ASCII: {name!r}") from None
        if len(value) >= 1 << 31:
            raise LocalProtocolError(ErrorReason.INVALID_ARGUMENT, f"metadata value for {name} is too large")
        if not 0 < len(raw) < 256:
            raise LocalProtocolError(
                ErrorReason.INVALID_ARGUMENT, f"metadata name must be 1-255 bytes: {name!r}"
            )
        chunks.append(bytes((len(raw),)) + raw + len(value).to_bytes(4, "big") + bytes(value))
    return b"".join(chunks)


def decode_metadata(data: bytes, command: str = "READY") -> Dict[str, bytes]:
    """Decode a property list; names are returned lower-cased (they compare case-insensitively).

    A repeated name keeps its first value (libzmq's map does the same), except that Socket-Type and
    Identity, which decide whom we talk to, must repeat the same value or the list is refused.
    """
    props: Dict[str, bytes] = {}
    # Each distinct name is decoded once: a READY of 1 MiB can repeat one name ~175,000 times, and this
    # loop is what a good peer waits for while it is parsed (issue 9 row 9; 2.3x faster than decoding
    # and lower-casing every occurrence).
    keys: Dict[bytes, str] = {}
    if type(data) is not bytes:
        data = bytes(data)  # (slices must be hashable)
    pos = 0
    n = len(data)
    left = MAX_PROPERTIES
    while pos < n:
        left -= 1
        if left < 0:
            raise RemoteProtocolError(
                ErrorReason.BAD_METADATA,
                f"peer's {command} carries more than {MAX_PROPERTIES} properties (zmtp's limit: decoding "
                "that many would stall the socket's other peers)",
            )
        name_len = data[pos]
        pos += 1
        if name_len == 0 or pos + name_len > n:
            raise RemoteProtocolError(
                ErrorReason.BAD_METADATA,
                f"peer's {command} has a property name length {name_len} that does not fit the command",
            )
        raw_name = data[pos : pos + name_len]
        pos += name_len
        if pos + 4 > n:
            raise RemoteProtocolError(
                ErrorReason.BAD_METADATA, f"peer's {command} ends inside a property value length"
            )
        (value_len,) = _U32(data, pos)
        pos += 4
        end = pos + value_len
        if end > n:
            raise RemoteProtocolError(
                ErrorReason.BAD_METADATA,
                f"peer's {command} property value length {value_len} exceeds the {n - pos} bytes left",
            )
        key = keys.get(raw_name)
        if key is None:
            try:
                key = keys[raw_name] = raw_name.decode("ascii").lower()
            except UnicodeDecodeError:
                raise RemoteProtocolError(
                    ErrorReason.BAD_METADATA, f"peer's {command} has a non-ASCII property name {raw_name!r}"
                ) from None
        previous = props.get(key)
        if previous is None:
            props[key] = bytes(data[pos:end])
        elif key in _CHECKED and previous != data[pos:end]:
            # libzmq checks every occurrence of these (mechanism_t::parse_metadata): a bad Socket-Type
            # anywhere is refused, and a second Identity silently replaces the routing id while the
            # metadata keeps the first.  Two different values of either can only be an attack.
            raise RemoteProtocolError(
                ErrorReason.BAD_METADATA,
                f"peer's {command} gives {raw_name.decode('ascii')} twice, as {previous!r} and as "
                f"{bytes(data[pos:end])!r}",
            )
        # any other repeated name: the first value stands, as in libzmq's metadata map
        pos = end
    return props
