"""CLIENT and SERVER (RFC 41, CLISRV; libzmq src/client.cpp, src/server.cpp), and PEER (RFC 51, P2P;
src/peer.cpp), which is a SERVER that can also connect.

CLIENT is a single-part DEALER: round-robin out (blocks when no peer can take the message), fair-queue
in.  SERVER gives every peer a routing id, a non-zero 32-bit integer (RFC 41: "SHALL identify each
double queue using a unique routing id"), reports it with each received message and routes each sent
message by it: EHOSTUNREACH when no peer has it, would-block (EAGAIN, or wait) when that peer is at
SNDHWM -- never a silent drop, unlike ROUTER.
"""

from __future__ import annotations

from typing import Dict, Optional

from ..constants import Errno
from ..error import ZMQError
from ..options import Options
from ._single import SingleReceiver, single_frame
from .pipe import Message, Pipe, SingleMessage
from .queues import LoadBalancer


class Client(SingleReceiver):
    """RFC 41 "The CLIENT Socket Type" (src/client.cpp)."""

    socket_type_name = "CLIENT"

    def __init__(self, options: Options, *, id_seed: int = 0) -> None:
        super().__init__(options, id_seed=id_seed)
        self._lb = LoadBalancer()

    def attach(self, pipe: Pipe) -> bool:
        self._lb.attach(pipe)
        return super().attach(pipe)

    def detach(self, pipe: Pipe) -> None:
        self._lb.detach(pipe)
        super().detach(pipe)

    def send(self, msg: Message) -> bool:
        return self.send_single(single_frame(msg))

    def send_single(self, body: bytes, routing_id: int = 0, group: bytes = b"") -> bool:
        # RFC 41: "SHALL block on sending ... when it has no available peers"
        return self._lb.send([body]) is not None

    def can_send(self) -> bool:
        return self._lb.has_out()

    def pipe_writable(self, pipe: Pipe) -> None:
        self._lb.activated(pipe)
        self.signal()


class Server(SingleReceiver):
    """RFC 41 "The SERVER Socket Type" (src/server.cpp).

    Routing ids come from a 32-bit counter starting at ``id_seed`` (libzmq: ``generate_random ()``)
    that skips 0 ("Never use Routing ID zero") and, unlike libzmq after a wrap-around, ids in use.
    The id lives on the pipe (:attr:`Pipe.server_routing_id`) as in libzmq.  POLLOUT is always true
    (server.cpp ``xhas_out``: whether a send succeeds depends on the message's routing id).
    """

    socket_type_name = "SERVER"

    def __init__(self, options: Options, *, id_seed: int = 0) -> None:
        super().__init__(options, id_seed=id_seed)
        self._out: Dict[int, Pipe] = {}
        self._next_id = id_seed & 0xFFFFFFFF
        #: The routing id given to the most recently attached pipe (PEER's ``connect_peer``).
        self.last_routing_id = 0

    def _generate_id(self) -> int:
        out = self._out
        while True:
            rid = self._next_id
            self._next_id = (rid + 1) & 0xFFFFFFFF
            if rid and rid not in out:
                return rid

    def attach(self, pipe: Pipe) -> bool:
        rid = self._generate_id()
        pipe.server_routing_id = rid
        self._out[rid] = pipe
        self.last_routing_id = rid
        return super().attach(pipe)

    def detach(self, pipe: Pipe) -> None:
        out = self._out
        if out.get(pipe.server_routing_id) is pipe:
            del out[pipe.server_routing_id]
        super().detach(pipe)

    def send(self, msg: Message) -> bool:
        # a message without a routing id has id 0, which no peer has (EHOSTUNREACH)
        return self.send_single(single_frame(msg))

    def send_single(self, body: bytes, routing_id: int = 0, group: bytes = b"") -> bool:
        pipe = self._out.get(routing_id)
        if pipe is None or pipe.closed:
            raise ZMQError(Errno.EHOSTUNREACH)
        if not pipe.writable():
            return False  # RFC 41: "SHALL block on sending, if the queue is full"
        pipe.write([body])
        return True

    def _next(self) -> Optional[SingleMessage]:
        got = self._next_part()
        if got is None:
            return None
        return SingleMessage(got[0], got[1].server_routing_id)

    def can_send(self) -> bool:
        return True

    def route(self, routing_id: int) -> Optional[Pipe]:
        """The pipe holding ``routing_id`` (for the socket layer's diagnostics and tests)."""
        return self._out.get(routing_id)


class Peer(Server):
    """RFC 51 "The PEER Socket Type" (src/peer.cpp): a SERVER whose application also connects.

    ``connect_peer(endpoint)`` (socket layer) connects and returns :attr:`last_routing_id`: the pipe
    of a connect is attached at once, before any TCP connection, so its id is known immediately and
    stays the same across reconnections (libzmq keeps the session's pipe).  libzmq refuses
    ``connect_peer`` with EFAULT when ZMQ_IMMEDIATE is set, as the pipe would then wait for the
    connection.  PEERs only talk to PEERs (the READY Socket-Type check).
    """

    socket_type_name = "PEER"
