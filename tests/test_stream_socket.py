"""STREAM sockets (raw TCP to non-ZeroMQ peers), the same scenarios run on zmtp and on libzmq (pyzmq):
notifications on connect and disconnect, routing ids, CONNECT_ROUTING_ID, STREAM_NOTIFY, unknown ids,
and a zmtp STREAM talking to a libzmq STREAM socket."""

from __future__ import annotations

import socket
import time
from typing import Any, Iterator, List

import pytest
import zmq

import zmtp

IMPLS = [pytest.param(zmtp, id="zmtp"), pytest.param(zmq, id="libzmq")]


@pytest.fixture
def ctxs() -> Iterator[List[Any]]:
    made: List[Any] = []
    yield made
    for ctx in made:
        ctx.destroy(linger=0)


def _stream(impl: Any, ctxs: List[Any], **opts: Any) -> Any:
    ctx = impl.Context()
    ctxs.append(ctx)
    s = ctx.socket(impl.STREAM)
    s.linger = 0
    s.rcvtimeo = 3000
    for name, value in opts.items():
        setattr(s, name, value)
    return s


def _addr(sock: Any) -> tuple:
    host, port = sock.LAST_ENDPOINT.decode()[len("tcp://"):].rsplit(":", 1)
    return host, int(port)


@pytest.mark.parametrize("impl", IMPLS)
def test_server_side_notify_data_and_disconnect(impl: Any, ctxs: List[Any]) -> None:
    s = _stream(impl, ctxs)
    s.bind("tcp://127.0.0.1:*")
    c = socket.create_connection(_addr(s), timeout=3)
    try:
        rid, data = s.recv_multipart()
        assert len(rid) == 5 and rid[0] == 0 and data == b""  # the connect notification
        c.sendall(b"GET / HTTP/1.0\r\n\r\n")
        got = b""
        while len(got) < 18:
            rid2, chunk = s.recv_multipart()
            assert rid2 == rid
            got += chunk
        assert got == b"GET / HTTP/1.0\r\n\r\n"
        s.send_multipart([rid, b"HTTP/1.0 200 OK\r\n\r\nhello"])
        reply = b""
        while len(reply) < 24:
            reply += c.recv(100)
        assert reply == b"HTTP/1.0 200 OK\r\n\r\nhello"
    finally:
        c.close()
    assert s.recv_multipart() == [rid, b""]  # the disconnect notification


@pytest.mark.parametrize("impl", IMPLS)
def test_client_side_connect_routing_id(impl: Any, ctxs: List[Any]) -> None:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.settimeout(3)
    try:
        s = _stream(impl, ctxs)
        s.setsockopt(impl.CONNECT_ROUTING_ID, b"peer-1")
        s.connect(f"tcp://127.0.0.1:{srv.getsockname()[1]}")
        conn, _ = srv.accept()
        try:
            assert s.recv_multipart() == [b"peer-1", b""]
            conn.sendall(b"ping")
            assert s.recv_multipart() == [b"peer-1", b"ping"]
            s.send_multipart([b"peer-1", b"pong"])
            conn.settimeout(3)
            assert conn.recv(10) == b"pong"
        finally:
            conn.close()
        assert s.recv_multipart() == [b"peer-1", b""]
    finally:
        srv.close()


@pytest.mark.parametrize("impl", IMPLS)
def test_unknown_routing_id_is_ehostunreach(impl: Any, ctxs: List[Any]) -> None:
    s = _stream(impl, ctxs)
    s.bind("tcp://127.0.0.1:*")
    with pytest.raises(impl.ZMQError) as info:
        s.send_multipart([b"\x00nope", b"x"])
    assert info.value.errno == zmq.EHOSTUNREACH


@pytest.mark.parametrize("impl", IMPLS)
def test_stream_notify_off(impl: Any, ctxs: List[Any]) -> None:
    s = _stream(impl, ctxs)
    s.setsockopt(impl.STREAM_NOTIFY, 0)
    s.bind("tcp://127.0.0.1:*")
    c = socket.create_connection(_addr(s), timeout=3)
    try:
        c.sendall(b"abc")
        rid, data = s.recv_multipart()
        assert data == b"abc"  # no empty notification first
    finally:
        c.close()
    time.sleep(0.1)
    with pytest.raises(impl.Again):
        s.recv_multipart(impl.DONTWAIT)


def test_empty_frame_closes_the_connection(ctxs: List[Any]) -> None:
    """zmq_socket(3): "To close a specific connection, send the identity frame followed by a zero-length
    message."  zmtp does; libzmq 4.3.4 and 4.3.5 were seen to leave the connection open (spec-notes)."""
    s = _stream(zmtp, ctxs)
    s.bind("tcp://127.0.0.1:*")
    c = socket.create_connection(_addr(s), timeout=3)
    try:
        rid, _ = s.recv_multipart()
        s.send_multipart([rid, b"bye"])
        s.send_multipart([rid, b""])
        got = b""
        while True:
            chunk = c.recv(100)
            if not chunk:
                break
            got += chunk
        assert got == b"bye"
    finally:
        c.close()
    assert s.recv_multipart() == [rid, b""]


@pytest.mark.parametrize("zmtp_binds", [True, False], ids=["zmtp_binds", "libzmq_binds"])
def test_zmtp_stream_talks_to_libzmq_stream(ctxs: List[Any], zmtp_binds: bool) -> None:
    z = _stream(zmtp, ctxs)
    p = _stream(zmq, ctxs)
    server, client = (z, p) if zmtp_binds else (p, z)
    server.bind("tcp://127.0.0.1:*")
    client.connect(server.LAST_ENDPOINT.decode())
    crid, note = client.recv_multipart()
    srid, snote = server.recv_multipart()
    assert note == b"" and snote == b""
    client.send_multipart([crid, b"raw bytes, no ZMTP"])
    got = b""
    while len(got) < 18:
        rid, chunk = server.recv_multipart()
        assert rid == srid
        got += chunk
    assert got == b"raw bytes, no ZMTP"
    server.send_multipart([srid, b"back"])
    assert client.recv_multipart() == [crid, b"back"]
