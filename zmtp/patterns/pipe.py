"""Pipes: one peer as a socket pattern sees it.

A pattern (REQ, ROUTER, PUB ...) never touches a connection: it reads and writes whole multipart
messages on :class:`Pipe` objects, one pipe per peer.  The transport side (a ZMTP connection over tcp or
ipc, or the other end of an inproc pipe) moves messages between the pipe and the wire.  This is what lets
every pattern be tested without sockets, and lets tcp, ipc and inproc share all pattern code.

Flow control is libzmq's: ``outbound`` holds at most SNDHWM messages (the pattern checks
:meth:`Pipe.writable` before writing and then drops or blocks, as its RFC says); ``inbound`` holds at
most RCVHWM messages, and the transport stops reading from the wire while it is full, so TCP pushes back
on the sender.  0 means "no limit", as in libzmq.

Threading: a pipe is not thread-safe; the socket layer calls everything here under its context's lock.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Callable, Deque, Dict, List, NamedTuple, Optional, Protocol, Union

#: A pipe calls its transport's ``on_outbound`` when its queue becomes non-empty and again every
#: FLUSH_BATCH messages, so a sender that never waits still writes in batches of this size.
FLUSH_BATCH = 256
FLUSH_MASK = FLUSH_BATCH - 1

#: A multipart message: its frames, in order.  Frames are ``bytes`` (or bytes-like on the send side).
Message = List[bytes]


class SingleMessage(NamedTuple):
    """One message of a thread-safe (draft) socket with the properties libzmq keeps on ``msg_t``.

    CLIENT, SERVER, RADIO, DISH, SCATTER, GATHER, PEER and CHANNEL carry exactly one frame per
    message (RFC 41, 48, 49, 51, 52), plus two properties that pyzmq exposes as ``Frame.routing_id``
    and ``Frame.group``.  A tuple, because one is built per received message (cheapest to make).
    """

    #: The single frame.
    body: bytes
    #: SERVER/PEER: the peer's routing id (non-zero 32-bit); 0 elsewhere (libzmq ``msg_t::routing_id``).
    routing_id: int = 0
    #: RADIO/DISH: the group, 0-255 bytes (RFC 48 "Group"); ``b""`` elsewhere.
    group: bytes = b""


@dataclass(frozen=True)
class SubscriptionChange:
    """A subscription to pass to the peer: SUBSCRIBE/CANCEL on ZMTP 3.1, ``\\x01``/``\\x00`` on 3.0.

    Queued on a pipe's outbound side by SUB/XSUB; the transport encodes it for the peer's version.
    """

    topic: bytes
    subscribe: bool


@dataclass(frozen=True)
class GroupChange:
    """A DISH joining (or leaving) a RADIO group: the JOIN/LEAVE commands (RFC 48; ZMTP 3.1 section 3.2).

    Queued on a pipe's outbound side by DISH, bypassing SNDHWM like :class:`SubscriptionChange`.  The
    transport sends it as a command frame whose body is ``b"\\x04JOIN" + group`` or
    ``b"\\x05LEAVE" + group`` *whatever the peer's ZMTP minor version*: libzmq 4.3.5 does so on 3.0 too
    (dish.cpp ``dish_session_t::pull_msg`` builds a command message; the 3.0 encoder sets the COMMAND
    flag), and its RADIO only recognises them as commands (radio.cpp ``radio_session_t::push_msg``).
    Inproc delivers it with :meth:`Pipe.deliver_group`.
    """

    group: bytes
    join: bool


OutboundItem = Union[Message, SubscriptionChange, GroupChange]


class PipeOwner(Protocol):
    """What a pipe tells the pattern it is attached to (:class:`~zmtp.patterns.base.Pattern`
    implements it; named here so that pipes need not know patterns)."""

    last_in: Optional[Pipe]

    def pipe_readable(self, pipe: Pipe) -> None:
        ...

    def pipe_writable(self, pipe: Pipe) -> None:
        ...

    def pipe_subscription(self, pipe: Pipe, topic: bytes, subscribe: bool) -> None:
        ...

    def pipe_group(self, pipe: Pipe, group: bytes, join: bool) -> None:
        ...


class Pipe:
    """A bidirectional, bounded message queue between a pattern and one peer."""

    __slots__ = (
        "outbound", "inbound", "sndhwm", "rcvhwm", "routing_id", "peer_identity", "peer_socket_type",
        "pattern", "on_outbound", "on_inbound_space", "on_drained", "active", "closed", "zmtp_version",
        "data", "server_routing_id", "subscribe_to_all", "inbound_filter", "metadata",
    )

    def __init__(
        self,
        *,
        sndhwm: int = 1000,
        rcvhwm: int = 1000,
        peer_identity: bytes = b"",
        peer_socket_type: str = "",
    ) -> None:
        self.outbound: Deque[OutboundItem] = deque()
        self.inbound: Deque[Message] = deque()
        self.sndhwm = sndhwm
        self.rcvhwm = rcvhwm
        #: The routing id a ROUTER uses for this peer (assigned by the pattern on attach).
        self.routing_id = b""
        #: The Identity the peer announced in its READY metadata ("" when none).
        self.peer_identity = peer_identity
        #: The peer's Socket-Type as announced in READY ("PUB", "DEALER" ...).
        self.peer_socket_type = peer_socket_type
        #: The pattern this pipe is attached to.
        self.pattern: Optional[PipeOwner] = None
        #: Transport hook: called when ``outbound`` goes from empty to non-empty, and at every
        #: FLUSH_BATCH-th message.
        self.on_outbound: Optional[Callable[[Pipe], None]] = None
        #: Transport hook: called when ``inbound`` drains to half of RCVHWM (resume a stopped reader).
        self.on_inbound_space: Optional[Callable[[Pipe], None]] = None
        #: True while the transport carries this pipe (a live connection, or inproc).
        self.active = True
        #: True once the peer is gone for good: nothing more is written, what arrived is still read.
        self.closed = False
        #: Transport hook: called when a closed pipe's last inbound message has been read.
        self.on_drained: Optional[Callable[[Pipe], None]] = None
        #: The ZMTP minor version the peer speaks (0 for 3.0, 1 for 3.1); 1 for inproc.
        self.zmtp_version = 1
        #: Free slot for the transport's own bookkeeping.
        self.data: object = None
        #: SERVER/PEER: the non-zero 32-bit routing id the pattern assigned to this peer (RFC 41;
        #: libzmq's ``pipe_t::set_server_socket_routing_id``).  0 for other patterns.
        self.server_routing_id = 0
        #: Set by the transport before attach for a pipe that takes every group (libzmq's
        #: ``subscribe_to_all``: the UDP transport's pipe on a RADIO, which has no JOINs to send).
        self.subscribe_to_all = False
        #: Set by a pattern that must see each message as it arrives (DISH: a malformed message
        #: drops the peer at once, as libzmq's session does).  Returns False to refuse the message.
        self.inbound_filter: Optional[Callable[[Pipe, Message], bool]] = None
        #: The connection's message properties (``zmq_msg_gets``: Peer-Address, Socket-Type, Identity,
        #: User-Id, READY and ZAP properties; names lower-cased), set by the transport at the handshake.
        #: None where libzmq has none (inproc).
        self.metadata: Optional[Dict[str, bytes]] = None

    # -- pattern side ---------------------------------------------------------------------------
    def writable(self) -> bool:
        """True when one more message fits under SNDHWM (never once the pipe is closed)."""
        return (self.sndhwm <= 0 or len(self.outbound) < self.sndhwm) and not self.closed

    def write(self, item: OutboundItem) -> None:
        """Queue a message (or a subscription change) for the peer.  The caller checked writable().

        The transport hears about it when the queue goes from empty to non-empty, and again at every
        :data:`FLUSH_BATCH` messages (a streaming sender's batch boundary: see ``on_outbound``).
        """
        outbound = self.outbound
        outbound.append(item)
        n = len(outbound)
        if (n == 1 or not n & FLUSH_MASK) and self.on_outbound is not None:
            self.on_outbound(self)

    def read(self) -> Optional[Message]:
        """Take the oldest received message, or None."""
        inbound = self.inbound
        if not inbound:
            return None
        msg = inbound.popleft()
        pattern = self.pattern
        if pattern is not None:
            pattern.last_in = self  # whose message this is (its connection's metadata, Frame.get)
        # Resume a stopped reader at the low-water mark, not at every message under RCVHWM, so the
        # transport toggles its read interest once per half-queue (libzmq's lwm, src/pipe.cpp).
        if len(inbound) == self.rcvhwm >> 1 and self.on_inbound_space is not None:
            self.on_inbound_space(self)
        if not inbound and self.closed and self.on_drained is not None:
            self.on_drained(self)
        return msg

    def readable(self) -> bool:
        return bool(self.inbound)

    # -- transport side -------------------------------------------------------------------------
    def can_deliver(self) -> bool:
        """True while ``inbound`` has room: the transport reads from the wire only then."""
        return self.rcvhwm <= 0 or len(self.inbound) < self.rcvhwm

    def deliver(self, msg: Message) -> None:
        """A whole message arrived from the peer."""
        screen = self.inbound_filter
        if screen is not None and not screen(self, msg):
            return
        inbound = self.inbound
        inbound.append(msg)
        if len(inbound) == 1 and self.pattern is not None:
            self.pattern.pipe_readable(self)

    def deliver_many(self, msgs: List[Message]) -> None:
        """Several whole messages arrived (one read's worth): :meth:`deliver` for each, in bulk."""
        if self.inbound_filter is not None:
            for msg in msgs:
                self.deliver(msg)
            return
        inbound = self.inbound
        was_empty = not inbound
        inbound.extend(msgs)
        if was_empty and self.pattern is not None:
            self.pattern.pipe_readable(self)

    def deliver_subscription(self, topic: bytes, subscribe: bool) -> None:
        """The peer subscribed to (or cancelled) ``topic``: a SUBSCRIBE/CANCEL command or 3.0 message."""
        if self.pattern is not None:
            self.pattern.pipe_subscription(self, topic, subscribe)

    def deliver_group(self, group: bytes, join: bool) -> None:
        """The peer joined (or left) ``group``: a JOIN/LEAVE command, or inproc's :class:`GroupChange`."""
        if self.pattern is not None:
            self.pattern.pipe_group(self, group, join)

    def take_outbound(self) -> Optional[OutboundItem]:
        """Take the next item to put on the wire, telling the pattern when room appears."""
        outbound = self.outbound
        if not outbound:
            return None
        was_full = self.sndhwm > 0 and len(outbound) >= self.sndhwm
        item = outbound.popleft()
        if was_full and self.pattern is not None:
            self.pattern.pipe_writable(self)
        return item

    def __repr__(self) -> str:
        return (
            f"<Pipe peer={self.peer_socket_type or '?'} id={self.routing_id!r} "
            f"out={len(self.outbound)} in={len(self.inbound)}>"
        )
