"""zmtp.asyncio against real pyzmq peers (libzmq 4.3.5), sync and asyncio, over tcp and ipc.

Every classic pattern pair runs with zmtp.asyncio on each side: the zmtp side is the native driver
(its I/O runs on the event loop), the pyzmq side is ``zmq.asyncio`` in the same loop or a plain sync
pyzmq socket driven from a worker thread.
"""

from __future__ import annotations

import asyncio
from typing import Any, Iterator, List, Tuple

import pytest
import zmq
import zmq.asyncio
from asyncio_helpers import addr, bounded, last_endpoint, run

import zmtp
import zmtp.asyncio


class Peer:
    """Uniform async send/recv over a zmtp.asyncio, pyzmq.asyncio or sync pyzmq socket."""

    def __init__(self, sock: Any) -> None:
        self.sock = sock
        self.sync = isinstance(sock, zmq.Socket) and not isinstance(sock, zmq.asyncio.Socket)

    async def send(self, msg: List[bytes]) -> None:
        if self.sync:
            await asyncio.to_thread(self.sock.send_multipart, msg)
        else:
            await bounded(self.sock.send_multipart(msg), f"send {msg!r}")

    async def recv(self, what: str = "a message") -> List[bytes]:
        if self.sync:
            def blocking() -> List[bytes]:
                if not self.sock.poll(5000):
                    raise AssertionError(f"sync pyzmq peer got nothing within 5 s: {what}")
                return list(self.sock.recv_multipart())
            return await asyncio.to_thread(blocking)
        return list(await bounded(self.sock.recv_multipart(), what))

    async def poll_in(self, ms: int) -> bool:
        if self.sync:
            return bool(await asyncio.to_thread(self.sock.poll, ms))
        return bool(await self.sock.poll(ms))


PATTERNS = [
    ("REQ", "REP"), ("REP", "REQ"), ("PUSH", "PULL"), ("PULL", "PUSH"), ("PUB", "SUB"), ("SUB", "PUB"),
    ("DEALER", "ROUTER"), ("ROUTER", "DEALER"), ("PAIR", "PAIR"), ("XPUB", "XSUB"), ("XSUB", "XPUB"),
    ("DEALER", "REP"), ("REQ", "ROUTER"), ("DEALER", "DEALER"),
]


async def exchange(zt: str, pt: str, z: Peer, p: Peer) -> None:
    """Run the pattern's scenario between zmtp socket ``z`` (type ``zt``) and pyzmq socket ``p``."""
    kinds = {zt: z, pt: p} if zt != pt else {}
    if zt == pt:  # PAIR/PAIR, DEALER/DEALER: both ways
        for i in range(5):
            await z.send([b"z%d" % i])
            assert await p.recv("z->p") == [b"z%d" % i]
            await p.send([b"p%d" % i, b"more"])
            assert await z.recv("p->z") == [b"p%d" % i, b"more"]
        return
    pair = (zt, pt)
    if pair in (("REQ", "REP"), ("REP", "REQ"), ("REQ", "ROUTER"), ("DEALER", "REP")):
        req = kinds.get("REQ") or kinds["DEALER"]
        rep = kinds.get("REP") or kinds["ROUTER"]
        envelope = "DEALER" in kinds
        for i in range(5):
            body = [b"q%d" % i, b"part"]
            await req.send(([b""] if envelope else []) + body)
            got = await rep.recv("request")
            if "ROUTER" in kinds:
                ident, empty, *rest = got
                assert empty == b"" and rest == body
                await rep.send([ident, b"", b"r%d" % i])
            else:
                assert got == body
                await rep.send([b"r%d" % i])
            reply = await req.recv("reply")
            assert reply == ([b""] if envelope else []) + [b"r%d" % i]
        return
    if pair in (("PUSH", "PULL"), ("PULL", "PUSH")):
        push, pull = kinds["PUSH"], kinds["PULL"]
        for i in range(200):
            await push.send([b"m%d" % i])
        for i in range(200):
            assert await pull.recv(f"message {i}") == [b"m%d" % i]
        return
    if pair in (("PUB", "SUB"), ("SUB", "PUB"), ("XPUB", "XSUB"), ("XSUB", "XPUB")):
        pub = kinds.get("PUB") or kinds["XPUB"]
        sub = kinds.get("SUB") or kinds["XSUB"]
        if "XSUB" in kinds:
            # libzmq drops a subscription sent before any connection exists: let the connect finish
            await asyncio.sleep(0.3)
            await sub.send([b"\x01t"])
        else:
            sub.sock.subscribe(b"t")
        if "XPUB" in kinds:
            assert await pub.recv("subscription at XPUB") == [b"\x01t"]
        # slow joiner: publish until the subscription is in place
        for _ in range(200):
            await pub.send([b"t-probe"])
            if await sub.poll_in(20):
                assert (await sub.recv("probe"))[0] == b"t-probe"
                break
        else:
            raise AssertionError("the subscription never reached the publisher")
        while await sub.poll_in(50):
            await sub.recv("stale probe")
        for i in range(20):
            await pub.send([b"x-filtered"])
            await pub.send([b"t%d" % i, b"body"])
        for i in range(20):
            assert await sub.recv("topic message") == [b"t%d" % i, b"body"]
        assert not await sub.poll_in(50)
        return
    if pair in (("DEALER", "ROUTER"), ("ROUTER", "DEALER")):
        dealer, router = kinds["DEALER"], kinds["ROUTER"]
        for i in range(5):
            await dealer.send([b"d%d" % i])
            ident, body = await router.recv("at router")
            assert body == b"d%d" % i
            await router.send([ident, b"back%d" % i])
            assert await dealer.recv("at dealer") == [b"back%d" % i]
        return
    raise AssertionError(f"no scenario for {pair}")


@pytest.fixture
def pctx() -> Iterator[zmq.Context]:
    ctx = zmq.Context()
    yield ctx
    ctx.destroy(linger=0)


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
@pytest.mark.parametrize("peer", ["pyzmq-asyncio", "pyzmq-sync"])
@pytest.mark.parametrize("zmtp_binds", [True, False], ids=["zmtp_binds", "zmtp_connects"])
@pytest.mark.parametrize("types", PATTERNS, ids=["-".join(t) for t in PATTERNS])
def test_pattern_pair(types: Tuple[str, str], zmtp_binds: bool, peer: str, transport: str, tmp_path: Any,
                      pctx: zmq.Context) -> None:
    zt, pt = types

    async def main() -> None:
        zctx = zmtp.asyncio.Context()
        actx = zmq.asyncio.Context(pctx) if peer == "pyzmq-asyncio" else pctx
        z = zctx.socket(getattr(zmtp, zt))
        p = actx.socket(getattr(zmq, pt))
        z.linger = 0
        p.linger = 0
        try:
            if zmtp_binds:
                z.bind(addr(transport, tmp_path))
                p.connect(last_endpoint(z))
            else:
                p.bind(addr(transport, tmp_path))
                z.connect(last_endpoint(p))
            await exchange(zt, pt, Peer(z), Peer(p))
        finally:
            z.close()
            p.close()
            zctx.term()

    run(main)
