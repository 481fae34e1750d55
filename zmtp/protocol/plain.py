"""PLAIN (ZeroMQ RFC 24, ZMTP-PLAIN): a user name and password in clear text, as libzmq 4.3 does it.

The handshake (RFC 24 section "The PLAIN Mechanism", RFC 37 section 2.8)::

    C: HELLO     username (1-byte length + text) password (1-byte length + text)
    S: WELCOME   (empty)                      -- or ERROR if the ZAP handler refuses
    C: INITIATE  metadata
    S: READY     metadata

The server asks the ZAP handler (RFC 27) about the credentials right after HELLO, before WELCOME
(libzmq src/plain_server.cpp ``process_hello``).  Without a ZAP handler libzmq 4.3 does *not* accept
the client: ``session->zap_connect()`` fails and the handshake fails with no ERROR
(``event_handshake_failed_no_detail(EFAULT)``; verified against libzmq 4.3.5 through pyzmq), so
``PlainServer(zap=False)`` refuses every client likewise.  A ZAP refusal is answered with ERROR and the
status code (400/500) or with nothing (300), as libzmq's ``zap_client_common_handshake_t``.

Every length is checked against the command before anything is read, as libzmq does: a short or
overlong HELLO, a WELCOME with data, a command out of order is a :class:`RemoteProtocolError`.
libzmq 4.3 spells its PLAIN ERROR ``^RROR`` (a C escape slip, see commands.py); we send the correct
``\\x05ERROR`` and accept both.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

from .commands import ERROR, ERROR_MISSPELLED, READY, command_body
from .errors import ErrorReason, LocalProtocolError, RemoteProtocolError
from .mechanism import AuthRequest, Mechanism, PeerErrorCommand
from .metadata import decode_metadata

HELLO = b"HELLO"
WELCOME = b"WELCOME"
INITIATE = b"INITIATE"

#: ZAP status codes (RFC 27 section 2.2) libzmq's zap_client_t accepts.
ZAP_STATUS_CODES = frozenset({b"200", b"300", b"400", b"500"})




def zap_refusal(status_code: bytes) -> List[bytes]:
    """What a server sends when ZAP refuses: ERROR with the status code as reason, nothing for 300.

    libzmq src/zap_client.cpp ``handle_zap_status_code``: "a 300 error code (temporary failure) should
    NOT result in an ERROR message, but instead the client should be silently disconnected".
    """
    if status_code == b"300":
        return []
    return [command_body(ERROR, bytes((len(status_code),)) + status_code)]


def check_zap_status(status_code: bytes) -> None:
    if status_code not in ZAP_STATUS_CODES:
        # libzmq: ZMQ_PROTOCOL_ERROR_ZAP_INVALID_STATUS_CODE, the handshake fails
        raise LocalProtocolError(
            ErrorReason.INVALID_ARGUMENT, f"ZAP status code must be 200, 300, 400 or 500, not {status_code!r}"
        )


def peer_error(data: bytes, mechanism: str) -> PeerErrorCommand:
    """ERROR from the server, checked as libzmq's clients do (``process_error``): a reason length that
    runs past the command is itself a protocol error."""
    if not data or data[0] > len(data) - 1:
        raise RemoteProtocolError(
            ErrorReason.BAD_COMMAND, f"peer sent a malformed ERROR during the {mechanism} handshake"
        )
    return PeerErrorCommand(bytes(data[1 : 1 + data[0]]).decode("utf-8", "replace"))


def _unexpected(name: bytes, mechanism: str, expected: str) -> RemoteProtocolError:
    return RemoteProtocolError(
        ErrorReason.UNEXPECTED_COMMAND,
        f"peer sent {bytes(name).decode('ascii', 'replace')} during the {mechanism} handshake; expected {expected}",
    )


class PlainClient(Mechanism):
    """The PLAIN client: sends HELLO with the credentials, INITIATE with our metadata after WELCOME.

    ``username`` and ``password`` are at most 255 bytes each (one length byte; libzmq asserts this).
    """

    name = b"PLAIN"

    def __init__(
        self,
        *,
        username: bytes = b"",
        password: bytes = b"",
        random_bytes: Optional[Callable[[int], bytes]] = None,
    ) -> None:
        super().__init__(as_server=False)
        if len(username) > 255 or len(password) > 255:
            raise LocalProtocolError(ErrorReason.INVALID_ARGUMENT, "PLAIN user name and password are at most 255 bytes")
        self.random_bytes = random_bytes  # PLAIN needs none; accepted for a uniform constructor
        self.auth_request: Any = None
        self.username = bytes(username)
        self.password = bytes(password)
        self._metadata = b""
        self._state = "start"

    def start(self, metadata: bytes) -> List[bytes]:
        self._metadata = metadata
        self._state = "expect-welcome"
        hello = bytes((len(self.username),)) + self.username + bytes((len(self.password),)) + self.password
        return [command_body(HELLO, hello)]

    def receive_command(self, name: bytes, data: bytes) -> List[bytes]:
        if name == ERROR or name == ERROR_MISSPELLED:
            if self._state not in ("expect-welcome", "expect-ready"):
                raise _unexpected(name, "PLAIN", "nothing")
            raise peer_error(data, "PLAIN")
        if name == WELCOME and self._state == "expect-welcome":
            if data:
                raise RemoteProtocolError(ErrorReason.BAD_COMMAND, "peer's PLAIN WELCOME carries data; it has none")
            self._state = "expect-ready"
            return [command_body(INITIATE, self._metadata)]
        if name == READY and self._state == "expect-ready":
            self.peer_metadata = decode_metadata(data, "READY")
            self._state = "ready"
            self.complete = True
            return []
        raise _unexpected(name, "PLAIN", "WELCOME" if self._state == "expect-welcome" else "READY")


class PlainServer(Mechanism):
    """The PLAIN server: judges HELLO's credentials through ZAP, then WELCOME, INITIATE, READY.

    ``zap=True`` means a ZAP handler is bound: after HELLO the mechanism sets :attr:`auth_request`
    (mechanism ``PLAIN``, credentials ``[username, password]``) and waits for :meth:`auth_result`.
    ``zap=False`` is libzmq 4.3 without a handler: every client is refused (see the module docstring).
    """

    name = b"PLAIN"

    def __init__(self, *, zap: bool = False, random_bytes: Optional[Callable[[int], bytes]] = None) -> None:
        super().__init__(as_server=True)
        self.random_bytes = random_bytes
        self.auth_request: Any = None
        self.zap = zap
        #: The credentials the client sent in HELLO (for logs and the driver's ZAP request).
        self.username = b""
        self.password = b""
        self._metadata = b""
        self._state = "expect-hello"

    def start(self, metadata: bytes) -> List[bytes]:
        self._metadata = metadata
        return []

    def receive_command(self, name: bytes, data: bytes) -> List[bytes]:
        if name == HELLO and self._state == "expect-hello":
            self._parse_hello(data)
            if not self.zap:
                self._state = "refused"
                raise RemoteProtocolError(
                    ErrorReason.AUTHENTICATION_FAILED,
                    "PLAIN server has no ZAP handler to check the credentials (libzmq refuses such clients too)",
                )
            self._state = "expect-zap"
            self.auth_request = AuthRequest(mechanism=self.name, credentials=[self.username, self.password])
            return []
        if name == INITIATE and self._state == "expect-initiate":
            self.peer_metadata = decode_metadata(data, "INITIATE")
            self._state = "ready"
            self.complete = True
            return [command_body(READY, self._metadata)]
        expected = {"expect-hello": "HELLO", "expect-initiate": "INITIATE"}.get(self._state, "nothing")
        raise _unexpected(name, "PLAIN", expected)

    def _parse_hello(self, data: bytes) -> None:
        """HELLO = username-length username password-length password, nothing more (libzmq
        plain_server_t::process_hello: every length checked, extra bytes refused)."""
        n = len(data)
        if n < 1 or 1 + data[0] + 1 > n:
            raise RemoteProtocolError(ErrorReason.BAD_COMMAND, "peer's PLAIN HELLO has a malformed user name")
        user_end = 1 + data[0]
        password_len = data[user_end]
        if n - user_end - 1 != password_len:
            raise RemoteProtocolError(
                ErrorReason.BAD_COMMAND,
                f"peer's PLAIN HELLO password length {password_len} does not match the {n - user_end - 1} bytes left",
            )
        self.username = bytes(data[1:user_end])
        self.password = bytes(data[user_end + 1 :])

    def auth_result(
        self, status_code: bytes, status_text: bytes, user_id: bytes, metadata: Dict[str, bytes]
    ) -> List[bytes]:
        """The ZAP decision on HELLO: WELCOME on 200, else ERROR (400/500) or nothing (300)."""
        if self._state != "expect-zap":
            raise LocalProtocolError(ErrorReason.INVALID_STATE, "the PLAIN server asked for no decision")
        check_zap_status(status_code)
        self.auth_request = None
        if status_code != b"200":
            self._state = "refused"
            return zap_refusal(status_code)
        self._state = "expect-initiate"
        return [command_body(WELCOME)]


__all__ = ["PlainClient", "PlainServer", "AuthRequest", "zap_refusal", "HELLO", "WELCOME", "INITIATE"]
