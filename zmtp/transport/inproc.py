"""inproc://: two sockets of one context joined by a pair of pipes, no wire encoding at all.

Writing to one end's outbound queue moves the message straight into the other end's inbound queue,
while that has room (RCVHWM); the rest waits on the writer's side (SNDHWM), so the two bounds add up
as in libzmq.  Connecting before the name is bound works (libzmq 4.x): the connecting side's pipe
exists at once and is joined when the bind happens.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from ..patterns.pipe import Pipe, SubscriptionChange

if TYPE_CHECKING:
    from ..socket import Socket


class InprocLink:
    """Joins pipe ``a`` (connecting socket) and pipe ``b`` (binding socket)."""

    def __init__(self, connecter: Socket, endpoint: str) -> None:
        self.connecter = connecter
        self.endpoint = endpoint
        self.binder: Optional[Socket] = None
        self.a = connecter.new_pipe()
        self.b: Optional[Pipe] = None
        self.a.on_outbound = self._pump_a
        self.a.data = self
        self.closed = False

    def join(self, binder: Socket) -> bool:
        """The name is bound: create the binder's end and attach both."""
        self.binder = binder
        b = binder.new_pipe()
        b.on_outbound = self._pump_b
        b.data = self
        b.on_inbound_space = lambda _p: self._move(self.a, b)
        self.a.on_inbound_space = lambda _p: self._move(b, self.a)
        b.peer_identity = self.connecter.options.routing_id
        b.peer_socket_type = self.connecter.type_name
        self.a.peer_identity = binder.options.routing_id
        self.a.peer_socket_type = binder.type_name
        self.b = b
        if not binder.attach_pipe(b):
            self.b = None
            return False
        if self.a.pattern is None and not self.connecter.attach_pipe(self.a):
            binder.detach_pipe(b)
            self.b = None
            return False
        self._move(self.a, b)
        self._move(b, self.a)
        return True

    def _pump_a(self, pipe: Pipe) -> None:
        if self.b is not None:
            self._move(self.a, self.b)

    def _pump_b(self, pipe: Pipe) -> None:
        if self.b is not None:
            self._move(self.b, self.a)

    @staticmethod
    def _move(src: Pipe, dst: Pipe) -> None:
        """Move items from ``src``'s outbound to ``dst``'s inbound while there is room."""
        outbound = src.outbound
        if not outbound or dst.closed:
            return
        hwm = src.sndhwm
        was_full = hwm > 0 and len(outbound) >= hwm
        while outbound:
            item = outbound[0]
            if isinstance(item, SubscriptionChange):
                outbound.popleft()
                dst.deliver_subscription(item.topic, item.subscribe)
                continue
            if not dst.can_deliver():
                break
            outbound.popleft()
            dst.deliver(list(item))
        if was_full and len(outbound) < hwm and src.pattern is not None:
            src.pattern.pipe_writable(src)

    def close(self) -> None:
        """Either side closed or disconnected: both ends leave their patterns.

        A pipe that still holds received messages stays readable until drained, as libzmq delivers
        what had arrived before the peer went away.
        """
        if self.closed:
            return
        self.closed = True
        ends = [(self.a, self.connecter)]
        b = self.b
        if b is not None and self.binder is not None:
            ends.append((b, self.binder))
            # What either side sent is the reader's now, beyond RCVHWM if need be: an inproc pipe is
            # one queue in libzmq, and closing the writer does not take back what it wrote.
            for src, dst, reader in ((self.a, b, self.binder), (b, self.a, self.connecter)):
                if not reader.closed:
                    while src.outbound:
                        item = src.outbound.popleft()
                        if isinstance(item, SubscriptionChange):
                            dst.deliver_subscription(item.topic, item.subscribe)
                        else:
                            dst.deliver(list(item))
        for pipe, owner in ends:
            pipe.closed = True
            pipe.on_outbound = None
            if not pipe.inbound or owner.closed:
                owner.detach_pipe(pipe)
            else:
                # stays readable until drained, then leaves (detached from the reactor, never from
                # inside the pattern's own read)
                def drained(p: Pipe, owner: Socket = owner) -> None:
                    owner.reactor.call_soon(lambda: owner.detach_pipe(p))

                pipe.on_drained = drained
