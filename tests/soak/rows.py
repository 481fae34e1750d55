"""The rows of issue 9's table, and the good results to keep, as measurements.

Each ``measure_*`` function runs one attack against one implementation ("zmtp" or "libzmq") at one
:class:`~.core.Scale` and returns a :class:`~.core.Figure`.  The victim is a subprocess (victim.py) so
that its RSS and CPU time are its own; attackers are raw sockets in this process (or pyzmq peers in
helper processes when they must be killable or heavy).  Everything binds 127.0.0.1 ephemeral ports,
every wait has a deadline, and every subprocess is killed in a ``finally`` (a context manager).
"""

from __future__ import annotations

import os
import random
import socket
import struct
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

import zmq

import zmtp

from . import wire
from .core import Figure, MiB, Row, Scale
from .procs import Counters, Peer, Victim, freeze, raise_nofile, tcp_queues, thaw, wait_eof

ZMTP, LIBZMQ = "zmtp", "libzmq"


def _mib(n: float) -> str:
    return f"{n / MiB:+.1f} MiB"


def _ctx(impl: str, driver: str = "threaded") -> Any:
    return zmtp.Context(driver=driver) if impl == ZMTP else zmq.Context()


def _mod(impl: str) -> Any:
    return zmtp if impl == ZMTP else zmq


class RoundTrips:
    """A legit DEALER (pyzmq) doing round trips with an echoing ROUTER/REP victim in a thread, recording
    every round trip's time: what "the good peer is served" means in numbers."""

    def __init__(self, endpoint: str, pctx: zmq.Context[Any], kind: int = zmq.DEALER, timeout: float = 20.0) -> None:
        self.sock = pctx.socket(kind)
        self.sock.linger = 0
        self.sock.connect(endpoint)
        self.kind = kind
        self.timeout = timeout
        self.samples: List[Tuple[float, float]] = []  # (start, seconds)
        self.failed = 0
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def one(self) -> Optional[float]:
        """One round trip now; None if no answer within the timeout."""
        t0 = time.monotonic()
        if self.kind == zmq.DEALER:
            self.sock.send_multipart([b"", b"ping"])
        else:
            self.sock.send(b"ping")
        if not self.sock.poll(int(self.timeout * 1000)):
            return None
        self.sock.recv_multipart()
        return time.monotonic() - t0

    def warm(self, timeout: float = 10.0) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.one() is not None:
                return
        raise AssertionError("the good peer never got an answer")

    def start(self) -> None:
        def loop() -> None:
            while not self._stop.is_set():
                t0 = time.monotonic()
                dt = self.one()
                if dt is None:
                    self.failed += 1
                    break
                self.samples.append((t0, dt))
                time.sleep(0.001)

        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.timeout + 5)
        self.sock.close(0)

    def worst(self, since: float = 0.0) -> float:
        return max((dt for t0, dt in self.samples if t0 + dt >= since), default=float("inf"))

    def count(self, since: float = 0.0, until: float = float("inf")) -> int:
        return sum(1 for t0, _ in self.samples if since <= t0 < until)


# -- row 1: resets at every handshake step, then a real server ----------------------------------------

RESET_STEPS = ("accept", "signature", "greeting", "greeting+ready", "after-peer-greeting", "mid-ready")


def _bad_server(lsock: socket.socket, step: str, until: float) -> None:
    """Accept and reset every connection at ``step`` of the handshake until ``until``, then close."""
    lsock.settimeout(0.005)
    try:
        while time.monotonic() < until:
            try:
                conn, _ = lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            try:
                if step == "signature":
                    conn.sendall(wire.GREETING[:10])
                elif step == "greeting":
                    conn.sendall(wire.GREETING)
                elif step == "greeting+ready":
                    conn.sendall(wire.GREETING + wire.ready(b"PULL"))
                elif step == "after-peer-greeting":
                    conn.settimeout(0.05)
                    try:
                        conn.recv(64)
                    except OSError:
                        pass
                elif step == "mid-ready":
                    conn.sendall(wire.GREETING + wire.ready(b"PULL")[:9])
            except OSError:
                pass
            wire.reset(conn)
    finally:
        lsock.close()


def _reset_trial(impl: str, ctx: Any, pctx: zmq.Context[Any], step: str, bad_for: float) -> Optional[float]:
    """One trial: a server that resets at ``step`` for ``bad_for`` s, then a real PULL on the same port.
    Returns the seconds from the real server's bind to the first delivery; None: stuck (3 s)."""
    m = _mod(impl)
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(64)
    port = lsock.getsockname()[1]
    push = ctx.socket(m.PUSH)
    real = None
    try:
        push.setsockopt(m.LINGER, 0)
        push.setsockopt(m.RECONNECT_IVL, 10)
        push.connect(f"tcp://127.0.0.1:{port}")
        bad = threading.Thread(target=_bad_server, args=(lsock, step, time.monotonic() + bad_for), daemon=True)
        bad.start()
        while bad.is_alive():  # the application keeps calling send (this is what drives a blocking driver)
            try:
                push.send(b"x", m.DONTWAIT)
            except (zmq.Again, zmtp.Again):
                pass
            time.sleep(0.002)
        real = pctx.socket(zmq.PULL)
        real.linger = 0
        try:
            real.bind(f"tcp://127.0.0.1:{port}")
        except zmq.ZMQError:
            return 0.0  # somebody took the port meanwhile: not this trial's question
        t0 = time.monotonic()
        while time.monotonic() < t0 + 3.0:
            try:
                push.send(b"x", m.DONTWAIT)
            except (zmq.Again, zmtp.Again):
                pass
            if real.poll(5):
                return time.monotonic() - t0
        return None
    finally:
        push.close(0)
        if real is not None:
            real.close(0)


def measure_resets(impl: str, scale: Scale) -> Figure:
    drivers = ("threaded", "blocking") if impl == ZMTP else ("libzmq",)
    pctx = zmq.Context()
    stuck: Dict[str, int] = {}
    slowest: Dict[str, float] = {}
    try:
        for driver in drivers:
            ctx = _ctx(impl, driver if impl == ZMTP else "threaded")
            try:
                stuck[driver] = 0
                slowest[driver] = 0.0
                for i in range(scale.reset_trials):
                    step = RESET_STEPS[i % len(RESET_STEPS)]
                    took = _reset_trial(impl, ctx, pctx, step, 0.06)
                    if took is None:
                        stuck[driver] += 1
                    else:
                        slowest[driver] = max(slowest[driver], took)
            finally:
                ctx.destroy(linger=0) if impl == LIBZMQ else ctx.destroy(linger=0)
    finally:
        pctx.destroy(linger=0)
    n = scale.reset_trials
    text = ", ".join(f"{stuck[d]}/{n} stuck{'' if impl == LIBZMQ else ' (' + d + ')'}" for d in drivers)
    text += f"; slowest {max(slowest.values()) * 1000:.0f} ms"
    return Figure(max(stuck.values()), "stuck trials", text)




# -- row 2: connection churn on a ROUTER -------------------------------------------------------------


def _churn(addr: Tuple[str, int], count: int, payload: bytes) -> Tuple[int, float]:
    """``count`` times: connect, send ``payload``, wait for the server's first bytes, reset.  Returns
    (cycles done, seconds).  Waiting for the server keeps the loop closed: an open loop only fills the
    listen backlog, and then the kernel drops SYNs and the attacker waits out 1 s retransmits, which
    measures the backlog, not the victim."""
    t0 = time.monotonic()
    done = 0
    for _ in range(count):
        s = socket.socket()
        s.settimeout(5.0)
        try:
            s.connect(addr)
            s.sendall(payload)
            s.recv(10)
            done += 1
        except OSError:
            pass
        wire.reset(s)
    return done, time.monotonic() - t0


def measure_churn(impl: str, scale: Scale) -> Figure:
    """Row 2: connect, greeting + READY, reset, many times over: the ROUTER's RSS must come back."""
    payload = wire.GREETING + wire.ready(b"DEALER")
    pctx = zmq.Context()
    try:
        with Victim(impl, "ROUTER", "echo") as v:
            good = RoundTrips(v.endpoint, pctx)
            good.warm()
            _churn(v.host_port, 500, payload)  # warm-up: allocator pools, lazily built tables
            base = v.settle_rss(scale.settle)
            base_fds = v.fds()
            done, took = _churn(v.host_port, scale.churn, payload)
            after = v.rss()
            open_after = v.fds() - base_fds  # (connections still to be noticed closed; drained below)
            settled = v.settle_rss(2 * scale.settle)
            served = good.one() is not None
            fds = v.fds()
            good.sock.close(0)
    finally:
        pctx.destroy(linger=0)
    rate = done / took
    growth = settled - base
    text = (f"{_mib(growth)} {2 * scale.settle:.0f} s later ({_mib(after - base)} at once); {done:,} cycles at "
            f"{rate:,.0f}/s; fds {fds - base_fds:+d} ({open_after:+d} right after)")
    return Figure(growth / MiB, "MiB", text, ok=served and fds <= base_fds + 2)



# -- row 3: announce 1 GiB, send part of it, close --------------------------------------------------------


def measure_announce_close(impl: str, scale: Scale) -> Figure:
    """Row 3: three times, a peer announces a 1 GiB frame, sends part of it and closes: the memory must
    be freed at once (a cancelled timer used to hold the closed stream's buffer for HANDSHAKE_IVL)."""
    chunk = bytes(MiB)
    with Victim(impl, "PULL", "sink") as v:
        base = v.settle_rss(0.5)
        peak = base
        held = []
        for _ in range(3):
            s = wire.handshake(v.host_port, b"PUSH")
            s.sendall(wire.long_header(1 << 30))
            sent = 0
            while sent < scale.announce_body:
                s.sendall(chunk)
                sent += len(chunk)
            time.sleep(0.2)
            peak = max(peak, v.rss())
            s.shutdown(socket.SHUT_WR)
            closed = wait_eof(s, 10.0)  # the victim saw the end and dropped the connection
            s.close()
            time.sleep(0.1)
            held.append(v.rss() - base)
            if closed is None:
                return Figure(float("inf"), "MiB", "the victim never dropped the half-sent frame", ok=False)
        settled = v.settle_rss(1.0) - base
    text = (f"{_mib(held[-1])} 0.1 s after the 3rd close ({', '.join(_mib(h) for h in held)}); peak "
            f"{_mib(peak - base)} for {scale.announce_body // MiB} MiB sent; {_mib(settled)} 1 s later")
    return Figure(held[-1] / MiB, "MiB", text)




# -- row 5: many peers announce MAXMSGSIZE and send a little --------------------------------------------


def measure_announcers(impl: str, scale: Scale) -> Figure:
    """Row 5: N connections each announce a 1 MiB frame (MAXMSGSIZE 1 MiB) and send ~100 bytes of it."""
    raise_nofile(scale.announcers + 500)
    socks: List[socket.socket] = []
    with Victim(impl, "PULL", "sink", opts=[f"MAXMSGSIZE={MiB}"]) as v:
        base = v.settle_rss(0.5)
        try:
            for _ in range(scale.announcers):
                s = wire.connect(v.host_port)
                s.sendall(wire.GREETING + wire.ready(b"PUSH") + wire.long_header(MiB) + bytes(102))
                socks.append(s)
            time.sleep(0.5)
            held = v.settle_rss(1.0) - base
            alive = v.fds()
        finally:
            for s in socks:
                s.close()
    text = f"{_mib(held)} for {len(socks)} connections ({alive} fds open in the victim)"
    return Figure(held / MiB, "MiB", text)




# -- row 6: a frame header of 2^63-1 ---------------------------------------------------------------------


def measure_huge_header(impl: str, scale: Scale) -> Figure:
    """Row 6: a frame header announcing 2^63-1 bytes, MAXMSGSIZE unset: dropped at once, nothing taken."""
    with Victim(impl, "PULL", "sink") as v:
        base = v.settle_rss(0.5)
        s = wire.handshake(v.host_port, b"PUSH")
        t0 = time.monotonic()
        try:
            s.sendall(wire.long_header((1 << 63) - 1) + bytes(4096))
        except OSError:
            pass
        dropped = wait_eof(s, 5.0)
        s.close()
        grown = v.rss() - base
    if dropped is None:
        return Figure(5.0, "s", f"kept the connection 5 s ({_mib(grown)})", ok=False)
    took = time.monotonic() - t0
    return Figure(dropped, "s", f"dropped in {took * 1000:.1f} ms, {_mib(grown)}")




# -- row 11: good messages, then an oversize frame, in one read -----------------------------------------


def measure_good_then_oversize(impl: str, scale: Scale) -> Figure:
    """Row 11: 10 good messages then an oversize frame header, all in one TCP segment."""
    with Victim(impl, "PULL", "sink", opts=["MAXMSGSIZE=1000"]) as v:
        s = wire.handshake(v.host_port, b"PUSH")
        s.sendall(b"".join(wire.frame(b"good %d" % i) for i in range(10)) + wire.long_header(5000) + bytes(100))
        wait_eof(s, 5.0)
        s.close()
        end = time.monotonic() + 2.0
        while v.count() < 10 and time.monotonic() < end:
            time.sleep(0.01)
        got = v.count()
    return Figure(got, "messages", f"{got} of 10 delivered")




# -- row 12: a flood of empty MORE frames -----------------------------------------------------------------


def measure_empty_frames(impl: str, scale: Scale) -> Figure:
    """Row 12: empty MORE frames (2 bytes each) under MAXMSGSIZE 1 MiB: what the victim holds for them."""
    block = b"\x01\x00" * (MiB // 2)
    with Victim(impl, "PULL", "sink", opts=[f"MAXMSGSIZE={MiB}"]) as v:
        base = v.settle_rss(0.5)
        s = wire.handshake(v.host_port, b"PUSH")
        peak = [base]
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                try:
                    peak[0] = max(peak[0], v.rss())
                except OSError:
                    return
                time.sleep(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        sent = 0
        dropped_after: Optional[int] = None
        s.settimeout(10.0)
        try:
            while sent < scale.empty_frames_bytes:
                s.sendall(block)
                sent += len(block)
        except OSError:
            dropped_after = sent
        time.sleep(0.3)
        stop.set()
        sampler.join()
        if dropped_after is None and wait_eof(s, 0.5) is not None:
            dropped_after = sent
        s.close()
    grown = peak[0] - base
    fate = "kept the connection" if dropped_after is None else f"dropped it within {dropped_after / MiB:.0f} MiB"
    text = f"peak {_mib(grown)} for {sent / MiB:.0f} MiB of empty frames; {fate}"
    return Figure(grown / MiB, "MiB", text)




# -- row 13: contradicting and repeated READY -----------------------------------------------------------------


def measure_bad_ready(impl: str, scale: Scale) -> Figure:
    """Row 13: a READY giving Socket-Type twice (bad, then good), and a second READY after a good one.
    The figure counts the variants the victim accepted (libzmq refuses both and drops the peer)."""
    variants = {
        "type twice": wire.GREETING + wire.command(b"READY", wire.prop(b"Socket-Type", b"PULL")
                                                   + wire.prop(b"Socket-Type", b"PUSH")),
        "second READY": wire.GREETING + wire.ready(b"PUSH") + wire.ready(b"PUSH"),
    }
    accepted = []
    with Victim(impl, "PULL", "sink") as v:
        for name, data in variants.items():
            s = wire.connect(v.host_port)
            s.sendall(data)
            if wait_eof(s, 1.0) is None:
                accepted.append(name)
            s.close()
    text = "both refused, peer dropped" if not accepted else "accepted: " + ", ".join(accepted)
    return Figure(len(accepted), "accepted", text)




# -- row 4: a PING flood from a peer that never reads ----------------------------------------------------------


def measure_ping_flood(impl: str, scale: Scale) -> Figure:
    """Row 4: a peer floods PINGs and never reads: the victim (REP) must not grow, and its good REQ peer
    must keep its round trips.  The figure is the good peer's round trips during the flood as a share of
    its rate before it (memory and the worst round trip are in the text)."""
    pctx = zmq.Context()
    pings = wire.ping(b"ctx") * 20_000
    try:
        with Victim(impl, "REP", "echo") as v:
            good = RoundTrips(v.endpoint, pctx, kind=zmq.REQ, timeout=5.0)
            good.warm()
            good.start()
            time.sleep(scale.ping_seconds / 2)
            before = good.count() / (scale.ping_seconds / 2)
            base = v.rss()
            s = wire.handshake(v.host_port, b"REQ", rcvbuf=4096)
            stop = threading.Event()
            flooded = [0]

            def flood() -> None:
                s.settimeout(0.2)
                while not stop.is_set():
                    try:
                        flooded[0] += s.send(pings)
                    except socket.timeout:
                        continue
                    except OSError:
                        return

            attacker = threading.Thread(target=flood, daemon=True)
            t0 = time.monotonic()
            attacker.start()
            peak = base
            while time.monotonic() < t0 + scale.ping_seconds:
                time.sleep(0.05)
                peak = max(peak, v.rss())
            t1 = time.monotonic()
            during = good.count(t0, t1) / (t1 - t0)
            stop.set()
            attacker.join()
            good.stop()
            worst = good.worst(t0)
            s.close()
            served = good.failed == 0
    finally:
        pctx.destroy(linger=0)
    share = during / before if before else 0.0
    text = (f"{share:.0%} of its round trips kept ({during:,.0f}/s vs {before:,.0f}/s), worst {worst * 1000:.0f} ms; "
            f"victim {_mib(peak - base)} while {flooded[0] / MiB:.0f} MiB of PINGs came in")
    return Figure(share * 100, "% kept", text, ok=served and peak - base < 64 * MiB,
                  extra={"rss": (peak - base) / MiB})




# -- row 14: the receiver is killed mid-stream ----------------------------------------------------------------

_SENDER = """
import struct, zmq
port, n, size, sndbuf = int(ARGS[0]), int(ARGS[1]), int(ARGS[2]), int(ARGS[3])
ctx = zmq.Context()
s = ctx.socket(zmq.PUSH)
if sndbuf:
    s.sndbuf = sndbuf
s.connect("tcp://127.0.0.1:%d" % port)
pad = bytes(size - 8)
print("CONNECTED", flush=True)
for i in range(n):
    s.send(struct.pack(">Q", i) + pad)
print("SENT", flush=True)
s.close(-1)
ctx.term()
print("DONE", flush=True)
"""

RESTART_SIZE = 64


def measure_restarts(impl: str, scale: Scale, work_us: int = 0, bufsize: int = 0) -> Figure:
    """Row 14: a libzmq PUSH sends N messages to a PULL (zmtp or libzmq) that is SIGKILLed and restarted
    several times during the transfer.  Lost = sent - received by the applications of all incarnations.

    Much of what a kill loses is in the kernel: just before each kill, with the sender and the receiver
    both stopped (SIGSTOP), /proc/net/tcp gives the bytes queued in the two sockets (the receiver's
    unread rx_queue, the sender's unacknowledged or unsent tx_queue),
    which die with the connection whatever the receiver does.  How much that is depends on speed: when
    the receiver is slower than the sender both queues fill (megabytes on loopback).  The figure is what
    the receiving *process* lost beyond that (its pipe, RCVHWM, and what it read ahead); the text gives
    the total.  ``work_us``: the consumer spins that long per message (a consumer slower than the wire);
    ``bufsize``: SO_RCVBUF of the receiver and SO_SNDBUF of the sender (0: the kernel's defaults)."""
    n = scale.restart_messages
    counters: List[Counters] = []
    in_kernel = 0
    kills = 0
    victim: Optional[Victim] = None
    extra = ["--work-us", str(work_us)] + (["--opt", f"RCVBUF={bufsize}"] if bufsize else [])
    probe = os.environ.get("ZMTP_SOAK_PROBE") == "1"
    try:
        c = Counters()
        counters.append(c)
        victim = Victim(impl, "PULL", "sink", counters=c, extra=extra).start()
        port = victim.port
        with Peer(_SENDER, str(port), str(n), str(RESTART_SIZE), str(bufsize)) as sender:
            assert sender.line() == "CONNECTED"
            t0 = time.monotonic()
            share = n // (scale.restarts + 2)
            for _ in range(scale.restarts):
                last, moved = -1, time.monotonic()
                while c.read() < share and time.monotonic() - moved < 2.0:  # each incarnation gets a share
                    if c.read() != last:
                        last, moved = c.read(), time.monotonic()
                    time.sleep(0.002)
                # stop both ends, then read the kernel's queues: what they hold now is exactly what the
                # kill throws away in the kernel (a snapshot of running processes was off by tens of
                # thousands of messages on a loaded machine, whichever way the scheduler leaned)
                freeze(sender.proc.pid)
                freeze(victim.pid)
                time.sleep(0.1)  # the kernel still acknowledges (delayed ACKs): the same bytes sat in both queues
                queues = tcp_queues(port)
                held = sum(tx + rx for _, _, tx, rx in queues)
                if probe:
                    print(f"kill: queues {queues}, held inside {c.read(4)}")
                victim.kill()
                thaw(sender.proc.pid)
                kills += 1
                in_kernel += held // (RESTART_SIZE + 2)
                c = Counters()
                counters.append(c)
                victim = Victim(impl, "PULL", "sink", counters=c, extra=extra,
                                bind=f"tcp://127.0.0.1:{port}").start()
            # the last incarnation takes the rest; the sender's term() returns once all is written
            last, still = -1, time.monotonic()
            end = time.monotonic() + 120
            while time.monotonic() < end:
                got = sum(x.read() for x in counters)
                if got != last:
                    last, still = got, time.monotonic()
                elif got >= n or (time.monotonic() - still > 1.5 and sender.proc.poll() is not None):
                    break
                time.sleep(0.01)
            took = time.monotonic() - t0
            if probe:
                print(f"end: counts {[x.read() for x in counters]}, queues {tcp_queues(port)}, "
                      f"held inside {c.read(4)}, sender {sender.proc.poll()}")
        received = sum(x.read() for x in counters)
    finally:
        if victim is not None:
            victim.kill()
        for x in counters:
            x.close()
    lost = n - received
    inside = max(0, lost - in_kernel)
    text = (f"{inside:,} lost beyond the kernel's queues; {lost:,} of {n:,} in all over {kills} kills "
            f"(~{in_kernel:,} were in the kernel); {took:.1f} s")
    return Figure(inside, "lost", text, ok=received <= n, extra={"kernel": in_kernel, "total": lost})


def measure_restarts_small_buffers(impl: str, scale: Scale) -> Figure:
    """Row 14 with 64 KiB socket buffers on both ends: the kernel then holds little (~2,000 messages per
    kill at most), so the totals are close to what the receiving processes themselves throw away."""
    return measure_restarts(impl, scale, bufsize=1 << 16)


def measure_restarts_slow_consumer(impl: str, scale: Scale) -> Figure:
    """Row 14 with a consumer slower than the wire (2 us per message) on both sides: both receivers are
    then the bottleneck, the queues fill on both, and the totals compare directly."""
    return measure_restarts(impl, scale, work_us=2)


# -- row 7: a subscription flood -------------------------------------------------------------------------------


def _rate(v: Victim, seconds: float) -> float:
    """The victim's send rate: the best of three windows (a shared machine's other load only lowers it)."""
    best = 0.0
    for _ in range(3):
        c0, t0 = v.count(), time.monotonic()
        time.sleep(seconds / 3)
        best = max(best, (v.count() - c0) / (time.monotonic() - t0))
    return best


def measure_subscriptions(impl: str, scale: Scale) -> Figure:
    """Row 7: a PUB sends 4 KiB messages as fast as it can; a good SUB subscribed to their topic reads
    nothing (so, as in the issue's figures, the PUB's rate is its matching and its HWM drops, not the
    loopback's bandwidth); a hostile subscriber then subscribes to topics of N distinct lengths and never
    reads.  The figure is the PUB's rate after the flood as a share of its rate before."""
    pctx = zmq.Context()
    rng = random.Random(7)
    try:
        with Victim(impl, "PUB", "pub", extra=["--size", "4096"]) as v:
            good = pctx.socket(zmq.SUB)
            good.linger = 0
            good.subscribe(b"real")
            good.connect(v.endpoint)
            served = good.poll(10_000) != 0
            time.sleep(0.3)
            before = _rate(v, 1.0)
            s = wire.handshake(v.host_port, b"SUB", rcvbuf=4096)
            topics = b"".join(wire.command(b"SUBSCRIBE", b"\x00" + rng.randbytes(n - 1) if n > 1 else b"\x00")
                              for n in range(1, scale.sub_topics + 1))
            s.sendall(topics)
            time.sleep(0.5)
            after = _rate(v, 1.0)
            s.close()
            good.close(0)
    finally:
        pctx.destroy(linger=0)
    share = after / before if before else 0.0
    text = (f"{share:.0%} of its rate kept ({before:,.0f} -> {after:,.0f} msg/s) under "
            f"{scale.sub_topics:,} subscriptions")
    return Figure(share * 100, "% kept", text, ok=served)




# -- row 9: READY commands of 1 MiB of empty properties ------------------------------------------------------


def big_ready(socket_type: bytes = b"DEALER") -> bytes:
    """A READY of just under 1 MiB (the handshake command limit): Socket-Type, then as many properties
    with a one-letter name and an empty value as fit (~175,000 of them, each parsed and stored)."""
    head = wire.prop(b"Socket-Type", socket_type)
    one = wire.prop(b"x", b"")
    body = b"\x05READY" + head + one * (((1 << 20) - 6 - len(head)) // len(one))
    return wire.frame(body, command=True)


def measure_ready_flood(impl: str, scale: Scale) -> Figure:
    """Row 9: N connections each send a 1 MiB READY of empty properties while a good DEALER does round
    trips with the victim ROUTER: the figure is the good peer's worst round trip (its stall)."""
    pctx = zmq.Context()
    payload = wire.GREETING + big_ready()
    socks: List[socket.socket] = []
    try:
        with Victim(impl, "ROUTER", "echo") as v:
            good = RoundTrips(v.endpoint, pctx)
            good.warm()
            good.start()
            time.sleep(0.5)
            calm = good.worst()
            t0 = time.monotonic()

            def attack() -> None:
                for _ in range(scale.ready_conns):
                    s = wire.connect(v.host_port, timeout=30.0)
                    socks.append(s)
                    s.sendall(payload)

            attackers = [threading.Thread(target=attack, daemon=True)]
            for t in attackers:
                t.start()
            for t in attackers:
                t.join(120)
            sent = time.monotonic() - t0
            time.sleep(1.5)
            good.stop()
            worst = good.worst(t0)
            peak_rss = v.rss()
            served = good.failed == 0
    finally:
        for s in socks:
            s.close()
        pctx.destroy(linger=0)
    text = (f"worst round trip {worst:.2f} s (calm: {calm * 1000:.0f} ms); {len(socks)} READYs sent in {sent:.1f} s; "
            f"victim RSS {peak_rss / MiB:.0f} MiB")
    return Figure(worst, "s", text, ok=served)




# -- row 10: one legal 1 GiB message -----------------------------------------------------------------------------

_BIG_PEER = """
import time, zmq
ep, size = ARGS[0], int(ARGS[1])
ctx = zmq.Context()
s = ctx.socket(zmq.DEALER)
s.linger = 0
s.connect(ep)
big = bytes(size)
s.send(b"hello")
s.recv()
print("READY", flush=True)
t0 = time.monotonic()
s.send(big, copy=False)
back = s.recv(copy=False)
print("BACK %d %.3f" % (len(back.buffer), time.monotonic() - t0), flush=True)
"""


def measure_big_message(impl: str, scale: Scale) -> Figure:
    """Row 10: a peer sends one legal message of 1 GiB (full scale) to the victim ROUTER, which echoes
    it back, while a good DEALER does round trips: the figure is the good peer's worst round trip."""
    pctx = zmq.Context()
    size = scale.big_message
    try:
        with Victim(impl, "ROUTER", "echo") as v:
            good = RoundTrips(v.endpoint, pctx)
            good.warm()
            good.start()
            with Peer(_BIG_PEER, v.endpoint, str(size)) as big:
                assert big.line() == "READY"
                t0 = time.monotonic()  # the peer sends as soon as it said so
                line = big.line(timeout=120.0)
                took = time.monotonic() - t0
                time.sleep(0.3)
                good.stop()
            worst = good.worst(t0)
            trips = good.count(t0, t0 + took)
            served = good.failed == 0 and line.startswith(f"BACK {size}")
    finally:
        pctx.destroy(linger=0)
    text = (f"worst round trip {worst * 1000:.0f} ms while {size / MiB:,.0f} MiB went through and back in "
            f"{took:.1f} s ({trips} round trips meanwhile)")
    return Figure(worst, "s", text, ok=served)




# -- EMFILE: the victim is out of file descriptors while peers keep connecting ----------------------------------


def measure_emfile(impl: str, scale: Scale) -> Figure:
    """The victim (RLIMIT_NOFILE 64) gets more connections than it has descriptors: while they wait in
    the listen backlog the listener stays readable, and a level-triggered loop spins on accept(EMFILE)
    (libzmq burns a core).  The figure is the victim's CPU use over 2 s at the limit; afterwards the
    connections are closed and a good peer must get through again."""
    raise_nofile(1024)
    socks: List[socket.socket] = []
    pctx = zmq.Context()
    try:
        with Victim(impl, "PULL", "sink", nofile=64) as v:
            for _ in range(90):
                socks.append(wire.connect(v.host_port))
            time.sleep(0.5)
            at_limit = v.fds()
            c0, t0 = v.cpu(), time.monotonic()
            time.sleep(2.0)
            busy = (v.cpu() - c0) / (time.monotonic() - t0)
            for s in socks:
                s.close()
            socks.clear()
            push = pctx.socket(zmq.PUSH)
            push.linger = 0
            push.connect(v.endpoint)
            push.send(b"after")
            t1 = time.monotonic()
            while v.count() == 0 and time.monotonic() < t1 + 5.0:
                time.sleep(0.01)
            recovered = time.monotonic() - t1 if v.count() else None
            push.close(0)
    finally:
        for s in socks:
            s.close()
        pctx.destroy(linger=0)
    after = f"a good peer got through {recovered:.2f} s later" if recovered is not None else "never recovered"
    text = f"{busy:.0%} CPU at the fd limit ({at_limit} fds); {after}"
    return Figure(busy * 100, "% CPU", text, ok=recovered is not None)




# -- row 8: a blocking-driver PUB/PUSH that only ever calls send() -------------------------------------------


def first_delivery(impl: str, kind: str, pace: float, timeout: float = 5.0) -> Optional[float]:
    """Seconds from a good peer's connect to its first message, when our side (zmtp's blocking driver, or
    libzmq) is a PUB or PUSH whose application does nothing but call send() (every ``pace`` seconds)."""
    m = _mod(impl)
    ctx = _ctx(impl, "blocking")
    pctx = zmq.Context()
    try:
        snd = ctx.socket(getattr(m, kind))
        snd.setsockopt(m.LINGER, 0)
        snd.setsockopt(m.SNDTIMEO, int(timeout * 1000))
        snd.bind("tcp://127.0.0.1:*")
        ep = snd.getsockopt(m.LAST_ENDPOINT)
        rcv = pctx.socket(zmq.SUB if kind == "PUB" else zmq.PULL)
        rcv.linger = 0
        if kind == "PUB":
            rcv.subscribe(b"")
        t0 = time.monotonic()
        rcv.connect(ep.decode() if isinstance(ep, bytes) else ep)
        while time.monotonic() < t0 + timeout:
            try:
                snd.send(b"x")
            except (zmq.Again, zmtp.Again):
                return None
            if rcv.poll(0):
                return time.monotonic() - t0
            if pace:
                time.sleep(pace)
        return None
    finally:
        ctx.destroy(linger=0)
        pctx.destroy(linger=0)


SEND_ONLY = (("PUB", 0.0), ("PUB", 0.01), ("PUSH", 0.0), ("PUSH", 0.01))


def measure_send_only(impl: str, scale: Scale) -> Figure:
    """Row 8: zmtp's blocking driver has no thread; a PUB or PUSH that only calls send() must still accept
    its peer and deliver (each send turns the loop once, at most once per ms).  The figure is the worst
    time to first delivery over a tight send loop and a loop sending every 10 ms (libzmq: its I/O
    thread)."""
    results = {f"{kind}{' /10 ms' if pace else ''}": first_delivery(impl, kind, pace) for kind, pace in SEND_ONLY}
    worst = max((t if t is not None else float("inf")) for t in results.values())
    text = ", ".join(f"{k} {v * 1000:.0f} ms" if v is not None else f"{k} never" for k, v in results.items())
    return Figure(worst * 1000, "ms", text, ok=worst != float("inf"))




# -- the good results to keep ------------------------------------------------------------------------------------

KEEP_OPTS = ["HANDSHAKE_IVL=500", f"MAXMSGSIZE={MiB}"]


def _hostile(impl: str, scale: Scale, make: Callable[[Victim], List[socket.socket]], expect_drop: bool,
             opts: List[str] = KEEP_OPTS) -> Tuple[int, int, float, int, bool]:
    """Run ``make`` (which opens hostile connections) against a ROUTER with a good DEALER doing round trips.
    Returns (connections, how many the victim dropped within 3 s, the good peer's worst round trip, the
    victim's fds after they closed minus before, whether the good peer is still served)."""
    pctx = zmq.Context()
    socks: List[socket.socket] = []
    try:
        with Victim(impl, "ROUTER", "echo", opts=opts) as v:
            good = RoundTrips(v.endpoint, pctx)
            good.warm()
            base_fds = v.fds()
            good.start()
            t0 = time.monotonic()
            socks = make(v)
            dropped = 0
            if expect_drop:
                end = time.monotonic() + 3.0
                for s in socks:
                    if wait_eof(s, max(0.0, end - time.monotonic())) is not None:
                        dropped += 1
            else:
                time.sleep(1.0)
            for s in socks:
                s.close()
            time.sleep(0.5)
            good.stop()
            worst = good.worst(t0)
            end = time.monotonic() + 3.0
            while v.fds() > base_fds and time.monotonic() < end:
                time.sleep(0.05)
            fds = v.fds() - base_fds
            check = RoundTrips(v.endpoint, pctx, timeout=5.0)
            served = good.failed == 0 and check.one() is not None
            check.sock.close(0)
    finally:
        for s in socks:
            s.close()
        pctx.destroy(linger=0)
    return len(socks), dropped, worst, fds, served


def _keep_figure(n: int, dropped: int, worst: float, fds: int, served: bool, what: str) -> Figure:
    text = f"{dropped}/{n} {what} dropped; good peer's worst round trip {worst * 1000:.0f} ms; fds {fds:+d}"
    return Figure(worst * 1000, "ms", text, ok=served and fds <= 1 and dropped == n)


def measure_junk(impl: str, scale: Scale) -> Figure:
    """Keep: connections that send junk (random bytes, HTTP, a bad signature) are dropped; the good peer
    is served throughout."""
    rng = random.Random(1)
    junk = [b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"\xff" + bytes(8) + b"\x00", rng.randbytes(300),
            b"\xff" + bytes(8) + b"\x7f\x03\x01" + b"WHAT".ljust(20, b"\x00") + bytes(32)]

    def make(v: Victim) -> List[socket.socket]:
        out = []
        for i in range(scale.hostile_conns // 2):
            s = wire.connect(v.host_port)
            s.sendall(junk[i % len(junk)] if i % 5 else rng.randbytes(rng.randrange(1, 2000)))
            out.append(s)
        return out

    return _keep_figure(*_hostile(impl, scale, make, True), "junk connections")


def measure_slowloris(impl: str, scale: Scale) -> Figure:
    """Keep: peers that dribble their greeting a byte at a time are dropped after HANDSHAKE_IVL (500 ms)."""

    def make(v: Victim) -> List[socket.socket]:
        out = [wire.connect(v.host_port) for _ in range(scale.hostile_conns // 2)]
        for i in range(12):
            for s in out:
                try:
                    s.send(wire.GREETING[i : i + 1])
                except OSError:
                    pass
            time.sleep(0.05)
        return out

    return _keep_figure(*_hostile(impl, scale, make, True), "slow greetings")


def measure_lying_ready(impl: str, scale: Scale) -> Figure:
    """Keep: READY commands whose property lengths lie (beyond the command, or a name length of 255 with
    nothing after it) are refused and the peer dropped."""
    lies = [wire.command(b"READY", wire.prop(b"Socket-Type", b"DEALER")[:-6] + struct.pack(">I", 1 << 30) + b"D"),
            wire.command(b"READY", b"\xff" + b"x" * 10),
            wire.command(b"READY", wire.prop(b"Socket-Type", b"DEALER") + b"\x05abc")]

    def make(v: Victim) -> List[socket.socket]:
        out = []
        for i in range(30):
            s = wire.connect(v.host_port)
            s.sendall(wire.GREETING + lies[i % len(lies)])
            out.append(s)
        return out

    return _keep_figure(*_hostile(impl, scale, make, True), "lying READYs")


def measure_many_hostile(impl: str, scale: Scale) -> Figure:
    """Keep: hundreds of connections stalled mid-greeting at once (dropped by HANDSHAKE_IVL), the good
    peer served, every descriptor returned."""
    raise_nofile(scale.hostile_conns + 500)

    def make(v: Victim) -> List[socket.socket]:
        out = []
        for i in range(scale.hostile_conns):
            s = wire.connect(v.host_port)
            s.sendall(wire.GREETING[: 1 + i % 40])
            out.append(s)
        return out

    return _keep_figure(*_hostile(impl, scale, make, True), "stalled connections")


def measure_resets_fds(impl: str, scale: Scale) -> Figure:
    """Keep: connect-and-reset many times (no data at all): no fd leak, no growth, the good peer served."""

    def make(v: Victim) -> List[socket.socket]:
        for _ in range(scale.resets):
            s = wire.connect(v.host_port)
            wire.reset(s)
        return []

    n, _, worst, fds, served = _hostile(impl, scale, make, False)
    text = f"{scale.resets} resets; good peer's worst round trip {worst * 1000:.0f} ms; fds {fds:+d}"
    return Figure(worst * 1000, "ms", text, ok=served and fds <= 1)


def measure_idle(impl: str, scale: Scale) -> Figure:
    """Keep: an idle socket with 10 idle peers costs no CPU."""
    pctx = zmq.Context()
    try:
        with Victim(impl, "ROUTER", "echo") as v:
            peers = []
            for _ in range(10):
                rt = RoundTrips(v.endpoint, pctx)
                rt.warm()
                peers.append(rt)
            time.sleep(0.3)
            c0, t0 = v.cpu(), time.monotonic()
            time.sleep(2.0)
            busy = (v.cpu() - c0) / (time.monotonic() - t0)
            for rt in peers:
                rt.sock.close(0)
    finally:
        pctx.destroy(linger=0)
    return Figure(busy * 100, "% CPU", f"{busy:.1%} CPU over 2 s with 10 idle peers")


def measure_heartbeat(impl: str, scale: Scale) -> Figure:
    """Keep: with HEARTBEAT_IVL 100 ms and HEARTBEAT_TIMEOUT 300 ms a peer that goes silent (a frozen
    process) is dropped as fast as libzmq drops it."""
    with Victim(impl, "ROUTER", "echo", opts=["HEARTBEAT_IVL=100", "HEARTBEAT_TIMEOUT=300"]) as v:
        times = []
        for _ in range(3):
            s = wire.handshake(v.host_port, b"DEALER")
            took = wait_eof(s, 5.0)
            s.close()
            times.append(took if took is not None else float("inf"))
    worst = max(times)
    text = "dropped after " + ", ".join(f"{t * 1000:.0f}" for t in times) + " ms"
    return Figure(worst, "s", text, ok=worst < 5.0)


def _in_order(impl_send: str, impl_recv: str, n: int) -> Tuple[bool, float]:
    """``n`` messages PUSH -> PULL between two implementations in this process: all there, in order."""
    cs, cr = _ctx(impl_send), _ctx(impl_recv)
    ms, mr = _mod(impl_send), _mod(impl_recv)
    try:
        pull = cr.socket(mr.PULL)
        pull.setsockopt(mr.LINGER, 0)
        pull.bind("tcp://127.0.0.1:*")
        ep = pull.getsockopt(mr.LAST_ENDPOINT)
        push = cs.socket(ms.PUSH)
        push.setsockopt(ms.LINGER, 0)
        push.connect(ep.decode() if isinstance(ep, bytes) else ep)
        fail: List[str] = []

        def send() -> None:
            for i in range(n):
                push.send(struct.pack(">I", i))

        t = threading.Thread(target=send, daemon=True)
        t0 = time.monotonic()
        t.start()
        pull.setsockopt(mr.RCVTIMEO, 10_000)
        ok = True
        for i in range(n):
            try:
                got = pull.recv()
            except (zmq.Again, zmtp.Again):
                fail.append("timeout")
                ok = False
                break
            if struct.unpack(">I", got)[0] != i:
                ok = False
                break
        took = time.monotonic() - t0
        t.join(10)
        return ok, n / took
    finally:
        cs.destroy(linger=0)
        cr.destroy(linger=0)


def measure_messages_in_order(impl: str, scale: Scale) -> Figure:
    """Keep: N messages arrive whole and in order in every pairing (zmtp -> libzmq, libzmq -> zmtp,
    zmtp -> zmtp; the libzmq figure is libzmq -> libzmq)."""
    pairs = [(ZMTP, LIBZMQ), (LIBZMQ, ZMTP), (ZMTP, ZMTP)] if impl == ZMTP else [(LIBZMQ, LIBZMQ)]
    results = [(a, b, *_in_order(a, b, scale.messages)) for a, b in pairs]
    bad = sum(1 for *_, ok, _ in results if not ok)
    text = f"{scale.messages:,} in order: " + ", ".join(
        f"{a}->{b} {'ok' if ok else 'FAILED'} ({rate:,.0f}/s)" for a, b, ok, rate in results)
    return Figure(bad, "failed pairings", text, ok=bad == 0)


def _round_trips(impl_req: str, impl_rep: str, n: int) -> Tuple[bool, float]:
    cq, cp = _ctx(impl_req), _ctx(impl_rep)
    mq, mp = _mod(impl_req), _mod(impl_rep)
    try:
        rep = cp.socket(mp.REP)
        rep.setsockopt(mp.LINGER, 0)
        rep.bind("tcp://127.0.0.1:*")
        ep = rep.getsockopt(mp.LAST_ENDPOINT)
        req = cq.socket(mq.REQ)
        req.setsockopt(mq.LINGER, 0)
        req.setsockopt(mq.RCVTIMEO, 10_000)
        req.connect(ep.decode() if isinstance(ep, bytes) else ep)
        rep.setsockopt(mp.RCVTIMEO, 10_000)

        def serve() -> None:
            try:
                for _ in range(n):
                    rep.send(rep.recv())
            except (zmq.ZMQError, zmtp.ZMQError):
                pass

        t = threading.Thread(target=serve, daemon=True)
        t.start()
        ok = True
        t0 = time.monotonic()
        for i in range(n):
            body = struct.pack(">I", i)
            req.send(body)
            try:
                if req.recv() != body:
                    ok = False
                    break
            except (zmq.Again, zmtp.Again):
                ok = False
                break
        took = time.monotonic() - t0
        t.join(10)
        return ok, n / took
    finally:
        cq.destroy(linger=0)
        cp.destroy(linger=0)


def measure_round_trips_in_order(impl: str, scale: Scale) -> Figure:
    """Keep: N REQ/REP round trips, each answer the echo of its request, in every pairing."""
    pairs = [(ZMTP, LIBZMQ), (LIBZMQ, ZMTP), (ZMTP, ZMTP)] if impl == ZMTP else [(LIBZMQ, LIBZMQ)]
    results = [(a, b, *_round_trips(a, b, scale.round_trips)) for a, b in pairs]
    bad = sum(1 for *_, ok, _ in results if not ok)
    text = f"{scale.round_trips:,} round trips: " + ", ".join(
        f"{a}->{b} {'ok' if ok else 'FAILED'} ({rate:,.0f}/s)" for a, b, ok, rate in results)
    return Figure(bad, "failed pairings", text, ok=bad == 0)


# -- the table -----------------------------------------------------------------------------------------------------
# limit: the bound the tests assert on zmtp's figure (what the old engine failed); robust: the slow tests also
# assert the verdict against libzmq (counts and memory; time-based figures are only reported, see README).

#: Row 14's bound: the old engine lost 287k-314k.  What zmtp itself can lose per kill is what it took
#: from the kernel and not yet handed out: at most RCVHWM (1,000) plus one 256 KiB read of 64-byte
#: messages (~4k); with ZMTP_SOAK_PROBE=1 it reports tens to hundreds.  Since both processes are stopped
#: before the kernel's queues are read, the figure is exact (zmtp 0-250 over 5 kills, libzmq 127-1,441 on
#: an idle machine).  Rows 14k and 14s keep the receiver's pipe full, so each kill can take the whole
#: worst case (~5k; 14s: 3.6k-19k over 5 kills, libzmq 38k-40k): their bound is five worst cases.
ROWS: List[Row] = [
    Row("1", "server resets at each handshake step, then a real server appears (stuck connecters)", "lower", 0, 1.0,
        measure_resets, limit=0, robust=True),
    Row("2", "connect, greeting + READY, reset, over and over (ROUTER RSS after)", "lower", 4.0, 1.5, measure_churn,
        limit=8.0, robust=True),
    Row("3", "3 x (announce 1 GiB, send part, close): RSS just after", "lower", 4.0, 1.2, measure_announce_close,
        limit=8.0, robust=True),
    Row("4", "peer floods PINGs, never reads (REP): good REQ peer's round trips kept", "higher", 10.0, 1.0,
        measure_ping_flood, limit=30.0),
    Row("5", "N connections announce 1 MiB (MAXMSGSIZE 1 MiB), send 102 B each: RSS", "lower", 4.0, 1.3,
        measure_announcers, limit=20.0, robust=True),
    Row("6", "frame header of 2^63-1, MAXMSGSIZE unset: time to drop", "lower", 0.05, 2.0, measure_huge_header,
        limit=1.0),
    Row("7", "SUBSCRIBE to topics of N distinct lengths: PUB rate kept (4 KiB messages)", "higher", 15.0, 1.0,
        measure_subscriptions, limit=40.0),
    Row("8", "blocking driver, PUB/PUSH that only calls send(): first delivery", "lower", 30.0, 1.5,
        measure_send_only, limit=500.0),
    Row("9", "N connections send a 1 MiB READY of empty properties: good peer's stall", "lower", 0.05, 1.3,
        measure_ready_flood, limit=0.8),
    Row("10", "one legal 1 GiB message, echoed: good peer's worst round trip", "lower", 0.05, 1.3,
        measure_big_message, limit=0.5),
    Row("11", "10 good messages then an oversize frame in one TCP read: delivered", "higher", 0, 1.0,
        measure_good_then_oversize, limit=10, robust=True),
    Row("12", "empty MORE frames, MAXMSGSIZE 1 MiB: peak RSS (must beat libzmq)", "strict-lower", 0, 1.0,
        measure_empty_frames, limit=8.0, robust=True),
    Row("13", "READY with Socket-Type twice; a second READY: accepted", "lower", 0, 1.0, measure_bad_ready,
        limit=0, robust=True),
    Row("14", "libzmq PUSH -> PULL, receiver SIGKILLed mid-stream: lost beyond the kernel's queues", "lower", 5000,
        1.25, measure_restarts, limit=40_000),
    Row("14k", "the same with 64 KiB socket buffers at both ends", "lower", 5000, 1.25,
        measure_restarts_small_buffers, limit=30_000),
    Row("14s", "the same, both consumers slower than the wire (2 us/message)", "lower", 5000, 1.25,
        measure_restarts_slow_consumer, limit=30_000),
    Row("emfile", "out of fds, peers still connecting: CPU while at the limit", "lower", 5.0, 1.0, measure_emfile,
        limit=30.0),
]

KEEP: List[Row] = [
    Row("junk", "keep: junk connections dropped (good peer's worst round trip)", "lower", 50.0, 2.0, measure_junk,
        limit=500.0),
    Row("slowloris", "keep: dribbled greetings dropped at HANDSHAKE_IVL", "lower", 50.0, 2.0, measure_slowloris,
        limit=500.0),
    Row("lying", "keep: lying READY lengths refused", "lower", 50.0, 2.0, measure_lying_ready, limit=500.0),
    Row("hostile", "keep: hundreds of stalled connections at once", "lower", 50.0, 2.0, measure_many_hostile,
        limit=500.0),
    Row("resets", "keep: connect + reset, many times (no fd leak)", "lower", 50.0, 2.0, measure_resets_fds,
        limit=500.0),
    Row("idle", "keep: idle CPU with 10 idle peers", "lower", 1.0, 1.0, measure_idle, limit=5.0),
    Row("heartbeat", "keep: heartbeats drop a silent peer (IVL 100 ms, TIMEOUT 300 ms)", "lower", 0.1, 1.2,
        measure_heartbeat, limit=2.0),
    Row("messages", "keep: messages whole and in order, every pairing", "lower", 0, 1.0, measure_messages_in_order,
        limit=0, robust=True),
    Row("roundtrips", "keep: REQ/REP round trips in order, every pairing", "lower", 0, 1.0,
        measure_round_trips_in_order, limit=0, robust=True),
]

ALL: List[Row] = ROWS + KEEP
BY_KEY: Dict[str, Row] = {row.key: row for row in ALL}
