"""PUSH and PULL (RFC 30, PIPELINE; libzmq src/push.cpp, src/pull.cpp).

PUSH load-balances whole messages over its peers and blocks (send returns False) when there is no
peer or every peer is at SNDHWM; PULL fair-queues from its peers.  Neither can go the other way:
recv on PUSH and send on PULL raise ENOTSUP, as libzmq's default ``xrecv``/``xsend`` do.
"""

from __future__ import annotations

from typing import Deque, Optional

from ..options import Options
from ._common import not_supported
from .base import Pattern
from .pipe import Message, Pipe
from .queues import FairQueue, LoadBalancer


class Push(Pattern):
    """RFC 30 section 2.3: round-robin to available peers; block when none is available."""

    socket_type_name = "PUSH"

    def __init__(self, options: Options, *, id_seed: int = 0) -> None:
        super().__init__(options, id_seed=id_seed)
        self._lb = LoadBalancer()

    def attach(self, pipe: Pipe) -> bool:
        super().attach(pipe)
        self._lb.attach(pipe)
        self.signal()
        return True

    def detach(self, pipe: Pipe) -> None:
        self._lb.detach(pipe)
        super().detach(pipe)

    def send(self, msg: Message) -> bool:
        return self._lb.send(msg) is not None

    def recv(self) -> Optional[Message]:
        not_supported()

    def can_send(self) -> bool:
        return self._lb.has_out()

    def can_recv(self) -> bool:
        return False

    def pipe_writable(self, pipe: Pipe) -> None:
        self._lb.activated(pipe)
        self.signal()


class Pull(Pattern):
    """RFC 30 section 2.4: fair-queue from peers.  CONFLATE keeps each peer's newest message only."""

    socket_type_name = "PULL"

    def __init__(self, options: Options, *, id_seed: int = 0) -> None:
        super().__init__(options, id_seed=id_seed)
        self._fq = FairQueue()

    def attach(self, pipe: Pipe) -> bool:
        super().attach(pipe)
        self._fq.attach(pipe)
        if pipe.inbound:
            self.signal()
        return True

    def detach(self, pipe: Pipe) -> None:
        self._fq.detach(pipe)
        super().detach(pipe)

    def send(self, msg: Message) -> bool:
        not_supported()

    def recv(self) -> Optional[Message]:
        if self.options.conflate:
            return self._fq.recv_last()
        return self._fq.recv()

    def recv_many(self, out: Deque[Message], n: int) -> int:
        return self._fq.recv_many(out, n)

    def can_send(self) -> bool:
        return False

    def can_recv(self) -> bool:
        return self._fq.has_in()

    def pipe_readable(self, pipe: Pipe) -> None:
        self._fq.activated(pipe)
        self.signal()
