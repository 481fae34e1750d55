"""Why a connection ended: libzmq's monitor vocabulary for it, and the sentence the ``zmtp`` logger says.

A stream that closes with an error asks :func:`handshake_failure` which ``HANDSHAKE_FAILED_*`` event (if
any) libzmq would have reported for it while the handshake was still running
(``stream_engine_base_t::error`` and the mechanisms in libzmq 4.3.5):

* the peer broke the protocol: ``HANDSHAKE_FAILED_PROTOCOL`` with the closest ``ZMQ_PROTOCOL_ERROR_*``
  value (:func:`protocol_error_value`).  libzmq reports only command and mechanism faults this way and
  stays silent about bad metadata or an incompatible socket type; zmtp reports every one, so a monitor
  always says why (the values are libzmq's, so libzmq-minded parsers read them);
* a ZAP handler said no (ours, or the peer's: an ERROR whose reason is a status code 300/400/500):
  ``HANDSHAKE_FAILED_AUTH`` with the status code;
* the connection dropped or the handshake timed out: ``HANDSHAKE_FAILED_NO_DETAIL`` with the errno
  libzmq would see (EPIPE for an orderly close by the peer, EAGAIN for the handshake timeout).

``DISCONNECTED`` follows for any error, in or after the handshake; a connection we close ourselves
(close, unbind, disconnect) reports nothing, as in libzmq.

The logger: ``logging.getLogger("zmtp")``, silent unless the application configures logging (the
package installs a ``NullHandler``).  Every call site passes its values as arguments, so nothing is
formatted unless a handler takes the record; the hot paths never log.
"""

from __future__ import annotations

import errno as _errno
import logging
from typing import Optional, Tuple

from ..constants import Event
from ..protocol import ErrorReason, RemoteProtocolError

#: The package's logger (see the module docstring).
logger = logging.getLogger("zmtp")

_HANDSHAKE_FAILED_PROTOCOL = int(Event.HANDSHAKE_FAILED_PROTOCOL)
_HANDSHAKE_FAILED_AUTH = int(Event.HANDSHAKE_FAILED_AUTH)
_HANDSHAKE_FAILED_NO_DETAIL = int(Event.HANDSHAKE_FAILED_NO_DETAIL)


class PeerClosed(BrokenPipeError):
    """The peer closed the stream (end of file).  libzmq reports this read as EPIPE."""

    def __init__(self, message: str = "peer closed the connection") -> None:
        super().__init__(_errno.EPIPE, message)

    def __str__(self) -> str:
        return str(self.strerror)


class PeerSentError(ConnectionResetError):
    """The peer sent an ERROR command (RFC 37 section 3.4.3) and closes; ``reason`` is its text."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"peer sent ERROR: {reason}" if reason else "peer sent ERROR")
        self.reason = reason


class ZapFailure(ConnectionRefusedError):
    """The ZAP handler's reply is not one libzmq accepts; ``value`` is the ZMQ_PROTOCOL_ERROR_ZAP_* value
    libzmq reports for it (src/zap_client.cpp ``receive_and_process_zap_reply``)."""

    def __init__(self, value: int, message: str) -> None:
        super().__init__(message)
        self.value = value


#: ErrorReason -> ZMQ_PROTOCOL_ERROR_* (libzmq's zmq.h values).
_VALUES = {
    ErrorReason.MECHANISM_MISMATCH: Event.PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH,
    ErrorReason.UNEXPECTED_COMMAND: Event.PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND,
    ErrorReason.BAD_METADATA: Event.PROTOCOL_ERROR_ZMTP_INVALID_METADATA,
    ErrorReason.INCOMPATIBLE_SOCKET_TYPE: Event.PROTOCOL_ERROR_ZMTP_INVALID_METADATA,
    ErrorReason.INVALID_STATE: Event.PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE,
}
#: The command a BAD_COMMAND sentence names -> its MALFORMED_COMMAND value.
_MALFORMED = (
    ("HELLO", Event.PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO),
    ("WELCOME", Event.PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_WELCOME),
    ("INITIATE", Event.PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_INITIATE),
    ("READY", Event.PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_READY),
    ("ERROR", Event.PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_ERROR),
    ("MESSAGE", Event.PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_MESSAGE),
)


def protocol_error_value(exc: RemoteProtocolError) -> int:
    """The ``ZMQ_PROTOCOL_ERROR_*`` value for a protocol violation (what HANDSHAKE_FAILED_PROTOCOL carries).

    A malformed command gives the MALFORMED_COMMAND value of the command its sentence names; a CURVE box
    that does not open is CRYPTOGRAPHIC, as in libzmq's curve_client/curve_server; what libzmq has no
    number for (a bad greeting, a bad frame, a message over MAXMSGSIZE) is ZMTP_UNSPECIFIED."""
    reason = exc.reason
    value = _VALUES.get(reason)
    if value is not None:
        return int(value)
    if reason is ErrorReason.BAD_COMMAND:
        words = exc.message.replace("'", " ").split()
        for name, malformed in _MALFORMED:
            if name in words:
                return int(malformed)
        return int(Event.PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED)
    if reason is ErrorReason.AUTHENTICATION_FAILED:
        if exc.message.startswith("CURVE"):
            return int(Event.PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC)
        return int(Event.PROTOCOL_ERROR_ZAP_UNSPECIFIED)
    return int(Event.PROTOCOL_ERROR_ZMTP_UNSPECIFIED)


def zap_status(text: str) -> Optional[int]:
    """300, 400 or 500 when ``text`` is such a ZAP status code (libzmq's ``handle_error_reason``)."""
    if len(text) == 3 and text[1:] == "00" and text[0] in "345":
        return int(text)
    return None


def handshake_failure(error: BaseException) -> Tuple[int, int]:
    """(event, value) a monitor reports for a connection that failed during its handshake; (0, 0) when
    libzmq reports none (the peer's ERROR with a reason that is not a status code, our own refusal)."""
    if isinstance(error, RemoteProtocolError):
        reason = error.reason
        if reason is ErrorReason.HANDSHAKE_TIMEOUT:
            return _HANDSHAKE_FAILED_NO_DETAIL, _errno.EAGAIN
        if reason is ErrorReason.CONNECTION_CLOSED:
            return _HANDSHAKE_FAILED_NO_DETAIL, _errno.EPIPE
        if reason is ErrorReason.PEER_ERROR:
            return 0, 0
        if reason is ErrorReason.AUTHENTICATION_FAILED and not error.message.startswith("CURVE"):
            for word in error.message.split():
                status = zap_status(word)
                if status is not None:
                    return _HANDSHAKE_FAILED_AUTH, status
        return _HANDSHAKE_FAILED_PROTOCOL, protocol_error_value(error)
    if isinstance(error, ZapFailure):
        return _HANDSHAKE_FAILED_PROTOCOL, error.value
    if isinstance(error, PeerSentError):
        status = zap_status(error.reason)
        return (_HANDSHAKE_FAILED_AUTH, status) if status is not None else (0, 0)
    if isinstance(error, OSError) and error.errno is not None:
        return _HANDSHAKE_FAILED_NO_DETAIL, error.errno
    return 0, 0


def describe(error: BaseException) -> str:
    """The sentence for the log: the core's own for protocol errors, the system's for socket errors."""
    if isinstance(error, RemoteProtocolError):
        return f"{error.message} ({error.reason.value})"
    if isinstance(error, OSError) and error.errno is not None and error.strerror:
        name = _errno.errorcode.get(error.errno, str(error.errno))
        return f"{error.strerror} ({name})"
    return str(error) or type(error).__name__


def is_protocol_violation(error: BaseException) -> bool:
    """True when the peer broke a rule of the protocol (logged as a warning), as opposed to a dropped
    connection, a timeout or a refusal."""
    if not isinstance(error, RemoteProtocolError):
        return False
    if error.reason is ErrorReason.AUTHENTICATION_FAILED:
        return error.message.startswith("CURVE")  # a box that does not open; a ZAP "no" is not a fault
    return error.reason not in (
        ErrorReason.HANDSHAKE_TIMEOUT, ErrorReason.HEARTBEAT_TIMEOUT, ErrorReason.CONNECTION_CLOSED,
        ErrorReason.PEER_ERROR,
    )


__all__ = [
    "logger", "PeerClosed", "PeerSentError", "ZapFailure", "protocol_error_value", "zap_status", "handshake_failure",
    "describe", "is_protocol_violation",
]
