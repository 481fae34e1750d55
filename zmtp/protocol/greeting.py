"""The ZMTP 3.x greeting (RFC 23 / RFC 37 section 3.2): 64 bytes, sent first by both peers.

::

    signature  0xFF, 8 padding bytes, 0x7F      (10 bytes)
    version    major 3, minor 0 or 1             (2 bytes)
    mechanism  "NULL", "PLAIN", "CURVE" padded with 0x00 to 20 bytes
    as-server  0 or 1                            (1 byte)
    filler     31 zero bytes

libzmq sends its greeting in stages (10 bytes, then the version once it has our signature, then the
rest once it has our major version: src/zmtp_engine.cpp ``zmtp_engine_t::handshake``); the connection
does likewise when it may fall back to ZMTP 2.0 (signature + major version at once, the rest once the
peer's version byte is in), and sends all 64 bytes at once otherwise.  Either way it never waits for a
complete greeting before sending its own first bytes, which would deadlock against libzmq.  libzmq
stores its routing-id length in the padding and always sends as-server = 0 for NULL, so neither is
validated.  The parser works on prefixes, so the signature and the version are judged as soon as their
bytes arrive: a ZMTP 1.0 peer (or a 2.0 one, without the fallback) gets a clear error before we wait for
bytes it will never send, and the ZMTP 2.0 fallback branches at the same point.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .errors import ErrorReason, LocalProtocolError, RemoteProtocolError

GREETING_SIZE = 64
SIGNATURE_SIZE = 10
MECHANISM_SIZE = 20
#: The first greeting stage: the signature and the major version.  Both sides send it unprompted, and it
#: is enough to tell a 3.x peer from a 2.0 one (RFC 37 section 2.3 "Version Negotiation").
PARTIAL_GREETING_SIZE = SIGNATURE_SIZE + 1
#: ZMTP 2.0 (RFC 15): after the signature and the revision byte come a socket-type octet, then the
#: identity as a short frame: a flags byte and a one-byte length, then the body.
ZMTP2_SOCKET_TYPE_SIZE = 1
ZMTP2_IDENTITY_HEADER_SIZE = 2


@dataclass(frozen=True)
class Greeting:
    """A parsed or to-be-sent greeting."""

    major: int = 3
    minor: int = 1
    mechanism: bytes = b"NULL"
    as_server: bool = False

    def __post_init__(self) -> None:
        if not 0 < len(self.mechanism) <= MECHANISM_SIZE or not self.mechanism.isalnum():
            raise LocalProtocolError(
                ErrorReason.INVALID_ARGUMENT,
                f"mechanism name must be 1-20 alphanumeric ASCII bytes, not {self.mechanism!r}",
            )

    def encode(self) -> bytes:
        return b"".join(
            (
                b"\xff\x00\x00\x00\x00\x00\x00\x00\x01\x7f",
                bytes((self.major, self.minor)),
                self.mechanism.ljust(MECHANISM_SIZE, b"\x00"),
                b"\x01" if self.as_server else b"\x00",
                bytes(31),
            )
        )


def check_greeting_prefix(data: bytes | bytearray, allow_zmtp2: bool = False) -> None:
    """Judge what has arrived of the peer's greeting so far, raising as early as the bytes allow.

    A ZMTP 1.0 peer sends no 0xFF signature (its first byte is a length), and neither does a
    ZMTP 1.0 peer with a long identity (bit 0 of byte 9 clear: RFC 23 section "Backwards
    Interoperability"); a ZMTP 2.0 peer sends revision 0x01 at byte 10 (RFC 15), which is accepted
    when ``allow_zmtp2`` (the connection then falls back to ZMTP 2.0).
    """
    n = len(data)
    if n >= 1 and data[0] != 0xFF:
        raise RemoteProtocolError(
            ErrorReason.UNSUPPORTED_VERSION,
            f"peer spoke ZMTP 1.0 (no 0xFF signature; first byte {data[0]:#04x}); only ZMTP 3.x is supported",
        )
    if n >= SIGNATURE_SIZE and not data[9] & 0x01:
        raise RemoteProtocolError(
            ErrorReason.UNSUPPORTED_VERSION,
            f"peer spoke ZMTP 1.0 (signature byte 9 is {data[9]:#04x}, not 0x7f); only ZMTP 3.x is supported",
        )
    # Only revision 1 is ZMTP 2.0: libzmq (zmtp_engine_t::select_handshake_fun) reads any revision
    # other than 0 and 1 as 3.x, so a revision 2 is no 2.0 peer to fall back to.
    if n > 10 and data[10] < 3 and not (allow_zmtp2 and data[10] == 1):
        spoken = {0: "ZMTP 1.0", 1: "ZMTP 2.0"}.get(data[10], f"ZMTP revision {data[10]}")
        raise RemoteProtocolError(
            ErrorReason.UNSUPPORTED_VERSION,
            f"peer spoke {spoken} (version byte {data[10]}); only ZMTP 3.x is supported",
        )


#: ZMTP 2.0's socket-type octet (RFC 15).  XPUB and XSUB are PUB and SUB on that wire; libzmq also sends
#: its own numbers 9 and 10 for them, which we accept on receipt.
ZMTP2_SOCKET_TYPES = {"PAIR": 0, "PUB": 1, "SUB": 2, "REQ": 3, "REP": 4, "DEALER": 5, "ROUTER": 6, "PULL": 7,
                      "PUSH": 8, "XPUB": 1, "XSUB": 2}


def parse_greeting(data: bytes) -> Greeting:
    """Parse a complete 64-byte greeting (``check_greeting_prefix`` has accepted its prefixes)."""
    check_greeting_prefix(data)
    mech = bytes(data[12:32]).rstrip(b"\x00")
    if not mech or b"\x00" in mech or not mech.isalnum():
        raise RemoteProtocolError(ErrorReason.BAD_GREETING, f"peer's mechanism name is malformed: {mech!r}")
    return Greeting(major=data[10], minor=data[11], mechanism=mech, as_server=data[32] == 1)


def negotiated_minor(ours: Greeting, theirs: Greeting) -> int:
    """The ZMTP 3.x minor version both sides speak: 3.0 if either says 3.0 (RFC 37 section 3.2)."""
    if theirs.major > 3:
        return ours.minor
    return min(ours.minor, theirs.minor)


def mechanism_mismatch(ours: Greeting, theirs: Greeting) -> Optional[RemoteProtocolError]:
    if ours.mechanism != theirs.mechanism:
        return RemoteProtocolError(
            ErrorReason.MECHANISM_MISMATCH,
            f"peer uses security mechanism {theirs.mechanism.decode('ascii', 'replace')}, "
            f"we use {ours.mechanism.decode('ascii', 'replace')}",
        )
    return None
