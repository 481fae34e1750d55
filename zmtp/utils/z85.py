"""Z85 (ZeroMQ RFC 32): the printable encoding of CURVE keys, as pyzmq's ``zmq.utils.z85``.

Every 4 bytes, read as a big-endian 32-bit number, become 5 characters of an 85-symbol alphabet chosen
to be safe in source code, shell arguments and config files (RFC 32 section "Formal Specification").
A 32-byte key is 40 characters.  Errors match pyzmq's: a length that is not a multiple of 4 (encode) or
5 (decode) is a :class:`ValueError` with the same sentence; a character outside the alphabet is a
:class:`Z85DecodeError`, which is both a :class:`ValueError` and, as pyzmq raises, a :class:`KeyError`;
a group worth more than 2^32 - 1 (e.g. ``#####``), which RFC 32 forbids, is a :class:`Z85DecodeError`
too (pyzmq lets ``struct.error`` escape there).
"""

from __future__ import annotations

import struct
from typing import Dict, Union

_RawBytes = Union[bytes, bytearray, memoryview]

#: The 85 symbols, value 0 first (RFC 32).
Z85CHARS = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"
#: Symbol -> value.
Z85MAP: Dict[int, int] = {c: i for i, c in enumerate(Z85CHARS)}

_DECODE = bytes(Z85MAP.get(c, 0xFF) for c in range(256))


class Z85DecodeError(ValueError, KeyError):
    """Z85 text with a character outside the alphabet or a group above 2^32 - 1."""

    def __str__(self) -> str:  # KeyError would show the repr of the message
        return str(self.args[0]) if self.args else ""


def encode(rawbytes: _RawBytes) -> bytes:
    """Encode bytes (a multiple of 4 long) as Z85."""
    n = len(rawbytes)
    if n % 4:
        raise ValueError(f"length must be multiple of 4, not {n}")
    chars = Z85CHARS
    out = bytearray()
    for (v,) in struct.iter_unpack(">I", rawbytes):
        v, e = divmod(v, 85)
        v, d = divmod(v, 85)
        v, c = divmod(v, 85)
        a, b = divmod(v, 85)
        out += bytes((chars[a], chars[b], chars[c], chars[d], chars[e]))
    return bytes(out)


def decode(z85bytes: Union[str, _RawBytes]) -> bytes:
    """Decode Z85 (bytes, or an ASCII ``str``) a multiple of 5 long."""
    if isinstance(z85bytes, str):
        try:
            z85bytes = z85bytes.encode("ascii")
        except UnicodeEncodeError:
            raise ValueError("string argument should contain only ASCII characters") from None
    data = bytes(z85bytes)
    if len(data) % 5:
        raise ValueError(f"Z85 length must be multiple of 5, not {len(data)}")
    digits = data.translate(_DECODE)
    if 0xFF in digits:
        bad = data[digits.index(0xFF)]
        raise Z85DecodeError(f"invalid Z85 character {chr(bad)!r} (byte {bad})")
    values = []
    for i in range(0, len(digits), 5):
        a, b, c, d, e = digits[i : i + 5]
        value = (((a * 85 + b) * 85 + c) * 85 + d) * 85 + e
        if value > 0xFFFFFFFF:
            raise Z85DecodeError(f"Z85 group {data[i:i + 5]!r} is larger than 32 bits")
        values.append(value)
    return struct.pack(f">{len(values)}I", *values)


__all__ = ["encode", "decode", "Z85CHARS", "Z85MAP", "Z85DecodeError"]
