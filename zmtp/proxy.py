"""``zmtp.proxy(frontend, backend, capture=None)``: libzmq's built-in proxy (zmq_proxy).

Moves whole multipart messages both ways between two sockets until the context is terminated (then
it raises ContextTerminated, as pyzmq's ``zmq.proxy`` does).  Subscriptions flow upstream through
XPUB/XSUB pairs because they are ordinary messages there.
"""

from __future__ import annotations

from typing import Any, Optional

from .constants import PollEvent
from .poll import Poller
from .socket import Socket

_POLLIN = int(PollEvent.POLLIN)


def proxy(frontend: Socket[Any], backend: Socket[Any], capture: Optional[Socket[Any]] = None) -> None:
    """Forward messages both ways between ``frontend`` and ``backend`` (copies to ``capture``) until the
    context is terminated (``zmq_proxy``)."""
    poller = Poller()
    poller.register(frontend, _POLLIN)
    if backend is not frontend:
        poller.register(backend, _POLLIN)
    while True:
        events = dict(poller.poll())
        if events.get(frontend, 0) & _POLLIN:
            _forward(frontend, backend, capture)
        if backend is not frontend and events.get(backend, 0) & _POLLIN:
            _forward(backend, frontend, capture)


def _forward(src: Socket[Any], dst: Socket[Any], capture: Optional[Socket[Any]]) -> None:
    from .constants import DONTWAIT
    from .error import Again

    for _ in range(1000):
        try:
            msg = src.recv_multipart(DONTWAIT)
        except Again:
            return
        if capture is not None:
            capture.send_multipart(msg)
        dst.send_multipart(msg)


def proxy_steerable(frontend: Socket[Any], backend: Socket[Any], capture: Optional[Socket[Any]] = None,
                    control: Optional[Socket[Any]] = None) -> None:
    """Like :func:`proxy`; ``control`` accepts TERMINATE (PAUSE/RESUME are not implemented)."""
    if control is None:
        proxy(frontend, backend, capture)
        return
    from .constants import DONTWAIT
    from .error import Again

    poller = Poller()
    for s in (frontend, backend, control):
        poller.register(s, _POLLIN)
    while True:
        events = dict(poller.poll())
        if events.get(control, 0) & _POLLIN:
            try:
                cmd = control.recv(DONTWAIT)
            except Again:
                cmd = b""
            if cmd == b"TERMINATE":
                return
        if events.get(frontend, 0) & _POLLIN:
            _forward(frontend, backend, capture)
        if events.get(backend, 0) & _POLLIN:
            _forward(backend, frontend, capture)
