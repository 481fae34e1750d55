"""Attacks on a zmtp CURVE server socket, at the socket level, while a good libzmq client keeps working.

Each attacker is a raw TCP socket driving zmtp's own CURVE client mechanism (so that it can complete
a real handshake) and then cheating: a tampered box, a replayed or backward nonce, a truncated or
oversized HELLO/INITIATE, a forged cookie, a vouch for another key, metadata that lies about its
lengths, garbage.  Each must end with that connection closed by the server (the server's monitor says
HANDSHAKE_FAILED_* when the handshake was under way), quickly, with nothing buffered beyond what
arrived; and the good client's request/reply round trip must work after every one of them.
"""

from __future__ import annotations

import os
import socket
import struct
import time
from typing import Any, Callable, Iterator, List, Tuple

import pytest
import zmq
from mechanism_helpers import RawDriver, read_frame, recv_exactly, write_frame

import zmtp
from zmtp.protocol.commands import command_body, split_command
from zmtp.protocol.curve import CurveClient
from zmtp.protocol.frames import COMMAND, LONG, MORE
from zmtp.protocol.greeting import GREETING_SIZE, Greeting, parse_greeting
from zmtp.protocol.metadata import encode_metadata
from zmtp.utils import z85

SERVER_PUBLIC = b"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
SERVER_SECRET = b"JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"
CLIENT_PUBLIC = b"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
CLIENT_SECRET = b"D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs"
HANDSHAKE_FAILED = {int(zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL), int(zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL),
                    int(zmq.EVENT_HANDSHAKE_FAILED_AUTH)}


class Target:
    """A zmtp ROUTER bound as CURVE server, with a monitor, and a good pyzmq DEALER client."""

    def __init__(self) -> None:
        self.zctx = zmtp.Context()
        self.pctx = zmq.Context()
        self.server = self.zctx.socket(zmtp.ROUTER)
        self.server.linger = 0
        self.server.rcvtimeo = 2000
        self.server.curve_server = True
        self.server.curve_secretkey = SERVER_SECRET
        self.monitor = self.server.get_monitor_socket()
        self.server.bind("tcp://127.0.0.1:*")
        self.endpoint = self.server.getsockopt(zmtp.LAST_ENDPOINT).decode()
        self.port = int(self.endpoint.rsplit(":", 1)[1])
        self.good = self.pctx.socket(zmq.DEALER)
        self.good.linger = 0
        self.good.rcvtimeo = 2000
        self.good.routing_id = b"good"
        self.good.curve_serverkey, self.good.curve_publickey, self.good.curve_secretkey = \
            SERVER_PUBLIC, CLIENT_PUBLIC, CLIENT_SECRET
        self.good.connect(self.endpoint)
        self.round_trip()

    def round_trip(self) -> None:
        """The good client is served (whatever attackers' valid messages are interleaved)."""
        token = os.urandom(8)
        self.good.send(token)
        deadline = time.monotonic() + 3
        while True:
            msg = self.server.recv_multipart()
            if msg == [b"good", token]:
                break
            assert time.monotonic() < deadline, "the good client's request never arrived"
        self.server.send_multipart([b"good", b"re:" + token])
        assert self.good.recv() == b"re:" + token

    def events(self, seconds: float = 0.3) -> List[int]:
        from zmtp.utils.monitor import recv_monitor_message

        out = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.monitor.poll(20):
                out.append(int(recv_monitor_message(self.monitor)["event"]))
        return out

    def close(self) -> None:
        self.server.disable_monitor()
        self.monitor.close(linger=0)
        self.server.close(linger=0)
        self.good.close(linger=0)
        self.zctx.term()
        self.pctx.term()


@pytest.fixture
def target() -> Iterator[Target]:
    t = Target()
    try:
        yield t
    finally:
        t.close()


def closed_by_peer(sock: socket.socket, within: float = 2.0) -> bool:
    """Read (and discard) until the server closes the connection; False if it is still open."""
    sock.settimeout(0.05)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return True
        if not data:
            return True
    return False


def send_quietly(sock: socket.socket, data: bytes) -> None:
    try:
        sock.sendall(data)
    except (ConnectionResetError, BrokenPipeError):
        pass  # the server may already have hung up, which is what we test


def _client(public: bytes = CLIENT_PUBLIC, secret: bytes = CLIENT_SECRET, server: bytes = SERVER_PUBLIC) -> CurveClient:
    return CurveClient(public_key=z85.decode(public), secret_key=z85.decode(secret), server_key=z85.decode(server),
                       random_bytes=os.urandom)


def _metadata() -> bytes:
    return encode_metadata({"Socket-Type": b"DEALER", "Identity": b"attacker"})


def greet(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(Greeting(3, 1, b"CURVE", False).encode())
    peer = parse_greeting(recv_exactly(s, GREETING_SIZE))
    assert peer.mechanism == b"CURVE" and peer.as_server
    return s


def up_to_initiate(port: int, client: CurveClient, metadata: bytes) -> Tuple[socket.socket, bytes]:
    """Greeting, HELLO, WELCOME: returns the socket and the INITIATE body the client would send."""
    s = greet(port)
    (hello,) = client.start(metadata)
    write_frame(s, COMMAND, hello)
    flags, welcome = read_frame(s)
    assert flags & COMMAND
    name, data = split_command(welcome)
    (initiate,) = client.receive_command(name, data)
    return s, initiate


def established(port: int) -> RawDriver:
    driver = RawDriver(socket.create_connection(("127.0.0.1", port), timeout=5), _client(), "DEALER", b"attacker")
    driver.handshake()
    return driver


# -- the handshake -------------------------------------------------------------------------------------

HELLO_ATTACKS: List[Tuple[str, Callable[[bytes], bytes]]] = [
    ("truncated HELLO", lambda hello: hello[:150]),
    ("oversized HELLO", lambda hello: hello + b"\x00" * 100),
    ("HELLO with a forged signature box", lambda hello: hello[:-1] + bytes([hello[-1] ^ 1])),
    ("HELLO of version 2.0", lambda hello: hello[:6] + b"\x02\x00" + hello[8:]),
]


@pytest.mark.parametrize("name,mutate", HELLO_ATTACKS, ids=[a[0] for a in HELLO_ATTACKS])
def test_bad_hello(target: Target, name: str, mutate: Callable[[bytes], bytes]) -> None:
    s = greet(target.port)
    (hello,) = _client().start(_metadata())
    send_quietly(s, bytes([COMMAND, len(mutate(hello))]) + mutate(hello) if len(mutate(hello)) < 256 else
                 bytes([COMMAND | LONG]) + struct.pack(">Q", len(mutate(hello))) + mutate(hello))
    assert closed_by_peer(s), name
    s.close()
    assert HANDSHAKE_FAILED & set(target.events()), name
    target.round_trip()


def _lie(metadata_len: int) -> bytes:
    """A property whose value length says ``metadata_len`` but carries 5 bytes."""
    return bytes([11]) + b"Socket-Type" + struct.pack(">I", metadata_len) + b"DEALE"


INITIATE_ATTACKS: List[Tuple[str, Callable[[bytes], bytes]]] = [
    ("truncated INITIATE", lambda body: body[:200]),
    ("forged cookie", lambda body: body[:9 + 20] + bytes([body[9 + 20] ^ 0xFF]) + body[9 + 21:]),
    ("tampered INITIATE box", lambda body: body[:-1] + bytes([body[-1] ^ 0x01])),
    ("INITIATE with a stale short nonce", lambda body: body[:9 + 96] + struct.pack(">Q", 1) + body[9 + 104:]),
]


@pytest.mark.parametrize("name,mutate", INITIATE_ATTACKS, ids=[a[0] for a in INITIATE_ATTACKS])
def test_bad_initiate(target: Target, name: str, mutate: Callable[[bytes], bytes]) -> None:
    s, initiate = up_to_initiate(target.port, _client(), _metadata())
    bad = mutate(initiate)
    send_quietly(s, bytes([COMMAND | LONG]) + struct.pack(">Q", len(bad)) + bad)
    assert closed_by_peer(s), name
    s.close()
    assert HANDSHAKE_FAILED & set(target.events()), name
    target.round_trip()


def test_replayed_initiate(target: Target) -> None:
    """An INITIATE replayed on a new connection (with a new HELLO) finds no cookie key to open."""
    s, initiate = up_to_initiate(target.port, _client(), _metadata())
    write_frame(s, COMMAND, initiate)
    flags, ready = read_frame(s)
    assert split_command(ready)[0] == b"READY"
    s2, _ = up_to_initiate(target.port, _client(), _metadata())
    send_quietly(s2, bytes([COMMAND | LONG]) + struct.pack(">Q", len(initiate)) + initiate)
    assert closed_by_peer(s2)
    s.close()
    s2.close()
    target.round_trip()


def test_vouch_for_another_key(target: Target) -> None:
    """The INITIATE claims long-term key C but its vouch is boxed with another secret key."""
    other_pub, _ = zmtp.curve_keypair()
    s, initiate = up_to_initiate(target.port, _client(public=other_pub), _metadata())
    send_quietly(s, bytes([COMMAND | LONG]) + struct.pack(">Q", len(initiate)) + initiate)
    assert closed_by_peer(s)
    s.close()
    assert HANDSHAKE_FAILED & set(target.events())
    target.round_trip()


@pytest.mark.parametrize("claimed", [6, 1000, 0xFFFFFFFF])
def test_metadata_lying_about_its_lengths(target: Target, claimed: int) -> None:
    """Inside a valid box: a property value length beyond what the box holds."""
    s, initiate = up_to_initiate(target.port, _client(), _lie(claimed))
    send_quietly(s, bytes([COMMAND | LONG]) + struct.pack(">Q", len(initiate)) + initiate)
    assert closed_by_peer(s)
    s.close()
    assert HANDSHAKE_FAILED & set(target.events())
    target.round_trip()


def test_oversized_command_header_closes_at_once(target: Target) -> None:
    """A handshake command announcing 1 TiB: refused at its header, nothing buffered meanwhile."""
    s = greet(target.port)
    send_quietly(s, bytes([COMMAND | LONG]) + struct.pack(">Q", 1 << 40) + b"\x05HELLO" + b"\x00" * 1000)
    t0 = time.monotonic()
    assert closed_by_peer(s)
    assert time.monotonic() - t0 < 1.0
    s.close()
    target.round_trip()


def test_garbage_and_silence(target: Target) -> None:
    """Random bytes instead of a greeting, and a peer that says nothing (bounded by HANDSHAKE_IVL,
    here 300 ms on a second server)."""
    s = socket.create_connection(("127.0.0.1", target.port), timeout=5)
    send_quietly(s, os.urandom(64) + b"\xff" * 100)
    assert closed_by_peer(s)
    s.close()
    quick = target.zctx.socket(zmtp.ROUTER)
    try:
        quick.linger = 0
        quick.handshake_ivl = 300
        quick.curve_server = True
        quick.curve_secretkey = SERVER_SECRET
        quick.bind("tcp://127.0.0.1:*")
        port = int(quick.getsockopt(zmtp.LAST_ENDPOINT).decode().rsplit(":", 1)[1])
        silent = greet(port)
        t0 = time.monotonic()
        assert closed_by_peer(silent, within=3.0)
        assert time.monotonic() - t0 < 1.5
        silent.close()
    finally:
        quick.close(linger=0)
    target.round_trip()


# -- after the handshake --------------------------------------------------------------------------------

def _sealed(driver: RawDriver, frames: List[bytes]) -> List[bytes]:
    """The wire frames (header + body) of a message sealed by the driver's mechanism."""
    out = []
    for i, frame in enumerate(frames):
        flags, body = driver.mech.encode_frame(MORE if i < len(frames) - 1 else 0, frame)
        size = len(body)
        header = bytes([flags | LONG]) + struct.pack(">Q", size) if size > 255 else bytes([flags, size])
        out.append(header + body)
    return out


def test_tampered_message_box(target: Target) -> None:
    driver = established(target.port)
    driver.send([b"fine"])
    (wire,) = _sealed(driver, [b"tampered"])
    send_quietly(driver.sock, wire[:-3] + bytes([wire[-3] ^ 0x10]) + wire[-2:])
    assert closed_by_peer(driver.sock)
    driver.close()
    target.round_trip()


def test_replayed_message(target: Target) -> None:
    driver = established(target.port)
    (wire,) = _sealed(driver, [b"once"])
    send_quietly(driver.sock, wire + wire)
    assert closed_by_peer(driver.sock)
    driver.close()
    target.round_trip()  # (the first copy reached the ROUTER; the replay closed the connection)


def test_nonce_going_backwards(target: Target) -> None:
    driver = established(target.port)
    (first,) = _sealed(driver, [b"first"])
    (second,) = _sealed(driver, [b"second"])
    send_quietly(driver.sock, second + first)
    assert closed_by_peer(driver.sock)
    driver.close()
    target.round_trip()


def test_plaintext_frame_after_the_handshake(target: Target) -> None:
    driver = established(target.port)
    send_quietly(driver.sock, bytes([0, 5]) + b"plain")
    assert closed_by_peer(driver.sock)
    driver.close()
    target.round_trip()


def test_truncated_message_command(target: Target) -> None:
    driver = established(target.port)
    body = command_body(b"MESSAGE", b"\x00" * 10)  # shorter than nonce + tag + flags
    send_quietly(driver.sock, bytes([0, len(body)]) + body)
    assert closed_by_peer(driver.sock)
    driver.close()
    target.round_trip()


def test_attacks_against_the_same_socket_leave_nothing_behind(target: Target) -> None:
    """Twenty handshakes abandoned half-way and twenty tampered links: afterwards the server holds no
    connection but the good client's, and serves it."""
    socks: List[Any] = []
    for _ in range(20):
        s, _initiate = up_to_initiate(target.port, _client(), _metadata())
        socks.append(s)
        d = established(target.port)
        (wire,) = _sealed(d, [b"x"])
        send_quietly(d.sock, wire[:-1] + bytes([wire[-1] ^ 1]))
        socks.append(d.sock)
    for s in socks:
        s.close()
    deadline = time.monotonic() + 3
    while True:
        with target.server.core.lock:
            streams = len(target.server.core.streams)
        if streams == 1 or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert streams == 1
    target.round_trip()
