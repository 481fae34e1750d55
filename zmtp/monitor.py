"""Socket monitors (``zmq_socket_monitor``): a socket's connection events published on a PAIR.

Each event is libzmq's v1 message: a 6-byte frame (event number as u16, value as u32, native byte
order, no padding) and a frame with the endpoint.  The monitored socket's core reports events through
its ``monitor`` hook (transports call :meth:`SocketCore.transport_event`); here they become messages on
an inproc PAIR bound at the address the application chose, which it reads with a PAIR of its own
(``get_monitor_socket``).  Events are dropped, never waited for, when that PAIR's queue is full, as
libzmq's monitor does (it sends with ZMQ_DONTWAIT).
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any, Callable, Dict, Tuple

from .constants import Event, SocketType
from .core import SocketCore

if TYPE_CHECKING:
    from .engine import Engine

_HEADER = struct.Struct("=HI")
#: core id -> (the monitor PAIR, the event mask)
_MONITORS: Dict[int, Tuple[Any, Callable[[int, int, str, str], None]]] = {}


def start_monitor(engine: Engine, core: SocketCore, addr: str, events: int) -> None:
    """Start publishing ``core``'s events matching ``events`` on a PAIR bound at ``addr``."""
    stop_monitor(core)
    pair_core = engine.socket(SocketType.PAIR)
    with core.lock:
        pair_core.options.linger = 0
        try:
            pair_core.bind(addr)
        except BaseException:
            pair_core.close(0)
            raise
    mask = int(events)

    def sink(event: int, value: int, endpoint: str, reason: str = "") -> None:
        if not event & mask or pair_core.closed:
            return
        msg = [_HEADER.pack(event, value & 0xFFFFFFFF), endpoint.encode("utf-8", "surrogateescape")]
        pair_core.pattern.send(msg)  # same context lock; dropped if the reader lags (DONTWAIT)

    with core.lock:
        core.monitor = sink
        core.monitor_stop = lambda: _stop_locked(core)
        _MONITORS[id(core)] = (pair_core, sink)


def stop_monitor(core: SocketCore) -> None:
    """Stop monitoring ``core``: MONITOR_STOPPED is the last event, then the PAIR closes."""
    with core.lock:
        _stop_locked(core)


def _stop_locked(core: SocketCore) -> None:
    """stop_monitor with the lock held (also what closing the monitored socket does, as libzmq stops a
    socket's monitor when the socket closes)."""
    entry = _MONITORS.pop(id(core), None)
    core.monitor_stop = None
    if entry is None:
        return
    pair_core, sink = entry
    if core.monitor is sink:
        sink(int(Event.MONITOR_STOPPED), 0, "", "")
        core.monitor = None
    pair_core.close(0)


__all__ = ["start_monitor", "stop_monitor"]
