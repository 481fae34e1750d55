"""``zmtp monitor ENDPOINT``: print a socket's monitor events as they happen.

libzmq's monitor wire format (``zmq_socket_monitor``): a two-frame message, the first frame a 16-bit
event number and a 32-bit value (both in native byte order, no padding),
the second the endpoint.  Parsed here, so the command works with any monitor socket that follows it.
"""

from __future__ import annotations

import argparse
import struct
import time
from typing import Dict, List, Tuple

import zmtp

from .peers import EXIT_TIMEOUT, EXIT_UNSUPPORTED, CliError

#: libzmq's event numbers (zmq.h) and their names.
EVENT_NAMES: Dict[int, str] = {
    0x0001: "CONNECTED", 0x0002: "CONNECT_DELAYED", 0x0004: "CONNECT_RETRIED", 0x0008: "LISTENING",
    0x0010: "BIND_FAILED", 0x0020: "ACCEPTED", 0x0040: "ACCEPT_FAILED", 0x0080: "CLOSED",
    0x0100: "CLOSE_FAILED", 0x0200: "DISCONNECTED", 0x0400: "MONITOR_STOPPED",
    0x0800: "HANDSHAKE_FAILED_NO_DETAIL", 0x1000: "HANDSHAKE_SUCCEEDED",
    0x2000: "HANDSHAKE_FAILED_PROTOCOL", 0x4000: "HANDSHAKE_FAILED_AUTH",
}


def parse_event(frames: List[bytes]) -> Tuple[str, int, str]:
    """(event name, value, endpoint) of one monitor message."""
    if len(frames) < 2 or len(frames[0]) < 6:
        raise ValueError(f"not a monitor message: {frames!r}")
    number, value = struct.unpack("=HI", frames[0][:6])
    return EVENT_NAMES.get(number, f"EVENT_{number:#x}"), value, frames[1].decode("utf-8", "replace")


def add_monitor_arguments(ap: argparse.ArgumentParser) -> None:
    """The options of ``zmtp monitor``."""
    ap.add_argument("endpoint", metavar="ENDPOINT")
    ap.add_argument("--socket-type", default="DEALER", help="type of the monitored socket (default DEALER)")
    ap.add_argument("--bind", action="store_true", help="bind instead of connecting")
    ap.add_argument("--count", "-n", type=int, default=None, help="stop after N events")
    ap.add_argument("--timeout", "-t", type=float, default=None, help="stop (status 1) after S idle seconds")


def run_monitor(args: argparse.Namespace) -> int:
    """Monitor one socket, printing ``time EVENT value endpoint`` lines."""
    ctx = zmtp.Context()
    sock = ctx.socket(getattr(zmtp, args.socket_type.upper()))
    sock.setsockopt(zmtp.SocketOption.LINGER, 0)
    mon = None
    try:
        try:
            mon = sock.get_monitor_socket()
        except zmtp.ZMQError as e:
            raise CliError(f"socket monitors are not available in this zmtp yet ({e})", EXIT_UNSUPPORTED) from None
        (sock.bind if args.bind else sock.connect)(args.endpoint)
        count = 0
        t0 = time.monotonic()
        while args.count is None or count < args.count:
            ms = -1 if args.timeout is None else int(args.timeout * 1000)
            if not mon.poll(ms, zmtp.POLLIN):
                raise CliError(f"no event for {args.timeout} s", EXIT_TIMEOUT)
            name, value, endpoint = parse_event(mon.recv_multipart())
            print(f"{time.monotonic() - t0:8.3f} {name:<26} {value:<6} {endpoint}", flush=True)
            count += 1
        return 0
    finally:
        if mon is not None:
            # stop the monitor before closing (a context with a monitor left running never terminates)
            disable = getattr(sock, "disable_monitor", None)
            if disable is not None:
                disable()
            mon.close(0)
        sock.close(0)
        ctx.term()
