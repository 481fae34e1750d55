"""Socket monitors (``zmq_socket_monitor``): a socket's connection events published on a PAIR.

Each event is libzmq's v1 message: a 6-byte frame (event number as u16, value as u32, native byte
order, no padding) and a frame with the endpoint, so :func:`zmtp.utils.monitor.recv_monitor_message`
and pyzmq's own parser read it.  The monitored socket's core reports events through its ``monitor``
hook (transports call :meth:`SocketCore.transport_event`); here they become messages on an internal
inproc PAIR bound at the address the application chose, which it reads with a PAIR of its own
(``get_monitor_socket``).

As in libzmq (src/socket_base.cpp ``monitor``/``stop_monitor``): only inproc addresses (else
EPROTONOSUPPORT) and only the 16 v1 event bits (else EINVAL); a second ``monitor()`` replaces the first
(which says MONITOR_STOPPED); the monitor stops, with MONITOR_STOPPED as its last event, when the
application stops it, when the socket is closed (once it is done lingering), and when the context
terminates.  The internal PAIR is zmtp's own: it never counts as an open socket of the context.

One deliberate difference: libzmq sends monitor events without ZMQ_DONTWAIT (``monitor_event``), so
its socket blocks, I/O thread and all, while the reader lags by a whole HWM or has not connected yet;
zmtp drops the event instead.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from .constants import Errno, Event, SocketOption, SocketType
from .core import SocketCore
from .error import ContextTerminated, ZMQError
from .transport.endpoint import parse_endpoint

if TYPE_CHECKING:
    from .engine import Engine

_HEADER = struct.Struct("=HI")
_MONITOR_STOPPED = int(Event.MONITOR_STOPPED)


class _Monitor:
    """The sink a monitored core calls (lock held): turns events into messages on the internal PAIR."""

    __slots__ = ("pair", "mask")

    def __init__(self, pair: SocketCore, mask: int) -> None:
        self.pair = pair
        self.mask = mask

    def __call__(self, event: int, value: int, endpoint: str, reason: str = "") -> None:
        pair = self.pair
        if not event & self.mask or pair.closed:
            return
        msg = [_HEADER.pack(event, value & 0xFFFFFFFF), endpoint.encode("utf-8", "surrogateescape")]
        pair.pattern.send(msg)  # dropped if the reader lags or is not there (libzmq: ZMQ_DONTWAIT)

    def stop(self) -> None:
        self(_MONITOR_STOPPED, 0, "")
        self.pair.close(0)


def start_monitor(engine: Engine, core: SocketCore, addr: str, events: int) -> None:
    """Start publishing ``core``'s events matching ``events`` on a PAIR bound at ``addr`` (inproc)."""
    if parse_endpoint(addr).transport != "inproc":
        raise ZMQError(Errno.EPROTONOSUPPORT, f"socket monitors publish on inproc:// only, not {addr!r}")
    mask = int(events)
    if mask >> 16 or mask < 0:
        raise ZMQError(Errno.EINVAL, f"monitor events {mask:#x} are not v1 events (at most 0xffff)")
    if engine.terminated:
        raise ContextTerminated()
    pair = engine.internal_socket(SocketType.PAIR)
    with core.lock:
        core.stop_monitor()
        try:
            pair.set_option(SocketOption.LINGER, 0)  # never hold up termination (libzmq does the same)
            pair.bind(addr)
        except ZMQError:
            pair.close(0)
            raise
        core.monitor = _Monitor(pair, mask)


def stop_monitor(core: SocketCore) -> None:
    """Stop monitoring ``core``: MONITOR_STOPPED is the last event, then the PAIR closes."""
    with core.lock:
        core.stop_monitor()


__all__ = ["start_monitor", "stop_monitor"]
