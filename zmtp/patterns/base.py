"""The interface every socket pattern implements (RFC 28-31 as libzmq behaves).

A pattern is plain logic over :class:`~zmtp.patterns.pipe.Pipe` objects: it decides which pipe a
message goes to (round-robin, routing id, subscription filter) and which pipe the next message comes
from (fair-queuing), and it keeps the pattern's state (REQ's send/recv alternation, envelopes).  It does
no I/O and never blocks: ``send`` and ``recv`` answer at once, and the socket layer waits and retries.
"""

from __future__ import annotations

from typing import Callable, List, Optional

from ..options import Options
from .pipe import Message, Pipe


class Pattern:
    """Base class: the socket layer calls the first group, pipes call the second."""

    #: The Socket-Type name sent in READY (RFC 37 section 3.6), e.g. "DEALER".
    socket_type_name = ""

    def __init__(self, options: Options, *, id_seed: int = 0) -> None:
        """``id_seed`` seeds the counters libzmq starts at a random value (ROUTER's generated routing
        ids, REQ's request ids): the socket layer passes a random one, patterns stay deterministic."""
        self.options = options
        self.pipes: List[Pipe] = []
        #: Called (by pipes, via the pattern) whenever the socket may have become readable or writable,
        #: so the socket layer can wake blocked callers and pollers.  Set by the socket layer.
        self.signal: Callable[[], None] = _noop
        #: Called by the pattern to ask the transport to drop a peer it keeps attached (ROUTER_HANDOVER's
        #: displaced pipe: router.cpp ``old_pipe->terminate``).  The transport closes the connection
        #: and later calls :meth:`detach` as for any disconnect.  Set by the socket layer.
        self.close_pipe: Callable[[Pipe], None] = _noop_pipe

    # -- socket layer -> pattern ----------------------------------------------------------------
    def attach(self, pipe: Pipe) -> bool:
        """A peer's pipe joins (handshake done, or inproc connected).

        Returns False when the pattern refuses this peer (PAIR's second peer, ROUTER's duplicate
        identity without ROUTER_HANDOVER); the pipe is then not attached and the transport closes it.
        """
        pipe.pattern = self
        self.pipes.append(pipe)
        return True

    def detach(self, pipe: Pipe) -> None:
        """A peer's pipe leaves (disconnected for good); messages queued on it are dropped."""
        pipe.pattern = None
        try:
            self.pipes.remove(pipe)
        except ValueError:
            pass

    def send(self, msg: Message) -> bool:
        """Send a whole multipart message.

        Returns True when the message was taken (queued, or dropped where the pattern drops), False
        when it would block (the socket layer waits, or raises Again under DONTWAIT).  Raises
        ``ZMQError`` for pattern violations: EFSM (wrong state), EHOSTUNREACH (ROUTER_MANDATORY),
        ENOTSUP (the pattern cannot send).
        """
        raise NotImplementedError

    def recv(self) -> Optional[Message]:
        """Return the next whole message, or None when there is none yet.

        Raises ``ZMQError`` EFSM/ENOTSUP for pattern violations.
        """
        raise NotImplementedError

    def can_send(self) -> bool:
        """POLLOUT: would ``send`` take a message now?"""
        raise NotImplementedError

    def can_recv(self) -> bool:
        """POLLIN: would ``recv`` return a message now?"""
        raise NotImplementedError

    # -- pipe -> pattern ------------------------------------------------------------------------
    def pipe_readable(self, pipe: Pipe) -> None:
        """``pipe.inbound`` went from empty to non-empty."""
        self.signal()

    def pipe_writable(self, pipe: Pipe) -> None:
        """``pipe.outbound`` dropped below SNDHWM."""
        self.signal()

    def pipe_subscription(self, pipe: Pipe, topic: bytes, subscribe: bool) -> None:
        """The peer subscribed or cancelled (only publishers care; others ignore it)."""


def _noop() -> None:
    pass


def _noop_pipe(pipe: Pipe) -> None:
    pass
