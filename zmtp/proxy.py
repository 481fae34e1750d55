"""``zmtp.proxy`` and ``zmtp.proxy_steerable``: libzmq's built-in proxy (zmq_proxy, zmq_proxy_steerable).

Moves whole multipart messages both ways between two sockets (a copy of each goes to ``capture`` if
given) until the context is terminated (then it raises ContextTerminated, as pyzmq's ``zmq.proxy``
does).  Subscriptions flow upstream through XPUB/XSUB pairs because they are ordinary messages there.
``frontend`` may be ``backend`` (ipykernel's heartbeat echoes on one ROUTER this way).

``proxy_steerable`` also reads commands from ``control``, as libzmq 4.3.5's src/proxy.cpp does:
``PAUSE`` (stop forwarding; messages wait in their queues), ``RESUME``, ``TERMINATE`` (return), and
``STATISTICS``, answered with 8 frames of native-endian uint64: messages and bytes received and sent on
the frontend, then the same on the backend (counted per frame).  A REP control socket gets an empty
reply to every other command, as its state machine requires.
"""

from __future__ import annotations

import struct
from typing import Any, List, Optional

from .constants import PollEvent, SocketType
from .poll import Poller
from .socket import Socket

_POLLIN = int(PollEvent.POLLIN)
#: At most this many messages are forwarded from one side before the other gets its turn (libzmq's
#: proxy_burst_size).
BURST = 1000
_U64 = struct.Struct("=Q")


def proxy(frontend: Socket[Any], backend: Socket[Any], capture: Optional[Socket[Any]] = None) -> None:
    """Forward messages between ``frontend`` and ``backend`` until the context is terminated."""
    proxy_steerable(frontend, backend, capture, None)


def proxy_steerable(frontend: Socket[Any], backend: Socket[Any], capture: Optional[Socket[Any]] = None,
                    control: Optional[Socket[Any]] = None) -> None:
    """As :func:`proxy`, steered by PAUSE / RESUME / TERMINATE / STATISTICS on ``control``."""
    stats = [0] * 8  # frontend recv n/b, frontend send n/b, backend recv n/b, backend send n/b
    paused = False
    active = Poller()
    active.register(frontend, _POLLIN)
    if backend is not frontend:
        active.register(backend, _POLLIN)
    idle = Poller()
    if control is not None:
        active.register(control, _POLLIN)
        idle.register(control, _POLLIN)
    while True:
        events = dict((idle if paused else active).poll())
        if control is not None and events.get(control, 0) & _POLLIN:
            command = _control(control, stats)
            if command == b"PAUSE":
                paused = True
            elif command == b"RESUME":
                paused = False
            elif command == b"TERMINATE":
                return
            if paused:
                continue
        if events.get(frontend, 0) & _POLLIN:
            _forward(frontend, backend, capture, stats, 0, 6)
        if backend is not frontend and events.get(backend, 0) & _POLLIN:
            _forward(backend, frontend, capture, stats, 4, 2)


def _control(control: Socket[Any], stats: List[int]) -> bytes:
    from .constants import DONTWAIT
    from .error import Again

    try:
        command = bytes(control.recv(DONTWAIT))
    except Again:
        return b""
    while control.getsockopt(13):  # RCVMORE: a command is one frame; drop any rest
        control.recv()
    if command == b"STATISTICS":
        control.send_multipart([_U64.pack(v) for v in stats])
        return command
    if control.type == SocketType.REP:
        control.send(b"")
    return command


def _forward(src: Socket[Any], dst: Socket[Any], capture: Optional[Socket[Any]], stats: List[int],
             recv_at: int, send_at: int) -> None:
    from .constants import DONTWAIT
    from .error import Again

    for _ in range(BURST):
        try:
            msg = src.recv_multipart(DONTWAIT)
        except Again:
            return
        size = sum(len(f) for f in msg)
        stats[recv_at] += len(msg)
        stats[recv_at + 1] += size
        if capture is not None:
            capture.send_multipart(msg)
        dst.send_multipart(msg)
        stats[send_at] += len(msg)
        stats[send_at + 1] += size


__all__ = ["proxy", "proxy_steerable", "BURST"]
