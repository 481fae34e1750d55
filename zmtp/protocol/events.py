"""What a :class:`~zmtp.protocol.connection.Connection` reports: small frozen events.

Each event is named after the protocol concept it reports.  Data messages are one
:class:`MessageReceived` per whole multipart message, never one per frame; a driver that wants to skip
even that can install a ``message_sink`` on the connection once the handshake is complete.

Frames are ``bytes``, except that a frame body of ``frames.LARGE_BODY`` (64 KiB) bytes or more that
was received in place comes as the ``bytearray`` it was received into, so that it is never copied; a
driver converts it when it must hand out immutable bytes (pyzmq's copy=True) and may hand it out as
is otherwise.  Anything the core itself hashes or compares as a key (subscription topics, groups,
identities, PING contexts, command bodies) is always ``bytes``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Tuple


class Event:
    """Base class of every event."""

    __slots__ = ()


@dataclass(frozen=True)
class GreetingReceived(Event):
    """The peer's greeting arrived and was accepted (RFC 37 section 3.2)."""

    version: Tuple[int, int]
    mechanism: bytes
    as_server: bool


@dataclass(frozen=True)
class HandshakeComplete(Event):
    """The security handshake finished: the peer's READY (or equivalent) has been accepted.

    ``version`` is the negotiated ZMTP version, (3, 0) or (3, 1).  ``identity`` is its Identity
    property (b"" when absent).  ``metadata`` holds every property the peer sent, names lower-cased,
    merged as libzmq merges them for ``zmq_msg_gets`` (``stream_engine_base_t::mechanism_ready``): when
    a ZAP handler was asked, its properties come first and win over the peer's, and ``user-id`` is its
    user id.  ``user_id`` is that user id too (b"" without ZAP).
    """

    socket_type: str
    identity: bytes
    version: Tuple[int, int]
    metadata: Dict[str, bytes] = field(default_factory=dict)
    user_id: bytes = b""


@dataclass(frozen=True)
class AuthenticationRequested(Event):
    """The mechanism needs a ZAP decision (RFC 27) on the peer before the handshake can go on.

    ``mechanism`` and ``credentials`` are the ZAP request's mechanism and credential frames.  The
    connection holds the peer's input until the driver calls ``Connection.authentication_result``.
    """

    mechanism: bytes
    credentials: List[bytes]


@dataclass(frozen=True)
class MessageReceived(Event):
    """A whole multipart data message from the peer (frames: see the module docstring).

    Named for what happened, like the other events: pyzmq's ``zmq.Message`` (zmtp.Message) is another
    thing, at the API level.
    """

    frames: List[bytes]


@dataclass(frozen=True)
class Subscribe(Event):
    """The peer subscribed to ``topic``: a 3.1 SUBSCRIBE command or a 3.0 ``\\x01topic`` message."""

    topic: bytes


@dataclass(frozen=True)
class Cancel(Event):
    """The peer cancelled ``topic``: a 3.1 CANCEL command or a 3.0 ``\\x00topic`` message."""

    topic: bytes


@dataclass(frozen=True)
class Join(Event):
    """A DISH peer joined ``group`` (a JOIN command, RFC 48); reported on RADIO connections only."""

    group: bytes


@dataclass(frozen=True)
class Leave(Event):
    """A DISH peer left ``group`` (a LEAVE command, RFC 48); reported on RADIO connections only."""

    group: bytes


@dataclass(frozen=True)
class PingReceived(Event):
    """The peer sent PING (already answered with PONG).  ``ttl`` is in seconds (0 = none)."""

    ttl: float
    context: bytes


@dataclass(frozen=True)
class PongReceived(Event):
    context: bytes


@dataclass(frozen=True)
class ErrorReceived(Event):
    """The peer sent ERROR (RFC 37 section 3.4.3) and will close; so do we."""

    reason: str


@dataclass(frozen=True)
class ConnectionClosed(Event):
    """The peer closed the stream (``receive_data(b"")``)."""
