"""The workloads: each expands into Cases (one table row group), each Case runs one repetition per Interp."""

from __future__ import annotations

import os
import tempfile
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

from benchmarks.runner import Interp, WorkerFailed, run_group, run_inproc

KIB = 1024
MIB = 1024 * 1024

WORKLOADS = ("push-pull", "req-rep", "pub-sub", "dealers", "raw", "asyncio", "curve")

# Message counts tuned so one pyzmq run takes roughly 0.5-1 s on a 2-vCPU VM (see README). A run that goes
# past max_seconds stops early and reports the rate so far, so a slow implementation costs bounded time.
THROUGHPUT_COUNTS = {16: 600_000, 256: 500_000, 4 * KIB: 100_000, 64 * KIB: 10_000, MIB: 800}
THROUGHPUT_SIZES = (16, 256, 4 * KIB, 64 * KIB, MIB)
LATENCY_SIZES = (16, 4 * KIB)


@dataclass
class Settings:
    quick: bool = False
    timeout: float = 60.0
    transports: Tuple[str, ...] = ("tcp", "ipc", "inproc")

    @property
    def throughput_sizes(self) -> Tuple[int, ...]:
        return (16, 4 * KIB, MIB) if self.quick else THROUGHPUT_SIZES

    @property
    def latency_sizes(self) -> Tuple[int, ...]:
        return (16,) if self.quick else LATENCY_SIZES

    @property
    def scale(self) -> float:
        return 0.1 if self.quick else 1.0

    @property
    def max_seconds(self) -> float:
        return 0.5 if self.quick else 3.0


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    fmt: Callable[[float], str]


@dataclass
class Case:
    workload: str
    size: int
    transport: str
    pinning: str
    family: str  # "zmq" (pyzmq/zmtp/zmtp-on-PyPy) or "raw" (plain sockets on CPython/PyPy)
    metrics: List[Metric]
    run: Callable[[Interp], Dict[str, float]]
    title: str = ""
    notes: Dict[str, Any] = field(default_factory=dict)

    def row_label(self, metric: Metric) -> str:
        parts = [self.title or self.workload, fmt_size(self.size), self.transport]
        if self.pinning:
            parts.append(self.pinning)
        parts.append(metric.label)
        return " ".join(p for p in parts if p)


# ------------------------------------------------------------------------------------------- formatting


def fmt_size(n: int) -> str:
    if n <= 0:
        return ""
    if n >= MIB and n % MIB == 0:
        return f"{n // MIB}MiB"
    if n >= KIB and n % KIB == 0:
        return f"{n // KIB}KiB"
    return f"{n}B"


def fmt_count(v: float) -> str:
    if v >= 1e6:
        return f"{v / 1e6:.2f}M"
    if v >= 1e3:
        return f"{v / 1e3:.1f}k"
    return f"{v:.0f}"


def fmt_us(v: float) -> str:
    return f"{v:.1f}" if v < 1000 else f"{v:.0f}"


def fmt_throughput(size: int) -> Callable[[float], str]:
    def f(v: float) -> str:
        return f"{fmt_count(v)} ({fmt_mb(v * size / 1e6)} MB/s)"

    return f


def fmt_mb(v: float) -> str:
    return f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 1 else f"{v:.2f}"


def fmt_float(digits: int) -> Callable[[float], str]:
    return lambda v: f"{v:.{digits}f}"


# ------------------------------------------------------------------------------------------- endpoints


def bind_addr(transport: str) -> str:
    if transport == "tcp":
        return "tcp://127.0.0.1:*"
    if transport == "ipc":
        d = os.path.join(tempfile.gettempdir(), "zmtp-bench")
        os.makedirs(d, exist_ok=True)
        return "ipc://" + os.path.join(d, uuid.uuid4().hex[:12] + ".ipc")
    if transport == "inproc":
        return "inproc://bench-" + uuid.uuid4().hex[:12]
    raise ValueError(transport)


def cleanup_ipc(*addrs: str) -> None:
    for a in addrs:
        if a.startswith("ipc://"):
            try:
                os.unlink(a[len("ipc://") :])
            except OSError:
                pass


PINNINGS: List[Tuple[str, Optional[int], Optional[int]]] = [
    ("unpinned", None, None),
    ("same-core", 0, 0),
    ("cores-0/1", 0, 1),
]


def available_pinnings(quick: bool = False) -> List[Tuple[str, Optional[int], Optional[int]]]:
    """Unpinned, both on CPU 0, and CPUs 0/1 where this process may use them (--quick: the pinned ones)."""
    getaff = getattr(os, "sched_getaffinity", None)
    cpus = getaff(0) if getaff else set()
    out: List[Tuple[str, Optional[int], Optional[int]]] = [] if quick and 0 in cpus else [PINNINGS[0]]
    if 0 in cpus:
        out.append(PINNINGS[1])
    if 0 in cpus and 1 in cpus:
        out.append(PINNINGS[2])
    return out


# ---------------------------------------------------------------------------------------------- workloads


def push_pull_cases(s: Settings) -> List[Case]:
    cases = []
    for transport in s.transports:
        for size in s.throughput_sizes:
            count = max(100, int(THROUGHPUT_COUNTS[size] * s.scale))

            def run(
                interp: Interp, size: int = size, count: int = count, transport: str = transport
            ) -> Dict[str, float]:
                addr = bind_addr(transport)
                params = {"bind": addr, "size": size, "count": count, "max_seconds": s.max_seconds}
                try:
                    if transport == "inproc":
                        r = run_inproc(interp, "thr_recv", "thr_send", params, timeout=s.timeout)
                    else:
                        r = run_group(interp, "thr_recv", "thr_send", params, timeout=s.timeout)["server"]
                finally:
                    cleanup_ipc(addr)
                return {"msg_per_s": r["msg_per_s"], "mb_per_s": r["mb_per_s"], "truncated": r["truncated"]}

            cases.append(
                Case(
                    "push-pull",
                    size,
                    transport,
                    "",
                    "zmq",
                    [Metric("msg_per_s", "msg/s", fmt_throughput(size))],
                    run,
                    title="PUSH->PULL",
                )
            )
    return cases


LATENCY_METRICS = [Metric("median_us", "median us", fmt_us), Metric("p99_us", "p99 us", fmt_us)]


def req_rep_cases(s: Settings) -> List[Case]:
    cases = []
    count = max(500, int(10_000 * s.scale))
    warmup = 1000  # also lets the PyPy JIT warm up
    for transport in s.transports:
        pins = available_pinnings(s.quick) if transport != "inproc" else [PINNINGS[0]]
        for label, scpu, ccpu in pins:
            for size in s.latency_sizes:

                def run(
                    interp: Interp,
                    size: int = size,
                    transport: str = transport,
                    scpu: Optional[int] = scpu,
                    ccpu: Optional[int] = ccpu,
                ) -> Dict[str, float]:
                    addr = bind_addr(transport)
                    params = {
                        "bind": addr,
                        "size": size,
                        "count": count,
                        "warmup": warmup,
                        "max_seconds": s.max_seconds,
                    }
                    try:
                        if transport == "inproc":
                            r = run_inproc(interp, "lat_server", "lat_client", params, timeout=s.timeout)
                        else:
                            r = run_group(
                                interp,
                                "lat_server",
                                "lat_client",
                                params,
                                server_cpu=scpu,
                                client_cpus=[ccpu],
                                need_server=False,
                                need_clients=True,
                                timeout=s.timeout,
                            )["clients"][0]
                    finally:
                        cleanup_ipc(addr)
                    return {"median_us": r["median_us"], "p99_us": r["p99_us"], "cpus": r.get("cpus", "?")}

                cases.append(Case("req-rep", size, transport, label, "zmq", LATENCY_METRICS, run, title="REQ<->REP"))
    return cases


def pub_sub_cases(s: Settings) -> List[Case]:
    cases = []
    subs = 4
    count = max(2000, int(200_000 * s.scale))
    for transport in s.transports:

        def run(interp: Interp, transport: str = transport) -> Dict[str, float]:
            addr, addr2 = bind_addr(transport), bind_addr(transport)
            params = {
                "bind": addr,
                "bind2": addr2,
                "size": 16,
                "count": count,
                "subscribers": subs,
            }
            try:
                if transport == "inproc":
                    r = run_inproc(interp, "pub_server", "sub_client", params, clients=subs, timeout=s.timeout)
                else:
                    r = run_group(interp, "pub_server", "sub_client", params, clients=subs, timeout=s.timeout)["server"]
            finally:
                cleanup_ipc(addr, addr2)
            return {
                "msg_per_s_per_sub": r["msg_per_s_per_sub"],
                "delivered_pct": 100.0 * r["delivered_frac"],
                "pub_send_msg_per_s": r["pub_send_msg_per_s"],
            }

        cases.append(
            Case(
                "pub-sub",
                16,
                transport,
                "",
                "zmq",
                [
                    Metric("msg_per_s_per_sub", "msg/s per sub", fmt_count),
                    Metric("delivered_pct", "delivered %", fmt_float(1)),
                ],
                run,
                title="PUB->4xSUB",
            )
        )
    return cases


def dealers_cases(s: Settings) -> List[Case]:
    n = 1000
    rounds = max(5, int(50 * s.scale))

    def run(interp: Interp) -> Dict[str, float]:
        params = {"bind": bind_addr("tcp"), "dealers": n, "rounds": rounds, "size": 16}
        r = run_group(
            interp,
            "router_server",
            "dealer_client",
            params,
            need_server=True,
            need_clients=True,
            timeout=s.timeout,
        )
        srv, cli = r["server"], r["clients"][0]
        return {
            "connect_ms": (srv["t_heard_all"] - cli["t0"]) * 1000.0,
            "req_per_s": cli["req_per_s"],
            "dealer_kib_per_conn": cli["rss_kib_per_conn"],
            "router_kib_per_conn": srv["rss_kib_per_conn"],
        }

    return [
        Case(
            "dealers",
            16,
            "tcp",
            "",
            "zmq",
            [
                Metric("connect_ms", "connect all ms", fmt_float(0)),
                Metric("req_per_s", "req/s", fmt_count),
                Metric("dealer_kib_per_conn", "DEALER-side RSS KiB/conn", fmt_float(1)),
                Metric("router_kib_per_conn", "ROUTER-side RSS KiB/conn", fmt_float(1)),
            ],
            run,
            title="1000 DEALER->ROUTER",
        )
    ]


def raw_cases(s: Settings) -> List[Case]:
    cases = []
    bulk_count = max(200, int(3000 * s.scale))

    def bulk(interp: Interp) -> Dict[str, float]:
        params = {"size": MIB, "count": bulk_count}
        r = run_group(interp, "raw_bulk_recv", "raw_bulk_send", params, timeout=s.timeout)["server"]
        return {"mb_per_s": r["mb_per_s"]}

    cases.append(
        Case("raw", MIB, "tcp", "", "raw", [Metric("mb_per_s", "MB/s", fmt_mb)], bulk, title="raw socket bulk")
    )
    count = max(500, int(10_000 * s.scale))
    for label, scpu, ccpu in available_pinnings(s.quick):

        def ping(interp: Interp, scpu: Optional[int] = scpu, ccpu: Optional[int] = ccpu) -> Dict[str, float]:
            params = {"size": 16, "count": count, "warmup": 1000, "max_seconds": s.max_seconds}
            r = run_group(
                interp,
                "raw_pong",
                "raw_ping",
                params,
                server_cpu=scpu,
                client_cpus=[ccpu],
                need_server=False,
                need_clients=True,
                timeout=s.timeout,
            )["clients"][0]
            return {"median_us": r["median_us"], "p99_us": r["p99_us"], "cpus": r.get("cpus", "?")}

        cases.append(Case("raw", 16, "tcp", label, "raw", LATENCY_METRICS, ping, title="raw socket ping-pong"))
    stream_count = max(20_000, int(2_000_000 * s.scale))

    def stream(interp: Interp) -> Dict[str, float]:
        params = {"size": 16, "count": stream_count, "batch": 256}
        r = run_group(interp, "raw_stream_recv", "raw_stream_send", params, timeout=s.timeout)["server"]
        return {"msg_per_s": r["msg_per_s"]}

    cases.append(
        Case(
            "raw",
            16,
            "tcp",
            "",
            "raw",
            [Metric("msg_per_s", "msg/s", fmt_throughput(16))],
            stream,
            title="raw len-prefixed stream",
        )
    )
    return cases


def asyncio_cases(s: Settings) -> List[Case]:
    """zmq.asyncio vs zmtp.asyncio: REQ<->REP 16 B round trip and PUSH->PULL 16 B throughput, every call
    awaited (the roles shadow the worker's context with the implementation's asyncio Context)."""
    cases = []
    count = max(500, int(10_000 * s.scale))
    thr_count = max(100, int(200_000 * s.scale))
    for transport in [t for t in s.transports if t != "inproc"]:
        for label, scpu, ccpu in available_pinnings(s.quick):

            def lat(interp: Interp, transport: str = transport, scpu: Optional[int] = scpu,
                    ccpu: Optional[int] = ccpu) -> Dict[str, float]:
                addr = bind_addr(transport)
                params = {"bind": addr, "size": 16, "count": count, "warmup": 1000, "max_seconds": s.max_seconds}
                try:
                    r = run_group(interp, "alat_server", "alat_client", params, server_cpu=scpu,
                                  client_cpus=[ccpu], need_server=False, need_clients=True,
                                  timeout=s.timeout)["clients"][0]
                finally:
                    cleanup_ipc(addr)
                return {"median_us": r["median_us"], "p99_us": r["p99_us"], "cpus": r.get("cpus", "?")}

            cases.append(Case("asyncio", 16, transport, label, "zmq", LATENCY_METRICS, lat,
                              title="asyncio REQ<->REP"))

        def thr(interp: Interp, transport: str = transport) -> Dict[str, float]:
            addr = bind_addr(transport)
            params = {"bind": addr, "size": 16, "count": thr_count, "max_seconds": s.max_seconds}
            try:
                r = run_group(interp, "athr_recv", "athr_send", params, timeout=s.timeout)["server"]
            finally:
                cleanup_ipc(addr)
            return {"msg_per_s": r["msg_per_s"], "mb_per_s": r["mb_per_s"], "truncated": r["truncated"]}

        cases.append(Case("asyncio", 16, transport, "", "zmq", [Metric("msg_per_s", "msg/s", fmt_throughput(16))],
                          thr, title="asyncio PUSH->PULL"))
    return cases


BUILDERS: Dict[str, Callable[[Settings], List[Case]]] = {
    "push-pull": push_pull_cases,
    "req-rep": req_rep_cases,
    "pub-sub": pub_sub_cases,
    "dealers": dealers_cases,
    "raw": raw_cases,
    "asyncio": asyncio_cases,
}


def curve_backends() -> List[str]:
    """zmtp's crypto backends that load here (pynacl, libsodium, pure), in preference order."""
    try:
        from zmtp import crypto
    except ImportError:
        return []
    return crypto.available_backends()


_BACKENDS_IN: Dict[str, List[str]] = {}


def require_backend(interp: Interp, backend: str) -> None:
    """Raise WorkerFailed("unavailable: ...") (the cell says n/a) when ``interp`` cannot load zmtp's
    crypto ``backend`` (PyNaCl has no PyPy wheel), instead of letting the run time out."""
    if interp.impl != "zmtp":
        return
    if interp.exe not in _BACKENDS_IN:
        import subprocess

        from benchmarks.runner import worker_env

        out = subprocess.run([interp.exe, "-c", "import zmtp.crypto as c; print(' '.join(c.available_backends()))"],
                             capture_output=True, text=True, timeout=60, env=worker_env())
        _BACKENDS_IN[interp.exe] = out.stdout.split()
    if backend not in _BACKENDS_IN[interp.exe]:
        raise WorkerFailed(f"unavailable: crypto backend {backend} does not load in {interp.label}")


def curve_cases(s: Settings) -> List[Case]:
    """CURVE beside pyzmq, one row group per zmtp crypto backend (the pyzmq column ignores the backend):
    connection set-up (TCP + greeting + CURVE handshake + one round trip), PUSH->PULL 16 B and 64 KiB,
    REQ<->REP 16 B, over tcp.  Pure Python is slow: its rows stop early (max_seconds) and say so."""
    cases: List[Case] = []
    latency = [Metric("median_us", "median us", fmt_us), Metric("p99_us", "p99 us", fmt_us)]
    for backend in curve_backends():
        title = f"CURVE[{backend}]"

        def handshake(interp: Interp, backend: str = backend) -> Dict[str, float]:
            require_backend(interp, backend)
            addr = bind_addr("tcp")
            params = {"bind": addr, "count": max(10, int(200 * s.scale)), "max_seconds": s.max_seconds,
                      "curve_backend": backend}
            r = run_group(interp, "curve_hs_server", "curve_hs_client", params, need_server=False,
                          need_clients=True, timeout=s.timeout)["clients"][0]
            return {"median_us": r["median_us"], "p99_us": r["p99_us"]}

        cases.append(Case("curve", 0, "tcp", "", "zmq", latency, handshake, title=f"{title} connect+handshake"))
        for size in (16, 64 * KIB):
            count = max(100, int(THROUGHPUT_COUNTS[size] * s.scale))

            def thr(interp: Interp, size: int = size, count: int = count, backend: str = backend) -> Dict[str, float]:
                require_backend(interp, backend)
                params = {"bind": bind_addr("tcp"), "size": size, "count": count, "max_seconds": s.max_seconds,
                          "curve": True, "curve_backend": backend}
                r = run_group(interp, "thr_recv", "thr_send", params, timeout=s.timeout)["server"]
                return {"msg_per_s": r["msg_per_s"], "mb_per_s": r["mb_per_s"], "truncated": r["truncated"]}

            cases.append(Case("curve", size, "tcp", "", "zmq", [Metric("msg_per_s", "msg/s", fmt_throughput(size))],
                              thr, title=f"{title} PUSH->PULL"))

        def lat(interp: Interp, backend: str = backend) -> Dict[str, float]:
            require_backend(interp, backend)
            params = {"bind": bind_addr("tcp"), "size": 16, "count": max(500, int(10_000 * s.scale)),
                      "warmup": 200, "max_seconds": s.max_seconds, "curve": True, "curve_backend": backend}
            r = run_group(interp, "lat_server", "lat_client", params, need_server=False, need_clients=True,
                          timeout=s.timeout)["clients"][0]
            return {"median_us": r["median_us"], "p99_us": r["p99_us"]}

        cases.append(Case("curve", 16, "tcp", "", "zmq", latency, lat, title=f"{title} REQ<->REP"))
    return cases


BUILDERS["curve"] = curve_cases


def build_cases(s: Settings, only: Optional[List[str]] = None) -> List[Case]:
    out: List[Case] = []
    for name in WORKLOADS:
        if only and name not in only:
            continue
        out.extend(BUILDERS[name](s))
    return out
