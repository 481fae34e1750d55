"""inproc://: two sockets of one context joined by a pair of pipes, no wire encoding at all.

Writing to one end's outbound queue moves the message straight into the other end's inbound queue,
while that has room (RCVHWM); the rest waits on the writer's side (SNDHWM), so the two bounds add up
as in libzmq.  Connecting before the name is bound works (libzmq 4.x): the connecting side's pipe
exists at once and is joined when the bind happens.

The name table (:class:`InprocNames`) belongs to a context but is used only here: sockets bind and
connect through it.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Set

from ..constants import Errno
from ..error import ZMQError
from ..patterns.pipe import GroupChange, Pipe, SubscriptionChange
from .notify import disconnect_message, hello_message
from .owner import Owner


class InprocLink:
    """Joins pipe ``a`` (connecting socket) and pipe ``b`` (binding socket)."""

    def __init__(self, connecter: Owner, endpoint: str) -> None:
        self.connecter = connecter
        self.endpoint = endpoint
        self.binder: Optional[Owner] = None
        self.a = connecter.new_pipe()
        self.b: Optional[Pipe] = None
        self.a.on_outbound = self._pump_a
        self.a.data = self
        self.closed = False

    def join(self, binder: Owner) -> bool:
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
        for pipe, owner in ((self.a, self.connecter), (b, binder)):
            hello = hello_message(owner) if owner.options.hello_msg else b""
            if hello:
                pipe.outbound.appendleft([hello])  # HELLO_MSG: first, before anything queued
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
            if isinstance(item, GroupChange):
                outbound.popleft()
                dst.deliver_group(item.group, item.join)
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
                        elif isinstance(item, GroupChange):
                            dst.deliver_group(item.group, item.join)
                        else:
                            dst.deliver(list(item))
        binder = self.binder
        if b is not None and binder is not None and not binder.closed and binder.options.disconnect_msg:
            bye = disconnect_message(binder)
            if bye:
                b.deliver([bye])  # DISCONNECT_MSG: the bound side's peer is gone
        for pipe, owner in ends:
            pipe.closed = True
            pipe.on_outbound = None
            if not pipe.inbound or owner.closed:
                owner.detach_pipe(pipe)
            else:
                # stays readable until drained, then leaves (detached from the reactor, never from
                # inside the pattern's own read)
                def drained(p: Pipe, owner: Owner = owner) -> None:
                    owner.reactor.call_soon(lambda: owner.detach_pipe(p))

                pipe.on_drained = drained


class InprocNames:
    """One context's inproc name table: who is bound to which name, and who waits for a bind."""

    def __init__(self) -> None:
        self._bound: Dict[str, Owner] = {}
        self._pending: Dict[str, List[InprocLink]] = {}
        #: Links joined to each binder, so that closing the binder closes them.
        self._joined: Dict[int, Set[InprocLink]] = {}

    def bind(self, owner: Owner, name: str) -> None:
        if name in self._bound:
            raise ZMQError(Errno.EADDRINUSE, f"Address already in use: inproc://{name}")
        self._bound[name] = owner
        for link in self._pending.pop(name, []):
            if not link.closed:
                self._join(link, owner)

    def is_bound(self, name: str) -> bool:
        return name in self._bound

    def binder(self, name: str) -> Optional[Owner]:
        """The socket bound to ``name`` now, if any (the ZAP broker notices a new handler by it)."""
        return self._bound.get(name)

    def unbind(self, owner: Owner, name: str) -> None:
        """Forget the name; links already joined stay up, as libzmq keeps established inproc pipes."""
        if self._bound.get(name) is owner:
            del self._bound[name]

    def connect(self, link: InprocLink, name: str) -> None:
        binder = self._bound.get(name)
        if binder is None:
            self._pending.setdefault(name, []).append(link)
            return
        self._join(link, binder)

    def _join(self, link: InprocLink, binder: Owner) -> None:
        if link.join(binder):
            self._joined.setdefault(id(binder), set()).add(link)
        else:
            link.close()

    def forget(self, link: InprocLink) -> None:
        """A link is being closed by its connecting side."""
        for links in self._pending.values():
            if link in links:
                links.remove(link)
        if link.binder is not None:
            joined = self._joined.get(id(link.binder))
            if joined is not None:
                joined.discard(link)

    def close_owner(self, owner: Owner) -> None:
        """``owner`` closed: drop its names and close every link joined to it or waiting from it."""
        for name in [n for n, o in self._bound.items() if o is owner]:
            del self._bound[name]
        for link in self._joined.pop(id(owner), set()):
            link.close()
        for name, links in list(self._pending.items()):
            keep = [link for link in links if link.connecter is not owner]
            if keep:
                self._pending[name] = keep
            else:
                del self._pending[name]


__all__ = ["InprocLink", "InprocNames"]
