"""The draft patterns against libzmq 4.3.5's draft sockets, over real TCP, before the socket layer has them.

A tiny blocking test transport (:class:`WireTransport`) carries one pattern's pipes with
``zmtp.protocol.Connection``; the other side is zeromq.js (the interop peer, libzmq built with the
draft API).  This checks the patterns' behaviour and message shapes against libzmq itself: routing
ids, round-robin, fair-queuing, RADIO's ``[group, body]`` wire shape into a libzmq DISH.  JOIN/LEAVE
need the protocol helper's Join/Leave events, so group membership over the wire and a zmtp DISH are
left to the interop scenarios (scenarios_draft.py).
Skipped, with the reason, only when node/npm are absent (the zeromq.js peer is optional).
"""

from __future__ import annotations

import socket
import time
from typing import Callable, Dict, Iterator, List, Optional, Tuple

import pytest

from interop.api import Timeout
from interop.control import PeerProcess, RemoteSide, RemoteSock
from interop.peers import Unavailable
from interop.peers.zeromqjs import PEER
from zmtp.options import Options
from zmtp.patterns import Channel, Client, Gather, Pattern, Pipe, Radio, Scatter, Server, SingleMessage
from zmtp.protocol.connection import Connection
from zmtp.protocol.events import ConnectionClosed, HandshakeComplete
from zmtp.protocol.events import MessageReceived as Message

pytestmark = pytest.mark.timeout(60)


class WireTransport:
    """Carries a pattern's pipes over blocking TCP sockets with ``zmtp.protocol`` (test double)."""

    def __init__(self, pattern: Pattern, minor: int) -> None:
        self.pattern = pattern
        self.minor = minor
        self.links: List[Tuple[socket.socket, Connection, Pipe]] = []
        self.listener: Optional[socket.socket] = None
        #: RADIO: pipes take every group (as the UDP transport's), since JOINs need protocol support
        self.subscribe_to_all = False

    def bind(self) -> str:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.listener.setblocking(False)
        return f"tcp://127.0.0.1:{self.listener.getsockname()[1]}"

    def connect(self, endpoint: str) -> None:
        host, port = endpoint[len("tcp://"):].rsplit(":", 1)
        self._add(socket.create_connection((host, int(port))))

    def _add(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        conn = Connection(self.pattern.socket_type_name, minor_version=self.minor)
        pipe = Pipe()
        pipe.subscribe_to_all = self.subscribe_to_all
        self.links.append((sock, conn, pipe))

    def pump(self, seconds: float = 0.05) -> None:
        """Move bytes and messages both ways for ``seconds``."""
        deadline = time.monotonic() + seconds
        while True:
            if self.listener is not None:
                try:
                    accepted, _ = self.listener.accept()
                    self._add(accepted)
                except BlockingIOError:
                    pass
            for sock, conn, pipe in self.links:
                if pipe.pattern is not None:
                    while True:
                        item = pipe.take_outbound()
                        if item is None:
                            break
                        assert isinstance(item, list)
                        conn.send_message(item)
                for chunk in conn.data_to_send():
                    sock.setblocking(True)
                    sock.sendall(chunk)
                    sock.setblocking(False)
                try:
                    data = sock.recv(65536)
                except BlockingIOError:
                    continue
                for event in conn.receive_data(data):
                    if isinstance(event, HandshakeComplete):
                        pipe.peer_socket_type = event.socket_type
                        assert self.pattern.attach(pipe)
                    elif isinstance(event, Message):
                        pipe.deliver(event.frames)
                    elif isinstance(event, ConnectionClosed):
                        self.pattern.detach(pipe)
            if time.monotonic() >= deadline:
                return
            time.sleep(0.002)

    def until(self, what: str, check: Callable[[], bool], seconds: float = 5.0) -> None:
        deadline = time.monotonic() + seconds
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not within {seconds}s")
            self.pump(0.01)

    def recv(self, seconds: float = 5.0) -> SingleMessage:
        got: List[SingleMessage] = []

        def ready() -> bool:
            msg = self.pattern.recv_single()
            if msg is not None:
                got.append(msg)
            return bool(got)

        self.until("recv", ready, seconds)
        return got[0]

    def close(self) -> None:
        for sock, _, _ in self.links:
            sock.close()
        if self.listener is not None:
            self.listener.close()


@pytest.fixture(scope="module")
def peer() -> Iterator[RemoteSide]:
    reason = PEER.availability()
    if reason is not None:
        pytest.skip(f"zeromqjs not installed: {reason}")
    try:
        command = list(PEER.command())
    except Unavailable as e:
        pytest.skip(f"zeromqjs not installed: {e}")
    proc = PeerProcess("zeromqjs", command)
    proc.start()
    side = RemoteSide(proc)
    try:
        yield side
    finally:
        side.close()
        proc.stop()


def remote_recv(transport: WireTransport, sock: RemoteSock, seconds: float = 5.0) -> Tuple[List[bytes], int]:
    """Receive on the zeromq.js side while our transport keeps pumping."""
    deadline = time.monotonic() + seconds
    while True:
        transport.pump(0.01)
        try:
            got = sock.recv_draft(20)
            return got.frames, got.routing_id
        except Timeout:
            if time.monotonic() > deadline:
                raise AssertionError(f"{sock.label} received nothing within {seconds}s") from None


MINORS = [0, 1]


@pytest.mark.parametrize("minor", MINORS)
def test_zmtp_client_libzmq_server(peer: RemoteSide, minor: int) -> None:
    server = peer.socket("SERVER")
    endpoint = server.bind("tcp://127.0.0.1:*")
    t = WireTransport(Client(Options()), minor)
    try:
        t.connect(endpoint)
        t.until("handshake", lambda: bool(t.pattern.pipes))
        assert t.pattern.send([b"hello"])
        frames, rid = remote_recv(t, server)
        assert frames == [b"hello"] and 0 < rid < 1 << 32
        server.send_draft([b"world"], 1000, routing_id=rid)
        assert t.recv() == SingleMessage(b"world")
    finally:
        t.close()
        server.close()


@pytest.mark.parametrize("minor", MINORS)
def test_zmtp_server_libzmq_clients(peer: RemoteSide, minor: int) -> None:
    t = WireTransport(Server(Options(), id_seed=41), minor)
    endpoint = t.bind()
    clients = [peer.socket("CLIENT"), peer.socket("CLIENT")]
    try:
        for c in clients:
            c.connect(endpoint)
        t.until("two peers", lambda: len(t.pattern.pipes) == 2)
        for i, c in enumerate(clients):
            c.send([b"from-%d" % i], 1000)
        got: Dict[bytes, int] = {}
        for _ in clients:
            msg = t.recv()
            got[msg.body] = msg.routing_id
        assert sorted(got) == [b"from-0", b"from-1"] and sorted(got.values()) == [41, 42]
        for i in (1, 0):
            assert t.pattern.send_single(b"to-%d" % i, got[b"from-%d" % i])
        for i, c in enumerate(clients):
            assert remote_recv(t, c)[0] == [b"to-%d" % i]
    finally:
        t.close()
        for c in clients:
            c.close()


@pytest.mark.parametrize("minor", MINORS)
def test_zmtp_scatter_libzmq_gathers_round_robin(peer: RemoteSide, minor: int) -> None:
    gathers = [peer.socket("GATHER"), peer.socket("GATHER")]
    t = WireTransport(Scatter(Options()), minor)
    try:
        for g in gathers:
            t.connect(g.bind("tcp://127.0.0.1:*"))
        t.until("two peers", lambda: len(t.pattern.pipes) == 2)
        for i in range(4):
            assert t.pattern.send([b"%d" % i])
        got = [[remote_recv(t, g)[0][0] for _ in range(2)] for g in gathers]
        assert sorted(got) == [[b"0", b"2"], [b"1", b"3"]]
    finally:
        t.close()
        for g in gathers:
            g.close()


@pytest.mark.parametrize("minor", MINORS)
def test_zmtp_gather_libzmq_scatter(peer: RemoteSide, minor: int) -> None:
    scatter = peer.socket("SCATTER")
    t = WireTransport(Gather(Options()), minor)
    try:
        scatter.connect(t.bind())
        for i in range(3):
            scatter.send([b"m%d" % i], 2000)
        assert [t.recv().body for _ in range(3)] == [b"m0", b"m1", b"m2"]
    finally:
        t.close()
        scatter.close()


@pytest.mark.parametrize("minor", MINORS)
def test_zmtp_channel_libzmq_channel(peer: RemoteSide, minor: int) -> None:
    other = peer.socket("CHANNEL")
    t = WireTransport(Channel(Options()), minor)
    try:
        t.connect(other.bind("tcp://127.0.0.1:*"))
        t.until("handshake", lambda: bool(t.pattern.pipes))
        assert t.pattern.send([b"ping"])
        assert remote_recv(t, other)[0] == [b"ping"]
        other.send([b"pong"], 1000)
        assert t.recv() == SingleMessage(b"pong")
    finally:
        t.close()
        other.close()


@pytest.mark.parametrize("minor", MINORS)
def test_zmtp_radio_wire_shape_into_libzmq_dish(peer: RemoteSide, minor: int) -> None:
    """RADIO's ``[group, body]`` is what libzmq's dish_session_t expects; the DISH filters on receipt.

    Our pipe takes every group (``subscribe_to_all``) because turning the DISH's JOIN into
    ``deliver_group`` is the protocol's job, not yet there; the libzmq DISH then drops what it did
    not join, as dish.cpp ``xrecv`` does.
    """
    dish = peer.socket("DISH")
    dish.join(b"g1")
    t = WireTransport(Radio(Options()), minor)
    t.subscribe_to_all = True
    try:
        t.connect(dish.bind("tcp://127.0.0.1:*"))
        t.until("handshake", lambda: bool(t.pattern.pipes))
        for group, body in ((b"g2", b"not joined"), (b"g1", b"joined"), (b"g1x", b"longer"), (b"g1", b"end")):
            assert t.pattern.send_single(body, group=group)
        got = []
        for _ in range(2):
            t.pump(0.01)
            r = dish.recv_draft(2000)
            got.append((r.group, r.frames))
        assert got == [(b"g1", [b"joined"]), (b"g1", [b"end"])]
    finally:
        t.close()
        dish.close()
