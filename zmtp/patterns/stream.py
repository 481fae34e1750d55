"""STREAM: a ZeroMQ socket talking raw TCP to peers that are not ZeroMQ (libzmq src/stream.cpp).

There is no ZMTP on these connections: the transport hands the pattern whatever bytes arrive, each
read as one message, and writes what the application sends as is.  Every message the application sees
is two frames, ``[routing_id, data]``: the routing id names the connection (a generated 5-byte id,
``b"\\x00"`` and a 32-bit counter, as ROUTER's; or CONNECT_ROUTING_ID for an outgoing connection), and
an empty ``data`` frame says the connection was just made or just lost (STREAM_NOTIFY, on by default).
Sending ``[routing_id, data]`` writes ``data`` to that connection; an empty ``data`` closes it.  An
unknown routing id is EHOSTUNREACH; a connection at SNDHWM is EAGAIN (stream_t::xsend).
"""

from __future__ import annotations

from typing import Dict, Optional

from ..constants import Errno
from ..error import ZMQError
from ..options import Options
from .base import Pattern
from .pipe import Message, Pipe
from .queues import FairQueue

#: What the transport writes on a pipe to ask for the connection to be closed (an empty data frame).
CLOSE_REQUEST: Message = [b""]


class StreamPattern(Pattern):
    """libzmq's stream_t over pipes; the transport below is raw (see the module docstring)."""

    socket_type_name = "STREAM"

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
        """A connection exists.  The transport set ``pipe.routing_id`` to CONNECT_ROUTING_ID for an
        outgoing connection that asked for one (refused when that id is taken)."""
        rid = pipe.routing_id
        if rid:
            if rid in self._out:
                return False
        else:
            rid = pipe.routing_id = self._generate_id()
        super().attach(pipe)
        self._out[rid] = pipe
        self._fq.attach(pipe)
        return True

    def detach(self, pipe: Pipe) -> None:
        if self._out.get(pipe.routing_id) is pipe:
            del self._out[pipe.routing_id]
        self._fq.detach(pipe)
        super().detach(pipe)

    def send(self, msg: Message) -> bool:
        if len(msg) != 2:
            # libzmq takes the id frame, then one data frame; anything else is a usage error here
            raise ZMQError(Errno.EINVAL, "STREAM messages are [routing_id, data]")
        rid = bytes(msg[0])
        pipe = self._out.get(rid)
        if pipe is None or pipe.closed:
            raise ZMQError(Errno.EHOSTUNREACH)
        if not pipe.writable():
            return False
        pipe.write([msg[1]])
        return True

    def recv(self) -> Optional[Message]:
        got = self._fq.recv_pipe()
        if got is None:
            return None
        msg, pipe = got
        return [pipe.routing_id, *msg]

    def can_send(self) -> bool:
        return any(p.writable() for p in self._out.values())

    def can_recv(self) -> bool:
        return self._fq.has_in()

    def pipe_readable(self, pipe: Pipe) -> None:
        self._fq.activated(pipe)
        self.signal()


__all__ = ["StreamPattern", "CLOSE_REQUEST"]
