"""PUB, XPUB, SUB and XSUB (RFC 29, PUBSUB; libzmq src/pub.cpp, xpub.cpp, sub.cpp, xsub.cpp).

Subscriptions are prefix matches on a message's first frame.  libzmq keeps them in tries (mtrie on
the publisher: topic -> set of pipes; trie on the subscriber: topic -> reference count); so do we
(:mod:`zmtp.patterns.trie`, compressed tries whose match cost is the length of the matched path,
whatever the number of topics, of distinct topic lengths or of subscribers).

Filtering happens on both sides, as in libzmq: the publisher only sends what some peer subscribed to
(RFC 29 section 2.2 "SHALL NOT send messages to a subscriber that did not subscribe"), and SUB checks
again on receipt (it may be talking to an old publisher that does not filter).
"""

from __future__ import annotations

from collections import deque
from typing import Deque, Dict, Iterable, Optional, Set, Tuple

from ..constants import Errno
from ..error import ZMQError
from ..options import Options
from ..protocol.frames import EncodedMessage
from ._common import not_supported
from .base import Pattern
from .pipe import Message, Pipe, SubscriptionChange
from .queues import FairQueue
from .trie import LAST_VALUE_REMOVED, NOT_FOUND, VALUES_REMAIN, PipeSubscriptions, TopicCounts

__all__ = [
    "XPub", "Pub", "XSub", "Sub", "PipeSubscriptions", "TopicCounts",
    "NOT_FOUND", "LAST_VALUE_REMOVED", "VALUES_REMAIN",
]
#: A message sent to more than one subscriber is encoded once (:class:`EncodedMessage`) when it is
#: smaller than this; a larger one is framed per connection (framing is then a small part of its cost,
#: and the wire copy would double the memory it holds in the queues).
_ENCODE_ONCE_MAX = 1 << 16


class XPub(Pattern):
    """RFC 29 section 2.3 (src/xpub.cpp): PUB that shows subscriptions to the application.

    * send: to every pipe with a matching subscription (INVERT_MATCHING: every pipe without one).  A
      pipe at SNDHWM misses the message; with XPUB_NODROP the send returns False (EAGAIN) instead
      when any matching pipe is full, and nothing is sent.  The same message list is queued on every
      matching pipe (nobody mutates a queued message).
    * recv: ``b"\\x01" + topic`` when a topic gets its first subscriber and ``b"\\x00" + topic`` when it
      loses its last (also when a detaching peer was the last one); XPUB_VERBOSE reports every
      subscribe, XPUB_VERBOSER every subscribe and cancel.  Messages from subscribers that are not
      subscriptions (first byte neither 0 nor 1) are passed up as they are (libzmq 4.3).
    * XPUB_MANUAL: every subscription and cancel is passed up and nothing is subscribed until the
      application calls :meth:`subscribe`/:meth:`unsubscribe`, which apply to the peer of the last
      message received.  XPUB_WELCOME_MSG is sent to every new peer.

    Subscriptions arrive as SUBSCRIBE/CANCEL commands (``pipe_subscription``) or, from ZMTP 3.0 peers
    and XSUB forwarders, as messages whose frames start with 1/0 (xpub.cpp ``xread_activated``).
    """

    socket_type_name = "XPUB"
    #: PUB never passes subscriptions or upstream messages to the application.
    _is_pub = False

    def __init__(self, options: Options, *, id_seed: int = 0) -> None:
        super().__init__(options, id_seed=id_seed)
        self._subs = PipeSubscriptions()
        self._manual_subs: Dict[Pipe, Set[bytes]] = {}
        self._pending: Deque[Tuple[Message, Optional[Pipe]]] = deque()
        self._last_pipe: Optional[Pipe] = None

    # -- peers ----------------------------------------------------------------------------------
    def attach(self, pipe: Pipe) -> bool:
        super().attach(pipe)
        welcome = self.options.xpub_welcome_msg
        if welcome:
            pipe.write([welcome])
        if pipe.inbound:
            self._read_pipe(pipe)
        self.signal()
        return True

    def detach(self, pipe: Pipe) -> None:
        pending = self._pending
        before = len(pending)
        if self.options.xpub_manual:
            for topic in sorted(self._manual_subs.pop(pipe, ())):
                pending.append(([b"\x00" + topic], None))
            self._subs.rm_pipe(pipe)
            if pipe is self._last_pipe:
                self._last_pipe = None
        else:
            verboser = self.options.xpub_verboser
            for topic, last in self._subs.rm_pipe(pipe):
                if (last or verboser) and not self._is_pub:
                    pending.append(([b"\x00" + topic], None))
        super().detach(pipe)
        if len(pending) != before:
            self.signal()

    def pipe_subscription(self, pipe: Pipe, topic: bytes, subscribe: bool) -> None:
        if self._subscription(pipe, bytes(topic), subscribe):
            self.signal()

    def pipe_readable(self, pipe: Pipe) -> None:
        self._read_pipe(pipe)

    def _read_pipe(self, pipe: Pipe) -> None:
        """Consume everything the peer sent: subscriptions, and (XPUB) messages to pass up."""
        notify = False
        is_pub = self._is_pub
        while True:
            msg = pipe.read()
            if msg is None:
                break
            data: Message = []
            for frame in msg:
                if len(frame) and frame[0] <= 1:
                    if self._subscription(pipe, bytes(frame[1:]), frame[0] == 1):
                        notify = True
                elif not is_pub:
                    data.append(frame)
            if data:
                self._pending.append((data, pipe))
                notify = True
        if notify:
            self.signal()

    def _subscription(self, pipe: Pipe, topic: bytes, subscribe: bool) -> bool:
        """Apply one subscription or cancel; True when something was queued for the application."""
        options = self.options
        if options.xpub_manual:
            mine = self._manual_subs.setdefault(pipe, set())
            if subscribe:
                mine.add(topic)
            else:
                mine.discard(topic)
            self._pending.append(([(b"\x01" if subscribe else b"\x00") + topic], pipe))
            return True
        if subscribe:
            notify = self._subs.add(topic, pipe) or options.xpub_verbose or options.xpub_verboser
        else:
            notify = self._subs.rm(topic, pipe) != VALUES_REMAIN or options.xpub_verboser
        if notify and not self._is_pub:
            self._pending.append(([(b"\x01" if subscribe else b"\x00") + topic], pipe))
            return True
        return False

    # -- application ----------------------------------------------------------------------------
    def send(self, msg: Message) -> bool:
        subs = self._subs
        invert = self.options.invert_matching
        if not subs.size and not invert:
            return True
        if not msg:
            return True
        first = msg[0]
        if type(first) is not bytes:
            first = bytes(first)
        matched = subs.match(first)
        targets: Iterable[Pipe]
        if invert:
            targets = [p for p in self.pipes if matched is None or p not in matched]
        elif matched is None:
            return True
        else:
            # a copy: writing may flush at once and find a subscriber gone, which removes it from
            # the live set we would otherwise be iterating
            targets = tuple(matched)
        if self.options.xpub_nodrop:
            for pipe in targets:
                if not pipe.writable():
                    return False
        if len(targets) > 1 and type(msg) is list and sum(map(len, msg)) < _ENCODE_ONCE_MAX:
            msg = EncodedMessage(msg)  # encoded here once, not once per subscriber
        for pipe in targets:
            if pipe.writable():
                pipe.write(msg)
        return True

    def recv(self) -> Optional[Message]:
        pending = self._pending
        if not pending:
            return None
        msg, pipe = pending.popleft()
        if self.options.xpub_manual:
            # xpub.cpp xrecv: later subscribe()/unsubscribe() calls apply to this peer
            self._last_pipe = pipe if pipe is not None and pipe.pattern is self else None
        return msg

    def can_send(self) -> bool:
        return True

    def can_recv(self) -> bool:
        return bool(self._pending)

    def subscribe(self, topic: bytes) -> None:
        """XPUB_MANUAL: subscribe the peer of the last received message to ``topic``."""
        if not self.options.xpub_manual:
            raise ZMQError(Errno.EINVAL)
        if self._last_pipe is not None:
            self._subs.add(bytes(topic), self._last_pipe)

    def unsubscribe(self, topic: bytes) -> None:
        """XPUB_MANUAL: cancel ``topic`` for the peer of the last received message."""
        if not self.options.xpub_manual:
            raise ZMQError(Errno.EINVAL)
        if self._last_pipe is not None:
            self._subs.rm(bytes(topic), self._last_pipe)


class Pub(XPub):
    """RFC 29 section 2.2 (src/pub.cpp): XPUB that never receives (recv raises ENOTSUP).

    Messages a subscriber sends that are not subscriptions are read and dropped so they cannot
    fill the pipe.
    """

    socket_type_name = "PUB"
    _is_pub = True

    def recv(self) -> Optional[Message]:
        not_supported()

    def can_recv(self) -> bool:
        return False


class XSub(Pattern):
    """RFC 29 section 2.5 (src/xsub.cpp): SUB whose subscriptions are messages from the application.

    send: each frame ``b"\\x01" + topic`` subscribes (always forwarded to every peer, counted); each
    ``b"\\x00" + topic`` cancels (forwarded only when the count reaches zero; unknown topics are
    ignored); other frames go to every peer as a message (pipes at SNDHWM miss it).  Subscriptions
    are queued as :class:`SubscriptionChange` items, bypassing SNDHWM, and every new peer first gets
    all current subscriptions (how they survive a reconnect).  recv: fair-queued, unfiltered.
    """

    socket_type_name = "XSUB"

    def __init__(self, options: Options, *, id_seed: int = 0) -> None:
        super().__init__(options, id_seed=id_seed)
        self._fq = FairQueue()
        self._subs = TopicCounts()

    def attach(self, pipe: Pipe) -> bool:
        super().attach(pipe)
        for topic in self._subs:
            pipe.write(SubscriptionChange(topic, True))
        self._fq.attach(pipe)
        self.signal()
        return True

    def detach(self, pipe: Pipe) -> None:
        self._fq.detach(pipe)
        super().detach(pipe)

    def pipe_readable(self, pipe: Pipe) -> None:
        self._fq.activated(pipe)
        self.signal()

    def _send_subscription(self, topic: bytes, subscribe: bool) -> None:
        change = SubscriptionChange(topic, subscribe)
        for pipe in self.pipes:
            pipe.write(change)

    def _add(self, topic: bytes) -> None:
        # xsub.cpp: every subscribe goes upstream (the XPUB side de-duplicates; XPUB_VERBOSE
        # proxies rely on seeing them all); only the last cancel does
        self._subs.add(topic)
        self._send_subscription(topic, True)

    def _rm(self, topic: bytes) -> None:
        if self._subs.rm(topic):
            self._send_subscription(topic, False)

    def send(self, msg: Message) -> bool:
        data: Message = []
        for frame in msg:
            if len(frame) and frame[0] <= 1:
                if frame[0] == 1:
                    self._add(bytes(frame[1:]))
                else:
                    self._rm(bytes(frame[1:]))
            else:
                data.append(frame)
        if data:
            for pipe in self.pipes:
                if pipe.writable():
                    pipe.write(data)
        return True

    def recv(self) -> Optional[Message]:
        return self._fq.recv()

    def can_send(self) -> bool:
        return True

    def can_recv(self) -> bool:
        return self._fq.has_in()


class Sub(XSub):
    """RFC 29 section 2.4 (src/sub.cpp): subscribe/unsubscribe by method, filtered receive.

    recv drops whole messages whose first frame matches no subscription (INVERT_MATCHING: matches
    one).  With CONFLATE each peer contributes only its newest message, filtered after conflation as
    in libzmq.  send raises ENOTSUP.
    """

    socket_type_name = "SUB"

    def __init__(self, options: Options, *, id_seed: int = 0) -> None:
        super().__init__(options, id_seed=id_seed)
        self._prefetched: Optional[Message] = None

    def subscribe(self, topic: bytes) -> None:
        """ZMQ_SUBSCRIBE: counted; each call is sent upstream (sub.cpp -> xsub.cpp ``xsend``)."""
        self._add(bytes(topic))

    def unsubscribe(self, topic: bytes) -> None:
        """ZMQ_UNSUBSCRIBE: the CANCEL goes upstream when the last subscription to ``topic`` goes."""
        self._rm(bytes(topic))

    def send(self, msg: Message) -> bool:
        not_supported()

    def can_send(self) -> bool:
        return False

    def _next_match(self) -> Optional[Message]:
        fq = self._fq
        subs = self._subs
        invert = self.options.invert_matching
        conflate = self.options.conflate
        while True:
            msg = fq.recv_last() if conflate else fq.recv()
            if msg is None:
                return None
            first = msg[0]
            if type(first) is not bytes:
                first = bytes(first)
            if subs.check(first) != invert:
                return msg

    def recv(self) -> Optional[Message]:
        msg = self._prefetched
        if msg is not None:
            self._prefetched = None
            return msg
        return self._next_match()

    def can_recv(self) -> bool:
        if self._prefetched is None:
            self._prefetched = self._next_match()
        return self._prefetched is not None
