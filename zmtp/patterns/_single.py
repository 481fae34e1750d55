"""What the thread-safe (draft) patterns share: single-part messages in, fair-queued single-part out.

RFC 41/48/49/51/52 all say "MUST NOT allow multipart messages".  libzmq enforces it on both sides:

* sending: every ``xsend`` of these types starts with ``if (msg_->flags () & msg_t::more) { errno =
  EINVAL; return -1; }`` (client.cpp, server.cpp, radio.cpp, scatter.cpp, channel.cpp), so a
  multipart message is refused whole before anything is queued.
* receiving: CLIENT, SERVER, PEER, GATHER and CHANNEL silently drop a multipart message a
  misbehaving peer sent and keep the connection (the "Drop any messages with more flag" loop of
  their ``xrecv``); DISH instead drops the *connection* (see radiodish.py).
"""

from __future__ import annotations

from typing import Optional, Tuple

from ..constants import Errno
from ..error import ZMQError
from ..options import Options
from .base import Pattern
from .pipe import Message, Pipe, SingleMessage
from .queues import FairQueue


def single_frame(msg: Message) -> bytes:
    """The one frame of ``msg``; EINVAL for a multipart message (libzmq's xsend on MORE)."""
    if len(msg) != 1:
        raise ZMQError(Errno.EINVAL, "thread-safe sockets send single-part messages only")
    body = msg[0]
    return body if type(body) is bytes else bytes(body)


class SingleReceiver(Pattern):
    """Base of the types that receive: fair-queued, multipart dropped, one message prefetched.

    The prefetch makes ``can_recv`` (POLLIN) exact: libzmq's ``fq.has_in`` is also true for a
    multipart message that ``recv`` will then drop, so its POLLIN can wake a reader for nothing.
    """

    thread_safe = True

    def __init__(self, options: Options, *, id_seed: int = 0) -> None:
        super().__init__(options, id_seed=id_seed)
        self._fq = FairQueue()
        self._prefetched: Optional[SingleMessage] = None

    def attach(self, pipe: Pipe) -> bool:
        super().attach(pipe)
        self._fq.attach(pipe)
        self.signal()
        return True

    def detach(self, pipe: Pipe) -> None:
        self._fq.detach(pipe)
        super().detach(pipe)

    def pipe_readable(self, pipe: Pipe) -> None:
        self._fq.activated(pipe)
        self.signal()

    def _next_part(self) -> Optional[Tuple[bytes, Pipe]]:
        """The next single-part message and its pipe; multipart ones are dropped."""
        fq = self._fq
        while True:
            got = fq.recv_pipe()
            if got is None:
                return None
            msg, pipe = got
            if len(msg) == 1:
                body = msg[0]
                return (body if type(body) is bytes else bytes(body)), pipe

    def _next(self) -> Optional[SingleMessage]:
        got = self._next_part()
        if got is None:
            return None
        return SingleMessage(got[0])

    def recv_single(self) -> Optional[SingleMessage]:
        msg = self._prefetched
        if msg is not None:
            self._prefetched = None
            return msg
        return self._next()

    def recv(self) -> Optional[Message]:
        msg = self.recv_single()
        return None if msg is None else [msg.body]

    def can_recv(self) -> bool:
        if self._prefetched is None:
            self._prefetched = self._next()
        return self._prefetched is not None
