"""Future-returning sockets for tornado coroutines (pyzmq's ``zmq.eventloop.future``).

tornado (>= 5) runs on asyncio and its Future *is* :class:`asyncio.Future`, so these are the
:mod:`zmtp.asyncio` classes, driven natively by the loop under the tornado IOLoop.
"""

from __future__ import annotations

from asyncio import CancelledError

from .. import asyncio as _zasyncio


class Socket(_zasyncio.Socket):
    """A socket whose send/recv/poll return futures (awaitable from tornado coroutines)."""

    _repr_cls = "zmtp.eventloop.future.Socket"


class Poller(_zasyncio.Poller):
    """A Poller whose ``poll`` returns a future."""


Socket._poller_class = Poller
Poller._socket_class = Socket


class Context(_zasyncio.Context):
    """A context whose sockets are :class:`Socket`."""

    _socket_class = Socket
    _instance = None
    _repr_cls = "zmtp.eventloop.future.Context"


__all__ = ["Context", "Socket", "Poller", "CancelledError"]
