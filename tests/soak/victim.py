"""The process under attack: one zmtp or libzmq (pyzmq) socket, bound on loopback, doing one simple job.

Run by the soak suite as ``python victim.py --impl zmtp --type ROUTER --role echo ...`` (by path, not as a
module, so that it imports nothing of the test suite: its memory is zmtp's or libzmq's and Python's own).
It prints ``READY <endpoint>`` once bound, then works until killed.  Progress goes to a small shared
file (``--counters``) of eight little-endian 64-bit slots that it ``mmap``s, so the parent reads it
without a round trip and it survives a SIGKILL exactly (the page cache is shared):

slot 0  messages received (sink, echo) or sent (pub)
slot 1  bytes received
slot 2  the largest message received, in bytes
slot 3  messages the application gave up on (errors), for diagnosis
slot 4  (sink, zmtp, with ZMTP_SOAK_PROBE=1) messages held inside the process, every 256 messages

Roles:
  echo   ROUTER/REP/DEALER/PAIR: send every message back (ROUTER: to its sender); with ``--echo-max N``
         larger messages are counted but not sent back
  sink   PULL/SUB/...: receive and count; ``--work-us N`` spins N microseconds per message (a consumer
         slower than the wire, so that RCVHWM and TCP back-pressure matter)
  pub    PUB/XPUB/PUSH: send ``--size``-byte messages as fast as the socket takes them, counting
  idle   bind and do nothing but wait in recv (what an idle socket costs)
"""

from __future__ import annotations

import argparse
import importlib
import mmap
import os
import resource
import struct
import sys
import time
from typing import Any, List

SLOTS = 8


def _parse_opt(text: str) -> tuple[str, Any]:
    name, _, value = text.partition("=")
    try:
        return name.upper(), int(value)
    except ValueError:
        return name.upper(), value.encode()


def main(argv: List[str]) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--impl", choices=("zmtp", "libzmq"), required=True)
    ap.add_argument("--driver", default="threaded")
    ap.add_argument("--type", required=True)
    ap.add_argument("--role", choices=("echo", "sink", "pub", "idle"), required=True)
    ap.add_argument("--bind", default="tcp://127.0.0.1:*")
    ap.add_argument("--opt", action="append", default=[])
    ap.add_argument("--subscribe", action="append", default=[])
    ap.add_argument("--counters", default="")
    ap.add_argument("--nofile", type=int, default=0)
    ap.add_argument("--echo-max", type=int, default=-1)
    ap.add_argument("--work-us", type=int, default=0)
    ap.add_argument("--size", type=int, default=4096)
    args = ap.parse_args(argv)

    if args.nofile:
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (args.nofile, hard))

    zmq: Any = importlib.import_module("zmtp" if args.impl == "zmtp" else "zmq")
    ctx: Any = zmq.Context(driver=args.driver) if args.impl == "zmtp" else zmq.Context()
    sock = ctx.socket(getattr(zmq, args.type))
    sock.setsockopt(zmq.LINGER, 0)
    for text in args.opt:
        name, value = _parse_opt(text)
        sock.setsockopt(getattr(zmq, name), value)
    for topic in args.subscribe:
        sock.setsockopt(zmq.SUBSCRIBE, topic.encode())
    sock.bind(args.bind)
    endpoint = sock.getsockopt(zmq.LAST_ENDPOINT)
    counters = _Counters(args.counters)
    sys.stdout.write(f"READY {endpoint.decode() if isinstance(endpoint, bytes) else endpoint}\n")
    sys.stdout.flush()

    if args.role == "echo":
        _echo(sock, zmq, counters, args.echo_max, args.type == "ROUTER")
    elif args.role == "sink":
        _sink(sock, counters, args.work_us)
    elif args.role == "pub":
        _pub(sock, counters, args.size)
    else:
        while True:
            sock.poll(1000)


class _Counters:
    def __init__(self, path: str) -> None:
        self.map = None
        if path:
            fd = os.open(path, os.O_RDWR)
            self.map = mmap.mmap(fd, SLOTS * 8)
            os.close(fd)

    def set(self, slot: int, value: int) -> None:
        if self.map is not None:
            struct.pack_into("<q", self.map, slot * 8, value)


def _echo(sock: Any, zmq: Any, counters: _Counters, echo_max: int, router: bool) -> None:
    count = 0
    total = 0
    largest = 0
    while True:
        frames = sock.recv_multipart(copy=False)
        size = sum(len(f.buffer) for f in frames)
        count += 1
        total += size
        largest = max(largest, size)
        counters.set(0, count)
        counters.set(1, total)
        counters.set(2, largest)
        if echo_max >= 0 and size > echo_max:
            if router:
                continue
            frames = [b"big"]  # REP must answer something
        sock.send_multipart([f.buffer if not isinstance(f, bytes) else f for f in frames], copy=False)


def _held(sock: Any) -> int:
    """zmtp only: the messages held inside the process (the pipes and the batch queue)."""
    core = getattr(sock, "core", None)
    if core is None:
        return -1
    with core.lock:
        return len(core.recv_queue) + sum(len(p.inbound) for p in core.pattern.pipes)


def _sink(sock: Any, counters: _Counters, work_us: int) -> None:
    count = 0
    total = 0
    work = work_us / 1e6
    probe = os.environ.get("ZMTP_SOAK_PROBE") == "1"
    while True:
        if probe and not count & 255:
            counters.set(4, _held(sock))
        msg = sock.recv()
        if work:
            until = time.perf_counter() + work
            while time.perf_counter() < until:
                pass
        count += 1
        total += len(msg)
        counters.set(0, count)
        counters.set(1, total)


def _pub(sock: Any, counters: _Counters, size: int) -> None:
    payload = b"real-topic " + bytes(max(0, size - 11))
    count = 0
    while True:
        for _ in range(1000):
            sock.send(payload)
        count += 1000
        counters.set(0, count)


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except KeyboardInterrupt:
        pass
