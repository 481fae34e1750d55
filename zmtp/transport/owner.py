"""What a transport may ask of the socket that owns it: the seam between transports and the socket core.

Transports (tcp/ipc streams, inproc links, listeners, connecters) never import the socket layer: they
hold an :class:`Owner` and call only what is listed here.  The socket core implements it.  Everything
is called with the context lock held.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Protocol

from ..options import Options
from ..patterns.pipe import Pipe
from ..protocol import AuthenticationRequested, Connection, HandshakeComplete

if TYPE_CHECKING:
    from ..reactor import Reactor


class Owner(Protocol):
    """The socket core, as its transports see it."""

    @property
    def reactor(self) -> Reactor:
        """The reactor (selector, timers) this socket's I/O runs on."""

    @property
    def options(self) -> Options:
        """The socket's options (read only, for transports)."""

    @property
    def type_name(self) -> str:
        """The Socket-Type name sent in READY, e.g. ``"DEALER"``."""

    @property
    def raw(self) -> bool:
        """True for STREAM sockets: connections carry raw bytes, no ZMTP."""

    @property
    def closed(self) -> bool:
        """True once the application closed the socket (it may still be lingering)."""

    def new_pipe(self) -> Pipe:
        """A pipe with this socket's HWMs and the socket's callbacks installed."""

    def attach_pipe(self, pipe: Pipe) -> bool:
        """Give a pipe to the pattern; False when the pattern refuses the peer."""

    def detach_pipe(self, pipe: Pipe) -> None:
        """The peer behind ``pipe`` is gone for good."""

    def make_connection(self, now: float, peer_address: str) -> Connection:
        """A fresh sans-IO ZMTP connection configured from the socket's options."""

    def add_stream(self, stream: Any) -> bool:
        """A tcp/ipc connection exists (before any I/O on it).  False: the socket does not want it
        (closed); the stream is then closed by the caller without further callbacks."""

    def stream_ready(self, stream: Any, event: HandshakeComplete) -> Optional[Pipe]:
        """The handshake completed: the pipe for this peer, or None to refuse it."""

    def stream_closed(self, stream: Any) -> None:
        """A stream closed (peer left, error, or we closed it)."""

    def authenticate(self, stream: Any, request: AuthenticationRequested) -> None:
        """Ask the ZAP handler about a peer (RFC 27); the answer goes to
        :meth:`Stream.authentication_result`."""

    def transport_event(self, event: int, endpoint: str, value: int = 0, reason: str = "") -> None:
        """Something a socket monitor reports happened (libzmq's ZMQ_EVENT_* numbers)."""

    def connect_stopped(self, connecter: Any, forget: bool) -> None:
        """A connecter gave up for good (RECONNECT_STOP, or no reconnect interval): drop its pipe, and
        with ``forget`` its endpoint."""


__all__ = ["Owner"]
