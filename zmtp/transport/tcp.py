"""TCP socket options every tcp connection gets (both ZMTP streams and STREAM sockets' raw ones)."""

from __future__ import annotations

import socket

from ..options import Options


def apply_tcp_options(sock: socket.socket, o: Options) -> None:
    """TCP_NODELAY always (ZMTP batches itself), then the socket's buffer and keepalive options."""
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if o.sndbuf > 0:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, o.sndbuf)
        if o.rcvbuf > 0:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, o.rcvbuf)
        if o.tcp_keepalive >= 0:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, o.tcp_keepalive)
        if o.tcp_keepalive > 0:
            for value, name in (
                (o.tcp_keepalive_cnt, "TCP_KEEPCNT"),
                (o.tcp_keepalive_idle, "TCP_KEEPIDLE"),
                (o.tcp_keepalive_intvl, "TCP_KEEPINTVL"),
            ):
                if value > 0 and hasattr(socket, name):
                    sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, name), value)
        if o.tcp_maxrt > 0 and hasattr(socket, "TCP_USER_TIMEOUT"):
            # TCP_MAXRT: how long sent data may stay unacknowledged (libzmq: tune_tcp_maxrt)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, o.tcp_maxrt)
    except OSError:
        pass


__all__ = ["apply_tcp_options"]
