"""PLAIN and CURVE inside zmtp.protocol.Connection: two cores wired in memory, and one core over TCP
against libzmq (pyzmq) with heartbeats, ZAP and refusals."""

from __future__ import annotations

import os
import socket
import time
from typing import List, Optional, Tuple

import pytest
import zmq
from crypto_helpers import ALL_BACKENDS, load_backend
from helpers_protocol import ConnectionPair, SocketDriver

from zmtp import crypto
from zmtp.crypto import CryptoBackend
from zmtp.protocol import (
    Cancel,
    Connection,
    ErrorReason,
    ErrorReceived,
    HandshakeComplete,
    MessageReceived,
    PongReceived,
    RemoteProtocolError,
    Subscribe,
)
from zmtp.protocol.curve import CurveClient, CurveServer  # noqa: E402
from zmtp.protocol.events import AuthenticationRequested  # noqa: E402
from zmtp.protocol.frames import COMMAND, frame_header  # noqa: E402
from zmtp.protocol.greeting import Greeting  # noqa: E402
from zmtp.protocol.plain import PlainClient, PlainServer  # noqa: E402
from zmtp.utils import z85  # noqa: E402


@pytest.fixture(params=ALL_BACKENDS)
def backend(request: pytest.FixtureRequest) -> CryptoBackend:
    return load_backend(request.param)


def curve_pair(
    backend: CryptoBackend,
    client_type: str = "DEALER",
    server_type: str = "ROUTER",
    zap: bool = False,
    client_minor: int = 1,
    **kw: object,
) -> Tuple[ConnectionPair, bytes]:
    server_pk, server_sk = backend.crypto_box_keypair(os.urandom(32))
    client_pk, client_sk = backend.crypto_box_keypair(os.urandom(32))
    client = Connection(
        client_type,
        identity=b"cid" if client_type in ("DEALER", "REQ") else b"",
        mechanism=CurveClient(
            public_key=client_pk, secret_key=client_sk, server_key=server_pk, random_bytes=os.urandom, backend=backend
        ),
        minor_version=client_minor,
        **kw,  # type: ignore[arg-type]
    )
    server = Connection(
        server_type,
        mechanism=CurveServer(secret_key=server_sk, zap=zap, random_bytes=os.urandom, backend=backend),
        **kw,  # type: ignore[arg-type]
    )
    return ConnectionPair(client, server), client_pk


def of(events: list, kind: type) -> list:  # type: ignore[type-arg]
    return [e for e in events if isinstance(e, kind)]


def test_curve_pair_messages_commands_subscriptions(backend: CryptoBackend) -> None:
    pair, _ = curve_pair(backend)
    ea, eb = pair.pump()
    assert of(ea, HandshakeComplete)[0].socket_type == "ROUTER"
    hs = of(eb, HandshakeComplete)[0]
    assert hs.socket_type == "DEALER" and hs.identity == b"cid"
    big = os.urandom(300_000)
    pair.a.send_message([b"one", b"", big])
    pair.b.send_message([b"reply"])
    pair.a.send_ping(1.0, b"ctx")
    ea, eb = pair.pump()
    assert [e.frames for e in of(eb, MessageReceived)] == [[b"one", b"", big]]
    assert [e.frames for e in of(ea, MessageReceived)] == [[b"reply"]]
    assert [e.context for e in of(ea, PongReceived)] == [b"ctx"]
    assert pair.errors == {"a": None, "b": None}


@pytest.mark.parametrize("client_minor", [0, 1])
def test_subscriptions_through_the_box(backend: CryptoBackend, client_minor: int) -> None:
    """3.1: SUBSCRIBE/CANCEL commands inside the box; 3.0: \\x01/\\x00 data frames (libzmq downgrade_sub)."""
    pair, _ = curve_pair(backend, "SUB", "PUB", client_minor=client_minor)
    pair.pump()
    assert pair.a.minor_version == client_minor
    pair.a.send_subscribe(b"topic")
    pair.a.send_cancel(b"topic")
    _, eb = pair.pump()
    assert [type(e) for e in eb] == [Subscribe, Cancel]
    assert eb[0].topic == b"topic"


def test_every_byte_after_the_handshake_is_sealed(backend: CryptoBackend) -> None:
    pair, _ = curve_pair(backend)
    pair.pump()
    pair.a.send_message([b"SECRET-PAYLOAD"])
    wire = b"".join(pair.a.data_to_send())
    assert b"SECRET-PAYLOAD" not in wire
    assert wire[0] == 0 and wire[2:10] == b"\x07MESSAGE"  # a data frame carrying a MESSAGE command
    assert pair.b.receive_data(wire)[0].frames == [b"SECRET-PAYLOAD"]


def test_tampered_and_replayed_frames_close_the_connection(backend: CryptoBackend) -> None:
    pair, _ = curve_pair(backend)
    pair.pump()
    pair.a.send_message([b"m1"])
    first = b"".join(pair.a.data_to_send())
    assert pair.b.receive_data(first)[0].frames == [b"m1"]
    with pytest.raises(RemoteProtocolError, match="replay"):
        pair.b.receive_data(first)  # the same MESSAGE again
    pair2, _ = curve_pair(backend)
    pair2.pump()
    pair2.a.send_message([b"m1"])
    bad = bytearray(b"".join(pair2.a.data_to_send()))
    bad[-1] ^= 1
    with pytest.raises(RemoteProtocolError) as err:
        pair2.b.receive_data(bytes(bad))
    assert err.value.reason is ErrorReason.AUTHENTICATION_FAILED
    assert pair2.b.receive_data(b"more") == []  # closed for good


def test_nonce_going_backwards_is_refused(backend: CryptoBackend) -> None:
    pair, _ = curve_pair(backend)
    pair.pump()
    pair.a.send_message([b"m1"])
    m1 = b"".join(pair.a.data_to_send())
    pair.a.send_message([b"m2"])
    m2 = b"".join(pair.a.data_to_send())
    assert pair.b.receive_data(m2)[0].frames == [b"m2"]  # m1 lost: a gap is fine
    with pytest.raises(RemoteProtocolError, match="not above"):
        pair.b.receive_data(m1)


def test_a_plaintext_frame_after_the_handshake_is_refused(backend: CryptoBackend) -> None:
    pair, _ = curve_pair(backend)
    pair.pump()
    with pytest.raises(RemoteProtocolError):
        pair.b.receive_data(b"\x00\x05hello")
    pair2, _ = curve_pair(backend)
    pair2.pump()
    with pytest.raises(RemoteProtocolError):
        pair2.b.receive_data(b"\x04\x05\x04PING")  # an unsealed command


def test_oversized_frame_is_judged_at_its_header(backend: CryptoBackend) -> None:
    """A peer announcing a frame above max size + 33 bytes of CURVE overhead is refused before any of
    it is buffered."""
    pair, _ = curve_pair(backend, max_message_size=1000)
    pair.pump()
    pair.a.send_message([b"x" * 1000])  # exactly the limit: fine (1033 bytes on the wire)
    _, eb = pair.pump()
    assert of(eb, MessageReceived)[0].frames == [b"x" * 1000]
    with pytest.raises(RemoteProtocolError) as err:
        pair.b.receive_data(b"\x02" + (1 << 40).to_bytes(8, "big") + b"\x07MESSAGE")
    assert err.value.reason is ErrorReason.MESSAGE_TOO_LARGE


def raw_server_conn(backend: CryptoBackend) -> Tuple[Connection, bytes]:
    server_pk, server_sk = backend.crypto_box_keypair(os.urandom(32))
    conn = Connection("ROUTER", mechanism=CurveServer(secret_key=server_sk, random_bytes=os.urandom, backend=backend))
    conn.data_to_send()
    greeting = Greeting(3, 1, b"CURVE", False).encode()
    conn.receive_data(greeting)
    return conn, server_pk


@pytest.mark.parametrize("size", [199, 201])
def test_hello_of_wrong_size_at_the_connection(backend: CryptoBackend, size: int) -> None:
    conn, _ = raw_server_conn(backend)
    body = b"\x05HELLO" + bytes(size - 6)
    with pytest.raises(RemoteProtocolError) as err:
        conn.receive_data(frame_header(len(body), COMMAND) + body)
    assert err.value.reason is ErrorReason.BAD_COMMAND


def test_huge_handshake_command_refused_at_its_header(backend: CryptoBackend) -> None:
    conn, _ = raw_server_conn(backend)
    with pytest.raises(RemoteProtocolError):
        conn.receive_data(b"\x06" + (1 << 33).to_bytes(8, "big") + b"\x08INITIATE")


def test_zap_through_the_connection(backend: CryptoBackend) -> None:
    pair, client_pk = curve_pair(backend, zap=True)
    _, eb = pair.pump()
    request = of(eb, AuthenticationRequested)[0]
    assert request.mechanism == b"CURVE" and request.credentials == [client_pk]
    events = pair.b.authentication_result(b"200", b"OK", b"alice", {"X-Role": b"admin"})
    hs = of(events, HandshakeComplete)[0]
    assert hs.user_id == b"alice"
    ea, _ = pair.pump()
    assert of(ea, HandshakeComplete)
    pair.a.send_message([b"hi"])
    _, eb = pair.pump()
    assert of(eb, MessageReceived)[0].frames == [b"hi"]


@pytest.mark.parametrize("status", [b"400", b"300"])
def test_zap_refusal_through_the_connection(backend: CryptoBackend, status: bytes) -> None:
    pair, _ = curve_pair(backend, zap=True)
    pair.pump()
    with pytest.raises(RemoteProtocolError) as err:
        pair.b.authentication_result(status, b"denied")
    assert err.value.reason is ErrorReason.AUTHENTICATION_FAILED
    ea, _ = pair.pump()
    if status == b"400":
        assert [e.reason for e in of(ea, ErrorReceived)] == ["400"]
    else:
        assert not of(ea, ErrorReceived)  # 300: closed silently


def test_plain_through_the_connection() -> None:
    for password, admitted in ((b"secret", True), (b"wrong", False)):
        client = Connection("REQ", mechanism=PlainClient(username=b"admin", password=password))
        server = Connection("REP", mechanism=PlainServer(zap=True))
        pair = ConnectionPair(client, server)
        _, eb = pair.pump()
        request = of(eb, AuthenticationRequested)[0]
        assert request.mechanism == b"PLAIN" and request.credentials == [b"admin", password]
        if admitted:
            server.authentication_result(b"200", b"", b"admin")
            ea, eb = pair.pump()
            assert of(ea, HandshakeComplete) and of(eb, HandshakeComplete)[0].user_id == b"admin"
            client.send_message([b"", b"ping"])
            _, eb = pair.pump()
            assert of(eb, MessageReceived)[0].frames == [b"", b"ping"]
        else:
            with pytest.raises(RemoteProtocolError):
                server.authentication_result(b"400", b"bad password")
            ea, _ = pair.pump()
            assert [e.reason for e in of(ea, ErrorReceived)] == ["400"]


# -- one core over TCP against libzmq -------------------------------------------------------------------
@pytest.fixture
def zctx():  # type: ignore[no-untyped-def]
    ctx = zmq.Context()
    yield ctx
    ctx.destroy(linger=0)


def drive_until_ready(driver: SocketDriver, idle: Optional[object] = None) -> HandshakeComplete:
    ev = driver.wait_for(lambda e: isinstance(e, HandshakeComplete), timeout=10)
    assert isinstance(ev, HandshakeComplete)
    return ev


@pytest.mark.timeout(60)
@pytest.mark.parametrize("backend_name", ALL_BACKENDS)
def test_connection_client_against_libzmq_server_with_heartbeats(  # type: ignore[no-untyped-def]
    zctx, backend_name: str
) -> None:
    """libzmq PINGs every 100 ms through CURVE; our core answers PONG in the box and stays connected."""
    backend = load_backend(backend_name)
    server_pk, server_sk = zmq.curve_keypair()
    server = zctx.socket(zmq.ROUTER)
    server.curve_server = True
    server.curve_secretkey = server_sk
    server.heartbeat_ivl = 100
    server.heartbeat_timeout = 500
    port = server.bind_to_random_port("tcp://127.0.0.1")
    pk, sk = backend.crypto_box_keypair(os.urandom(32))
    conn = Connection(
        "DEALER",
        identity=b"zc",
        mechanism=CurveClient(
            public_key=pk, secret_key=sk, server_key=z85.decode(server_pk), random_bytes=os.urandom, backend=backend
        ),
    )
    driver = SocketDriver(conn, socket.create_connection(("127.0.0.1", port)))
    drive_until_ready(driver)
    driver.run_for(1.0)  # ~10 PINGs from libzmq answered through the box
    big = os.urandom(200_000)
    conn.send_message([b"after heartbeats", big])
    driver.flush()
    assert server.poll(5000)
    assert server.recv_multipart() == [b"zc", b"after heartbeats", big]
    server.send_multipart([b"zc", b"back"])
    ev = driver.wait_for(lambda e: isinstance(e, MessageReceived), timeout=5)
    assert ev.frames == [b"back"]  # type: ignore[attr-defined]
    driver.sock.close()


@pytest.mark.timeout(60)
def test_connection_server_against_libzmq_client_with_zap(zctx) -> None:  # type: ignore[no-untyped-def]
    backend = crypto.backend()
    server_pk, server_sk = backend.crypto_box_keypair(os.urandom(32))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    client = zctx.socket(zmq.SUB)
    client_pk, client_sk = zmq.curve_keypair()
    client.curve_publickey, client.curve_secretkey = client_pk, client_sk
    client.curve_serverkey = z85.encode(server_pk)
    client.setsockopt(zmq.SUBSCRIBE, b"news")
    client.connect(f"tcp://127.0.0.1:{port}")
    sock, _ = listener.accept()
    listener.close()
    mechanism = CurveServer(secret_key=server_sk, zap=True, random_bytes=os.urandom, backend=backend)
    conn = Connection("PUB", mechanism=mechanism)
    driver = SocketDriver(conn, sock)
    request = driver.wait_for(lambda e: isinstance(e, AuthenticationRequested), timeout=10)
    assert request.credentials == [z85.decode(client_pk)]  # type: ignore[attr-defined]
    driver.events += conn.authentication_result(b"200", b"OK", b"subscriber")
    drive_until_ready(driver)
    sub = driver.wait_for(lambda e: isinstance(e, Subscribe), timeout=5)
    assert sub.topic == b"news"  # type: ignore[attr-defined]
    deadline = time.monotonic() + 5
    got: List[List[bytes]] = []
    while time.monotonic() < deadline and not got:
        conn.send_message([b"news", b"item"])
        conn.send_message([b"other", b"dropped"])
        driver.step(0.05)
        if client.poll(50):
            got.append(client.recv_multipart())
    assert got == [[b"news", b"item"]]
    sock.close()


def test_a_zap_handler_that_never_answers_times_out(backend: CryptoBackend) -> None:
    """The handshake interval bounds the wait for a ZAP decision (libzmq: handshake_ivl)."""
    pair, _ = curve_pair(backend, zap=True, handshake_ivl=2.0)
    _, eb = pair.pump(now=0.5)
    assert of(eb, AuthenticationRequested)
    assert pair.b.next_deadline() == 2.0
    pair.b.handle_timer(1.9)
    with pytest.raises(RemoteProtocolError) as err:
        pair.b.handle_timer(2.0)
    assert err.value.reason is ErrorReason.HANDSHAKE_TIMEOUT
    assert pair.b.authentication_result(b"200") == []  # too late: the connection is closed
