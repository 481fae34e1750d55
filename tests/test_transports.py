"""Transport details against libzmq: abstract-namespace ipc, host names, wildcards, IPv6."""

from __future__ import annotations

import os
import socket
import sys
from typing import Iterator, Tuple

import pytest
import zmq

import zmtp


@pytest.fixture(params=["threaded", "blocking"])
def ctxs(request: pytest.FixtureRequest) -> Iterator[Tuple[zmtp.Context, zmq.Context]]:
    zctx = zmtp.Context(driver=request.param)
    pctx = zmq.Context()
    yield zctx, pctx
    zctx.destroy(linger=0)
    pctx.destroy(linger=0)


def _exchange(zsock: zmtp.Socket, psock: zmq.Socket) -> None:
    """zmtp PUSH → pyzmq PULL or pyzmq PUSH → zmtp PULL, one message, with timeouts."""
    psock.rcvtimeo = zsock.rcvtimeo = 5000
    psock.sndtimeo = zsock.sndtimeo = 5000
    if zsock.type == zmtp.PUSH:
        zsock.send(b"hello")
        # with the blocking driver nothing moves between zmtp calls: keep calling in while waiting
        for _ in range(500):
            if psock.poll(10):
                break
            zsock.poll(1, zmtp.POLLIN)  # never ready on a PUSH: just turns the crank for 1 ms
        assert psock.recv() == b"hello"
    else:
        psock.send(b"hello")
        assert zsock.recv() == b"hello"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="abstract namespace is Linux-only")
@pytest.mark.parametrize("zmtp_binds", [True, False])
def test_abstract_ipc_with_libzmq(ctxs: Tuple[zmtp.Context, zmq.Context], zmtp_binds: bool) -> None:
    zctx, pctx = ctxs
    name = f"ipc://@zmtp-test-{os.getpid()}-{int(zmtp_binds)}"
    if zmtp_binds:
        z = zctx.socket(zmtp.PULL)
        z.bind(name)
        assert z.LAST_ENDPOINT == name.encode()
        p = pctx.socket(zmq.PUSH)
        p.connect(name)
    else:
        p = pctx.socket(zmq.PULL)
        p.bind(name)
        z = zctx.socket(zmtp.PUSH)
        z.connect(name)
    _exchange(z, p)


def test_connect_by_host_name(ctxs: Tuple[zmtp.Context, zmq.Context]) -> None:
    zctx, pctx = ctxs
    p = pctx.socket(zmq.PULL)
    port = p.bind_to_random_port("tcp://127.0.0.1")
    z = zctx.socket(zmtp.PUSH)
    z.connect(f"tcp://localhost:{port}")
    _exchange(z, p)


def test_wildcard_bind_reports_resolved_endpoint(ctxs: Tuple[zmtp.Context, zmq.Context]) -> None:
    zctx, pctx = ctxs
    z = zctx.socket(zmtp.PULL)
    z.bind("tcp://*:*")
    endpoint = z.LAST_ENDPOINT.decode()
    assert endpoint.startswith("tcp://0.0.0.0:")
    port = int(endpoint.rsplit(":", 1)[1])
    assert port > 0
    p = pctx.socket(zmq.PUSH)
    p.connect(f"tcp://127.0.0.1:{port}")
    _exchange(z, p)


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="this host has no ::1")
@pytest.mark.parametrize("zmtp_binds", [True, False])
def test_ipv6_with_libzmq(ctxs: Tuple[zmtp.Context, zmq.Context], zmtp_binds: bool) -> None:
    zctx, pctx = ctxs
    if zmtp_binds:
        z = zctx.socket(zmtp.PULL)
        z.ipv6 = 1
        z.bind("tcp://[::1]:*")
        endpoint = z.LAST_ENDPOINT.decode()
        assert endpoint.startswith("tcp://[::1]:")
        p = pctx.socket(zmq.PUSH)
        p.ipv6 = 1
        p.connect(endpoint)
    else:
        p = pctx.socket(zmq.PULL)
        p.ipv6 = 1
        p.bind("tcp://[::1]:*")
        z = zctx.socket(zmtp.PUSH)
        z.ipv6 = 1
        z.connect(p.LAST_ENDPOINT.decode())
    _exchange(z, p)


@pytest.mark.parametrize("size", [65536, 70000, 300_000])
def test_stream_of_large_messages_is_not_stalled(ctxs: Tuple[zmtp.Context, zmq.Context], size: int) -> None:
    """A flush writes a bounded batch per turn; messages left in the pipe must still go out.

    (Regression: with more than one batch's worth of large messages queued, the rest sat in the
    pipe until the next send that found it empty: a PUSH at SNDHWM then waited forever.)
    """
    zctx, pctx = ctxs
    p = pctx.socket(zmq.PULL)
    port = p.bind_to_random_port("tcp://127.0.0.1")
    z = zctx.socket(zmtp.PUSH)
    z.sndtimeo = 5000
    z.connect(f"tcp://127.0.0.1:{port}")
    p.rcvtimeo = 5000
    count = 1500 if size < 100_000 else 400
    payload = b"y" * size
    received = 0
    for _ in range(count):
        z.send(payload)
        while p.poll(0):
            assert len(p.recv()) == size
            received += 1
    while received < count:
        if not p.poll(10):
            z.poll(1, zmtp.POLLIN)  # blocking driver: turn the crank
            continue
        assert len(p.recv()) == size
        received += 1
    assert received == count
