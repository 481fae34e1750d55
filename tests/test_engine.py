"""The engine: leader/follower waiting, lifetimes like pyzmq's (sockets closed when collected, term(),
ContextTerminated in blocked threads, delivery at interpreter exit, fork), many threads on one context,
and the layering of zmtp's modules (no import cycle, no arrow up the layers)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, List

import pytest
import zmq

import zmtp

DRIVERS = ["threaded", "blocking"]
LOCAL = "tcp://127.0.0.1:*"
ROOT = Path(__file__).resolve().parent.parent


def _ep(sock: Any) -> str:
    return sock.LAST_ENDPOINT.decode()  # type: ignore[no-any-return]


# -- leader/follower --------------------------------------------------------------------------------


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("transport", ["tcp", "ipc", "inproc"])
def test_stream_beyond_hwm_does_not_stall(driver: str, transport: str, tmp_path: Path) -> None:
    """A sender far beyond SNDHWM waits and is woken when its own deferred flush drains the pipe (a
    wake-up lost there once left both sides waiting forever)."""
    ctx = zmtp.Context(driver=driver)
    try:
        pull = ctx.socket(zmtp.PULL)
        pull.rcvhwm = 50
        pull.rcvtimeo = 5000
        addr = {"tcp": LOCAL, "ipc": f"ipc://{tmp_path}/s", "inproc": "inproc://hwm"}[transport]
        pull.bind(addr)
        push = ctx.socket(zmtp.PUSH)
        push.sndhwm = 50
        push.sndtimeo = 5000
        push.connect(_ep(pull))
        n = 20000
        got: List[int] = []

        def receive() -> None:
            for _ in range(n):
                got.append(int(pull.recv()))

        if driver == "blocking":
            # one thread: interleave, the blocking driver moves I/O inside our own calls
            for i in range(n):
                push.send(b"%d" % i)
                while True:
                    try:
                        got.append(int(pull.recv(zmtp.DONTWAIT)))
                    except zmtp.Again:
                        break
            while len(got) < n:
                got.append(int(pull.recv()))
        else:
            t = threading.Thread(target=receive)
            t.start()
            for i in range(n):
                push.send(b"%d" % i)
            t.join(30)
            assert not t.is_alive()
        assert got == list(range(n))
    finally:
        ctx.destroy(linger=0)


def test_many_threads_share_one_context() -> None:
    """Each thread has its own sockets on one context; all wait and lead in turn; nothing is lost."""
    ctx = zmtp.Context()
    errors: List[BaseException] = []
    threads = 6
    rounds = 300

    def worker(k: int) -> None:
        try:
            rep = ctx.socket(zmtp.REP)
            rep.bind(f"inproc://w{k}" if k % 2 else LOCAL)
            req = ctx.socket(zmtp.REQ)
            req.connect(_ep(rep) if not k % 2 else f"inproc://w{k}")
            for sock in (rep, req):
                sock.rcvtimeo = sock.sndtimeo = 10000
            for i in range(rounds):
                req.send(b"%d-%d" % (k, i))
                rep.send(rep.recv())
                assert req.recv() == b"%d-%d" % (k, i)
            rep.close(0)
            req.close(0)
        except BaseException as exc:  # noqa: B036
            errors.append(exc)

    workers = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(60)
    try:
        assert not errors, errors
        assert not any(t.is_alive() for t in workers)
    finally:
        ctx.destroy(linger=0)


def test_handover_while_io_thread_writes(tmp_path: Path) -> None:
    """A thread starts waiting (recv) while the I/O thread is busy writing a large backlog: it takes
    the selector over and its reply still arrives; the backlog is complete too."""
    ctx = zmtp.Context()
    pctx = zmq.Context()
    try:
        sink = pctx.socket(zmq.PULL)
        sink.bind(LOCAL)
        push = ctx.socket(zmtp.PUSH)
        push.sndhwm = 0
        push.connect(_ep(sink))
        rep = pctx.socket(zmq.REP)
        rep.bind(LOCAL)
        req = ctx.socket(zmtp.REQ)
        req.rcvtimeo = 10000
        req.connect(_ep(rep))
        big = b"x" * 65536
        for _ in range(300):  # ~20 MB the I/O thread writes in the background
            push.send(big)
        for i in range(50):
            req.send(b"%d" % i)
            assert rep.recv() == b"%d" % i
            rep.send(b"ok")
            assert req.recv() == b"ok"
        total = 0
        sink.rcvtimeo = 10000
        while total < 300:
            sink.recv()
            total += 1
        assert total == 300
    finally:
        ctx.destroy(linger=0)
        pctx.destroy(linger=0)


@pytest.mark.parametrize("size", [16, 4096])
def test_streaming_sender_to_libzmq_beyond_hwm(size: int) -> None:
    """The sender streams (it never waits until SNDHWM stops it), so its writes are deferred to the
    reactor; when it finally waits it leads, runs that deferred flush itself, and must see the room the
    flush made (the signal goes to the leading thread before it selects)."""
    ctx = zmtp.Context()
    pctx = zmq.Context()
    try:
        pull = pctx.socket(zmq.PULL)
        pull.bind(LOCAL)
        push = ctx.socket(zmtp.PUSH)
        push.sndtimeo = 10000
        push.connect(_ep(pull))
        time.sleep(0.1)
        n = 100_000 if size == 16 else 20_000
        count = [0]

        def receive() -> None:
            pull.rcvtimeo = 10000
            for _ in range(n):
                pull.recv()
                count[0] += 1

        t = threading.Thread(target=receive)
        t.start()
        msg = b"x" * size
        for _ in range(n):
            push.send(msg)
        t.join(30)
        assert count[0] == n
    finally:
        ctx.destroy(linger=0)
        pctx.destroy(linger=0)
