"""zmtp.eventloop: ZMQStream on tornado IOLoops (the way ipykernel runs its channels) against pyzmq
peers, zmtp.eventloop.future, and the clear error when tornado is missing."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from typing import Any, Iterator, List

import pytest
import zmq
from asyncio_helpers import last_endpoint

import zmtp

tornado = pytest.importorskip("tornado", reason="tornado is in the test extra")
from tornado.ioloop import IOLoop  # noqa: E402

from zmtp.eventloop import future as zfuture  # noqa: E402
from zmtp.eventloop import ioloop as zioloop  # noqa: E402
from zmtp.eventloop.zmqstream import ZMQStream  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def pctx() -> Iterator[zmq.Context]:
    ctx = zmq.Context()
    yield ctx
    ctx.destroy(linger=0)


@pytest.fixture
def zctx() -> Iterator[zmtp.Context]:
    ctx = zmtp.Context()
    yield ctx
    ctx.destroy(linger=0)


def _run_loop(loop: IOLoop, until: Any, timeout: float, what: str) -> None:
    """Run ``loop`` until ``until()`` holds (checked every 5 ms); fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout

    def check() -> None:
        if until() or time.monotonic() > deadline:
            loop.stop()
        else:
            loop.call_later(0.005, check)

    loop.add_callback(check)
    loop.start()
    assert until(), f"timed out after {timeout} s: {what}"


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_on_recv_and_send_with_pyzmq_peers(
    zctx: zmtp.Context, pctx: zmq.Context, transport: str, tmp_path: Any
) -> None:
    loop = IOLoop(make_current=False)
    try:
        router = zctx.socket(zmtp.ROUTER)
        router.bind("tcp://127.0.0.1:*" if transport == "tcp" else f"ipc://{tmp_path}/r.ipc")
        stream = ZMQStream(router, loop)
        dealers = [pctx.socket(zmq.DEALER) for _ in range(3)]
        for d in dealers:
            d.connect(last_endpoint(router))
        got: List[List[bytes]] = []
        sent: List[Any] = []

        def on_recv(msg: List[bytes]) -> None:
            got.append(msg)
            stream.send_multipart([msg[0], b"echo:" + msg[1]])

        stream.on_recv(on_recv)
        stream.on_send(lambda msg, status: sent.append((msg, status)))
        for i in range(30):
            dealers[i % 3].send(b"%d" % i)
        _run_loop(loop, lambda: len(got) == 30 and len(sent) == 30, 10, "30 messages through ZMQStream")
        assert sorted(int(m[1]) for m in got) == list(range(30))
        assert all(status is None for _, status in sent)
        for i, d in enumerate(dealers):
            replies = []
            while len(replies) < 10 and d.poll(1000):
                replies.append(d.recv())
            assert sorted(replies) == sorted(b"echo:%d" % j for j in range(i, 30, 3))
        stream.close(linger=0)
        assert stream.closed()
        for d in dealers:
            d.close(0)
    finally:
        loop.close()


def test_edge_trigger_burst_is_fully_delivered(zctx: zmtp.Context, pctx: zmq.Context) -> None:
    """Many messages arriving between two loop turns (one FD edge) are all delivered."""
    loop = IOLoop(make_current=False)
    try:
        pull = zctx.socket(zmtp.PULL)
        pull.bind("tcp://127.0.0.1:*")
        push = pctx.socket(zmq.PUSH)
        push.connect(last_endpoint(pull))
        for i in range(500):
            push.send(b"%d" % i)
        time.sleep(0.2)  # all of them are in before the loop looks
        stream = ZMQStream(pull, loop)
        got: List[bytes] = []
        stream.on_recv(lambda msg: got.append(msg[0]))
        _run_loop(loop, lambda: len(got) == 500, 10, "a burst of 500 messages")
        assert got == [b"%d" % i for i in range(500)]
        stream.stop_on_recv()
        assert not stream.receiving()
        push.send(b"late")
        time.sleep(0.1)
        assert stream.flush() == 1  # flush receives (and drops) even without a callback
        stream.close(linger=0)
        push.close(0)
    finally:
        loop.close()


def test_stream_on_a_loop_thread_as_ipykernel_does(zctx: zmtp.Context, pctx: zmq.Context) -> None:
    """The IOLoop runs in its own thread (ipykernel's control/iopub threads); sends are queued from the
    main thread with add_callback, coroutine callbacks reply."""
    loop = IOLoop(make_current=False)
    rep = zctx.socket(zmtp.ROUTER)
    rep.bind("tcp://127.0.0.1:*")
    stream = ZMQStream(rep, loop)

    async def on_recv(msg: List[bytes]) -> None:
        stream.send_multipart([msg[0], b"", msg[-1].upper()])

    stream.on_recv(on_recv)
    t = threading.Thread(target=loop.start)
    t.start()
    try:
        req = pctx.socket(zmq.REQ)
        req.connect(last_endpoint(rep))
        for i in range(20):
            req.send(b"ping%d" % i)
            assert req.poll(5000), f"no reply {i} from the loop thread"
            assert req.recv() == b"PING%d" % i
        req.close(0)
    finally:
        loop.add_callback(loop.stop)
        t.join(10)
        stream.close(linger=0)
        loop.close()


def test_send_helpers_and_close_callback(zctx: zmtp.Context, pctx: zmq.Context) -> None:
    loop = IOLoop(make_current=False)
    try:
        push = zctx.socket(zmtp.PUSH)
        push.bind("tcp://127.0.0.1:*")
        pull = pctx.socket(zmq.PULL)
        pull.connect(last_endpoint(push))
        stream = ZMQStream(push, loop)
        closed: List[bool] = []
        stream.set_close_callback(lambda: closed.append(True))
        stream.send(b"raw")
        stream.send_string("str")
        stream.send_json({"a": 1})
        stream.send_pyobj([1, 2])
        _run_loop(loop, lambda: not stream.sending(), 5, "queued sends")
        got = [pull.recv() for _ in range(4) if pull.poll(2000)]
        assert got[:3] == [b"raw", b"str", b'{"a": 1}'] and len(got) == 4
        stream.close(linger=0)
        assert closed == [True]
        with pytest.raises(OSError):
            stream.on_recv(lambda m: None)
        pull.close(0)
    finally:
        loop.close()


def test_stream_over_an_async_socket_warns_and_shadows(zctx: zmtp.Context) -> None:
    import zmtp.asyncio

    actx = zmtp.asyncio.Context(zctx)
    s = actx.socket(zmtp.PULL)
    loop = IOLoop(make_current=False)
    try:
        with pytest.warns(RuntimeWarning, match="base zmtp.Socket"):
            stream = ZMQStream(s, loop)
        assert type(stream.socket) is zmtp.Socket
        stream.close(linger=0)
    finally:
        loop.close()


def test_future_sockets_in_a_tornado_coroutine(pctx: zmq.Context) -> None:
    ctx = zfuture.Context()

    async def main() -> bytes:
        s = ctx.socket(zmtp.DEALER)
        r = pctx.socket(zmq.ROUTER)
        r.bind("tcp://127.0.0.1:*")
        s.connect(last_endpoint(r))
        await s.send(b"hi")
        assert await asyncio.to_thread(r.poll, 5000)  # a blocking poll here would block the loop
        ident, body = r.recv_multipart()
        r.send_multipart([ident, body + b"!"])
        out = await s.recv()
        s.close()
        r.close(0)
        return out

    assert isinstance(ctx.socket(zmtp.PAIR), zfuture.Socket)
    assert IOLoop(make_current=False).run_sync(main, timeout=10) == b"hi!"
    ctx.destroy(linger=0)
    assert zioloop.ZMQIOLoop is IOLoop


def test_import_without_tornado_names_it() -> None:
    code = (
        "import sys; sys.modules['tornado'] = None; sys.modules['tornado.ioloop'] = None\n"
        "import zmtp, zmtp.asyncio\n"
        "try:\n    import zmtp.eventloop.zmqstream\nexcept ImportError as e:\n    print('ERR', e)\n"
    )
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=30)
    assert out.returncode == 0, out.stderr.decode()
    text = out.stdout.decode()
    assert text.startswith("ERR") and "tornado" in text and "pip install tornado" in text
