"""One error hierarchy for the core, telling whose fault a failure is.

:class:`RemoteProtocolError` means the peer broke ZMTP (raised only from the receive path); after it
the connection is closed for good.  :class:`LocalProtocolError` means the caller misused the API (sent
before the handshake, sent a frame over the size limit ...).  Both carry a machine-readable
:class:`ErrorReason` and a sentence a person understands.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, List


class ErrorReason(Enum):
    """Why a connection failed, for programs (logs, metrics, the fuzzer's oracle)."""

    BAD_SIGNATURE = "bad-signature"
    UNSUPPORTED_VERSION = "unsupported-version"
    MECHANISM_MISMATCH = "mechanism-mismatch"
    BAD_GREETING = "bad-greeting"
    BAD_FRAME = "bad-frame"
    MESSAGE_TOO_LARGE = "message-too-large"
    BAD_COMMAND = "bad-command"
    UNEXPECTED_COMMAND = "unexpected-command"
    BAD_METADATA = "bad-metadata"
    INCOMPATIBLE_SOCKET_TYPE = "incompatible-socket-type"
    PEER_ERROR = "peer-error"
    AUTHENTICATION_FAILED = "authentication-failed"
    HANDSHAKE_TIMEOUT = "handshake-timeout"
    HEARTBEAT_TIMEOUT = "heartbeat-timeout"
    CONNECTION_CLOSED = "connection-closed"
    INVALID_STATE = "invalid-state"
    INVALID_ARGUMENT = "invalid-argument"


class ProtocolError(Exception):
    """Base class: ``reason`` is an :class:`ErrorReason`, ``str(err)`` the human sentence.

    ``events`` (set on a :class:`RemoteProtocolError` raised by a Connection's input methods) holds the
    events completed before the fault in the same call: a driver dispatches them, then closes, so the
    messages that arrived whole before a bad frame are delivered however the bytes were split.
    """

    def __init__(self, reason: ErrorReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.events: List[Any] = []

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.reason.name}, {self.message!r})"


class RemoteProtocolError(ProtocolError):
    """The peer violated the protocol (or timed out); the connection is now closed for good."""


class LocalProtocolError(ProtocolError):
    """The caller used the core wrongly; the connection state is unchanged."""
