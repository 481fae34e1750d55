"""CHANNEL (RFC 52; libzmq src/channel.cpp): the thread-safe PAIR.

One peer only (a second is refused: ``attach`` returns False and the transport closes it, as
channel.cpp terminates every pipe after the first); single-part messages; send blocks while there
is no peer or it is at SNDHWM; a multipart message from the peer is dropped (RFC 52: "MUST discard
any part of a multipart message"), the connection kept.
"""

from __future__ import annotations

from typing import Optional

from ..options import Options
from ._single import SingleReceiver, single_frame
from .pipe import Message, Pipe


class Channel(SingleReceiver):
    socket_type_name = "CHANNEL"

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
        self._pipe = pipe
        return super().attach(pipe)

    def detach(self, pipe: Pipe) -> None:
        if pipe is self._pipe:
            self._pipe = None
            super().detach(pipe)

    def send(self, msg: Message) -> bool:
        return self.send_single(single_frame(msg))

    def send_single(self, body: bytes, routing_id: int = 0, group: bytes = b"") -> bool:
        pipe = self._pipe
        if pipe is None or not pipe.writable():
            return False
        pipe.write([body])
        return True

    def can_send(self) -> bool:
        pipe = self._pipe
        return pipe is not None and pipe.writable()
