"""zmtp.asyncio's behaviour, pyzmq's rules: futures, cancellation, timeouts, concurrent coroutines,
several loops, shadows, inproc with sync sockets, lifetimes (linger, term, a loop closed with sockets
open), reconnects and heartbeats on the native driver, bad input.  Peers are pyzmq (libzmq)."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
from typing import Any, Iterator, List

import pytest
import zmq
import zmq.asyncio
from asyncio_helpers import bounded, last_endpoint, run
from robust_helpers import frame, greeting, raw_handshake, ready

import zmtp
import zmtp.asyncio

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def pctx() -> Iterator[zmq.Context]:
    ctx = zmq.Context()
    yield ctx
    ctx.destroy(linger=0)


def test_names_and_types() -> None:
    async def main() -> None:
        ctx = zmtp.asyncio.Context()
        s = ctx.socket(zmtp.PULL)
        assert isinstance(s, zmtp.asyncio.Socket) and isinstance(s, zmtp.Socket)
        assert isinstance(ctx, zmtp.Context)
        f = s.recv(zmtp.DONTWAIT)
        assert isinstance(f, asyncio.Future)
        with pytest.raises(zmtp.Again):
            await f
        assert isinstance(s.poll(0), asyncio.Future)
        assert await s.poll(0) == 0
        assert "zmtp.asyncio.Socket" in repr(s)
        s.close()
        ctx.term()
        assert zmtp.asyncio.Context.instance() is zmtp.asyncio.Context.instance()
        assert zmtp.asyncio.Context.instance() is not zmtp.Context.instance()
        zmtp.asyncio.Context.instance().term()

    run(main)


def test_context_manager_and_destroy_cancels_pending() -> None:
    async def main() -> None:
        with zmtp.asyncio.Context() as ctx:
            s = ctx.socket(zmtp.PULL)
            s.bind("tcp://127.0.0.1:*")
            pending = s.recv()
            await asyncio.sleep(0)
        assert ctx.closed and s.closed
        await asyncio.sleep(0)
        assert pending.cancelled()

    run(main)


def test_sugar_round_trips_inproc() -> None:
    async def main() -> None:
        ctx = zmtp.asyncio.Context()
        a, b = ctx.socket(zmtp.PAIR), ctx.socket(zmtp.PAIR)
        a.bind("inproc://sugar")
        b.connect("inproc://sugar")
        await a.send_string("héllo")
        assert await b.recv_string() == "héllo"
        await a.send_json({"x": [1, 2]})
        assert await b.recv_json() == {"x": [1, 2]}
        await a.send_pyobj({1, 2})
        assert await b.recv_pyobj() == {1, 2}
        await a.send_serialized({"k": 1}, lambda o: [repr(o).encode()])
        assert await b.recv_serialized(lambda fr: eval(fr[0])) == {"k": 1}
        tracker = await a.send(b"tracked", copy=False, track=True)
        assert isinstance(tracker, zmtp.MessageTracker)
        assert await b.recv() == b"tracked"
        await asyncio.sleep(0)
        tracker.wait(1.0)
        assert tracker.done
        await a.send(b"f1", zmtp.SNDMORE)
        await a.send(b"f2")
        assert await b.recv() == b"f1" and b.rcvmore
        assert await b.recv() == b"f2" and not b.rcvmore
        frames = await (a.send_multipart([b"x", b"y"]), b.recv_multipart(copy=False))[1]
        assert [f.bytes for f in frames] == [b"x", b"y"]
        buf = bytearray(10)
        await a.send(b"into")
        assert await b.recv_into(buf) == 4 and buf[:4] == b"into"
        a.close()
        b.close()
        ctx.term()

    run(main)


def test_cancelled_recv_loses_no_message(pctx: zmq.Context) -> None:
    async def main() -> None:
        ctx = zmtp.asyncio.Context()
        pull = ctx.socket(zmtp.PULL)
        pull.bind("tcp://127.0.0.1:*")
        push = pctx.socket(zmq.PUSH)
        push.connect(last_endpoint(pull))
        for i in range(20):
            f = pull.recv()
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(f, 0.001)  # cancelled while waiting
            assert f.cancelled()
            push.send(b"m%d" % i)
            assert await bounded(pull.recv(), f"message {i} after a cancelled recv") == b"m%d" % i
        # many cancelled recvs leave nothing behind
        for _ in range(100):
            pull.recv().cancel()
        pending = pull.recv()
        assert len(pull._recv_waiters) == 1  # the cancelled ones were dropped
        pending.cancel()
        # a cancelled deserializing recv cancels its receive too
        r = pull.recv_string()
        r.cancel()
        push.send(b"kept")
        assert await bounded(pull.recv(), "the message a cancelled recv_string did not take") == b"kept"
        push.close(0)
        pull.close()
        ctx.term()

    run(main)


def test_timeouts_and_dontwait() -> None:
    async def main() -> None:
        ctx = zmtp.asyncio.Context()
        pull = ctx.socket(zmtp.PULL)
        pull.bind("inproc://t")
        pull.rcvtimeo = 50
        t0 = time.monotonic()
        with pytest.raises(zmtp.Again):
            await pull.recv()
        assert 0.04 <= time.monotonic() - t0 < 2
        with pytest.raises(zmtp.Again):
            await pull.recv_multipart(zmtp.DONTWAIT)
        push = ctx.socket(zmtp.PUSH)  # no peer: send would block
        push.sndtimeo = 50
        with pytest.raises(zmtp.Again):
            await push.send(b"x")
        push.sndtimeo = -1
        with pytest.raises(zmtp.Again):
            await push.send(b"x", zmtp.DONTWAIT)
        # poll times out with 0, as pyzmq's
        assert await pull.poll(30) == 0
        assert await zmtp.asyncio.Poller().poll(10) == []
        push.close(0)
        pull.close()
        ctx.term()

    run(main)


def test_concurrent_recvs_complete_in_order_one_per_message(pctx: zmq.Context) -> None:
    async def main() -> None:
        ctx = zmtp.asyncio.Context()
        pull = ctx.socket(zmtp.PULL)
        pull.bind("tcp://127.0.0.1:*")
        push = pctx.socket(zmq.PUSH)
        push.connect(last_endpoint(pull))
        futs = [pull.recv() for _ in range(50)]
        tasks = [asyncio.ensure_future(pull.recv_multipart()) for _ in range(50)]
        await asyncio.sleep(0.01)
        assert not any(f.done() for f in futs)
        for i in range(100):
            push.send(b"%d" % i)
        got = [await bounded(f, "concurrent recv") for f in futs]
        got += [(await bounded(t, "concurrent recv_multipart"))[0] for t in tasks]
        assert got == [b"%d" % i for i in range(100)]
        push.close(0)
        pull.close()
        ctx.term()

    run(main)


def test_concurrent_senders_and_hwm_back_pressure(pctx: zmq.Context) -> None:
    """Sends beyond SNDHWM wait (in order) until the peer reads; nothing is lost or reordered."""
    async def main() -> None:
        ctx = zmtp.asyncio.Context()
        push = ctx.socket(zmtp.PUSH)
        push.sndhwm = 10
        push.bind("tcp://127.0.0.1:*")
        pull = pctx.socket(zmq.PULL)
        pull.rcvhwm = 10
        pull.connect(last_endpoint(push))
        n = 3000
        sends = [push.send(b"%d" % i) for i in range(n)]
        assert not all(s.done() for s in sends), "everything fit: HWM not exercised"
        got: List[bytes] = []

        def reader() -> None:
            while len(got) < n and pull.poll(5000):
                got.append(pull.recv())

        t = asyncio.ensure_future(asyncio.to_thread(reader))
        await bounded(asyncio.gather(*sends), "sends waiting for HWM room")
        await bounded(t, "reader")
        assert got == [b"%d" % i for i in range(n)]
        pull.close(0)
        push.close()
        ctx.term()

    run(main)


def test_several_loops_in_several_threads(pctx: zmq.Context) -> None:
    """Each thread runs its own loop with its own sockets of one shared context."""
    ctx = zmtp.asyncio.Context()
    rep = pctx.socket(zmq.ROUTER)
    rep.bind("tcp://127.0.0.1:*")
    ep = last_endpoint(rep)
    stop = threading.Event()

    def echo() -> None:
        while not stop.is_set():
            if rep.poll(50):
                rep.send_multipart(rep.recv_multipart())

    server = threading.Thread(target=echo)
    server.start()
    results: List[Any] = []

    def client(k: int) -> None:
        async def main() -> int:
            s = ctx.socket(zmtp.DEALER)
            s.connect(ep)
            for i in range(50):
                await s.send(b"%d-%d" % (k, i))
                assert await bounded(s.recv(), "echo") == b"%d-%d" % (k, i)
            s.close()
            return k

        try:
            results.append(run(main))
        except BaseException as exc:  # reported by the main thread
            results.append(exc)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    stop.set()
    server.join(5)
    ctx.term()
    rep.close(0)
    assert sorted(results) == [0, 1, 2, 3], results


def test_socket_used_from_another_running_loop_is_refused() -> None:
    ctx = zmtp.asyncio.Context()
    holder: List[Any] = []
    started = threading.Event()
    release = threading.Event()

    def owner() -> None:
        async def main() -> None:
            s = ctx.socket(zmtp.PULL)
            s.bind("inproc://owned")
            holder.append(s)
            _ = s.recv()
            started.set()
            while not release.is_set():
                await asyncio.sleep(0.01)
            s.close()

        run(main)

    t = threading.Thread(target=owner)
    t.start()
    assert started.wait(5)

    async def intruder() -> None:
        with pytest.raises(RuntimeError, match="another thread"):
            holder[0].recv()

    run(intruder)
    release.set()
    t.join(10)
    ctx.term()


def test_socket_survives_its_loop_and_moves_to_the_next(pctx: zmq.Context) -> None:
    """asyncio.run() twice with the same socket (pytest-asyncio's per-test loops do this)."""
    ctx = zmtp.asyncio.Context()
    pull = ctx.socket(zmtp.PULL)  # made outside any loop
    pull.bind("tcp://127.0.0.1:*")
    push = pctx.socket(zmq.PUSH)
    push.connect(last_endpoint(pull))
    push.send(b"first")

    async def one(expected: bytes) -> None:
        assert await bounded(pull.recv(), f"recv {expected!r}") == expected

    run(lambda: one(b"first"))
    push.send(b"second")
    run(lambda: one(b"second"))
    push.close(0)
    pull.close()
    ctx.term()


def test_inproc_between_sync_and_async_sockets_of_shadowed_contexts() -> None:
    sctx = zmtp.Context()
    actx = zmtp.asyncio.Context(sctx)
    assert actx.underlying == sctx.underlying
    assert zmtp.Context.shadow(actx.underlying).underlying == sctx.underlying

    async def main() -> None:
        arep = actx.socket(zmtp.REP)
        arep.bind("inproc://mixed")
        sreq = sctx.socket(zmtp.REQ)
        sreq.connect("inproc://mixed")
        out: List[bytes] = []

        def sync_client() -> None:
            for i in range(20):
                sreq.send(b"q%d" % i)
                out.append(sreq.recv())

        t = asyncio.ensure_future(asyncio.to_thread(sync_client))
        for _ in range(20):
            await arep.send(await bounded(arep.recv(), "inproc request from a sync thread"))
        await bounded(t, "sync client")
        assert out == [b"q%d" % i for i in range(20)]
        sreq.close()
        arep.close()

    run(main)
    sctx.term()


def test_async_wrapper_of_sync_socket_and_sync_shadow_of_async(pctx: zmq.Context) -> None:
    async def main() -> None:
        sctx = zmtp.Context()
        ssock = sctx.socket(zmtp.PULL)
        ssock.bind("tcp://127.0.0.1:*")
        wrapped = zmtp.asyncio.Socket(ssock)  # keeps the sync socket's I/O thread
        assert wrapped.underlying == ssock.underlying
        push = pctx.socket(zmq.PUSH)
        push.connect(last_endpoint(ssock))
        push.send(b"via-thread")
        assert await bounded(wrapped.recv(), "recv on an async wrapper of a sync socket") == b"via-thread"
        # the async poller accepts sync sockets too (jupyter_client does this)
        poller = zmtp.asyncio.Poller()
        poller.register(ssock, zmtp.POLLIN)
        push.send(b"polled")
        assert await bounded(poller.poll(5000), "async poll of a sync socket") == [(ssock, zmtp.POLLIN)]
        assert ssock.recv() == b"polled"
        # a sync shadow of a native async socket (jupyter_client's Session.send does this)
        actx = zmtp.asyncio.Context()
        dealer = actx.socket(zmtp.DEALER)
        router = pctx.socket(zmq.ROUTER)
        router.bind("tcp://127.0.0.1:*")
        dealer.connect(last_endpoint(router))
        shadow = zmtp.Socket.shadow(dealer.underlying)
        assert type(shadow) is zmtp.Socket
        shadow.send_multipart([b"from", b"shadow"])
        assert await asyncio.to_thread(router.poll, 5000)
        ident, *body = router.recv_multipart()
        assert body == [b"from", b"shadow"]
        router.send_multipart([ident, b"back"])
        assert await bounded(dealer.recv(), "reply to the shadow's message") == b"back"
        router.send_multipart([ident, b"sync"])
        # a blocking recv on the shadow, in the loop's thread, drives the loop's reactor itself
        shadow.rcvtimeo = 5000
        assert shadow.recv() == b"sync"
        for s in (wrapped, dealer):
            s.close()
        push.close(0)
        router.close(0)
        ssock.close()
        actx.term()
        sctx.term()

    run(main)


def test_poller_mixes_sockets_and_fds(pctx: zmq.Context) -> None:
    async def main() -> None:
        ctx = zmtp.asyncio.Context()
        a = ctx.socket(zmtp.PULL)
        a.bind("tcp://127.0.0.1:*")
        push = pctx.socket(zmq.PUSH)
        push.connect(last_endpoint(a))
        r, w = socket.socketpair()
        poller = zmtp.asyncio.Poller()
        poller.register(a, zmtp.POLLIN)
        poller.register(r, zmtp.POLLIN)
        f = poller.poll(5000)
        await asyncio.sleep(0.01)
        assert not f.done()
        w.send(b"x")
        assert await bounded(f, "raw fd readiness") == [(r, zmtp.POLLIN)]
        r.recv(1)
        push.send(b"m")
        assert await bounded(poller.poll(5000), "socket readiness") == [(a, zmtp.POLLIN)]
        assert await a.recv() == b"m"
        g = poller.poll()
        g.cancel()
        await asyncio.sleep(0)
        assert not a.core.watchers
        r.close()
        w.close()
        push.close(0)
        a.close()
        ctx.term()

    run(main)


def test_reconnect_and_peer_restart_lose_nothing(pctx: zmq.Context, tmp_path: Any) -> None:
    """A zmtp.asyncio PUSH connects before the peer exists and the peer restarts mid-stream, twice:
    every message sent while it is away is delivered exactly once, in order, after it is back (the
    connecting side's pipe survives reconnects).  Messages already handed to a peer that then dies are
    the peer's to lose (libzmq's too), so each restart waits for the DISCONNECTED monitor event before
    sending on; the monitor socket is itself a zmtp.asyncio socket."""
    ep = f"ipc://{tmp_path}/restart.ipc"

    async def main() -> None:
        ctx = zmtp.asyncio.Context()
        push = ctx.socket(zmtp.PUSH)
        push.reconnect_ivl = 20
        push.reconnect_ivl_max = 100
        mon = push.get_monitor_socket(zmtp.EVENT_DISCONNECTED if hasattr(zmtp, "EVENT_DISCONNECTED") else 0x200)
        push.connect(ep)
        for i in range(10):
            await push.send(b"a%d" % i)  # queued: nobody is there yet
        got: List[bytes] = []
        for round_ in range(3):
            pull = pctx.socket(zmq.PULL)
            pull.bind(ep)
            while len(got) < 10 * (round_ + 1):
                ok = await asyncio.to_thread(pull.poll, 5000)
                assert ok, f"round {round_}: stalled at {len(got)}"
                got.append(pull.recv())
            pull.close(linger=0)  # the peer goes away...
            event = await bounded(mon.recv_multipart(), "DISCONNECTED after the peer closed")
            assert int.from_bytes(event[0][:2], sys.byteorder) == 0x200
            for i in range(10):  # ...while we go on sending
                await push.send(b"%s%d" % (b"bcd"[round_:round_ + 1], i))
        pull = pctx.socket(zmq.PULL)
        pull.bind(ep)
        while len(got) < 40:
            assert await asyncio.to_thread(pull.poll, 5000), f"final: stalled at {len(got)}"
            got.append(pull.recv())
        expected = [b"%s%d" % (p, i) for p in (b"a", b"b", b"c", b"d") for i in range(10)]
        assert got == expected
        pull.close(0)
        push.disable_monitor()
        mon.close()
        push.close()
        ctx.term()

    run(main)


def test_linger_delivers_after_close_and_term_in_the_loop(pctx: zmq.Context) -> None:
    async def main() -> None:
        ctx = zmtp.asyncio.Context()
        push = ctx.socket(zmtp.PUSH)
        push.bind("tcp://127.0.0.1:*")
        ep = last_endpoint(push)
        pull = pctx.socket(zmq.PULL)
        pull.connect(ep)
        for i in range(100):
            await push.send(b"%d" % i)
        push.close(linger=5000)
        # term() blocks (as pyzmq's); called in the loop's thread it drives the lingering socket itself
        ctx.term()
        got = []
        while len(got) < 100 and pull.poll(2000):
            got.append(pull.recv())
        assert got == [b"%d" % i for i in range(100)]
        pull.close(0)

    run(main)


def test_heartbeat_detects_a_silent_peer() -> None:
    """HEARTBEAT_IVL/TIMEOUT on the native driver: a peer that stops answering is dropped."""
    async def main() -> None:
        ctx = zmtp.asyncio.Context()
        listener = socket.create_server(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        dealer = ctx.socket(zmtp.DEALER)
        dealer.heartbeat_ivl = 50
        dealer.heartbeat_timeout = 200
        dealer.connect(f"tcp://127.0.0.1:{port}")
        peer, _ = await asyncio.to_thread(listener.accept)
        peer.settimeout(5)
        peer.sendall(greeting(as_server=0))
        await asyncio.to_thread(peer.recv, 64)
        peer.sendall(frame(b"\x05READY" + b"\x0bSocket-Type\x00\x00\x00\x06ROUTER", command=True))

        def wait_eof() -> bool:
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                try:
                    if peer.recv(4096) == b"":
                        return True
                except socket.timeout:
                    return False
                except OSError:
                    return True
            return False

        t0 = time.monotonic()
        assert await asyncio.to_thread(wait_eof), "the silent peer was never dropped"
        assert time.monotonic() - t0 < 3
        peer.close()
        listener.close()
        dealer.close()
        ctx.term()

    run(main)


def test_bad_input_drops_the_connection_and_keeps_serving(pctx: zmq.Context) -> None:
    """Garbage and a protocol violation from raw peers: each is dropped, a good pyzmq peer is still
    served by the same zmtp.asyncio socket."""
    async def main() -> None:
        ctx = zmtp.asyncio.Context()
        pull = ctx.socket(zmtp.PULL)
        pull.bind("tcp://127.0.0.1:*")
        ep = last_endpoint(pull)
        host, port = ep[len("tcp://"):].rsplit(":", 1)

        def garbage() -> bytes:
            s = socket.create_connection((host, int(port)), timeout=5)
            s.sendall(b"\x00" * 64 + b"GET / HTTP/1.1\r\n\r\n")
            s.settimeout(5)
            data = b""
            try:
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            except OSError:
                pass
            s.close()
            return data

        await asyncio.to_thread(garbage)

        def bad_frame() -> None:
            s = raw_handshake(ep, b"PUSH")
            s.sendall(b"\x02\xff" + b"x" * 10)  # a command flag with a bad size/name
            s.settimeout(5)
            try:
                while s.recv(4096):
                    pass
            except OSError:
                pass
            s.close()

        await asyncio.to_thread(bad_frame)
        push = pctx.socket(zmq.PUSH)
        push.connect(ep)
        push.send(b"still here")
        assert await bounded(pull.recv(), "a good peer after bad ones") == b"still here"
        push.close(0)
        pull.close()
        ctx.term()

    _ = ready
    run(main)


def test_loop_closed_with_sockets_open_exits_cleanly() -> None:
    """A program whose loop ends with sockets open, messages lingering and a recv pending exits promptly
    (at exit zmtp destroys the context: the lingering socket's loop is gone, so nothing waits on it)."""
    code = r"""
import asyncio, sys, zmtp, zmtp.asyncio
ctx = zmtp.asyncio.Context()
async def main():
    pull = ctx.socket(zmtp.PULL); pull.bind("tcp://127.0.0.1:*")
    push = ctx.socket(zmtp.PUSH); push.connect("tcp://127.0.0.1:9")   # nobody there: lingers
    for i in range(10):
        await push.send(b"x")
    asyncio.ensure_future(pull.recv())
    await asyncio.sleep(0.05)
    sys.stdout.write("loop done\n")
asyncio.run(main())
sys.stdout.write("after loop\n")
"""
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-W", "ignore", "-c", code], env=env, capture_output=True, timeout=30)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode().split() == ["loop", "done", "after", "loop"]
    assert b"Traceback" not in proc.stderr, proc.stderr.decode()
    assert time.monotonic() - t0 < 20


def test_term_after_the_loop_delivers_what_lingers(pctx: zmq.Context) -> None:
    """pyzmq parity: sockets closed with a LINGER inside asyncio.run(), then ctx.term() after the loop is
    gone: term() delivers what they queued (pyzmq's libzmq threads would), bounded by the linger."""
    ctx = zmtp.asyncio.Context()
    pull = pctx.socket(zmq.PULL)
    pull.bind("tcp://127.0.0.1:*")
    ep = last_endpoint(pull)

    async def main() -> None:
        push = ctx.socket(zmtp.PUSH)
        push.connect(ep)
        for i in range(2000):
            await push.send(b"%d" % i)
        push.close(linger=5000)

    run(main)
    ctx.term()
    got = []
    while len(got) < 2000 and pull.poll(2000):
        got.append(pull.recv())
    assert got == [b"%d" % i for i in range(2000)]
    pull.close(0)


def test_errors_go_to_the_future_as_in_pyzmq() -> None:
    """A REQ sending twice, a REP receiving... errors are the future's exception (pyzmq's rule), and the
    socket stays usable."""
    async def main() -> None:
        ctx = zmtp.asyncio.Context()
        req = ctx.socket(zmtp.REQ)
        rep = ctx.socket(zmtp.REP)
        rep.bind("inproc://efsm")
        req.connect("inproc://efsm")
        await req.send(b"one")
        f = req.send(b"two")
        assert isinstance(f, asyncio.Future)
        with pytest.raises(zmtp.ZMQError) as info:
            await f
        assert info.value.errno == zmtp.Errno.EFSM
        with pytest.raises(zmtp.ZMQError):
            await rep.send(b"no request yet")
        assert await bounded(rep.recv(), "the first request") == b"one"
        await rep.send(b"reply")
        assert await bounded(req.recv(), "the reply") == b"reply"
        with pytest.raises(TypeError):
            await req.send("a str")
        req.close()
        rep.close()
        with pytest.raises(zmtp.ZMQError):
            await req.send(b"closed")
        ctx.term()

    run(main)


def test_stream_socket_on_the_native_driver() -> None:
    """A zmtp.asyncio STREAM socket (ipykernel makes one for debugpy) with a plain TCP peer: the connect
    notification, data both ways, the disconnect notification."""
    async def main() -> None:
        ctx = zmtp.asyncio.Context()
        stream = ctx.socket(zmtp.STREAM)
        stream.bind("tcp://127.0.0.1:*")
        host, port = last_endpoint(stream)[len("tcp://"):].rsplit(":", 1)
        peer = socket.create_connection((host, int(port)), timeout=5)
        ident, empty = await bounded(stream.recv_multipart(), "the connect notification")
        assert empty == b""
        peer.sendall(b"hello")
        rid, data = await bounded(stream.recv_multipart(), "raw bytes from the peer")
        assert rid == ident and data == b"hello"
        await stream.send_multipart([ident, b"world"])
        assert await asyncio.to_thread(peer.recv, 100) == b"world"
        peer.close()
        rid, empty = await bounded(stream.recv_multipart(), "the disconnect notification")
        assert rid == ident and empty == b""
        stream.close()
        ctx.term()

    run(main)


def test_io_moves_while_the_loop_thread_is_blocked(pctx: zmq.Context) -> None:
    """jupyter_client's heartbeat pattern: in a coroutine, send, then block the loop's thread on a
    threading.Event, then poll(0) with a sync Poller.  pyzmq's I/O thread reads the reply meanwhile;
    zmtp's engine I/O thread notices the stuck loop and moves its reactor (the watch)."""
    rep = pctx.socket(zmq.REP)
    rep.bind("tcp://127.0.0.1:*")
    ep = last_endpoint(rep)
    stop = threading.Event()

    def echo() -> None:
        while not stop.is_set():
            if rep.poll(50):
                rep.send(rep.recv())

    t = threading.Thread(target=echo)
    t.start()

    async def main() -> None:
        ctx = zmtp.asyncio.Context()
        req = ctx.socket(zmtp.REQ)
        req.connect(ep)
        poller = zmtp.Poller()
        poller.register(req, zmtp.POLLIN)
        for i in range(3):
            await req.send(b"ping%d" % i)
            threading.Event().wait(0.3)  # the loop's thread is blocked, not awaiting
            assert poller.poll(0) == [(req, zmtp.POLLIN)], f"round {i}: nothing moved while the loop was blocked"
            assert await req.recv() == b"ping%d" % i
        req.close()
        ctx.term()

    try:
        run(main)
    finally:
        stop.set()
        t.join(5)
        rep.close(0)
