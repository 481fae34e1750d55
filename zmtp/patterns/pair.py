"""PAIR (RFC 31, EXPAIR; libzmq src/pair.cpp): exactly one peer, no routing, no filtering.

A second peer is refused (``attach`` returns False and the transport closes it), as pair.cpp
terminates every pipe after the first.  send blocks when there is no peer or it is at SNDHWM.
"""

from __future__ import annotations

from typing import Optional

from ..options import Options
from .base import Pattern
from .pipe import Message, Pipe


class Pair(Pattern):
    socket_type_name = "PAIR"

    def __init__(self, options: Options, *, id_seed: int = 0) -> None:
        super().__init__(options, id_seed=id_seed)
        self._pipe: Optional[Pipe] = None

    def attach(self, pipe: Pipe) -> bool:
        old = self._pipe
        if old is not None:
            if not old.closed:
                return False
            # The peer left and only its unread messages keep its pipe: a new peer takes its place
            # (libzmq has dropped those messages by then).  Holding on would refuse every new peer
            # while the application, blocked sending to the dead one, never reads them.
            self.detach(old)
        super().attach(pipe)
        self._pipe = pipe
        self.signal()
        return True

    def detach(self, pipe: Pipe) -> None:
        if pipe is self._pipe:
            self._pipe = None
            super().detach(pipe)

    def send(self, msg: Message) -> bool:
        pipe = self._pipe
        if pipe is None or not pipe.writable():
            return False
        pipe.write(msg)
        return True

    def recv(self) -> Optional[Message]:
        pipe = self._pipe
        if pipe is None:
            return None
        return pipe.read()

    def can_send(self) -> bool:
        pipe = self._pipe
        return pipe is not None and pipe.writable()

    def can_recv(self) -> bool:
        pipe = self._pipe
        return pipe is not None and bool(pipe.inbound)
