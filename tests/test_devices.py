"""zmtp.device / zmtp.devices / proxy_steerable / zmtp.log.handlers against pyzmq peers.

proxy_steerable's control protocol is checked against libzmq's own (pyzmq's zmq.proxy_steerable over
libzmq 4.3.5): the same traffic gives the same STATISTICS frames.
"""

from __future__ import annotations

import logging
import struct
import threading
import time
from typing import Any, Iterator, List, Tuple

import pytest
import zmq
import zmq.devices
from asyncio_helpers import last_endpoint

import zmtp
import zmtp.devices
from zmtp.log.handlers import PUBHandler, TopicLogger


@pytest.fixture
def pctx() -> Iterator[zmq.Context]:
    ctx = zmq.Context()
    yield ctx
    ctx.destroy(linger=0)


def _port(sock: Any) -> int:
    return int(last_endpoint(sock).rsplit(":", 1)[1])


def test_device_queue_on_one_router_echoes_and_stops_on_term(pctx: zmq.Context) -> None:
    """ipykernel's heartbeat: zmq.device(QUEUE, router, router) echoes; term() ends it with ETERM."""
    ctx = zmtp.Context()
    router = ctx.socket(zmtp.ROUTER)
    router.linger = 0
    router.bind("tcp://127.0.0.1:*")
    errors: List[int] = []

    def run() -> None:
        try:
            zmtp.device(zmtp.QUEUE, router, router)
        except zmtp.ZMQError as e:
            errors.append(e.errno or 0)
            router.close()

    t = threading.Thread(target=run)
    t.start()
    req = pctx.socket(zmq.REQ)
    req.connect(last_endpoint(router))
    for i in range(10):
        req.send(b"ping%d" % i)
        assert req.poll(5000), "no echo from the device"
        assert req.recv() == b"ping%d" % i
    req.close(0)
    ctx.term()
    t.join(10)
    assert not t.is_alive()
    assert errors == [zmtp.ETERM]
    with pytest.raises(zmtp.ZMQError):
        zmtp.device(99, router, router)


def test_thread_device_queue_between_pyzmq_clients_and_workers(pctx: zmq.Context) -> None:
    dev = zmtp.devices.ThreadDevice(zmtp.QUEUE, zmtp.ROUTER, zmtp.DEALER)
    dev.context_factory = zmtp.Context
    fport = dev.bind_in_to_random_port("tcp://127.0.0.1")
    bport = dev.bind_out_to_random_port("tcp://127.0.0.1")
    dev.setsockopt_in(zmtp.LINGER, 0)
    dev.setsockopt_out(zmtp.LINGER, 0)
    dev.start()
    worker = pctx.socket(zmq.REP)
    worker.connect(f"tcp://127.0.0.1:{bport}")
    client = pctx.socket(zmq.REQ)
    client.connect(f"tcp://127.0.0.1:{fport}")
    for i in range(5):
        client.send(b"job%d" % i)
        assert worker.poll(5000)
        worker.send(worker.recv() + b" done")
        assert client.poll(5000)
        assert client.recv() == b"job%d done" % i
    assert not dev.done
    dev._context.term() if dev._context is not None else None  # type: ignore[func-returns-value]
    dev.join(10)
    assert dev.done


def test_thread_proxy_copies_to_monitor(pctx: zmq.Context) -> None:
    dev = zmtp.devices.ThreadProxy(zmtp.PULL, zmtp.PUSH, zmtp.PUB)
    dev.context_factory = zmtp.Context
    inp = dev.bind_in_to_random_port("tcp://127.0.0.1")
    outp = dev.bind_out_to_random_port("tcp://127.0.0.1")
    monp = dev.bind_mon_to_random_port("tcp://127.0.0.1")
    dev.start()
    mon = pctx.socket(zmq.SUB)
    mon.subscribe(b"")
    mon.connect(f"tcp://127.0.0.1:{monp}")
    sink = pctx.socket(zmq.PULL)
    sink.connect(f"tcp://127.0.0.1:{outp}")
    src = pctx.socket(zmq.PUSH)
    src.connect(f"tcp://127.0.0.1:{inp}")
    time.sleep(0.2)  # the monitor SUB's subscription
    for i in range(5):
        src.send_multipart([b"m%d" % i, b"x"])
    for i in range(5):
        assert sink.poll(5000) and sink.recv_multipart() == [b"m%d" % i, b"x"]
        assert mon.poll(5000) and mon.recv_multipart() == [b"m%d" % i, b"x"]
    dev._context.term()  # type: ignore[union-attr]
    dev.join(10)


def _steerable_stats(make: Any, ctx: Any, lib: Any, pause: bool) -> Tuple[List[int], List[bytes]]:
    """Drive a steerable proxy made by ``make`` (zmtp's or pyzmq's) with the same script; return the
    STATISTICS values and what the control REP answered.  ``pause``: also check that PAUSE holds
    messages back until RESUME (libzmq 4.3.5 has PAUSE and RESUME swapped, fixed after the release in
    libzmq PR 4600, so that part is not compared with it)."""
    dev = make(lib.PULL, lib.PUSH, lib.PUB, lib.REP)
    inp = dev.bind_in_to_random_port("tcp://127.0.0.1")
    outp = dev.bind_out_to_random_port("tcp://127.0.0.1")
    dev.bind_mon_to_random_port("tcp://127.0.0.1")
    ctlp = dev.bind_ctrl_to_random_port("tcp://127.0.0.1")
    dev.start()
    src = ctx.socket(lib.PUSH)
    src.connect(f"tcp://127.0.0.1:{inp}")
    sink = ctx.socket(lib.PULL)
    sink.connect(f"tcp://127.0.0.1:{outp}")
    ctl = ctx.socket(lib.REQ)
    ctl.connect(f"tcp://127.0.0.1:{ctlp}")
    answers: List[bytes] = []

    def command(cmd: bytes) -> List[bytes]:
        ctl.send(cmd)
        assert ctl.poll(5000), f"no answer to {cmd!r}"
        return list(ctl.recv_multipart())

    for i in range(3):
        src.send_multipart([b"a%d" % i, b"12345"])
    for _ in range(3):
        assert sink.poll(5000), "not forwarded"
        sink.recv_multipart()
    if pause:
        answers += command(b"PAUSE")
        src.send(b"held")
        time.sleep(0.2)
        assert not sink.poll(100), "forwarded while paused"
        answers += command(b"RESUME")
        assert sink.poll(5000) and sink.recv() == b"held", "not forwarded after RESUME"
    else:
        src.send(b"held")
        assert sink.poll(5000) and sink.recv() == b"held"
    answers += command(b"BOGUS")
    stats = command(b"STATISTICS")
    assert all(len(f) == 8 for f in stats) and len(stats) == 8
    values = [struct.unpack("=Q", f)[0] for f in stats]
    answers += command(b"TERMINATE")
    dev.join(10)
    assert not dev.launcher.is_alive(), "TERMINATE did not end the proxy"
    for s in (src, sink, ctl):
        s.close(linger=0)
    return values, answers


def test_proxy_steerable_matches_libzmq(pctx: zmq.Context) -> None:
    zctx = zmtp.Context()

    def zmake(*types: int) -> Any:
        dev = zmtp.devices.ThreadProxySteerable(*types)
        dev.context_factory = lambda: zctx
        return dev

    def pmake(*types: int) -> Any:
        dev = zmq.devices.ThreadProxySteerable(*types)
        dev.context_factory = lambda: pctx
        return dev

    ours = _steerable_stats(zmake, pctx, zmq, pause=False)
    theirs = _steerable_stats(pmake, pctx, zmq, pause=False)
    assert ours == theirs
    values, answers = ours
    assert values == [7, 25, 0, 0, 0, 0, 7, 25]  # 3 x 2 frames + "held"; 3 x (2 + 5) + 4 bytes
    assert answers == [b"", b""]  # REP gets an empty reply to every command but STATISTICS
    zctx.term()


def test_proxy_steerable_pause_resume(pctx: zmq.Context) -> None:
    zctx = zmtp.Context()

    def zmake(*types: int) -> Any:
        dev = zmtp.devices.ThreadProxySteerable(*types)
        dev.context_factory = lambda: zctx
        return dev

    values, answers = _steerable_stats(zmake, pctx, zmq, pause=True)
    assert values == [7, 25, 0, 0, 0, 0, 7, 25]
    assert answers == [b"", b"", b"", b""]
    zctx.term()


def test_proxy_steerable_pair_control_gets_no_reply_but_statistics() -> None:
    ctx = zmtp.Context()
    front, back, ctl_a, ctl_b = (ctx.socket(t) for t in (zmtp.PULL, zmtp.PUSH, zmtp.PAIR, zmtp.PAIR))
    ctl_a.bind("inproc://ctl")
    ctl_b.connect("inproc://ctl")
    front.bind("inproc://front")
    back.bind("inproc://back")
    t = threading.Thread(target=zmtp.proxy_steerable, args=(front, back, None, ctl_a))
    t.start()
    ctl_b.send(b"PAUSE")
    ctl_b.send(b"RESUME")
    ctl_b.send(b"STATISTICS")
    assert ctl_b.poll(5000)
    assert len(ctl_b.recv_multipart()) == 8
    assert not ctl_b.poll(100)
    ctl_b.send(b"TERMINATE")
    t.join(5)
    assert not t.is_alive()
    ctx.destroy(linger=0)


def test_monitored_queue_router_router_swaps_ids_and_prefixes(pctx: zmq.Context) -> None:
    dev = zmtp.devices.ThreadMonitoredQueue(zmtp.ROUTER, zmtp.ROUTER, zmtp.PUB, b"in", b"out")
    dev.context_factory = zmtp.Context
    inp = dev.bind_in_to_random_port("tcp://127.0.0.1")
    outp = dev.bind_out_to_random_port("tcp://127.0.0.1")
    monp = dev.bind_mon_to_random_port("tcp://127.0.0.1")
    dev.start()
    mon = pctx.socket(zmq.SUB)
    mon.subscribe(b"")
    mon.connect(f"tcp://127.0.0.1:{monp}")
    worker = pctx.socket(zmq.DEALER)
    worker.identity = b"worker"
    worker.connect(f"tcp://127.0.0.1:{outp}")
    client = pctx.socket(zmq.DEALER)
    client.identity = b"client"
    client.connect(f"tcp://127.0.0.1:{inp}")
    time.sleep(0.3)
    client.send_multipart([b"worker", b"job"])
    assert worker.poll(5000)
    assert worker.recv_multipart() == [b"client", b"job"]
    worker.send_multipart([b"client", b"result"])
    assert client.poll(5000)
    assert client.recv_multipart() == [b"worker", b"result"]
    seen = [mon.recv_multipart() for _ in range(2) if mon.poll(5000)]
    assert seen == [[b"in", b"worker", b"client", b"job"], [b"out", b"client", b"worker", b"result"]]
    dev._context.term()  # type: ignore[union-attr]
    dev.join(10)


def test_process_device_runs_in_a_child(pctx: zmq.Context) -> None:
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("needs fork")
    dev = zmtp.devices.ProcessDevice(zmtp.QUEUE, zmtp.PULL, zmtp.PUSH)
    inp = dev.bind_in_to_random_port("tcp://127.0.0.1")
    outp = dev.bind_out_to_random_port("tcp://127.0.0.1")
    dev.start()
    try:
        src = pctx.socket(zmq.PUSH)
        src.connect(f"tcp://127.0.0.1:{inp}")
        sink = pctx.socket(zmq.PULL)
        sink.connect(f"tcp://127.0.0.1:{outp}")
        src.send(b"through a process")
        assert sink.poll(10000), "the process device forwarded nothing"
        assert sink.recv() == b"through a process"
    finally:
        dev.launcher.terminate()
        dev.join(10)


def test_pubhandler_publishes_records(pctx: zmq.Context) -> None:
    ctx = zmtp.Context()
    pub = ctx.socket(zmtp.PUB)
    pub.bind("tcp://127.0.0.1:*")
    sub = pctx.socket(zmq.SUB)
    sub.subscribe(b"")
    sub.connect(last_endpoint(pub))
    handler = PUBHandler(pub)
    handler.root_topic = "app"
    logger = logging.getLogger("zmtp-test-pubhandler")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        deadline = time.monotonic() + 5
        while not sub.poll(20):  # slow joiner
            assert time.monotonic() < deadline, "the SUB never received a record"
            logger.info("probe")
        while sub.poll(50):
            sub.recv_multipart()
        logger.info("hello %s", "world")
        logger.warning("db.write::disk %d%% full", 95)
        assert sub.poll(5000)
        assert sub.recv_multipart() == [b"app.INFO", b"hello world\n"]
        assert sub.poll(5000)
        topic, body = sub.recv_multipart()
        assert topic == b"app.WARNING.db.write"
        assert body.startswith(b"WARNING test_devices.py:") and body.endswith(b" - disk 95% full\n")
        logging.setLoggerClass(TopicLogger)
        try:
            tl = logging.getLogger("zmtp-test-topiclogger")
        finally:
            logging.setLoggerClass(logging.Logger)
        assert isinstance(tl, TopicLogger)
        tl.propagate = False
        tl.setLevel(logging.DEBUG)
        tl.addHandler(handler)
        tl.info("net.rx", "%d bytes", 42)
        assert sub.poll(5000)
        assert sub.recv_multipart() == [b"app.INFO.net.rx", b"42 bytes\n"]
        bound = PUBHandler("tcp://127.0.0.1:*", context=ctx)
        assert bound.socket.type == zmtp.PUB and bound.ctx is ctx
        bound.socket.close(0)
    finally:
        logger.removeHandler(handler)
        pub.close(0)
        ctx.term()
