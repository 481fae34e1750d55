"""The security mechanism interface, and NULL (RFC 37 section 3.5).

A mechanism owns the handshake that follows the greeting: which commands each side sends, how the
peer's metadata is checked, and (for CURVE) how every frame is sealed afterwards.  The connection asks
it for the commands to send first (:meth:`Mechanism.start`), hands it every command the peer sends
until it reports :attr:`Mechanism.complete`, and after that passes frames through
:meth:`Mechanism.encode_frame` / :meth:`Mechanism.decode_frame` when :attr:`transforms_frames` is
true.  PLAIN (RFC 24) and CURVE (RFC 26; after the handshake every frame becomes a MESSAGE command
carried in a *data* frame, with the MORE and COMMAND flags inside the box) plug in here without any
change to the framing code.
"""

from __future__ import annotations

from typing import Dict, List, Tuple

from .commands import ERROR, ERROR_MISSPELLED, READY, command_body, decode_error
from .errors import ErrorReason, RemoteProtocolError
from .metadata import decode_metadata


class PeerErrorCommand(Exception):
    """Raised inside a handshake when the peer sent ERROR: the connection reports ErrorReceived."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Mechanism:
    """Base class of the security mechanisms."""

    #: The name in the greeting (RFC 37 section 3.2), at most 20 bytes.
    name = b""
    #: True when frames are sealed after the handshake (CURVE).
    transforms_frames = False

    def __init__(self, *, as_server: bool = False) -> None:
        self.as_server = as_server
        self.complete = False
        #: The peer's metadata (names lower-cased), set when the handshake completes.
        self.peer_metadata: Dict[str, bytes] = {}

    def start(self, metadata: bytes) -> List[bytes]:
        """Command bodies to send once both greetings are exchanged; ``metadata`` is ours, encoded."""
        raise NotImplementedError

    def receive_command(self, name: bytes, data: bytes) -> List[bytes]:
        """Process one handshake command; return the command bodies to send in reply."""
        raise NotImplementedError

    def encode_frame(self, flags: int, body: bytes) -> Tuple[int, bytes]:
        """Seal a frame after the handshake (identity unless :attr:`transforms_frames`)."""
        return flags, body

    def decode_frame(self, flags: int, body: bytes) -> Tuple[int, bytes]:
        """Open a sealed frame after the handshake (identity unless :attr:`transforms_frames`)."""
        return flags, body


class NullMechanism(Mechanism):
    """NULL: each side sends READY with its metadata, and that is all (RFC 37 section 3.5.1)."""

    name = b"NULL"

    def start(self, metadata: bytes) -> List[bytes]:
        return [command_body(READY, metadata)]

    def receive_command(self, name: bytes, data: bytes) -> List[bytes]:
        if name == READY:
            self.peer_metadata = decode_metadata(data, "READY")
            self.complete = True
            return []
        if name == ERROR or name == ERROR_MISSPELLED:
            raise PeerErrorCommand(decode_error(data))
        raise RemoteProtocolError(
            ErrorReason.UNEXPECTED_COMMAND,
            f"peer sent {bytes(name).decode('ascii', 'replace')} during the NULL handshake; expected READY",
        )
