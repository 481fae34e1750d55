"""Benchmark roles, written once against the pyzmq API.

Every ZeroMQ role takes the implementation module (``zmq`` or ``zmtp``) and a Context as parameters so the
same code measures both. Server roles bind and call ``announce({...})`` with the endpoint(s) they got; client
roles receive the announced values merged into their parameters. Each role returns a JSON-able dict.

Only the standard library is imported here so the module runs under PyPy too.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import time
from typing import Any, Callable, Dict, List, Optional

from benchmarks.common import cpus_allowed, latency_summary, raise_nofile, vm_rss_kib

Params = Dict[str, Any]
Announce = Callable[[Params], None]

SENDER_LINGER_MS = 30_000  # enough to flush the queue; a dead peer is handled by the orchestrator's kill


def _endpoint(sock: Any, zmq: Any) -> str:
    ep = sock.getsockopt(zmq.LAST_ENDPOINT)
    return ep.decode() if isinstance(ep, bytes) else str(ep)


def _bind(sock: Any, zmq: Any, addr: str) -> str:
    sock.bind(addr)
    return _endpoint(sock, zmq)


#: CURVE keys for the ``curve`` workload (libzmq's test keys; the workload measures cost, not secrecy).
CURVE_SERVER_PUBLIC = b"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
CURVE_SERVER_SECRET = b"JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"
CURVE_CLIENT_PUBLIC = b"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
CURVE_CLIENT_SECRET = b"D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs"


def _secure(zmq: Any, sock: Any, p: Params, server: bool) -> None:
    """With ``p["curve"]``: make ``sock`` a CURVE server or client; zmtp first selects the crypto
    backend named by ``p["curve_backend"]`` (pyzmq has libsodium inside libzmq and ignores it)."""
    if not p.get("curve"):
        return
    backend = p.get("curve_backend")
    if backend and getattr(zmq, "__name__", "") == "zmtp":
        import zmtp.crypto

        zmtp.crypto.use_backend(backend)
    if server:
        sock.setsockopt(zmq.CURVE_SERVER, 1)
        sock.setsockopt(zmq.CURVE_SECRETKEY, CURVE_SERVER_SECRET)
    else:
        sock.setsockopt(zmq.CURVE_SERVERKEY, CURVE_SERVER_PUBLIC)
        sock.setsockopt(zmq.CURVE_PUBLICKEY, CURVE_CLIENT_PUBLIC)
        sock.setsockopt(zmq.CURVE_SECRETKEY, CURVE_CLIENT_SECRET)


def _close(*socks: Any) -> None:
    for s in socks:
        try:
            s.close()
        except Exception:
            pass


# --------------------------------------------------------------------------------------------- PUSH/PULL


def thr_recv(zmq: Any, ctx: Any, p: Params, announce: Announce) -> Params:
    """PULL: receive ``count`` messages, time first to last (stops early after ``max_seconds``)."""
    s = ctx.socket(zmq.PULL)
    s.setsockopt(zmq.LINGER, 0)
    _secure(zmq, s, p, server=True)
    try:
        announce({"endpoint": _bind(s, zmq, p["bind"])})
        count: int = p["count"]
        max_s: float = p["max_seconds"]
        recv = s.recv
        perf = time.perf_counter
        nbytes = len(recv())
        t0 = perf()
        n = 1
        deadline = t0 + max_s
        while n < count:
            nbytes += len(recv())
            n += 1
            if not n & 255 and perf() > deadline:
                break
        t1 = perf()
        elapsed = t1 - t0
        # first-to-last: n-1 messages arrived during `elapsed`
        msgs = n - 1
        return {
            "msgs": n,
            "elapsed_s": elapsed,
            "msg_per_s": msgs / elapsed if elapsed > 0 else float("nan"),
            "mb_per_s": msgs * p["size"] / elapsed / 1e6 if elapsed > 0 else float("nan"),
            "truncated": n < count,
        }
    finally:
        _close(s)


def thr_send(zmq: Any, ctx: Any, p: Params) -> Params:
    """PUSH: send ``count`` messages of ``size`` bytes as fast as possible."""
    s = ctx.socket(zmq.PUSH)
    s.setsockopt(zmq.LINGER, SENDER_LINGER_MS)
    _secure(zmq, s, p, server=False)
    try:
        s.connect(p["endpoint"])
        # Let the connection come up before queueing: the receiver times from its first message anyway, and
        # early zmtp dropped messages queued before the handshake when close()+term() followed right after.
        time.sleep(p.get("connect_wait", 0.2))
        msg = b"x" * p["size"]
        send = s.send
        for _ in range(p["count"]):
            send(msg)
        return {}
    finally:
        _close(s)


# ----------------------------------------------------------------------------------------------- REQ/REP


def lat_server(zmq: Any, ctx: Any, p: Params, announce: Announce) -> Params:
    """REP: echo until an empty message arrives."""
    s = ctx.socket(zmq.REP)
    s.setsockopt(zmq.LINGER, 1000)
    _secure(zmq, s, p, server=True)
    try:
        announce({"endpoint": _bind(s, zmq, p["bind"])})
        recv, send = s.recv, s.send
        while True:
            m = recv()
            send(m)
            if not m:
                break
        return {}
    finally:
        _close(s)


def lat_client(zmq: Any, ctx: Any, p: Params) -> Params:
    """REQ: time each round trip with perf_counter_ns (after ``warmup`` untimed ones)."""
    s = ctx.socket(zmq.REQ)
    s.setsockopt(zmq.LINGER, 1000)
    _secure(zmq, s, p, server=False)
    try:
        s.connect(p["endpoint"])
        msg = b"x" * p["size"]
        recv, send = s.recv, s.send
        for _ in range(p["warmup"]):
            send(msg)
            recv()
        clock = time.perf_counter_ns
        samples: List[int] = []
        append = samples.append
        deadline = clock() + int(p["max_seconds"] * 1e9)
        for _ in range(p["count"]):
            t0 = clock()
            send(msg)
            recv()
            t1 = clock()
            append(t1 - t0)
            if t1 > deadline:
                break
        send(b"")
        recv()
        out = latency_summary(samples)
        out["truncated"] = len(samples) < p["count"]
        out["cpus"] = cpus_allowed()
        return out
    finally:
        _close(s)


# ------------------------------------------------------------------------------------------ CURVE handshake


def curve_hs_server(zmq: Any, ctx: Any, p: Params, announce: Announce) -> Params:
    """ROUTER, CURVE server: answer every message until an empty one arrives."""
    s = ctx.socket(zmq.ROUTER)
    s.setsockopt(zmq.LINGER, 0)
    _secure(zmq, s, dict(p, curve=True), server=True)
    try:
        announce({"endpoint": _bind(s, zmq, p["bind"])})
        while True:
            ident, body = s.recv_multipart()
            s.send_multipart([ident, body])
            if not body:
                break
        return {}
    finally:
        _close(s)


def curve_hs_client(zmq: Any, ctx: Any, p: Params) -> Params:
    """``count`` fresh DEALERs one after another: each connects, sends, and gets its echo; the time from
    connect to the echo is one CURVE connection set-up (TCP connect, greeting, HELLO ... READY, one
    round trip)."""
    samples: List[int] = []
    clock = time.perf_counter_ns
    deadline = clock() + int(p["max_seconds"] * 1e9)
    for i in range(p["count"]):
        s = ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        _secure(zmq, s, dict(p, curve=True), server=False)
        try:
            t0 = clock()
            s.connect(p["endpoint"])
            s.send(b"x")
            s.recv()
            t1 = clock()
            if i >= 2:  # the first ones also warm up imports and caches
                samples.append(t1 - t0)
        finally:
            s.close()
        if t1 > deadline and len(samples) >= 3:
            break
    last = ctx.socket(zmq.DEALER)
    last.setsockopt(zmq.LINGER, 1000)
    _secure(zmq, last, dict(p, curve=True), server=False)
    last.connect(p["endpoint"])
    last.send(b"")
    last.recv()
    last.close()
    out = latency_summary(samples)
    out["ms"] = out["median_us"] / 1000.0
    out["handshakes"] = len(samples)
    return out


# ----------------------------------------------------------------------------------------------- PUB/SUB


def pub_server(zmq: Any, ctx: Any, p: Params, announce: Announce) -> Params:
    """PUB with a PULL side channel: probe until every SUB reports ready, publish, collect SUB results."""
    pub = ctx.socket(zmq.PUB)
    side = ctx.socket(zmq.PULL)
    pub.setsockopt(zmq.LINGER, 0)
    side.setsockopt(zmq.LINGER, 0)
    try:
        ep = _bind(pub, zmq, p["bind"])
        ep2 = _bind(side, zmq, p["bind2"])
        announce({"endpoint": ep, "endpoint2": ep2})
        n_subs: int = p["subscribers"]
        ready: set = set()
        probe = b"P" * p["size"]
        t_probe = time.perf_counter()
        while len(ready) < n_subs:
            pub.send(probe)
            time.sleep(0.005)
            while True:
                try:
                    m = side.recv(zmq.NOBLOCK)
                except zmq.Again:
                    break
                if m[:1] == b"R":
                    ready.add(m[1:])
        join_s = time.perf_counter() - t_probe
        data = b"D" * p["size"]
        send = pub.send
        t0 = time.perf_counter()
        for _ in range(p["count"]):
            send(data)
        t1 = time.perf_counter()
        end = b"E" * p["size"]
        results: List[Params] = []
        while len(results) < n_subs:
            pub.send(end)
            time.sleep(0.005)
            while True:
                try:
                    m = side.recv(zmq.NOBLOCK)
                except zmq.Again:
                    break
                if m[:1] == b"{":
                    results.append(json.loads(m.decode()))
        rates = [r["msg_per_s"] for r in results]
        received = [r["received"] for r in results]
        return {
            "msg_per_s_per_sub": sum(rates) / len(rates),
            "min_sub_msg_per_s": min(rates),
            "pub_send_msg_per_s": p["count"] / (t1 - t0),
            "delivered_frac": sum(received) / (len(received) * p["count"]),
            "join_s": join_s,
            "subs": results,
        }
    finally:
        _close(pub, side)


def sub_client(zmq: Any, ctx: Any, p: Params) -> Params:
    """SUB: report ready on the first probe, count data messages until an end marker, report via PUSH."""
    sub = ctx.socket(zmq.SUB)
    side = ctx.socket(zmq.PUSH)
    sub.setsockopt(zmq.LINGER, 0)
    side.setsockopt(zmq.LINGER, 5000)
    try:
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.connect(p["endpoint"])
        side.connect(p["endpoint2"])
        me = str(p.get("index", os.getpid())).encode()
        recv = sub.recv
        m = recv()
        while m[:1] != b"P":
            m = recv()
        side.send(b"R" + me)
        while m[:1] == b"P":
            m = recv()
        perf = time.perf_counter
        n = 0
        t_first = t_last = perf()
        while m[:1] == b"D":
            n += 1
            t_last = perf()
            m = recv()
        elapsed = t_last - t_first
        res = {
            "received": n,
            "elapsed_s": elapsed,
            "msg_per_s": (n - 1) / elapsed if n > 1 and elapsed > 0 else 0.0,
        }
        side.send(json.dumps(res).encode())
        return res
    finally:
        _close(sub, side)


# -------------------------------------------------------------------------------------- DEALERs x ROUTER


def router_server(zmq: Any, ctx: Any, p: Params, announce: Announce) -> Params:
    """ROUTER: wait until every DEALER said hello (echo it), then echo ``dealers * rounds`` requests."""
    raise_nofile(p["dealers"] * 2 + 256)
    s = ctx.socket(zmq.ROUTER)
    s.setsockopt(zmq.LINGER, 0)
    try:
        announce({"endpoint": _bind(s, zmq, p["bind"])})
        rss0 = vm_rss_kib()
        n: int = p["dealers"]
        heard: set = set()
        recv, send = s.recv_multipart, s.send_multipart
        while len(heard) < n:
            frames = recv()
            heard.add(frames[0])
            send(frames)
        t_heard = time.monotonic()
        rss1 = vm_rss_kib()
        for _ in range(n * p["rounds"]):
            send(recv())
        return {"t_heard_all": t_heard, "rss_kib_per_conn": (rss1 - rss0) / n, "rss0_kib": rss0}
    finally:
        _close(s)


def dealer_client(zmq: Any, ctx: Any, p: Params) -> Params:
    """N DEALERs in one Context: connect all + hello, wait for every echo, then ``rounds`` of requests."""
    n: int = p["dealers"]
    nofile = raise_nofile(n * 2 + 256)
    rss0 = vm_rss_kib()
    socks: List[Any] = []
    try:
        t0 = time.monotonic()
        for _ in range(n):
            s = ctx.socket(zmq.DEALER)
            s.setsockopt(zmq.LINGER, 0)
            s.connect(p["endpoint"])
            s.send(b"hello")
            socks.append(s)
        for s in socks:
            s.recv()
        t_echoed = time.monotonic()
        rss1 = vm_rss_kib()
        payload = b"r" * p["size"]
        t1 = time.perf_counter()
        for _ in range(p["rounds"]):
            for s in socks:
                s.send(payload)
            for s in socks:
                s.recv()
        elapsed = time.perf_counter() - t1
        return {
            "t0": t0,
            "all_echoed_s": t_echoed - t0,
            "req_per_s": n * p["rounds"] / elapsed if elapsed > 0 else float("nan"),
            "rss_kib_per_conn": (rss1 - rss0) / n,
            "nofile": nofile,
        }
    finally:
        _close(*socks)


# ------------------------------------------------------------------------------- raw Python sockets (no ZMQ)


def _tcp_listener() -> socket.socket:
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    return ls


def _tcp_connect(endpoint: str) -> socket.socket:
    host, port = endpoint.rsplit("/", 1)[-1].rsplit(":", 1)
    c = socket.create_connection((host, int(port)))
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return c


def _accept(ls: socket.socket) -> socket.socket:
    c, _ = ls.accept()
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return c


def _announce_listener(ls: socket.socket, announce: Announce) -> None:
    host, port = ls.getsockname()[:2]
    announce({"endpoint": f"tcp://{host}:{port}"})


def raw_bulk_recv(zmq: Any, ctx: Any, p: Params, announce: Announce) -> Params:
    """Receive ``count`` buffers of ``size`` bytes with recv_into; time first byte to last."""
    ls = _tcp_listener()
    _announce_listener(ls, announce)
    c = _accept(ls)
    try:
        total = p["count"] * p["size"]
        buf = bytearray(min(p["size"], 1 << 20))
        got = c.recv_into(buf)
        t0 = time.perf_counter()
        while got < total:
            k = c.recv_into(buf)
            if not k:
                break
            got += k
        elapsed = time.perf_counter() - t0
        return {"mb_per_s": got / elapsed / 1e6, "msg_per_s": got / p["size"] / elapsed, "elapsed_s": elapsed}
    finally:
        c.close()
        ls.close()


def raw_bulk_send(zmq: Any, ctx: Any, p: Params) -> Params:
    c = _tcp_connect(p["endpoint"])
    try:
        buf = b"x" * p["size"]
        for _ in range(p["count"]):
            c.sendall(buf)
        return {}
    finally:
        c.close()


def _recv_exact(c: socket.socket, n: int) -> bytes:
    data = c.recv(n)
    while len(data) < n:
        more = c.recv(n - len(data))
        if not more:
            return b""
        data += more
    return data


def raw_pong(zmq: Any, ctx: Any, p: Params, announce: Announce) -> Params:
    """Echo ``size``-byte messages until the peer closes."""
    ls = _tcp_listener()
    _announce_listener(ls, announce)
    c = _accept(ls)
    try:
        n = p["size"]
        while True:
            m = _recv_exact(c, n)
            if not m:
                break
            c.sendall(m)
        return {}
    finally:
        c.close()
        ls.close()


def raw_ping(zmq: Any, ctx: Any, p: Params) -> Params:
    c = _tcp_connect(p["endpoint"])
    try:
        msg = b"x" * p["size"]
        n = p["size"]
        for _ in range(p["warmup"]):
            c.sendall(msg)
            _recv_exact(c, n)
        clock = time.perf_counter_ns
        samples: List[int] = []
        deadline = clock() + int(p["max_seconds"] * 1e9)
        for _ in range(p["count"]):
            t0 = clock()
            c.sendall(msg)
            _recv_exact(c, n)
            t1 = clock()
            samples.append(t1 - t0)
            if t1 > deadline:
                break
        out = latency_summary(samples)
        out["cpus"] = cpus_allowed()
        return out
    finally:
        c.close()


_LEN = struct.Struct("!I")


def raw_stream_recv(zmq: Any, ctx: Any, p: Params, announce: Announce) -> Params:
    """Parse a stream of 4-byte-length-prefixed messages into ``bytes`` objects, one by one."""
    ls = _tcp_listener()
    _announce_listener(ls, announce)
    c = _accept(ls)
    try:
        count: int = p["count"]
        unpack = _LEN.unpack_from
        buf = b""
        n = 0
        first = True
        t0 = time.perf_counter()
        recv = c.recv
        while n < count:
            chunk = recv(1 << 18)
            if not chunk:
                break
            if first:
                t0 = time.perf_counter()
                first = False
            buf = buf + chunk if buf else chunk
            mv = memoryview(buf)
            off = 0
            end = len(buf)
            while end - off >= 4:
                (length,) = unpack(mv, off)
                if end - off - 4 < length:
                    break
                _msg = bytes(mv[off + 4 : off + 4 + length])
                off += 4 + length
                n += 1
            mv.release()
            buf = buf[off:]
        elapsed = time.perf_counter() - t0
        return {
            "msg_per_s": n / elapsed,
            "mb_per_s": n * p["size"] / elapsed / 1e6,
            "elapsed_s": elapsed,
        }
    finally:
        c.close()
        ls.close()


def raw_stream_send(zmq: Any, ctx: Any, p: Params) -> Params:
    """Frame each message separately, join ``batch`` frames, sendall (naive batching)."""
    c = _tcp_connect(p["endpoint"])
    try:
        msg = b"x" * p["size"]
        pack = _LEN.pack
        batch: int = p["batch"]
        pending: List[bytes] = []
        for i in range(1, p["count"] + 1):
            pending.append(pack(len(msg)))
            pending.append(msg)
            if i % batch == 0:
                c.sendall(b"".join(pending))
                pending = []
        if pending:
            c.sendall(b"".join(pending))
        return {}
    finally:
        c.close()


# ------------------------------------------------------------------------------------------------ asyncio


def _aio(zmq: Any) -> Any:
    """The implementation's asyncio module (``zmq.asyncio`` or ``zmtp.asyncio``)."""
    import importlib

    return importlib.import_module(zmq.__name__ + ".asyncio")


def athr_recv(zmq: Any, ctx: Any, p: Params, announce: Announce) -> Params:
    """asyncio PULL: as ``thr_recv``, each ``recv`` awaited."""
    import asyncio

    async def main() -> Params:
        actx = _aio(zmq).Context(ctx)  # shadows the worker's context
        s = actx.socket(zmq.PULL)
        s.setsockopt(zmq.LINGER, 0)
        try:
            announce({"endpoint": _bind(s, zmq, p["bind"])})
            count: int = p["count"]
            recv = s.recv
            perf = time.perf_counter
            await recv()
            t0 = perf()
            n = 1
            deadline = t0 + p["max_seconds"]
            while n < count:
                fut = recv()
                if not fut.done():
                    # only a recv that has to wait pays for the guard: a lost wake-up (or lost messages)
                    # then ends the run at the time cap instead of hanging it
                    try:
                        await asyncio.wait_for(fut, max(0.001, deadline - perf()))
                    except asyncio.TimeoutError:
                        break
                else:
                    fut.result()
                n += 1
                if not n & 255 and perf() > deadline:
                    break
            elapsed = perf() - t0
            msgs = n - 1
            return {
                "msgs": n,
                "elapsed_s": elapsed,
                "msg_per_s": msgs / elapsed if elapsed > 0 else float("nan"),
                "mb_per_s": msgs * p["size"] / elapsed / 1e6 if elapsed > 0 else float("nan"),
                "truncated": n < count,
            }
        finally:
            _close(s)

    return asyncio.run(main())


def athr_send(zmq: Any, ctx: Any, p: Params) -> Params:
    """asyncio PUSH: ``count`` awaited sends; closed with a linger, so the worker's ``term()`` delivers
    what is still queued once the loop is gone."""
    import asyncio

    async def main() -> Params:
        actx = _aio(zmq).Context(ctx)
        s = actx.socket(zmq.PUSH)
        s.setsockopt(zmq.LINGER, SENDER_LINGER_MS)
        try:
            s.connect(p["endpoint"])
            await asyncio.sleep(p.get("connect_wait", 0.2))
            msg = b"x" * p["size"]
            send = s.send
            for _ in range(p["count"]):
                await send(msg)
            return {}
        finally:
            _close(s)

    return asyncio.run(main())


def alat_server(zmq: Any, ctx: Any, p: Params, announce: Announce) -> Params:
    """asyncio REP: echo until an empty message arrives."""
    import asyncio

    async def main() -> Params:
        actx = _aio(zmq).Context(ctx)
        s = actx.socket(zmq.REP)
        s.setsockopt(zmq.LINGER, 1000)
        try:
            announce({"endpoint": _bind(s, zmq, p["bind"])})
            recv, send = s.recv, s.send
            while True:
                m = await recv()
                await send(m)
                if not m:
                    break
            await asyncio.sleep(0.05)  # the last reply out before the loop ends
            return {}
        finally:
            _close(s)

    return asyncio.run(main())


def alat_client(zmq: Any, ctx: Any, p: Params) -> Params:
    """asyncio REQ: time each awaited round trip (after ``warmup`` untimed ones)."""
    import asyncio

    async def main() -> Params:
        actx = _aio(zmq).Context(ctx)
        s = actx.socket(zmq.REQ)
        s.setsockopt(zmq.LINGER, 1000)
        try:
            s.connect(p["endpoint"])
            msg = b"x" * p["size"]
            recv, send = s.recv, s.send
            for _ in range(p["warmup"]):
                await send(msg)
                await recv()
            clock = time.perf_counter_ns
            samples: List[int] = []
            append = samples.append
            deadline = clock() + int(p["max_seconds"] * 1e9)
            for _ in range(p["count"]):
                t0 = clock()
                await send(msg)
                await recv()
                t1 = clock()
                append(t1 - t0)
                if t1 > deadline:
                    break
            await send(b"")
            await recv()
            out = latency_summary(samples)
            out["truncated"] = len(samples) < p["count"]
            out["cpus"] = cpus_allowed()
            return out
        finally:
            _close(s)

    return asyncio.run(main())


SERVER_ROLES: Dict[str, Callable[..., Params]] = {
    "thr_recv": thr_recv,
    "lat_server": lat_server,
    "pub_server": pub_server,
    "router_server": router_server,
    "raw_bulk_recv": raw_bulk_recv,
    "raw_pong": raw_pong,
    "raw_stream_recv": raw_stream_recv,
    "athr_recv": athr_recv,
    "alat_server": alat_server,
    "curve_hs_server": curve_hs_server,
}

CLIENT_ROLES: Dict[str, Callable[..., Params]] = {
    "thr_send": thr_send,
    "lat_client": lat_client,
    "sub_client": sub_client,
    "dealer_client": dealer_client,
    "raw_bulk_send": raw_bulk_send,
    "raw_ping": raw_ping,
    "raw_stream_send": raw_stream_send,
    "athr_send": athr_send,
    "alat_client": alat_client,
    "curve_hs_client": curve_hs_client,
}

RAW_ROLES = {"raw_bulk_recv", "raw_pong", "raw_stream_recv", "raw_bulk_send", "raw_ping", "raw_stream_send"}


def role_needs_zmq(name: Optional[str]) -> bool:
    return name is not None and name not in RAW_ROLES
