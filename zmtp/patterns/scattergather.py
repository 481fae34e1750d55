"""SCATTER and GATHER (RFC 49, SCATTERGATHER; libzmq src/scatter.cpp, src/gather.cpp).

The thread-safe PUSH/PULL: SCATTER round-robins single-part messages over the peers that can take
one and blocks when none can (RFC 49: "SHALL block on sending ... when it has no available peers");
GATHER fair-queues and drops multipart messages.  recv on SCATTER and send on GATHER are ENOTSUP
(libzmq's default ``xrecv``/``xsend``), checked before the message's shape.  ZMQ_CONFLATE has no
effect on either in libzmq 4.3.5 (socket_base.cpp limits it to DEALER, PULL, PUSH, PUB, SUB).
"""

from __future__ import annotations

from typing import Optional

from ..options import Options
from ._common import not_supported
from ._single import SingleReceiver, single_frame
from .base import Pattern
from .pipe import Message, Pipe, SingleMessage
from .queues import LoadBalancer


class Scatter(Pattern):
    """RFC 49 "The SCATTER Socket Type"."""

    socket_type_name = "SCATTER"
    thread_safe = True

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
        return self.send_single(single_frame(msg))

    def send_single(self, body: bytes, routing_id: int = 0, group: bytes = b"") -> bool:
        return self._lb.send([body]) is not None

    def recv(self) -> Optional[Message]:
        not_supported()

    def recv_single(self) -> Optional[SingleMessage]:
        not_supported()

    def can_send(self) -> bool:
        return self._lb.has_out()

    def can_recv(self) -> bool:
        return False

    def pipe_writable(self, pipe: Pipe) -> None:
        self._lb.activated(pipe)
        self.signal()


class Gather(SingleReceiver):
    """RFC 49 "The GATHER Socket Type"."""

    socket_type_name = "GATHER"

    def send(self, msg: Message) -> bool:
        not_supported()

    def send_single(self, body: bytes, routing_id: int = 0, group: bytes = b"") -> bool:
        not_supported()

    def can_send(self) -> bool:
        return False
