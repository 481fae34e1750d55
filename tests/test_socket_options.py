"""Socket options with connection-level behaviour, each checked against libzmq 4.3.5 doing the same.

pyzmq's libzmq is the oracle for the stable options (CONNECT_ROUTING_ID, CONNECT_TIMEOUT,
RECONNECT_STOP, TCP_MAXRT); it is built without the draft API, so for ROUTER_NOTIFY, HELLO_MSG,
DISCONNECT_MSG and HICCUP_MSG the oracle is libzmq 4.3.5 with the draft API through zeromq.js
(``tests/draft_options_peer.js``), skipped with the reason only when node or zeromq.js is absent (the
CI installs both).  The peers are pyzmq sockets in every case.
"""

from __future__ import annotations

import base64
import errno
import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
import zmq
import zmq.utils.monitor as pyzmq_monitor

import zmtp

LOCAL = "tcp://127.0.0.1:*"
WAIT = 3.0
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def pctx() -> Iterator[zmq.Context]:
    ctx = zmq.Context()
    yield ctx
    ctx.destroy(linger=0)


@pytest.fixture
def zctx() -> Iterator[zmtp.Context]:
    ctx = zmtp.Context()
    yield ctx
    ctx.destroy(linger=0)


def events_of(
    mon: Any, until: str, count: int = 1, timeout: float = WAIT, settle: float = 0.0
) -> List[Tuple[str, int]]:
    """(name, value) of monitor events until ``count`` events named ``until`` arrived, then ``settle`` s."""
    got: List[Tuple[str, int]] = []
    deadline = time.monotonic() + timeout
    settle_end: Optional[float] = None
    while True:
        now = time.monotonic()
        if settle_end is None and sum(1 for e in got if e[0] == until) >= count:
            settle_end = now + settle
        if settle_end is not None and now >= settle_end:
            return got
        if now > deadline:
            raise AssertionError(f"no {until} x{count}: {got}")
        if mon.poll(20):
            ev = pyzmq_monitor.parse_monitor_message(mon.recv_multipart())
            got.append((zmq.Event(ev["event"]).name or "?", int(ev["value"])))


def free_endpoint() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"tcp://127.0.0.1:{port}"


# -- CONNECT_ROUTING_ID ----------------------------------------------------------------------------------


@pytest.mark.parametrize("lib", ["libzmq", "zmtp"])
def test_connect_routing_id(lib: str, pctx: zmq.Context, zctx: zmtp.Context) -> None:
    """The id a ROUTER (or STREAM) gives the peer of its next connect(): the peer's own identity is
    ignored; only ROUTER and STREAM have the option; it is write-only and must not be empty."""
    mod: Any = zmq if lib == "libzmq" else zmtp
    ctx: Any = pctx if lib == "libzmq" else zctx
    peer = pctx.socket(zmq.ROUTER)
    peer.linger = 0
    peer.routing_id = b"their-own-name"
    peer.bind(LOCAL)
    ep = peer.getsockopt(zmq.LAST_ENDPOINT).decode()
    r = ctx.socket(mod.ROUTER)
    r.linger = 0
    r.routing_id = b"R"
    r.setsockopt(mod.CONNECT_ROUTING_ID, b"peer-A")
    r.connect(ep)
    deadline = time.monotonic() + WAIT
    while True:  # libzmq routes at once; zmtp once the handshake is done
        r.send_multipart([b"peer-A", b"hello"])
        if peer.poll(50):
            break
        assert time.monotonic() < deadline
    assert peer.recv_multipart() == [b"R", b"hello"]
    peer.send_multipart([b"R", b"back"])
    assert r.poll(int(WAIT * 1000))
    assert r.recv_multipart() == [b"peer-A", b"back"]
    for value, code in ((b"", errno.EINVAL), (b"x" * 256, None)):
        if code is None:
            r.setsockopt(mod.CONNECT_ROUTING_ID, value)
        else:
            with pytest.raises(mod.ZMQError) as info:
                r.setsockopt(mod.CONNECT_ROUTING_ID, value)
            assert info.value.errno == code
    with pytest.raises(mod.ZMQError) as info:
        r.getsockopt(mod.CONNECT_ROUTING_ID)
    assert info.value.errno == errno.EINVAL
    d = ctx.socket(mod.DEALER)
    with pytest.raises(mod.ZMQError) as info:
        d.setsockopt(mod.CONNECT_ROUTING_ID, b"x")
    assert info.value.errno == errno.EINVAL
    for s in (d, r, peer):
        s.close(0)


# -- CONNECT_TIMEOUT and RECONNECT_STOP ---------------------------------------------------------------


def run_both(scenario: Any, pctx: zmq.Context, zctx: zmtp.Context) -> Tuple[Any, Any]:
    return scenario(zmq, pctx), scenario(zmtp, zctx)


def test_connect_timeout(pctx: zmq.Context, zctx: zmtp.Context) -> None:
    """A tcp connect the peer's kernel never answers (its accept queue is full) is abandoned after
    CONNECT_TIMEOUT: CLOSED, then CONNECT_RETRIED, as libzmq's connect timer does."""
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(0)
    port = lsock.getsockname()[1]
    filler = []
    for _ in range(3):
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", port))
        filler.append(c)
    time.sleep(0.05)

    def scenario(mod: Any, ctx: Any) -> Tuple[List[Tuple[str, int]], float]:
        s = ctx.socket(mod.DEALER)
        s.linger = 0
        s.connect_timeout = 100
        s.reconnect_ivl = 50
        s.reconnect_ivl_max = 50
        mon = s.get_monitor_socket()
        t0 = time.monotonic()
        s.connect(f"tcp://127.0.0.1:{port}")
        events = events_of(mon, "CLOSED")
        took = time.monotonic() - t0
        events += events_of(mon, "CONNECT_RETRIED")
        s.close(0)
        mon.close(0)
        return [(n, v if n != "CLOSED" else -1) for n, v in events], took

    try:
        (lib_events, lib_took), (our_events, our_took) = run_both(scenario, pctx, zctx)
    finally:
        for c in filler:
            c.close()
        lsock.close()
    expected = [("CONNECT_DELAYED", errno.EINPROGRESS), ("CLOSED", -1), ("CONNECT_RETRIED", 50)]
    assert lib_events == expected
    assert our_events == expected
    assert 0.08 < lib_took < 1.0 and 0.08 < our_took < 1.0, (lib_took, our_took)


def test_reconnect_stop_conn_refused(pctx: zmq.Context, zctx: zmtp.Context) -> None:
    """RECONNECT_STOP_CONN_REFUSED: a refused connect is the last attempt, and the endpoint is gone
    (disconnect is ENOENT), as libzmq's session terminates the endpoint."""
    ep = free_endpoint()

    def scenario(mod: Any, ctx: Any) -> Tuple[List[Tuple[str, int]], Optional[int]]:
        s = ctx.socket(mod.DEALER)
        s.linger = 0
        s.reconnect_ivl = 20
        s.reconnect_stop = mod.RECONNECT_STOP_CONN_REFUSED
        mon = s.get_monitor_socket()
        s.connect(ep)
        events = events_of(mon, "CLOSED", settle=0.2)
        code = None
        try:
            s.disconnect(ep)
        except mod.ZMQError as exc:
            code = exc.errno
        s.close(0)
        mon.close(0)
        return [(n, v if n != "CLOSED" else -1) for n, v in events], code

    ours, libzmq = run_both(scenario, pctx, zctx)[::-1]
    assert libzmq == ([("CONNECT_DELAYED", errno.EINPROGRESS), ("CLOSED", -1)], errno.ENOENT)
    assert ours == libzmq


def test_reconnect_stop_handshake_failed(pctx: zmq.Context, zctx: zmtp.Context) -> None:
    """RECONNECT_STOP_HANDSHAKE_FAILED: a peer that never completes the handshake (a plain TCP server
    that says nothing) is not tried again; the endpoint stays (disconnect works)."""
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(8)
    ep = f"tcp://127.0.0.1:{lsock.getsockname()[1]}"

    def scenario(mod: Any, ctx: Any) -> Tuple[List[Tuple[str, int]], Optional[int]]:
        s = ctx.socket(mod.DEALER)
        s.linger = 0
        s.reconnect_ivl = 20
        s.handshake_ivl = 100
        s.reconnect_stop = mod.RECONNECT_STOP_HANDSHAKE_FAILED
        mon = s.get_monitor_socket()
        s.connect(ep)
        events = events_of(mon, "DISCONNECTED", settle=0.3)
        code = None
        try:
            s.disconnect(ep)
        except mod.ZMQError as exc:
            code = exc.errno
        s.close(0)
        mon.close(0)
        return [(n, v if n not in ("CONNECTED", "DISCONNECTED") else -1) for n, v in events], code

    try:
        libzmq, ours = run_both(scenario, pctx, zctx)
    finally:
        lsock.close()
    assert libzmq == ([("CONNECT_DELAYED", errno.EINPROGRESS), ("CONNECTED", -1),
                       ("HANDSHAKE_FAILED_NO_DETAIL", errno.EAGAIN), ("DISCONNECTED", -1)], None)
    assert ours == libzmq


def test_reconnect_stop_after_disconnect(pctx: zmq.Context, zctx: zmtp.Context) -> None:
    """RECONNECT_STOP_AFTER_DISCONNECT: after disconnect() no more attempts on that endpoint, and other
    endpoints go on reconnecting.  zmtp's disconnect() stops its connecter at once whatever the option;
    libzmq 4.3.5's reaches it through commands the socket handles only inside its own API calls (until
    then the connecter goes on retrying) and, with the option, gives up early only on a refused ipc
    connect (ipc_connecter_t)."""
    dead, other = free_endpoint(), free_endpoint()

    def scenario(mod: Any, ctx: Any) -> Tuple[int, int]:
        s = ctx.socket(mod.DEALER)
        s.linger = 0
        s.reconnect_ivl = 20
        s.reconnect_stop = mod.RECONNECT_STOP_AFTER_DISCONNECT
        s.connect(dead)
        s.connect(other)
        mon = s.get_monitor_socket(mod.EVENT_CONNECT_RETRIED)
        events_of(mon, "CONNECT_RETRIED", count=4)
        s.disconnect(dead)
        for _ in range(5):  # libzmq's socket handles the commands that end the connecter in its own
            s.getsockopt(mod.EVENTS)  # API calls: give it some, and time for an attempt under way
            time.sleep(0.01)
        while mon.poll(0):
            mon.recv_multipart()
        counts = {dead: 0, other: 0}
        deadline = time.monotonic() + 0.3
        while time.monotonic() < deadline:
            s.getsockopt(mod.EVENTS)
            if mon.poll(20):
                ep = mon.recv_multipart()[1].decode()
                counts[ep] += 1
        s.close(0)
        mon.close(0)
        return counts[dead], counts[other]

    libzmq, ours = run_both(scenario, pctx, zctx)
    assert libzmq[0] == 0 and libzmq[1] >= 3, libzmq
    assert ours[0] == 0 and ours[1] >= 3, ours


# -- TCP_MAXRT -----------------------------------------------------------------------------------------


def user_timeouts(port: int) -> Dict[str, int]:
    """TCP_USER_TIMEOUT of this process's established tcp sockets on ``port``, by role ("connect" /
    "accept").  The sockets are found through /proc (inode -> fd) and read with getsockopt(2) on their
    own fd: wrapping another library's fd in a Python socket object may change its blocking mode."""
    import ctypes

    roles: Dict[str, str] = {}
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].split(":")[1], 16)
            remote_port = int(fields[2].split(":")[1], 16)
            if fields[3] != "01":  # ESTABLISHED
                continue
            if remote_port == port:
                roles[fields[9]] = "connect"
            elif local_port == port:
                roles[fields[9]] = "accept"
    libc = ctypes.CDLL(None, use_errno=True)
    out: Dict[str, int] = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue
        if not target.startswith("socket:["):
            continue
        role = roles.get(target[len("socket:["):-1])
        if role is None:
            continue
        value = ctypes.c_int(0)
        size = ctypes.c_uint32(ctypes.sizeof(value))
        rc = libc.getsockopt(int(name), socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, ctypes.byref(value),
                             ctypes.byref(size))
        assert rc == 0, ctypes.get_errno()
        out[role] = value.value
    return out


@pytest.mark.skipif(not hasattr(socket, "TCP_USER_TIMEOUT"), reason="no TCP_USER_TIMEOUT on this platform")
@pytest.mark.parametrize("lib", ["libzmq", "zmtp"])
def test_tcp_maxrt(lib: str, pctx: zmq.Context, zctx: zmtp.Context) -> None:
    """TCP_MAXRT becomes the kernel's TCP_USER_TIMEOUT on both the connecting and the accepted socket
    (libzmq: tune_tcp_maxrt); read back from the sockets themselves."""
    mod: Any = zmq if lib == "libzmq" else zmtp
    ctx: Any = pctx if lib == "libzmq" else zctx
    a = ctx.socket(mod.PAIR)
    b = ctx.socket(mod.PAIR)
    for s in (a, b):
        s.linger = 0
        s.tcp_maxrt = 1234
    a.bind(LOCAL)
    ep = a.getsockopt(mod.LAST_ENDPOINT).decode()
    b.connect(ep)
    b.send(b"x")
    assert a.poll(int(WAIT * 1000))
    assert a.recv() == b"x"
    assert a.tcp_maxrt == 1234
    assert user_timeouts(int(ep.rsplit(":", 1)[1])) == {"connect": 1234, "accept": 1234}
    a.close(0)
    b.close(0)


# -- draft options against libzmq 4.3.5 with the draft API (zeromq.js) ---------------------------------


def node_peer_command() -> List[str]:
    node = shutil.which("node")
    modules = ROOT / "interop" / "peers" / "zeromqjs" / "node_modules"
    if node is None:
        pytest.skip("node is not installed (the CI installs it; libzmq's draft options need zeromq.js)")
    if not (modules / "zeromq").is_dir():
        pytest.skip("zeromq.js is not installed: run npm install in interop/peers/zeromqjs (the CI does)")
    return [node, str(ROOT / "tests" / "draft_options_peer.js")]


class JsSocket:
    """A libzmq (draft API) socket in a node process, with the few calls the scenarios need."""

    def __init__(self, kind: str, options: Dict[int, Any], bind: str = "", connect: str = "",
                 reconnect_ivl: int = 0) -> None:
        conf: Dict[str, Any] = {"type": kind, "options": {
            str(int(k)): base64.b64encode(v).decode() if isinstance(v, bytes) else int(v)
            for k, v in options.items()}}
        conf["bind" if bind else "connect"] = bind or connect
        if reconnect_ivl:
            conf["reconnectInterval"] = reconnect_ivl
        env = dict(os.environ, NODE_PATH=str(ROOT / "interop" / "peers" / "zeromqjs" / "node_modules"),
                   NODE_NO_WARNINGS="1")
        self.proc = subprocess.Popen(node_peer_command() + [json.dumps(conf)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.endpoint = self._read()["endpoint"]

    def _read(self) -> Dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError(f"zeromq.js peer died: {self.proc.stderr.read() if self.proc.stderr else ''}")
        return json.loads(line)  # type: ignore[no-any-return]

    def _ask(self, req: Dict[str, Any]) -> Dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def recv_all(self, seconds: float) -> List[List[bytes]]:
        out = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            ans = self._ask({"op": "recv", "timeout": 50})
            if "frames" in ans:
                out.append([base64.b64decode(f) for f in ans["frames"]])
        return out

    def send(self, frames: List[bytes]) -> None:
        self._ask({"op": "send", "frames": [base64.b64encode(f).decode() for f in frames]})

    def close(self) -> None:
        try:
            self._ask({"op": "close"})
        except Exception:
            pass
        self.proc.wait(5)


class ZSocket:
    """The same calls on a zmtp socket."""

    def __init__(self, ctx: zmtp.Context, kind: str, options: Dict[int, Any], bind: str = "", connect: str = "",
                 reconnect_ivl: int = 0) -> None:
        names = {"Router": zmtp.ROUTER, "Dealer": zmtp.DEALER, "Push": zmtp.PUSH, "Pair": zmtp.PAIR}
        self.sock = ctx.socket(names[kind])
        self.sock.linger = 0
        if reconnect_ivl:
            self.sock.reconnect_ivl = reconnect_ivl
        for opt, value in options.items():
            self.sock.setsockopt(opt, value)
        if bind:
            self.sock.bind(bind)
            self.endpoint = self.sock.last_endpoint.decode()
        else:
            self.sock.connect(connect)
            self.endpoint = connect

    def recv_all(self, seconds: float) -> List[List[bytes]]:
        out = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.sock.poll(50):
                out.append(self.sock.recv_multipart())
        return out

    def send(self, frames: List[bytes]) -> None:
        self.sock.send_multipart(frames)

    def close(self) -> None:
        self.sock.close(0)


def both(zctx: zmtp.Context) -> List[Any]:
    node_peer_command()
    return [lambda *a, **k: JsSocket(*a, **k), lambda *a, **k: ZSocket(zctx, *a, **k)]


def pconnect(pctx: zmq.Context, kind: int, ep: str, routing_id: bytes = b"") -> zmq.Socket:
    s = pctx.socket(kind)
    s.linger = 0
    if routing_id:
        s.routing_id = routing_id
    s.connect(ep)
    return s


def test_router_notify(pctx: zmq.Context, zctx: zmtp.Context) -> None:
    """ROUTER_NOTIFY: [routing id, ""] when a peer's handshake completes (NOTIFY_CONNECT) and when its
    connection fails (NOTIFY_DISCONNECT), on the bound and the connecting side."""
    results = []
    for make in both(zctx):
        got = {}
        for notify in (zmtp.NOTIFY_CONNECT, zmtp.NOTIFY_DISCONNECT, 3):
            r = make("Router", {zmtp.ROUTER_NOTIFY: int(notify)}, bind=LOCAL)
            d = pconnect(pctx, zmq.DEALER, r.endpoint, b"dd")
            time.sleep(0.1)
            d.send(b"hi")
            time.sleep(0.1)
            d.close(0)
            got[int(notify)] = r.recv_all(0.3)
            r.close()
        peer = pctx.socket(zmq.DEALER)
        peer.linger = 0
        peer.routing_id = b"pp"
        peer.bind(LOCAL)
        r = make("Router", {zmtp.ROUTER_NOTIFY: 3}, connect=peer.getsockopt(zmq.LAST_ENDPOINT).decode())
        time.sleep(0.15)
        peer.close(0)
        got[0] = r.recv_all(0.3)
        r.close()
        results.append(got)
    libzmq, ours = results
    assert libzmq == {1: [[b"dd", b""], [b"dd", b"hi"]], 2: [[b"dd", b"hi"], [b"dd", b""]],
                      3: [[b"dd", b""], [b"dd", b"hi"], [b"dd", b""]], 0: [[b"pp", b""], [b"pp", b""]]}
    assert ours == libzmq
    with pytest.raises(zmtp.ZMQError):
        zctx.socket(zmtp.DEALER).router_notify = 1  # ROUTER (and REP) only, as libzmq


def test_hello_msg(pctx: zmq.Context, zctx: zmtp.Context) -> None:
    """HELLO_MSG: a ROUTER or DEALER sends it to each new peer, first, before what it queued, again
    after a reconnect; a PUSH accepts the option and sends nothing."""
    results = []
    for make in both(zctx):
        got: Dict[str, Any] = {}
        r = make("Router", {zmtp.HELLO_MSG: b"hello"}, bind=LOCAL)
        d = pconnect(pctx, zmq.DEALER, r.endpoint)
        assert d.poll(int(WAIT * 1000))
        got["router->dealer"] = d.recv_multipart()
        d.close(0)
        r.close()
        peer = pctx.socket(zmq.ROUTER)
        peer.linger = 0
        peer.bind(LOCAL)
        ep = peer.getsockopt(zmq.LAST_ENDPOINT).decode()
        d2 = make("Dealer", {zmtp.HELLO_MSG: b"hello", zmtp.ROUTING_ID: b"dd"}, connect=ep, reconnect_ivl=20)
        d2.send([b"queued"])
        got["dealer first"] = [peer.recv_multipart() for _ in range(2) if peer.poll(int(WAIT * 1000))]
        peer.close(0)
        time.sleep(0.1)
        peer = pctx.socket(zmq.ROUTER)
        peer.linger = 0
        peer.bind(ep)
        d2.send([b"after"])
        got["dealer again"] = [peer.recv_multipart() for _ in range(2) if peer.poll(int(WAIT * 1000))]
        d2.close()
        peer.close(0)
        pull = pctx.socket(zmq.PULL)
        pull.linger = 0
        pull.bind(LOCAL)
        p = make("Push", {zmtp.HELLO_MSG: b"hello"}, connect=pull.getsockopt(zmq.LAST_ENDPOINT).decode())
        got["push"] = [pull.recv_multipart()] if pull.poll(300) else []
        p.close()
        pull.close(0)
        results.append(got)
    libzmq, ours = results
    assert libzmq == {"router->dealer": [b"hello"], "dealer first": [[b"dd", b"hello"], [b"dd", b"queued"]],
                      "dealer again": [[b"dd", b"hello"], [b"dd", b"after"]], "push": []}
    assert ours == libzmq


def test_disconnect_and_hiccup_msg(pctx: zmq.Context, zctx: zmtp.Context) -> None:
    """DISCONNECT_MSG: a ROUTER gets [id, msg] when a peer that connected to it leaves (not for a peer
    it connected to); HICCUP_MSG: a DEALER gets it when its connect()ed connection fails."""
    results = []
    for make in both(zctx):
        got: Dict[str, Any] = {}
        r = make("Router", {zmtp.DISCONNECT_MSG: b"bye"}, bind=LOCAL)
        d = pconnect(pctx, zmq.DEALER, r.endpoint, b"dd")
        time.sleep(0.1)
        d.send(b"hi")
        time.sleep(0.1)
        d.close(0)
        got["bound"] = r.recv_all(0.3)
        r.close()
        peer = pctx.socket(zmq.DEALER)
        peer.linger = 0
        peer.routing_id = b"pp"
        peer.bind(LOCAL)
        ep = peer.getsockopt(zmq.LAST_ENDPOINT).decode()
        r = make("Router", {zmtp.DISCONNECT_MSG: b"bye"}, connect=ep)
        time.sleep(0.1)
        peer.close(0)
        got["connected"] = r.recv_all(0.3)
        r.close()
        peer = pctx.socket(zmq.ROUTER)
        peer.linger = 0
        peer.bind(LOCAL)
        d2 = make("Dealer", {zmtp.HICCUP_MSG: b"hic"}, connect=peer.getsockopt(zmq.LAST_ENDPOINT).decode(),
                  reconnect_ivl=50)
        got["first connect"] = d2.recv_all(0.2)
        peer.close(0)
        got["hiccup"] = d2.recv_all(0.3)
        d2.close()
        results.append(got)
    libzmq, ours = results
    assert libzmq == {"bound": [[b"dd", b"hi"], [b"dd", b"bye"]], "connected": [], "first connect": [],
                      "hiccup": [[b"hic"]]}
    assert ours == libzmq


def test_draft_messages_over_inproc(zctx: zmtp.Context) -> None:
    """HELLO_MSG and DISCONNECT_MSG are libzmq pipe features, so inproc has them; ROUTER_NOTIFY is the
    engine's and inproc has none (zeromq.js: [["dd","hello"],["dd","bye"]])."""
    r = zctx.socket(zmtp.ROUTER)
    r.linger = 0
    r.disconnect_msg = b"bye"
    r.router_notify = 3
    r.bind("inproc://draft-messages")
    d = zctx.socket(zmtp.DEALER)
    d.linger = 0
    d.routing_id = b"dd"
    d.hello_msg = b"hello"
    d.connect("inproc://draft-messages")
    time.sleep(0.05)
    d.close()
    got = []
    while r.poll(200):
        got.append(r.recv_multipart())
    assert got == [[b"dd", b"hello"], [b"dd", b"bye"]]
    r.close()

