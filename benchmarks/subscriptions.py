"""Publisher-side subscription matching: PUB send rate against the number of distinct topic lengths.

Issue 9 row 7: a subscriber that sends SUBSCRIBE for topics of thousands of distinct lengths must not
slow the publisher down for everyone (libzmq walks a trie, src/generic_mtrie_impl.hpp, whose cost is
the length of the matched path, not the number of topics).  This drives the PUB pattern directly over
in-memory pipes (no sockets, no threads), so it measures matching and queueing only::

    PYTHONPATH=$PWD python -m benchmarks.subscriptions            # the table
    PYTHONPATH=$PWD python -m benchmarks.subscriptions --seconds 0.5

Workload per row: ``subscribers`` pipes all subscribe to ``b"data."`` (the real topic of the 4 KiB
messages); one of them (the hostile one) also subscribes to ``lengths`` random topics of distinct
lengths 1..lengths.  ``nested`` rows make every hostile topic a prefix of the message (``msg[:k]``):
every topic then matches, so any correct algorithm does work proportional to the path.
"""

from __future__ import annotations

import argparse
import random
import time
from typing import List, Tuple

from zmtp.options import Options
from zmtp.patterns import Pipe, Pub

MSG_SIZE = 4096


def build(lengths: int, subscribers: int, nested: bool, seed: int = 1) -> Tuple[Pub, List[Pipe], bytes]:
    rng = random.Random(seed)
    pub = Pub(Options())
    pipes = []
    for _ in range(subscribers):
        pipe = Pipe(sndhwm=0)
        assert pub.attach(pipe)
        pipe.deliver_subscription(b"data.", True)
        pipes.append(pipe)
    msg = b"data." + bytes(rng.getrandbits(8) for _ in range(MSG_SIZE - 5))
    hostile = pipes[0]
    for k in range(1, lengths + 1):
        topic = msg[:k] if nested else bytes(rng.getrandbits(8) for _ in range(k))
        hostile.deliver_subscription(topic, True)
    return pub, pipes, msg


def rate(lengths: int, subscribers: int, nested: bool, seconds: float) -> float:
    pub, pipes, msg = build(lengths, subscribers, nested)
    frames = [msg]
    send = pub.send
    n = 0
    batch = 50
    t0 = time.perf_counter()
    deadline = t0 + seconds
    while True:
        for _ in range(batch):
            send(frames)
        n += batch
        for pipe in pipes:
            pipe.outbound.clear()
        now = time.perf_counter()
        if now >= deadline:
            return n / (now - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--seconds", type=float, default=1.0, help="time per row (default 1 s)")
    args = ap.parse_args()
    print(f"{'distinct lengths':>16} {'subscribers':>11} {'topics':>8} {'msg/s':>12}")
    for nested in (False, True):
        for lengths in (1, 100, 4096):
            for subscribers in (1, 1000):
                r = rate(lengths, subscribers, nested, args.seconds)
                kind = "nested" if nested else "random"
                print(f"{lengths:>16} {subscribers:>11} {kind:>8} {r:>12,.0f}", flush=True)


if __name__ == "__main__":
    main()
