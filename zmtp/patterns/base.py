"""The interface every socket pattern implements (RFC 28-31 as libzmq behaves).

A pattern is plain logic over :class:`~zmtp.patterns.pipe.Pipe` objects: it decides which pipe a
message goes to (round-robin, routing id, subscription filter) and which pipe the next message comes
from (fair-queuing), and it keeps the pattern's state (REQ's send/recv alternation, envelopes).  It does
no I/O and never blocks: ``send`` and ``recv`` answer at once, and the socket layer waits and retries.

Thread-safe (draft) sockets: CLIENT, SERVER, RADIO, DISH, SCATTER, GATHER, PEER, CHANNEL
------------------------------------------------------------------------------------------
Their patterns set :attr:`Pattern.thread_safe` and carry single-part messages with two properties,
the routing id (SERVER, PEER) and the group (RADIO, DISH), through two extra methods:

* ``send_single(body, routing_id=0, group=b"") -> bool``: same contract as :meth:`Pattern.send`
  (True taken, False would block, ``ZMQError`` for violations).  SERVER/PEER route by
  ``routing_id`` (EHOSTUNREACH when no peer has it, 0 included); RADIO sends to the peers that
  joined ``group`` (EINVAL when longer than 255 bytes).  Others ignore both.
* ``recv_single() -> Optional[SingleMessage]``: ``SingleMessage(body, routing_id, group)``, a
  NamedTuple; ``routing_id`` is set by SERVER/PEER, ``group`` by DISH.

The classic ``send(msg)``/``recv()`` also work on them: ``send([body])`` is
``send_single(body)`` (so SERVER without a routing id is EHOSTUNREACH, as in libzmq where the
id of a fresh message is 0) and any other length is EINVAL (ENOTSUP where the type cannot send at
all); ``recv()`` returns ``[body]`` and drops the properties.

What the socket layer does to wire them (pyzmq's API):

* ``send(data, flags, routing_id=None, group=None)`` / ``send(Frame)``: with SNDMORE on a
  ``thread_safe`` pattern raise EINVAL at once and keep nothing (libzmq's xsend sees the MORE flag
  on the first frame); otherwise call ``send_single(body, routing_id or frame.routing_id or 0,
  group or frame.group or b"")`` (a ``str`` group is UTF-8 encoded; pyzmq checks the length in
  ``Frame.group``'s setter, EINVAL).  ``send_multipart`` of more than one frame: EINVAL.
* ``recv(copy=False)`` returns a ``Frame`` whose ``routing_id``/``group`` come from
  ``recv_single()`` (pyzmq's ``Frame.group`` is a ``str``; libzmq groups are C strings, so decode).
  ``recv(copy=True)`` returns ``body``.  RCVMORE is always 0.
* DISH ``join(group)``/``leave(group)`` call :meth:`Dish.join`/:meth:`Dish.leave` (EINVAL when
  longer than 255 bytes, joined twice, or left without a join).  PEER ``connect_peer(endpoint)``
  connects (EFAULT when IMMEDIATE is set, as libzmq) and returns :attr:`Peer.last_routing_id`, which
  requires the connect to attach its pipe at once (libzmq creates the queue before the TCP
  connection, RFC 51 "SHALL create a double queue when initiating an outgoing connection").
* Transports: put :class:`~zmtp.patterns.pipe.GroupChange` items on the wire as JOIN/LEAVE
  command frames (all ZMTP 3.x minors; see its docstring), hand received JOIN/LEAVE commands to
  :meth:`Pipe.deliver_group`; inproc moves ``GroupChange`` to ``dst.deliver_group``.  A RADIO
  writes each message as the two frames ``[group, body]`` (the first with MORE on the wire, as
  libzmq's ``radio_session_t::pull_msg``), and a DISH expects that shape on its pipes, so tcp, ipc
  and inproc need nothing more; the UDP transport turns ``[group, body]`` into a datagram and a
  datagram back into ``[group, body]``, and sets ``pipe.subscribe_to_all`` on its RADIO pipe.
* ``close_pipe`` can now be called from inside ``Pipe.deliver`` (DISH refusing a malformed message)
  and ``Pipe.deliver_group`` (RADIO refusing a JOIN over 255 bytes), i.e. in the middle of the
  transport's receive loop: the socket layer should defer the actual close (``reactor.call_soon``)
  if its stream cannot be closed re-entrantly.  Later deliveries on that pipe are refused anyway.
* Thread safety is the socket layer's (one lock around each pattern call, as today); patterns
  have no thread-local state between calls except DISH's prefetched message, which that lock covers.
"""

from __future__ import annotations

from typing import Callable, Deque, List, Optional

from ..constants import Errno
from ..error import ZMQError
from ..options import Options
from .pipe import Message, Pipe, SingleMessage


class Pattern:
    """Base class: the socket layer calls the first group, pipes call the second."""

    #: The Socket-Type name sent in READY (RFC 37 section 3.6), e.g. "DEALER".
    socket_type_name = ""
    #: libzmq's thread-safe socket types: single-part messages only (module docstring).
    thread_safe = False

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
        #: The pipe the last message read came from (set by :meth:`Pipe.read`), so the socket layer can
        #: hand out that connection's metadata with the message (``Frame.get``) at no cost per pattern.
        self.last_in: Optional[Pipe] = None

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

    def recv_many(self, out: Deque[Message], n: int) -> int:
        """Append up to ``n`` more messages to ``out`` (what ``recv`` would return, in order); how
        many.  The socket layer batches stateless patterns' receives with it."""
        taken = 0
        recv = self.recv
        while taken < n:
            msg = recv()
            if msg is None:
                break
            out.append(msg)
            taken += 1
        return taken

    def send_single(self, body: bytes, routing_id: int = 0, group: bytes = b"") -> bool:
        """Thread-safe sockets: send one frame with its routing id / group (module docstring).

        Other patterns have no message properties: ENOTSUP.
        """
        raise ZMQError(Errno.ENOTSUP)

    def recv_single(self) -> Optional[SingleMessage]:
        """Thread-safe sockets: the next message with its properties, or None (module docstring)."""
        raise ZMQError(Errno.ENOTSUP)

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

    def pipe_group(self, pipe: Pipe, group: bytes, join: bool) -> None:
        """The peer joined or left a group (only RADIO cares; libzmq drops JOIN/LEAVE elsewhere)."""


def _noop() -> None:
    pass


def _noop_pipe(pipe: Pipe) -> None:
    pass
