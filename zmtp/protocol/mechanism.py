"""The security mechanism interface, and NULL (RFC 37 section 2.5 / 2.8; ZAP: RFC 27).

A mechanism owns the handshake that follows the greeting: which commands each side sends, how the
peer's metadata and credentials are judged, and (for CURVE) how every frame is sealed afterwards.  The
:class:`~zmtp.protocol.connection.Connection` drives it through the methods below and never looks
inside a command itself.  PLAIN (RFC 24) and CURVE (RFC 25/26) plug in here without any change to the
framing code.  The contract, step by step:

1. **Construction** (by the driver): ``as_server`` (the greeting's as-server field, which picks the
   role in PLAIN and CURVE), ``random_bytes`` (a ``Callable[[int], bytes]`` the driver passes in, e.g.
   ``os.urandom``; the core never draws randomness itself, so a mechanism that needs nonces or
   ephemeral keys takes them from here and only from here), and whatever the mechanism needs
   (credentials, keys, a flag saying that a ZAP handler must be asked).

2. **Greeting**: the connection puts :attr:`Mechanism.name` and ``as_server`` in its greeting and
   refuses a peer whose greeting names another mechanism (RFC 37 section 2.5).

3. **Handshake**: once both greetings are exchanged the connection calls :meth:`Mechanism.start` with
   our metadata (an encoded property list: Socket-Type, Identity, application properties) and sends the
   command bodies it returns.  Then every command frame the peer sends is split into ``(name, data)``
   and handed to :meth:`Mechanism.receive_command`, whose returned bodies are sent in order.  A
   mechanism raises :class:`~zmtp.protocol.errors.RemoteProtocolError` for anything malformed or out
   of order (the connection then queues an ERROR and closes), or :class:`PeerErrorCommand` when the
   peer sent ERROR (the connection reports ``ErrorReceived`` and closes).  Data frames during the
   handshake never reach the mechanism: the framing layer refuses them.  Handshake commands are sent
   and received unsealed, including those returned by the call that completes the handshake.

4. **Completion**: when the mechanism sets :attr:`Mechanism.complete` (after any call above) the
   connection reads :attr:`Mechanism.peer_metadata` (names lower-cased; Socket-Type and Identity are
   checked by the connection, every occurrence, as libzmq's ``mechanism_t::parse_metadata`` does) and
   reports ``HandshakeComplete``.  Use :func:`~zmtp.protocol.metadata.decode_metadata` for the
   property list of READY/INITIATE so those rules hold.

5. **Authentication (ZAP, RFC 27)**: a server-side mechanism that needs a decision (PLAIN after HELLO,
   CURVE after INITIATE, NULL with a ZAP domain) sets :attr:`Mechanism.auth_request` to an
   :class:`AuthRequest` instead of replying (``start``/``receive_command`` return no command for that
   step).  The connection then reports ``AuthenticationRequested(mechanism, credentials)``, holds every
   byte the peer sends (nothing is decoded, let alone handed to the mechanism, until the decision), and
   waits for the driver's ``Connection.authentication_result(status_code, status_text, user_id,
   metadata)``, which it passes to :meth:`Mechanism.auth_result` after clearing ``auth_request``.  That
   method returns the command bodies to send: on ``b"200"`` the next handshake step (WELCOME, READY
   ...; set :attr:`complete` if that ends the handshake), on ``b"400"``/``b"500"`` an ERROR whose reason
   is the three-digit status code, on ``b"300"`` nothing (libzmq's ``zap_client_common_handshake_t``
   and ``null_mechanism_t::next_handshake_command``: a temporary failure closes silently).  For any
   status but 200 the connection sends those bodies, closes, and raises ``RemoteProtocolError``
   (``AUTHENTICATION_FAILED``); for 200 it resumes decoding what it held.  The handshake timeout runs
   on while the decision is pending.

6. **After the handshake**, when :attr:`Mechanism.transforms_frames` is true (CURVE), every frame goes
   through the mechanism both ways:

   - :meth:`Mechanism.encode_frame` gets each outgoing frame's *plaintext* flags and body: data frames
     with ``MORE`` (0x01) on every frame but a message's last, and commands (PING, PONG, SUBSCRIBE,
     CANCEL, JOIN, LEAVE, ERROR ...) as a whole command body (name length, name, data) with
     ``COMMAND`` (0x04).  It returns ``(wire_flags, wire_body)``; ``wire_flags`` may only combine
     ``MORE`` and ``COMMAND`` (the connection adds ``LONG`` when the body needs an 8-byte size).
     CURVE returns flags 0 and a MESSAGE command body, with MORE/COMMAND inside the box (libzmq
     ``curve_encoding_t::encode`` in src/curve_mechanism_base.cpp: in-box bits 0x01 MORE, 0x02
     COMMAND).
   - :meth:`Mechanism.decode_frame` gets each incoming wire frame as ``(wire_flags, wire_body)``
     (``LONG`` already removed; the body is ``bytes``, or a ``bytearray`` for bodies of
     ``frames.LARGE_BODY`` bytes or more) and returns the plaintext ``(flags, body)`` with ``MORE``
     and ``COMMAND`` in their wire positions; the connection then reassembles multipart messages and
     dispatches commands exactly as for NULL.  Tampering, replay and malformed frames are the
     mechanism's to detect: raise ``RemoteProtocolError`` (the connection closes).
   - Sealed frames are produced in the order they go on the wire, but the connection may drop one it
     has not yet handed to the driver (a PONG superseded by a newer one), so the receiving side must
     accept gaps in a sequence number and refuse only repeats and reversals (libzmq CURVE checks that
     nonces strictly increase).
   - :attr:`Mechanism.frame_overhead` is the most ``encode_frame`` adds to a body: the connection
     bounds every incoming wire frame by the maximum message size plus this, at the frame header,
     before buffering any of it; the maximum message size itself is judged on the plaintext.

   When ``transforms_frames`` is false neither method is called and the NULL fast paths are untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

from .commands import ERROR, ERROR_MISSPELLED, READY, command_body, decode_error
from .errors import ErrorReason, LocalProtocolError, RemoteProtocolError
from .metadata import decode_metadata

#: ZAP status codes (RFC 27 section 2.2): success, temporary failure, authentication failure, internal
#: error.  libzmq's zap_client_t accepts exactly these.
ZAP_STATUS_CODES = frozenset({b"200", b"300", b"400", b"500"})


class PeerErrorCommand(Exception):
    """Raised inside a handshake when the peer sent ERROR: the connection reports ErrorReceived."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class AuthRequest:
    """What a server-side mechanism asks the ZAP handler to judge (RFC 27 section 2.2).

    ``mechanism`` is the ZAP request's mechanism frame (``b"NULL"``, ``b"PLAIN"``, ``b"CURVE"``) and
    ``credentials`` its credential frames: none for NULL, username and password for PLAIN, the client's
    32-byte long-term public key for CURVE (RFC 27 sections 2.5-2.7).  The driver adds the domain, the
    peer's address and our routing id, which the core does not know.
    """

    mechanism: bytes
    credentials: List[bytes]


class Mechanism:
    """Base class of the security mechanisms; see the module docstring for the contract."""

    #: The name in the greeting (RFC 37 section 2.5), 1-20 alphanumeric bytes.
    name = b""
    #: True when every frame is sealed after the handshake (CURVE): see :meth:`encode_frame`.
    transforms_frames = False
    #: The most :meth:`encode_frame` adds to a frame body (CURVE: 33 bytes).  Incoming wire frames are
    #: bounded by the maximum message size plus this.
    frame_overhead = 0

    def __init__(
        self, *, as_server: bool = False, random_bytes: Optional[Callable[[int], bytes]] = None
    ) -> None:
        self.as_server = as_server
        #: The driver's source of randomness (None for mechanisms that need none).
        self.random_bytes = random_bytes
        #: Set when the handshake is over; the connection then reads :attr:`peer_metadata`.
        self.complete = False
        #: The peer's metadata (names lower-cased), set when the handshake completes.
        self.peer_metadata: Dict[str, bytes] = {}
        #: Set (instead of replying) when an authentication decision is needed; cleared by the
        #: connection before it calls :meth:`auth_result`.
        self.auth_request: Optional[AuthRequest] = None

    @property
    def zmtp2_compatible(self) -> bool:
        """True when a ZMTP 2.0 peer may be served: only NULL without ZAP (libzmq refuses the downgrade
        when ZAP is enabled, zmtp_engine_t::handshake_v2_0)."""
        return False

    def start(self, metadata: bytes) -> List[bytes]:
        """Command bodies to send once both greetings are exchanged; ``metadata`` is ours, encoded."""
        raise NotImplementedError

    def receive_command(self, name: bytes, data: bytes) -> List[bytes]:
        """Process one handshake command; return the command bodies to send in reply."""
        raise NotImplementedError

    def auth_result(
        self, status_code: bytes, status_text: bytes, user_id: bytes, metadata: Dict[str, bytes]
    ) -> List[bytes]:
        """The ZAP decision on :attr:`auth_request`: return the command bodies to send (see step 5)."""
        raise LocalProtocolError(
            ErrorReason.INVALID_STATE, f"the {self.name.decode('ascii', 'replace')} mechanism asked for no decision"
        )

    def encode_frame(self, flags: int, body: bytes) -> Tuple[int, bytes]:
        """Seal one outgoing frame: plaintext ``(flags, body)`` to ``(wire_flags, wire_body)``."""
        return flags, body

    def decode_frame(self, flags: int, body: bytes) -> Tuple[int, bytes]:
        """Open one incoming wire frame: ``(wire_flags, wire_body)`` to plaintext ``(flags, body)``."""
        return flags, body


def zap_error_replies(status_code: bytes) -> List[bytes]:
    """What a server sends for a refused ZAP request: ERROR with the status code as its reason, except
    nothing for 300 (libzmq src/zap_client.cpp ``handle_zap_status_code`` and the mechanisms'
    ``produce_error``: "a 300 error code (temporary failure) should NOT result in an ERROR message")."""
    if status_code == b"300":
        return []
    return [command_body(ERROR, bytes((len(status_code),)) + status_code)]


class NullMechanism(Mechanism):
    """NULL: each side sends READY with its metadata, and that is all (RFC 37 section 2.8).

    With ``zap=True`` (the driver sets it when ZAP_DOMAIN is set, as libzmq's ``zap_required``) our
    READY waits for a ZAP decision on the peer, asked for with no credentials as soon as the greetings
    are exchanged (libzmq ``null_mechanism_t::next_handshake_command``); the peer's READY, if it comes
    first, is held by the connection until then.
    """

    name = b"NULL"

    def __init__(
        self,
        *,
        as_server: bool = False,
        zap: bool = False,
        random_bytes: Optional[Callable[[int], bytes]] = None,
    ) -> None:
        super().__init__(as_server=as_server, random_bytes=random_bytes)
        self.zap = zap
        self._metadata = b""
        self._ready_sent = False
        self._ready_received = False

    @property
    def zmtp2_compatible(self) -> bool:
        return not self.zap

    def start(self, metadata: bytes) -> List[bytes]:
        self._metadata = metadata
        if self.zap:
            self.auth_request = AuthRequest(self.name, [])
            return []
        self._ready_sent = True
        return [command_body(READY, metadata)]

    def receive_command(self, name: bytes, data: bytes) -> List[bytes]:
        if name == READY:
            if self._ready_received:
                raise RemoteProtocolError(
                    ErrorReason.UNEXPECTED_COMMAND, "peer sent a second READY during the NULL handshake"
                )
            self.peer_metadata = decode_metadata(data, "READY")
            self._ready_received = True
            self.complete = self._ready_sent
            return []
        if name == ERROR or name == ERROR_MISSPELLED:
            raise PeerErrorCommand(decode_error(data))
        raise RemoteProtocolError(
            ErrorReason.UNEXPECTED_COMMAND,
            f"peer sent {bytes(name).decode('ascii', 'replace')} during the NULL handshake; expected READY",
        )

    def auth_result(
        self, status_code: bytes, status_text: bytes, user_id: bytes, metadata: Dict[str, bytes]
    ) -> List[bytes]:
        if status_code != b"200":
            return zap_error_replies(status_code)
        self._ready_sent = True
        self.complete = self._ready_received
        return [command_body(READY, self._metadata)]
