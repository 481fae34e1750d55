"""The engine: leader/follower waiting, lifetimes like pyzmq's (sockets closed when collected, term(),
ContextTerminated in blocked threads, delivery at interpreter exit, fork), many threads on one
context (the layering of zmtp's modules is tests/test_layers.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any, Dict, List

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


@pytest.mark.parametrize("mechanism", ["null", "curve"])
def test_publisher_fan_out_reaches_every_kind_of_subscriber(mechanism: str) -> None:
    """A message for several subscribers is encoded once and that wire form shared (EncodedMessage):
    libzmq subscribers, zmtp subscribers over tcp and over inproc must all get every message, multipart
    and single, small and past the encode-once limit; a CURVE link seals each frame itself."""
    ctx = zmtp.Context()
    pctx = zmq.Context()
    try:
        pub = ctx.socket(zmtp.PUB)
        pub.sndhwm = 0
        subs: List[Any] = []
        if mechanism == "curve":
            server_public, server_secret = zmtp.curve_keypair()
            pub.curve_server = True
            pub.curve_secretkey = server_secret
        pub.bind(LOCAL)
        tcp = _ep(pub)
        pub.bind("inproc://fanout-" + mechanism)
        for make, addr in ((ctx.socket, tcp), (pctx.socket, tcp), (ctx.socket, tcp),
                           (ctx.socket, "inproc://fanout-" + mechanism)):
            sub = make(zmtp.SUB)
            sub.rcvhwm = 0
            sub.rcvtimeo = 10000
            if mechanism == "curve" and addr.startswith("tcp"):
                public, secret = zmtp.curve_keypair()
                sub.curve_serverkey = server_public
                sub.curve_publickey = public
                sub.curve_secretkey = secret
            sub.subscribe(b"")
            sub.connect(addr)
            subs.append(sub)
        # every subscriber's subscription has arrived once a message reaches all of them
        deadline = time.monotonic() + 10
        ready = [False] * len(subs)
        while not all(ready) and time.monotonic() < deadline:
            pub.send(b"hello")
            for i, sub in enumerate(subs):
                if sub.poll(20):
                    while sub.poll(0):
                        sub.recv()
                    ready[i] = True
        assert all(ready)
        messages = [[b"m%d" % i] if i % 3 else [b"t", b"x" * (i * 700), b"end%d" % i] for i in range(200)]
        messages.append([b"big", b"y" * (1 << 17)])  # past the encode-once limit
        for msg in messages:
            pub.send_multipart(msg)
        for sub in subs:
            got = []
            while len(got) < len(messages):
                frames = sub.recv_multipart()
                if frames != [b"hello"]:
                    got.append(frames)
            assert got == messages
    finally:
        ctx.destroy(linger=0)
        pctx.destroy(linger=0)


# -- lifetimes ------------------------------------------------------------------------------------


def _run(code: str, timeout: float = 60) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.mark.parametrize("kind", ["PUSH", "PUB"])
def test_sender_that_exits_without_close_delivers_everything(kind: str) -> None:
    """pyzmq closes collected sockets and terminates the context at exit, honouring LINGER (default:
    forever): a sender that just ends loses nothing it queued (a PUB with SNDHWM above the count)."""
    pctx = zmq.Context()
    proc = None
    try:
        recv = pctx.socket(zmq.PULL if kind == "PUSH" else zmq.SUB)
        if kind == "PUB":
            recv.subscribe(b"")
        recv.rcvtimeo = 20000
        recv.bind(LOCAL)
        n = 50_000
        code = f"""
            import select, sys, zmtp
            ctx = zmtp.Context()
            s = ctx.socket(zmtp.{kind})
            s.sndhwm = {n + 10}
            s.connect({_ep(recv)!r})
            # until the receiver says it hears us (a PUB drops what it sends before the subscription)
            while not select.select([sys.stdin], [], [], 0.01)[0]:
                s.send(b"warm")
            for i in range({n}):
                s.send(b"%d" % i)
            s.send(b"END")
        """
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], stdin=subprocess.PIPE, env=env)
        while recv.recv() != b"warm":
            pass
        assert proc.stdin is not None
        proc.stdin.write(b"go\n")
        proc.stdin.flush()
        got = 0
        while True:
            msg = recv.recv()
            if msg == b"warm":
                continue
            if msg == b"END":
                break
            assert int(msg) == got
            got += 1
        assert got == n
        assert proc.wait(30) == 0
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
        pctx.destroy(linger=0)


def test_dropped_sockets_are_closed_and_term_returns() -> None:
    """A socket dropped without close() is closed when collected (its linger honoured): term()
    returns, also when the socket lived in a thread that returned or in a function that returned only
    the socket's context, and the user never calls gc.collect()."""
    p = _run("""
        import threading, zmtp, warnings
        warnings.simplefilter("ignore", ResourceWarning)
        ctx = zmtp.Context()

        def worker():
            s = ctx.socket(zmtp.PUSH)
            s.connect("tcp://127.0.0.1:9")  # nobody there: its queue would linger forever if closed
            s.linger = 0

        t = threading.Thread(target=worker); t.start(); t.join()

        def make():
            s = ctx.socket(zmtp.PULL)
            s.bind("tcp://127.0.0.1:*")
            return s.context

        assert make() is ctx
        r = ctx.socket(zmtp.REP); r.bind("inproc://x")
        del r
        ctx.term()
        print("termed")
    """, timeout=20)
    assert p.returncode == 0 and p.stdout.strip() == "termed", p.stderr


def test_term_from_another_thread_interrupts_every_blocked_call() -> None:
    ctx = zmtp.Context()
    results: Dict[str, str] = {}
    pull = ctx.socket(zmtp.PULL)
    pull.bind("inproc://t-recv")
    poller_sock = ctx.socket(zmtp.SUB)
    poller_sock.bind("inproc://t-poll")
    push = ctx.socket(zmtp.PUSH)
    push.sndhwm = 1
    push.connect("tcp://127.0.0.1:9")  # never connects: the pipe fills at once

    def blocked(name: str, call: Any) -> None:
        try:
            call()
            results[name] = "returned"
        except zmtp.ContextTerminated:
            results[name] = "ETERM"
        except BaseException as exc:  # noqa: B036
            results[name] = repr(exc)

    def fill() -> None:
        push.send(b"1")
        push.send(b"2")  # blocks: SNDHWM 1, no peer

    poller = zmtp.Poller()
    poller.register(poller_sock, zmtp.POLLIN)
    threads = [
        threading.Thread(target=blocked, args=("recv", pull.recv)),
        threading.Thread(target=blocked, args=("poll", lambda: poller.poll())),
        threading.Thread(target=blocked, args=("send", fill)),
    ]
    for t in threads:
        t.start()
    time.sleep(0.3)
    terminator = threading.Thread(target=ctx.term)
    terminator.start()
    for t in threads:
        t.join(5)
    assert results == {"recv": "ETERM", "poll": "ETERM", "send": "ETERM"}
    # term() waits for the sockets; the blocked threads' owners close them now
    for s in (pull, poller_sock, push):
        s.close(linger=0)
    terminator.join(5)
    assert not terminator.is_alive() and ctx.closed


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_fork_child_gets_a_fresh_context() -> None:
    parent = zmtp.Context.instance()
    rep = parent.socket(zmtp.REP)
    rep.bind(LOCAL)
    ep = _ep(rep)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: the parent's context is not its own
        try:
            child = zmtp.Context.instance()
            ok = child is not parent
            req = child.socket(zmtp.REQ)
            req.rcvtimeo = 5000
            req.connect(ep)
            req.send(b"from the child")
            ok = ok and req.recv() == b"ok"
            req.close(0)
            child.term()
            os.write(w, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.close(w)
    rep.rcvtimeo = 5000
    assert rep.recv() == b"from the child"
    rep.send(b"ok")
    assert os.read(r, 1) == b"1"
    os.waitpid(pid, 0)
    rep.close(0)
    parent.term()
