"""``monitored_queue``: a queue between two sockets that publishes a prefixed copy of every message
(pyzmq's ``zmq.devices.monitoredqueue``).  ROUTER on both sides is supported: the two routing ids of
each message are swapped so a reply finds its way back."""

from __future__ import annotations

from typing import Any

from ..constants import PollEvent, SocketType
from ..poll import Poller
from ..socket import Socket

_POLLIN = int(PollEvent.POLLIN)


def _relay(ins: Socket[Any], outs: Socket[Any], sides: Socket[Any], prefix: bytes, swap_ids: bool) -> None:
    msg = ins.recv_multipart()
    if swap_ids:
        msg[:2] = msg[:2][::-1]
    outs.send_multipart(msg)
    sides.send_multipart([prefix, *msg])


def monitored_queue(in_socket: Socket[Any], out_socket: Socket[Any], mon_socket: Socket[Any],
                    in_prefix: bytes = b"in", out_prefix: bytes = b"out") -> None:
    """Forward both ways until the context is terminated; each message is also sent on ``mon_socket``
    behind ``in_prefix`` (arrived on ``in_socket``) or ``out_prefix``."""
    swap_ids = in_socket.type == SocketType.ROUTER and out_socket.type == SocketType.ROUTER
    poller = Poller()
    poller.register(in_socket, _POLLIN)
    poller.register(out_socket, _POLLIN)
    while True:
        events = dict(poller.poll())
        if in_socket in events:
            _relay(in_socket, out_socket, mon_socket, in_prefix, swap_ids)
        if out_socket in events:
            _relay(out_socket, in_socket, mon_socket, out_prefix, swap_ids)


__all__ = ["monitored_queue"]
