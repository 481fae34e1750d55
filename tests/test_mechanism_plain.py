"""PLAIN (RFC 24) mechanisms: the handshake, ZAP decisions, malformed commands, and libzmq interop."""

from __future__ import annotations

import threading
from typing import List

import pytest
import zmq
from mechanism_helpers import RawDriver, accept_raw, connect_raw, deliver, expect_refusal, handshake, metadata_for
from zmq.auth.thread import ThreadAuthenticator

from zmtp.protocol.commands import split_command
from zmtp.protocol.errors import ErrorReason, LocalProtocolError, RemoteProtocolError
from zmtp.protocol.mechanism import PeerErrorCommand
from zmtp.protocol.plain import PlainClient, PlainServer


def test_handshake_bytes_and_metadata() -> None:
    client = PlainClient(username=b"admin", password=b"secret")
    server = PlainServer(zap=True)
    log = handshake(client, server)
    assert log[0] == [b"\x05HELLO\x05admin\x06secret"]
    assert log[2] == [b"\x07WELCOME"]
    assert log[3] == [b"\x08INITIATE" + metadata_for("DEALER", Identity=b"c")]
    assert log[4] == [b"\x05READY" + metadata_for("ROUTER")]
    assert client.complete and server.complete
    assert server.peer_metadata == {"socket-type": b"DEALER", "identity": b"c"}
    assert client.peer_metadata == {"socket-type": b"ROUTER"}
    assert (server.username, server.password) == (b"admin", b"secret")
    assert not client.transforms_frames and not server.transforms_frames


def test_zap_request_carries_the_credentials() -> None:
    client = PlainClient(username=b"u", password=b"")
    server = PlainServer(zap=True)
    server.start(b"")
    assert deliver(server, client.start(b"")) == []
    assert server.auth_request.mechanism == b"PLAIN"
    assert server.auth_request.credentials == [b"u", b""]


@pytest.mark.parametrize(
    "status, replies", [(b"400", [b"\x05ERROR\x03400"]), (b"500", [b"\x05ERROR\x03500"]), (b"300", [])]
)
def test_zap_refusals(status: bytes, replies: List[bytes]) -> None:
    client = PlainClient(username=b"u", password=b"wrong")
    server = PlainServer(zap=True)
    server.start(b"")
    deliver(server, client.start(b""))
    assert server.auth_result(status, b"no", b"", {}) == replies
    assert not server.complete
    if replies:
        with pytest.raises(PeerErrorCommand) as err:
            deliver(client, replies)
        assert err.value.reason == status.decode()
    with pytest.raises(LocalProtocolError):
        server.auth_result(b"200", b"", b"", {})


def test_invalid_zap_status() -> None:
    server = PlainServer(zap=True)
    server.start(b"")
    deliver(server, PlainClient().start(b""))
    with pytest.raises(LocalProtocolError):
        server.auth_result(b"999", b"", b"", {})


def test_without_zap_every_client_is_refused_like_libzmq() -> None:
    """libzmq 4.3 plain_server_t::process_hello: no ZAP handler, handshake fails (no ERROR)."""
    server = PlainServer(zap=False)
    server.start(b"")
    with pytest.raises(RemoteProtocolError) as err:
        deliver(server, PlainClient(username=b"u", password=b"p").start(b""))
    assert err.value.reason is ErrorReason.AUTHENTICATION_FAILED


@pytest.mark.parametrize(
    "hello",
    [
        b"\x05HELLO",  # no user name length
        b"\x05HELLO\x05adm",  # user name cut
        b"\x05HELLO\x05admin",  # no password length
        b"\x05HELLO\x05admin\x06secre",  # password cut
        b"\x05HELLO\x05admin\x06secretX",  # extraneous data
        b"\x05HELLO\x05admin\x00\x00",  # extraneous data after an empty password
    ],
)
def test_malformed_hello_is_refused(hello: bytes) -> None:
    server = PlainServer(zap=True)
    server.start(b"")
    with pytest.raises(RemoteProtocolError) as err:
        deliver(server, [hello])
    assert err.value.reason is ErrorReason.BAD_COMMAND
    assert server.auth_request is None


def test_out_of_order_and_unknown_commands() -> None:
    server = PlainServer(zap=True)
    server.start(b"")
    with pytest.raises(RemoteProtocolError, match="expected HELLO"):
        deliver(server, [b"\x08INITIATE"])
    server = PlainServer(zap=True)
    server.start(b"")
    deliver(server, [b"\x05HELLO\x00\x00"])
    with pytest.raises(RemoteProtocolError):  # INITIATE before the decision and WELCOME
        deliver(server, [b"\x08INITIATE"])
    client = PlainClient()
    client.start(b"")
    with pytest.raises(RemoteProtocolError, match="expected WELCOME"):
        deliver(client, [b"\x05READY"])
    client = PlainClient()
    client.start(b"")
    with pytest.raises(RemoteProtocolError) as err:
        deliver(client, [b"\x07WELCOMEextra"])
    assert err.value.reason is ErrorReason.BAD_COMMAND


def test_error_commands_at_the_client() -> None:
    for body in (b"\x05ERROR\x03400", b"^RROR\x03400"):  # the second is libzmq 4.3's PLAIN spelling
        client = PlainClient()
        client.start(b"")
        with pytest.raises(PeerErrorCommand) as err:
            deliver(client, [body])
        assert err.value.reason == "400"
    client = PlainClient()
    client.start(b"")
    with pytest.raises(RemoteProtocolError):
        deliver(client, [b"\x05ERROR\x10abc"])


def test_metadata_that_lies_is_refused() -> None:
    server = PlainServer(zap=True)
    server.start(b"")
    deliver(server, [b"\x05HELLO\x00\x00"])
    welcome = server.auth_result(b"200", b"", b"", {})
    assert welcome == [b"\x07WELCOME"]
    with pytest.raises(RemoteProtocolError) as err:
        deliver(server, [b"\x08INITIATE\x0bSocket-Type\x00\x00\x01\x00REQ"])
    assert err.value.reason is ErrorReason.BAD_METADATA


def test_credentials_limits() -> None:
    with pytest.raises(LocalProtocolError):
        PlainClient(username=b"u" * 256)
    with pytest.raises(LocalProtocolError):
        PlainClient(password=b"p" * 256)
    body = PlainClient(username=b"u" * 255, password=b"p" * 255).start(b"")[0]
    name, data = split_command(body)
    server = PlainServer(zap=True)
    server.start(b"")
    server.receive_command(name, data)
    assert server.auth_request.credentials == [b"u" * 255, b"p" * 255]


# -- interop with libzmq (pyzmq) over TCP ----------------------------------------------------------------
@pytest.fixture
def zctx():  # type: ignore[no-untyped-def]
    ctx = zmq.Context()
    yield ctx
    ctx.destroy(linger=0)


@pytest.fixture
def authenticator(zctx):  # type: ignore[no-untyped-def]
    auth = ThreadAuthenticator(zctx)
    auth.start()
    auth.configure_plain(domain="*", passwords={"admin": "secret"})
    yield auth
    auth.stop()


@pytest.mark.timeout(30)
def test_libzmq_server_zmtp_client(zctx, authenticator) -> None:  # type: ignore[no-untyped-def]
    server = zctx.socket(zmq.REP)
    server.plain_server = True
    port = server.bind_to_random_port("tcp://127.0.0.1")
    mech = PlainClient(username=b"admin", password=b"secret")
    driver = RawDriver(connect_raw(port), mech, "REQ")
    driver.handshake()
    assert mech.peer_metadata["socket-type"] == b"REP"
    driver.send([b"", b"ping"])  # REQ envelope: empty delimiter, body
    assert server.poll(5000)
    assert server.recv() == b"ping"
    server.send(b"pong")
    assert driver.recv() == [b"", b"pong"]
    driver.close()


@pytest.mark.timeout(30)
def test_libzmq_server_refuses_a_wrong_password_with_400(zctx, authenticator) -> None:  # type: ignore[no-untyped-def]
    server = zctx.socket(zmq.REP)
    server.plain_server = True
    port = server.bind_to_random_port("tcp://127.0.0.1")
    mech = PlainClient(username=b"admin", password=b"wrong")
    # libzmq 4.3 sends its ERROR spelled "^RROR"; the connection's command splitter reads it as ERROR
    assert expect_refusal(RawDriver(connect_raw(port), mech, "REQ")) == "error:400"


@pytest.mark.timeout(30)
def test_libzmq_server_without_zap_refuses_silently(zctx) -> None:  # type: ignore[no-untyped-def]
    server = zctx.socket(zmq.REP)
    server.plain_server = True
    port = server.bind_to_random_port("tcp://127.0.0.1")
    mech = PlainClient(username=b"admin", password=b"secret")
    assert expect_refusal(RawDriver(connect_raw(port), mech, "REQ")) == "closed"


@pytest.mark.timeout(30)
@pytest.mark.parametrize("password, admitted", [(b"secret", True), (b"wrong", False)])
def test_zmtp_server_libzmq_client(zctx, password: bytes, admitted: bool) -> None:  # type: ignore[no-untyped-def]
    listener, port = accept_raw()
    client = zctx.socket(zmq.REQ)
    client.plain_username = b"admin"
    client.plain_password = password
    monitor = client.get_monitor_socket(
        zmq.EVENT_HANDSHAKE_FAILED_AUTH | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL | zmq.EVENT_HANDSHAKE_SUCCEEDED
    )
    client.connect(f"tcp://127.0.0.1:{port}")
    sock, _ = listener.accept()
    listener.close()
    mech = PlainServer(zap=True)
    driver = RawDriver(sock, mech, "REP")
    seen: List[object] = []

    def serve() -> None:
        status = b"200" if admitted else b"400"
        driver.handshake(zap_status=status)
        seen.append((mech.username, mech.password))
        if admitted:
            seen.append(driver.recv())
            driver.send([b"", b"welcome"])

    t = threading.Thread(target=serve)
    t.start()
    from zmq.utils.monitor import recv_monitor_message

    assert monitor.poll(5000)
    event = recv_monitor_message(monitor)
    if admitted:
        assert event["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED
        client.send(b"hi")
        assert client.poll(5000)
        assert client.recv() == b"welcome"
    else:
        # libzmq 4.3's PLAIN client only recognises its own "^RROR" spelling, so our correct
        # "\x05ERROR" is an unexpected command to it: refused either way, reported as a protocol error
        assert event["event"] == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
        assert event["value"] == zmq.PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND
    t.join(5)
    assert seen[0] == (b"admin", password)
    if admitted:
        assert seen[1] == [b"", b"hi"]
    client.disable_monitor()
    driver.close()
