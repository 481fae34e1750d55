"""Thread safety of the draft sockets, as libzmq promises it (zmq_socket(3): CLIENT, SERVER, RADIO, DISH,
SCATTER, GATHER, PEER and CHANNEL "are thread-safe"; socket_base.cpp takes ``_sync`` in every call).

One socket of each type is used from several threads at once, sends and receives interleaved, against
zmtp peers and against libzmq 4.3.5 (zeromq.js): every message arrives exactly once, nothing raises.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from typing import Callable, Iterator, List

import pytest

import zmtp

pytestmark = pytest.mark.timeout(90)

THREADS = 4
PER_THREAD = 300
RECV_MS = 5000


@pytest.fixture(autouse=True)
def fast_switching() -> Iterator[None]:
    """Switch threads every 10 us instead of 5 ms, so unguarded state would be caught in the act."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(old)


@pytest.fixture
def ctx() -> Iterator[zmtp.Context]:
    c = zmtp.Context()
    yield c
    c.destroy(linger=0)


def run_threads(targets: List[Callable[[], None]], timeout: float = 60.0) -> None:
    """Start every target at once; re-raise the first exception any of them raised."""
    errors: List[BaseException] = []
    start = threading.Barrier(len(targets))

    def wrap(fn: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                start.wait()
                fn()
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)

        return run

    threads = [threading.Thread(target=wrap(t), daemon=True) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    if errors:
        raise errors[0]


def sock(ctx: zmtp.Context, kind: int, **opts: int) -> zmtp.Socket:
    s = ctx.socket(kind)
    s.linger = 0
    s.rcvtimeo = RECV_MS
    s.sndtimeo = RECV_MS
    for k, v in opts.items():
        setattr(s, k, v)
    return s


def test_client_shared_by_senders_and_receivers(ctx: zmtp.Context) -> None:
    """CLIENT: 4 threads send, 4 others receive the echoes, on the one socket."""
    server = sock(ctx, zmtp.SERVER)
    server.bind("tcp://127.0.0.1:*")
    ep = server.last_endpoint.decode()
    client = sock(ctx, zmtp.CLIENT)
    client.connect(ep)
    total = THREADS * PER_THREAD
    seen_by_server: Counter[bytes] = Counter()
    echoed: List[bytes] = []
    lock = threading.Lock()

    def serve() -> None:
        for _ in range(total):
            f = server.recv(copy=False)
            seen_by_server[f.bytes] += 1
            server.send(b"re:" + f.bytes, routing_id=f.routing_id)

    def sender(i: int) -> Callable[[], None]:
        def run() -> None:
            for n in range(PER_THREAD):
                client.send(b"%d:%d" % (i, n))
        return run

    def receiver() -> None:
        for _ in range(PER_THREAD):
            m = client.recv()
            with lock:
                echoed.append(m)

    run_threads([serve] + [sender(i) for i in range(THREADS)] + [receiver for _ in range(THREADS)])
    want = {b"%d:%d" % (i, n) for i in range(THREADS) for n in range(PER_THREAD)}
    assert set(seen_by_server) == want and max(seen_by_server.values()) == 1
    assert len(echoed) == total and set(echoed) == {b"re:" + m for m in want}


def test_server_shared_by_workers(ctx: zmtp.Context) -> None:
    """SERVER: 4 threads each receive and reply by routing id; 3 clients each get exactly their replies."""
    server = sock(ctx, zmtp.SERVER)
    server.bind("tcp://127.0.0.1:*")
    ep = server.last_endpoint.decode()
    peer_ctx = zmtp.Context()
    try:
        clients = [sock(peer_ctx, zmtp.CLIENT) for _ in range(3)]
        for c in clients:
            c.connect(ep)
        per_client = 200
        total = per_client * len(clients)
        handled = Counter[int]()
        stop = threading.Event()

        def worker() -> None:
            while not stop.is_set():
                try:
                    f = server.recv(copy=False)
                except zmtp.Again:
                    continue
                server.send(b"re:" + f.bytes, routing_id=f.routing_id)
                handled[threading.get_ident()] += 1

        def client_run(i: int) -> Callable[[], None]:
            def run() -> None:
                c = clients[i]
                for n in range(per_client):
                    c.send(b"%d:%d" % (i, n))
                got = sorted(c.recv() for _ in range(per_client))
                assert got == sorted(b"re:%d:%d" % (i, n) for n in range(per_client))
            return run

        workers = [threading.Thread(target=worker, daemon=True) for _ in range(THREADS)]
        server.rcvtimeo = 100
        for w in workers:
            w.start()
        run_threads([client_run(i) for i in range(len(clients))])
        stop.set()
        for w in workers:
            w.join(5)
        assert sum(handled.values()) == total
    finally:
        peer_ctx.destroy(linger=0)


def test_radio_and_dish_shared_with_join_leave(ctx: zmtp.Context) -> None:
    """RADIO sent from 4 threads, DISH read by 4 threads while a fifth joins and leaves another group."""
    dish = sock(ctx, zmtp.DISH, rcvhwm=0)
    dish.bind("tcp://127.0.0.1:*")
    radio = sock(ctx, zmtp.RADIO, sndhwm=0)
    radio.connect(dish.last_endpoint.decode())
    dish.join("g")
    deadline = time.monotonic() + 5
    dish.rcvtimeo = 20
    while True:  # the JOIN reached the radio
        radio.send(b"probe", group="g")
        try:
            dish.recv()
            break
        except zmtp.Again:
            assert time.monotonic() < deadline
    time.sleep(0.05)
    while True:
        try:
            dish.recv()
        except zmtp.Again:
            break
    dish.rcvtimeo = RECV_MS
    total = THREADS * PER_THREAD
    got: List[bytes] = []
    lock = threading.Lock()

    def sender(i: int) -> Callable[[], None]:
        def run() -> None:
            for n in range(PER_THREAD):
                radio.send(b"%d:%d" % (i, n), group="g")
                radio.send(b"x", group="other")  # nobody joined it
        return run

    def receiver() -> None:
        for _ in range(PER_THREAD):
            f = dish.recv(copy=False)
            assert f.group == "g", f.group
            with lock:
                got.append(f.bytes)

    def churn() -> None:
        for n in range(200):
            dish.join(f"t{n}")
            dish.leave(f"t{n}")

    run_threads([sender(i) for i in range(THREADS)] + [receiver for _ in range(THREADS)] + [churn])
    assert len(got) == total and len(set(got)) == total


def test_scatter_gather_shared(ctx: zmtp.Context) -> None:
    gather = sock(ctx, zmtp.GATHER)
    gather.bind("tcp://127.0.0.1:*")
    scatter = sock(ctx, zmtp.SCATTER)
    scatter.connect(gather.last_endpoint.decode())
    got: List[bytes] = []
    lock = threading.Lock()

    def sender(i: int) -> Callable[[], None]:
        def run() -> None:
            for n in range(PER_THREAD):
                scatter.send(b"%d:%d" % (i, n))
        return run

    def receiver() -> None:
        for _ in range(PER_THREAD):
            m = gather.recv()
            with lock:
                got.append(m)

    run_threads([sender(i) for i in range(THREADS)] + [receiver for _ in range(THREADS)])
    assert sorted(got) == sorted(b"%d:%d" % (i, n) for i in range(THREADS) for n in range(PER_THREAD))


def test_channel_both_directions_from_threads(ctx: zmtp.Context) -> None:
    a, b = sock(ctx, zmtp.CHANNEL), sock(ctx, zmtp.CHANNEL)
    a.bind("inproc://threads-channel")
    b.connect("inproc://threads-channel")
    results = {"a": [], "b": []}  # type: ignore[var-annotated]
    lock = threading.Lock()

    def sender(s: zmtp.Socket, tag: bytes) -> Callable[[], None]:
        def run() -> None:
            for n in range(PER_THREAD):
                s.send(tag + b"%d" % n)
        return run

    def receiver(s: zmtp.Socket, key: str) -> Callable[[], None]:
        def run() -> None:
            for _ in range(PER_THREAD):
                m = s.recv()
                with lock:
                    results[key].append(m)
        return run

    targets = []
    for i in range(2):
        targets += [sender(a, b"a%d:" % i), sender(b, b"b%d:" % i), receiver(a, "a"), receiver(b, "b")]
    run_threads(targets)
    assert sorted(results["b"]) == sorted(b"a%d:%d" % (i, n) for i in range(2) for n in range(PER_THREAD))
    assert sorted(results["a"]) == sorted(b"b%d:%d" % (i, n) for i in range(2) for n in range(PER_THREAD))


def test_peer_shared(ctx: zmtp.Context) -> None:
    """PEER: threads connect_peer and send concurrently; the other PEER's threads answer by routing id."""
    hub = sock(ctx, zmtp.PEER)
    hub.bind("tcp://127.0.0.1:*")
    ep = hub.last_endpoint.decode()
    edge = sock(ctx, zmtp.PEER)
    ids: List[int] = []
    lock = threading.Lock()

    def connector() -> None:
        rid = edge.connect_peer(ep)
        with lock:
            ids.append(rid)
        for n in range(PER_THREAD):
            edge.send(b"%d:%d" % (rid, n), routing_id=rid)

    answered = Counter[bytes]()

    def answerer() -> None:
        for _ in range(PER_THREAD):
            f = hub.recv(copy=False)
            answered[f.bytes] += 1
            hub.send(b"re:" + f.bytes, routing_id=f.routing_id)

    replies: List[bytes] = []

    def collector() -> None:
        for _ in range(PER_THREAD):
            f = edge.recv(copy=False)
            with lock:
                replies.append(f.bytes)

    n = 2
    run_threads([connector for _ in range(n)] + [answerer for _ in range(n)] + [collector for _ in range(n)])
    assert len(set(ids)) == n
    assert len(answered) == n * PER_THREAD and max(answered.values()) == 1
    assert sorted(replies) == sorted(b"re:" + m for m in answered)


# -- against libzmq 4.3.5 (zeromq.js) -------------------------------------------------------------------
@pytest.fixture(scope="module")
def zjs() -> Iterator[object]:
    from interop.control import PeerProcess, RemoteSide
    from interop.peers import Unavailable
    from interop.peers.zeromqjs import PEER

    reason = PEER.availability()
    if reason is None:
        try:
            command = list(PEER.command())
        except Unavailable as e:
            reason = str(e)
    if reason is not None:
        pytest.skip(f"zeromqjs unavailable: {reason}")
    proc = PeerProcess("zeromqjs", command)
    proc.start()
    try:
        yield RemoteSide(proc)
    finally:
        proc.stop()


def test_server_threads_against_libzmq_clients(ctx: zmtp.Context, zjs: object) -> None:
    server = sock(ctx, zmtp.SERVER)
    server.bind("tcp://127.0.0.1:*")
    ep = server.last_endpoint.decode()
    clients = [zjs.socket("CLIENT") for _ in range(2)]  # type: ignore[attr-defined]
    for c in clients:
        c.connect(ep)
    per_client = 100
    stop = threading.Event()
    server.rcvtimeo = 100

    def worker() -> None:
        while not stop.is_set():
            try:
                f = server.recv(copy=False)
            except zmtp.Again:
                continue
            server.send(b"re:" + f.bytes, routing_id=f.routing_id)

    workers = [threading.Thread(target=worker, daemon=True) for _ in range(THREADS)]
    for w in workers:
        w.start()
    try:
        for i, c in enumerate(clients):
            for n in range(per_client):
                c.send([b"%d:%d" % (i, n)], 1000)
        for i, c in enumerate(clients):
            got = sorted(c.recv(RECV_MS)[0] for _ in range(per_client))
            assert got == sorted(b"re:%d:%d" % (i, n) for n in range(per_client))
    finally:
        stop.set()
        for w in workers:
            w.join(5)
        for c in clients:
            c.close()


def test_scatter_threads_to_libzmq_gather(ctx: zmtp.Context, zjs: object) -> None:
    gather = zjs.socket("GATHER")  # type: ignore[attr-defined]
    try:
        ep = gather.bind("tcp://127.0.0.1:*")
        scatter = sock(ctx, zmtp.SCATTER)
        scatter.connect(ep)
        per_thread = 50

        def sender(i: int) -> Callable[[], None]:
            def run() -> None:
                for n in range(per_thread):
                    scatter.send(b"%d:%d" % (i, n))
            return run

        run_threads([sender(i) for i in range(THREADS)])
        got = sorted(gather.recv(RECV_MS)[0] for _ in range(THREADS * per_thread))
        assert got == sorted(b"%d:%d" % (i, n) for i in range(THREADS) for n in range(per_thread))
    finally:
        gather.close()
