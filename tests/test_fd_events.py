"""``Socket.FD`` / ``fileno()`` / ``EVENTS``: libzmq's edge-triggered contract, for sync sockets.

The FD becomes readable when the socket's state may have changed; reading ``EVENTS`` clears it; an
application must read ``EVENTS`` until it stops saying POLLIN (one readable edge may stand for several
messages).  This is what ``selectors``, ``asyncio``'s ``add_reader``, tornado's ``add_handler`` (and so
pyzmq's ZMQStream, which ipykernel runs on) wait with.  Peers are real pyzmq (libzmq) sockets, over tcp
and ipc.  The blocking driver moves no I/O between calls, so its FD could never become readable by
itself: asking for it is a clear error instead of a hang.
"""

from __future__ import annotations

import asyncio
import selectors
import time
from typing import Any, Iterator, List, Tuple

import pytest
import zmq
from robust_helpers import endpoint, pyzmq_context, wait_until

import zmtp

TRANSPORTS = ["tcp", "ipc"]


@pytest.fixture
def pctx() -> Iterator[zmq.Context]:
    yield from pyzmq_context()


@pytest.fixture
def zctx() -> Iterator[zmtp.Context]:
    ctx = zmtp.Context()
    yield ctx
    ctx.destroy(linger=0)


def _bind_addr(transport: str, tmp_path: Any) -> str:
    if transport == "tcp":
        return "tcp://127.0.0.1:*"
    return f"ipc://{tmp_path}/fd.sock"


def _pull_from_pyzmq(zctx: zmtp.Context, pctx: zmq.Context, transport: str, tmp_path: Any) -> Tuple[Any, Any]:
    pull = zctx.socket(zmtp.PULL)
    pull.linger = 0
    pull.bind(_bind_addr(transport, tmp_path))
    push = pctx.socket(zmq.PUSH)
    push.linger = 0
    push.connect(endpoint(pull))
    return pull, push


def _readable(fd: int, timeout: float) -> bool:
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        return bool(sel.select(timeout))


def _drain(sock: Any) -> List[bytes]:
    """The contract's loop: read EVENTS until it stops saying POLLIN, receiving meanwhile."""
    got = []
    while sock.getsockopt(zmtp.EVENTS) & zmtp.POLLIN:
        got.append(sock.recv(zmtp.DONTWAIT))
    return got


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_fd_is_the_same_number_and_fileno(zctx: zmtp.Context, transport: str, tmp_path: Any) -> None:
    s = zctx.socket(zmtp.PULL)
    s.bind(_bind_addr(transport, tmp_path))
    fd = s.getsockopt(zmtp.FD)
    assert isinstance(fd, int) and fd >= 0
    assert s.FD == fd == s.fileno()
    s.close(0)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_selectors_edge_trigger_two_messages_one_event(
    zctx: zmtp.Context, pctx: zmq.Context, transport: str, tmp_path: Any
) -> None:
    pull, push = _pull_from_pyzmq(zctx, pctx, transport, tmp_path)
    fd = pull.FD
    # nothing yet: reading EVENTS clears whatever the handshake signalled
    assert not pull.EVENTS & zmtp.POLLIN
    push.send(b"one")
    push.send(b"two")
    assert _readable(fd, 3.0), "FD never became readable for two messages"
    # give the second message time to arrive too (one edge for both is the point of the test)
    assert wait_until(lambda: pull.getsockopt(zmtp.EVENTS) & zmtp.POLLIN, 3.0)
    time.sleep(0.05)
    got = _drain(pull)
    while len(got) < 2 and _readable(fd, 3.0):
        got += _drain(pull)
    assert got == [b"one", b"two"]
    # drained and EVENTS read: the FD stays quiet until something new happens
    assert not _readable(fd, 0.1), "FD readable although EVENTS was read and nothing arrived"
    push.send(b"three")
    assert _readable(fd, 3.0), "FD did not become readable for a new message"
    assert _drain(pull) == [b"three"]
    pull.close(0)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_asyncio_add_reader_edge_trigger(zctx: zmtp.Context, pctx: zmq.Context, transport: str, tmp_path: Any) -> None:
    pull, push = _pull_from_pyzmq(zctx, pctx, transport, tmp_path)

    async def main() -> Tuple[List[bytes], int]:
        loop = asyncio.get_running_loop()
        got: List[bytes] = []
        wakeups = 0
        done = asyncio.Event()

        def on_readable() -> None:
            nonlocal wakeups
            wakeups += 1
            got.extend(_drain(pull))
            if len(got) >= 10:
                done.set()

        loop.add_reader(pull.FD, on_readable)
        try:
            on_readable()  # what arrived before we registered (a level check, as pyzmq does)
            for i in range(10):
                push.send(b"%d" % i)
            await asyncio.wait_for(done.wait(), 5.0)
        finally:
            loop.remove_reader(pull.FD)
        return got, wakeups

    got, wakeups = asyncio.run(main())
    assert got == [b"%d" % i for i in range(10)]
    assert wakeups <= 11
    pull.close(0)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_pollout_edge_when_a_peer_arrives(zctx: zmtp.Context, pctx: zmq.Context, transport: str, tmp_path: Any) -> None:
    """A PUSH with no peer cannot send; the FD signals when a peer connects and POLLOUT appears."""
    push = zctx.socket(zmtp.PUSH)
    push.linger = 0
    push.bind(_bind_addr(transport, tmp_path))
    fd = push.FD
    assert not push.EVENTS & zmtp.POLLOUT
    assert not _readable(fd, 0.05)
    pull = pctx.socket(zmq.PULL)
    pull.linger = 0
    pull.connect(endpoint(push))
    deadline = time.monotonic() + 3.0
    while not push.EVENTS & zmtp.POLLOUT:
        left = deadline - time.monotonic()
        assert left > 0, "POLLOUT never came"
        _readable(fd, left)
    push.send(b"hello", zmtp.DONTWAIT)
    assert pull.poll(3000)
    assert pull.recv() == b"hello"
    push.close(0)


def test_send_side_fd_with_a_pyzmq_peer_over_the_loop(zctx: zmtp.Context, pctx: zmq.Context) -> None:
    """REQ over FD: send, wait on the FD for the reply (readable edge), receive."""
    rep = pctx.socket(zmq.REP)
    rep.linger = 0
    rep.bind("tcp://127.0.0.1:*")
    req = zctx.socket(zmtp.REQ)
    req.linger = 0
    req.connect(endpoint(rep))

    async def main() -> List[bytes]:
        loop = asyncio.get_running_loop()
        out: List[bytes] = []
        for i in range(5):
            req.send(b"q%d" % i)
            fut: asyncio.Future[bytes] = loop.create_future()

            def check(fut: asyncio.Future[bytes] = fut) -> None:
                if not fut.done() and req.EVENTS & zmtp.POLLIN:
                    fut.set_result(req.recv(zmtp.DONTWAIT))

            loop.add_reader(req.FD, check)
            loop.call_soon(check)
            await loop.run_in_executor(None, lambda: rep.send(rep.recv()))
            try:
                out.append(await asyncio.wait_for(fut, 3.0))
            finally:
                loop.remove_reader(req.FD)
        return out

    assert asyncio.run(main()) == [b"q%d" % i for i in range(5)]
    req.close(0)


def test_fd_signals_inproc_from_another_socket(zctx: zmtp.Context) -> None:
    a = zctx.socket(zmtp.PAIR)
    b = zctx.socket(zmtp.PAIR)
    a.bind("inproc://fd-inproc")
    b.connect("inproc://fd-inproc")
    fd = a.FD
    _ = a.EVENTS
    b.send(b"x")
    assert _readable(fd, 3.0)
    assert _drain(a) == [b"x"]
    assert not _readable(fd, 0.05)
    a.close(0)
    b.close(0)


def test_fd_readable_when_the_socket_goes_away(zctx: zmtp.Context) -> None:
    """A loop waiting on the FD wakes when the socket is closed (libzmq signals on close too)."""
    s = zctx.socket(zmtp.PULL)
    s.bind("tcp://127.0.0.1:*")
    fd = s.FD
    _ = s.EVENTS
    assert not _readable(fd, 0.05)
    s.close(0)
    assert _readable(fd, 3.0)
    with pytest.raises(zmtp.ZMQError):
        s.getsockopt(zmtp.EVENTS)


def test_blocking_driver_fd_is_a_clear_error() -> None:
    """The blocking driver moves nothing between calls: an FD that never becomes readable would hang
    the caller's event loop, so asking for it says why and what to use instead."""
    ctx = zmtp.Context(driver="blocking")
    try:
        s = ctx.socket(zmtp.PULL)
        with pytest.raises(zmtp.ZMQError) as info:
            s.getsockopt(zmtp.FD)
        assert info.value.errno == zmtp.Errno.ENOTSUP
        assert "blocking" in str(info.value) and "threaded" in str(info.value)
        with pytest.raises(zmtp.ZMQError):
            s.fileno()
        # EVENTS itself works (it is a plain query)
        assert s.getsockopt(zmtp.EVENTS) == 0
        s.close(0)
    finally:
        ctx.destroy(linger=0)


def test_many_messages_through_selector_loop(zctx: zmtp.Context, pctx: zmq.Context) -> None:
    """A selector loop that follows the contract never loses a wake-up (1000 messages, bursts)."""
    pull, push = _pull_from_pyzmq(zctx, pctx, "tcp", None)
    n = 1000
    got: List[bytes] = []
    fd = pull.FD
    sent = 0
    deadline = time.monotonic() + 10
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        got += _drain(pull)
        while len(got) < n:
            assert time.monotonic() < deadline, f"stalled at {len(got)} of {n}"
            if sent < n:
                for _ in range(min(37, n - sent)):
                    push.send(b"%d" % sent)
                    sent += 1
            if sel.select(1.0):
                got += _drain(pull)
            else:
                # a wake-up was lost if messages are ready but the FD said nothing
                assert not pull.EVENTS & zmtp.POLLIN or sent < n, "ready messages but the FD stayed quiet"
                got += _drain(pull)
    assert got == [b"%d" % i for i in range(n)]
    pull.close(0)
