"""DEALER, ROUTER, REQ and REP (RFC 28, REQREP; libzmq src/dealer.cpp, router.cpp, req.cpp, rep.cpp).

DEALER is the plain asynchronous socket: load-balanced sends, fair-queued receives.  REQ is a DEALER
that adds the empty delimiter frame (and with REQ_CORRELATE a request id before it) and enforces
strict send/recv alternation.  ROUTER addresses peers by routing id: it prepends the sender's id to
each received message and uses the first frame of each sent message to pick the peer.  REP is a
ROUTER that strips and stores the envelope (every frame up to the empty delimiter) of each request
and puts it back in front of the reply.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from ..constants import Errno
from ..error import ZMQError
from ..options import Options
from ._common import bad_state
from .base import Pattern
from .pipe import Message, Pipe
from .queues import FairQueue, LoadBalancer

_PROBE: Message = [b""]


class Dealer(Pattern):
    """RFC 28 section 3.4: round-robin out, fair-queue in; blocks when no peer can take a message."""

    socket_type_name = "DEALER"

    def __init__(self, options: Options, *, id_seed: int = 0) -> None:
        super().__init__(options, id_seed=id_seed)
        self._lb = LoadBalancer()
        self._fq = FairQueue()

    def attach(self, pipe: Pipe) -> bool:
        super().attach(pipe)
        if self.options.probe_router:
            # dealer.cpp xattach_pipe: an empty message lets a ROUTER peer learn about us at once
            pipe.write(list(_PROBE))
        self._fq.attach(pipe)
        self._lb.attach(pipe)
        self.signal()
        return True

    def detach(self, pipe: Pipe) -> None:
        self._fq.detach(pipe)
        self._lb.detach(pipe)
        super().detach(pipe)

    def send(self, msg: Message) -> bool:
        return self._lb.send(msg) is not None

    def recv(self) -> Optional[Message]:
        if self.options.conflate:
            return self._fq.recv_last()
        return self._fq.recv()

    def can_send(self) -> bool:
        return self._lb.has_out()

    def can_recv(self) -> bool:
        return self._fq.has_in()

    def pipe_readable(self, pipe: Pipe) -> None:
        self._fq.activated(pipe)
        self.signal()

    def pipe_writable(self, pipe: Pipe) -> None:
        self._lb.activated(pipe)
        self.signal()


class Req(Dealer):
    """RFC 28 section 3.2, with libzmq's REQ_CORRELATE and REQ_RELAXED (src/req.cpp).

    * send prepends ``b""`` (and with REQ_CORRELATE a 4-byte request id before it); a second send
      before the reply raises EFSM unless REQ_RELAXED, which abandons the outstanding request.
    * recv before a send raises EFSM.  Only replies from the pipe the request went to count, and
      only well-formed ones: ``[id,] b"", body...`` with at least one body frame and, with
      REQ_CORRELATE, the current request id.  Anything else is silently dropped.
    * If the pipe the request went to goes away, req.cpp forgets it (``_reply_pipe = NULL``) and
      keeps waiting: a reply can then only come from another pipe, which normally never happens, so
      the caller blocks until REQ_RELAXED lets it send again (or it closes the socket).

    The request id starts at ``id_seed`` (libzmq starts at a random value) and is encoded in
    little-endian order, as libzmq's ``memcpy`` of a ``uint32_t`` gives on every common platform;
    the peer only echoes it back.  CONFLATE does not apply to REQ (libzmq conflates DEALER only).
    """

    socket_type_name = "REQ"

    def __init__(self, options: Options, *, id_seed: int = 0) -> None:
        super().__init__(options, id_seed=id_seed)
        self._receiving_reply = False
        self._reply_pipe: Optional[Pipe] = None
        self._request_id = id_seed & 0xFFFFFFFF
        self._request_id_frame = b""
        self._prefetched: Optional[Message] = None

    def detach(self, pipe: Pipe) -> None:
        if pipe is self._reply_pipe:
            self._reply_pipe = None
        super().detach(pipe)

    def send(self, msg: Message) -> bool:
        if self._receiving_reply:
            if not self.options.req_relaxed:
                bad_state()
            # REQ_RELAXED: abandon the outstanding request (req.cpp xsend)
            self._receiving_reply = False
            self._reply_pipe = None
            self._prefetched = None
        if self.options.req_correlate:
            request_id = (self._request_id + 1) & 0xFFFFFFFF
            id_frame = request_id.to_bytes(4, "little")
            pipe = self._lb.send([id_frame, b"", *msg])
            if pipe is None:
                return False
            self._request_id = request_id
            self._request_id_frame = id_frame
        else:
            pipe = self._lb.send([b"", *msg])
            if pipe is None:
                return False
        self._reply_pipe = pipe
        self._receiving_reply = True
        return True

    def _next_reply(self) -> Optional[Message]:
        """Read until a valid reply to the current request appears; drop everything else."""
        correlate = self.options.req_correlate
        while True:
            got = self._fq.recv_pipe()
            if got is None:
                return None
            msg, pipe = got
            reply_pipe = self._reply_pipe
            if reply_pipe is not None and pipe is not reply_pipe:
                continue
            start = 0
            if correlate:
                if len(msg) < 2 or msg[0] != self._request_id_frame:
                    continue
                start = 1
            # the delimiter must come next and must not be the last frame (it carries MORE)
            if len(msg) < start + 2 or len(msg[start]) != 0:
                continue
            return msg[start + 1:]

    def recv(self) -> Optional[Message]:
        if not self._receiving_reply:
            bad_state()
        reply = self._prefetched
        if reply is not None:
            self._prefetched = None
        else:
            reply = self._next_reply()
            if reply is None:
                return None
        self._receiving_reply = False
        self._reply_pipe = None
        return reply

    def can_send(self) -> bool:
        if self._receiving_reply and not self.options.req_relaxed:
            return False
        return self._lb.has_out()

    def can_recv(self) -> bool:
        if not self._receiving_reply:
            return False
        if self._prefetched is None:
            self._prefetched = self._next_reply()
        return self._prefetched is not None


class Router(Pattern):
    """RFC 28 section 3.5 with libzmq's routing-id rules (src/router.cpp ``identify_peer``).

    A peer's routing id is the Identity it announced, or else a generated 5-byte id: ``b"\\x00"`` and a
    big-endian 32-bit counter starting at ``id_seed`` (libzmq: ``_next_integral_routing_id``, seeded
    at random).  An announced identity already in use refuses the new peer (``attach`` returns False)
    unless ROUTER_HANDOVER, where the new peer takes the id, the old one gets a generated id and is
    closed (:attr:`close_pipe`).  libzmq 4.3 does not reject announced identities starting with a
    zero byte; we do not either, but generated ids skip values already in use.

    send: the first frame selects the peer and is stripped.  Unknown peer: dropped, or EHOSTUNREACH
    with ROUTER_MANDATORY.  Peer at SNDHWM: dropped, or False (EAGAIN) with ROUTER_MANDATORY.  A
    message of one frame only (an id with no body) is dropped, as router.cpp does.
    """

    socket_type_name = "ROUTER"

    def __init__(self, options: Options, *, id_seed: int = 0) -> None:
        super().__init__(options, id_seed=id_seed)
        self._fq = FairQueue()
        self._out: Dict[bytes, Pipe] = {}
        self._next_id = id_seed & 0xFFFFFFFF

    def _generate_id(self) -> bytes:
        out = self._out
        while True:
            rid = b"\x00" + self._next_id.to_bytes(4, "big")
            self._next_id = (self._next_id + 1) & 0xFFFFFFFF
            if rid not in out:
                return rid

    def attach(self, pipe: Pipe) -> bool:
        rid = bytes(pipe.peer_identity)
        displaced: Optional[Pipe] = None
        if rid:
            displaced = self._out.get(rid)
            if displaced is not None:
                if not self.options.router_handover:
                    return False
                new_id = self._generate_id()
                displaced.routing_id = new_id
                self._out[new_id] = displaced
        else:
            rid = self._generate_id()
        super().attach(pipe)
        if self.options.probe_router:
            pipe.write(list(_PROBE))
        pipe.routing_id = rid
        self._out[rid] = pipe
        self._fq.attach(pipe)
        if displaced is not None:
            self.close_pipe(displaced)
        self.signal()
        return True

    def detach(self, pipe: Pipe) -> None:
        out = self._out
        if out.get(pipe.routing_id) is pipe:
            del out[pipe.routing_id]
        self._fq.detach(pipe)
        super().detach(pipe)

    def send(self, msg: Message) -> bool:
        if len(msg) < 2:
            return True
        rid = msg[0]
        if type(rid) is not bytes:
            rid = bytes(rid)
        pipe = self._out.get(rid)
        if pipe is None:
            if self.options.router_mandatory:
                raise ZMQError(Errno.EHOSTUNREACH)
            return True
        if pipe.writable() and not pipe.closed:
            pipe.write(msg[1:])
            return True
        if self.options.router_mandatory:
            if pipe.closed:
                raise ZMQError(Errno.EHOSTUNREACH)
            return False
        return True

    def recv(self) -> Optional[Message]:
        got = self._fq.recv_pipe()
        if got is None:
            return None
        msg, pipe = got
        return [pipe.routing_id, *msg]

    def can_send(self) -> bool:
        if not self.options.router_mandatory:
            return True
        return any(pipe.writable() for pipe in self.pipes)

    def can_recv(self) -> bool:
        return self._fq.has_in()

    def pipe_readable(self, pipe: Pipe) -> None:
        self._fq.activated(pipe)
        self.signal()

    def route(self, routing_id: bytes) -> Optional[Pipe]:
        """The pipe currently holding ``routing_id`` (for the socket layer's diagnostics and tests)."""
        return self._out.get(routing_id)


class Rep(Router):
    """RFC 28 section 3.3 (src/rep.cpp): recv, then send, in strict alternation (EFSM otherwise).

    recv strips the envelope (every frame up to and including the first empty frame) and remembers
    it with the sender's routing id; a request with no delimiter, or with nothing after it, is
    malformed and dropped.  send puts the envelope back and routes by the remembered id, as rep.cpp
    does through router.cpp: if that peer is gone or at SNDHWM the reply is silently dropped.
    """

    socket_type_name = "REP"

    def __init__(self, options: Options, *, id_seed: int = 0) -> None:
        super().__init__(options, id_seed=id_seed)
        self._sending_reply = False
        self._envelope: Message = []
        self._reply_to = b""
        self._prefetched: Optional[Tuple[Message, Message, bytes]] = None

    def _next_request(self) -> Optional[Tuple[Message, Message, bytes]]:
        while True:
            got = self._fq.recv_pipe()
            if got is None:
                return None
            msg, pipe = got
            last = len(msg) - 1
            i = 0
            while i < last and len(msg[i]) != 0:
                i += 1
            if i >= last:
                continue  # no delimiter before the last frame: malformed
            return msg[i + 1:], msg[:i + 1], pipe.routing_id

    def recv(self) -> Optional[Message]:
        if self._sending_reply:
            bad_state()
        got = self._prefetched
        if got is not None:
            self._prefetched = None
        else:
            got = self._next_request()
            if got is None:
                return None
        body, self._envelope, self._reply_to = got
        self._sending_reply = True
        return body

    def send(self, msg: Message) -> bool:
        if not self._sending_reply:
            bad_state()
        self._sending_reply = False
        envelope = self._envelope
        self._envelope = []
        pipe = self._out.get(self._reply_to)
        if pipe is not None and pipe.writable() and not pipe.closed:
            reply: List[bytes] = envelope
            reply.extend(msg)
            pipe.write(reply)
        return True

    def can_send(self) -> bool:
        return self._sending_reply

    def can_recv(self) -> bool:
        if self._sending_reply:
            return False
        if self._prefetched is None:
            self._prefetched = self._next_request()
        return self._prefetched is not None
