"""The pyzmq API surface: what ``import zmtp as zmq`` code calls, and how it fails.

Where pyzmq defines the behaviour (an errno, an exception type), the test compares with pyzmq itself.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import threading
import time
from typing import Any, Callable, List

import pytest
import zmq
from socket_helpers import (  # noqa: F401
    WAIT,
    Harness,
    driver_fixture,
    expect_errno,
    harness_fixture,
    has_ipv6_loopback,
    ipc_dir_fixture,
)

import zmtp

# -- module surface --------------------------------------------------------------------------------

ERRNOS = ["EAGAIN", "EINVAL", "EFSM", "ETERM", "ENOTSOCK", "EHOSTUNREACH", "EADDRINUSE",
          "EPROTONOSUPPORT", "ENOTSUP", "ECONNREFUSED", "EMTHREAD", "ENOCOMPATPROTO",
          "EMSGSIZE", "EAFNOSUPPORT", "ENETDOWN", "EADDRNOTAVAIL", "ENOBUFS",
          "EFAULT", "ECONNRESET", "ETIMEDOUT", "ENOTCONN", "ECONNABORTED", "ENETUNREACH",
          "EINPROGRESS"]


@pytest.mark.parametrize("name", ERRNOS)
def test_errno_values_equal_pyzmq(name: str) -> None:
    assert getattr(zmtp, name) == getattr(zmq, name)


CONSTANTS = ["PAIR", "PUB", "SUB", "REQ", "REP", "DEALER", "ROUTER", "PULL", "PUSH", "XPUB", "XSUB",
             "DONTWAIT", "NOBLOCK", "SNDMORE", "POLLIN", "POLLOUT", "POLLERR", "LINGER", "RCVTIMEO",
             "SNDTIMEO", "SNDHWM", "RCVHWM", "ROUTING_ID", "IDENTITY", "SUBSCRIBE", "UNSUBSCRIBE",
             "RCVMORE", "EVENTS", "TYPE", "LAST_ENDPOINT", "ROUTER_MANDATORY", "IMMEDIATE",
             "RECONNECT_IVL", "RECONNECT_IVL_MAX", "MAXMSGSIZE", "HEARTBEAT_IVL", "XPUB_VERBOSE",
             "CONFLATE", "IPV6", "TCP_KEEPALIVE", "HWM", "REQ_RELAXED", "REQ_CORRELATE", "PROBE_ROUTER"]


@pytest.mark.parametrize("name", CONSTANTS)
def test_constants_equal_pyzmq(name: str) -> None:
    assert int(getattr(zmtp, name)) == int(getattr(zmq, name))


def test_error_classes_as_pyzmq() -> None:
    assert issubclass(zmtp.Again, zmtp.ZMQError)
    assert issubclass(zmtp.ContextTerminated, zmtp.ZMQError)
    assert issubclass(zmtp.ZMQError, zmtp.ZMQBaseError)
    assert isinstance(zmtp.ZMQError(zmtp.EAGAIN), zmtp.Again)
    assert isinstance(zmtp.ZMQError(zmtp.ETERM), zmtp.ContextTerminated)
    err = zmtp.ZMQError(zmtp.EFSM)
    assert err.errno == zmq.EFSM
    assert str(err) == zmq.strerror(zmq.EFSM) == zmtp.strerror(zmtp.EFSM)
    assert zmtp.Again().errno == zmq.EAGAIN
    assert zmtp.zmq_version_info() >= (4, 0, 0)
    assert isinstance(zmtp.zmq_version(), str)
    assert zmtp.has("ipc")


# -- send / recv -----------------------------------------------------------------------------------


@pytest.fixture
def pair(h: Harness) -> Any:
    """(zmtp PAIR, pyzmq PAIR), connected over tcp."""
    z = h.zsock(zmq.PAIR)
    p = h.psock(zmq.PAIR)
    h.link(p, z)
    # once connected, even the blocking driver writes inside send(): plain pyzmq recv() works
    z.send(b"warm-up")
    assert h.recv(p) == [b"warm-up"]
    return z, p


def test_dontwait_raises_again(h: Harness, pair: Any) -> None:
    z, _ = pair
    with pytest.raises(zmtp.Again) as info:
        z.recv(zmtp.DONTWAIT)
    assert info.value.errno == zmq.EAGAIN
    with pytest.raises(zmtp.Again):
        z.recv_multipart(zmtp.NOBLOCK)
    with pytest.raises(zmtp.ZMQError):
        z.recv_string(zmtp.DONTWAIT)


def test_sndmore_and_rcvmore(h: Harness, pair: Any) -> None:
    z, p = pair
    z.send(b"a", zmtp.SNDMORE)
    z.send_string("b", zmtp.SNDMORE)
    z.send(b"c")
    assert h.recv(p) == [b"a", b"b", b"c"]
    h.send(p, [b"x", b"", b"z"])
    assert z.recv() == b"x"
    assert z.getsockopt(zmtp.RCVMORE) == 1
    assert z.rcvmore == 1
    assert z.recv() == b""
    assert z.get(zmtp.RCVMORE)
    assert z.recv() == b"z"
    assert z.getsockopt(zmtp.RCVMORE) == 0
    # send_multipart after SNDMORE frames continues the same message
    z.send(b"head", zmtp.SNDMORE)
    z.send_multipart([b"m1", b"m2"])
    assert h.recv(p) == [b"head", b"m1", b"m2"]
    # recv_multipart after a partial recv returns the rest
    h.send(p, [b"1", b"2", b"3"])
    assert z.recv() == b"1"
    assert z.recv_multipart() == [b"2", b"3"]
    assert z.rcvmore == 0


def test_string_json_pyobj_interop(h: Harness, pair: Any) -> None:
    z, p = pair
    z.send_string("héllo ☃")
    assert p.recv_string() == "héllo ☃"
    p.send_string("wörld", encoding="latin-1")
    assert z.recv_string(encoding="latin-1") == "wörld"
    z.send_string("utf16", encoding="utf-16")
    assert h.recv(p) == ["utf16".encode("utf-16")]
    obj = {"a": [1, 2.5, None, True], "b": "ü"}
    z.send_json(obj)
    assert p.recv_json() == obj
    p.send_json(obj)
    assert z.recv_json() == obj
    z.send_pyobj({"set": {1, 2}, "t": (1, "x")})
    assert p.recv_pyobj() == {"set": {1, 2}, "t": (1, "x")}
    p.send_pyobj([b"bytes", 3j])
    assert z.recv_pyobj() == [b"bytes", 3j]
    z.send_json([1, 2], sort_keys=True)
    assert json.loads(h.recv(p)[0]) == [1, 2]
    with pytest.raises(TypeError):
        z.send_string(b"not str")  # type: ignore[arg-type]


def test_send_accepts_bytes_like(h: Harness, pair: Any) -> None:
    z, p = pair
    z.send(bytearray(b"ba"))
    z.send(memoryview(b"xmv123")[1:4])
    z.send(zmtp.Frame(b"frame"))
    z.send_multipart([b"a", bytearray(b"b"), memoryview(b"c")])
    assert [h.recv(p) for _ in range(4)] == [[b"ba"], [b"mv1"], [b"frame"], [b"a", b"b", b"c"]]
    with pytest.raises(TypeError):
        z.send("str")
    with pytest.raises(TypeError):
        z.send(5)
    with pytest.raises(TypeError):
        z.send_multipart([b"a", 5])


def test_copy_false_returns_frames(h: Harness, pair: Any) -> None:
    z, p = pair
    h.send(p, [b"one", b"two"])
    f = z.recv(copy=False)
    assert isinstance(f, zmtp.Frame)
    assert f.bytes == b"one" and bytes(f) == b"one" and f.more
    assert bytes(f.buffer) == b"one" and len(f) == 3
    f2 = z.recv(copy=False)
    assert f2.bytes == b"two" and not f2.more
    h.send(p, [b"x", b"y"])
    frames = z.recv_multipart(copy=False)
    assert all(isinstance(fr, zmtp.Frame) for fr in frames)
    assert [fr.bytes for fr in frames] == [b"x", b"y"]
    assert frames[0] == b"x"
    # a received frame can be sent on
    z.send_multipart(frames)
    assert h.recv(p) == [b"x", b"y"]


def test_recv_into(h: Harness, pair: Any) -> None:
    z, p = pair
    h.send(p, [b"0123456789"])
    buf = bytearray(4)
    assert z.recv_into(buf) == 10
    assert buf == b"0123"


def test_rcvtimeo_attribute(h: Harness) -> None:
    s = h.zsock(zmq.PULL)
    s.bind("tcp://127.0.0.1:*")
    s.rcvtimeo = 100
    assert s.getsockopt(zmtp.RCVTIMEO) == 100
    t0 = time.monotonic()
    with pytest.raises(zmtp.Again):
        s.recv()
    elapsed = time.monotonic() - t0
    assert 0.08 <= elapsed < 1.0, elapsed


def test_sndtimeo(h: Harness) -> None:
    s = h.zsock(zmq.DEALER)  # no peer: DEALER blocks
    s.sndtimeo = 100
    t0 = time.monotonic()
    with pytest.raises(zmtp.Again):
        s.send(b"x")
    assert 0.08 <= time.monotonic() - t0 < 1.0
    with pytest.raises(zmtp.Again):
        s.send(b"x", zmtp.DONTWAIT)


# -- options ---------------------------------------------------------------------------------------


def test_options_as_methods_and_attributes(h: Harness) -> None:
    s = h.zsock(zmq.DEALER)
    s.linger = 0
    assert s.getsockopt(zmtp.LINGER) == 0 and s.linger == 0
    s.setsockopt(zmtp.LINGER, 250)
    assert s.linger == 250
    s.set(zmtp.SNDHWM, 7)
    assert s.get(zmtp.SNDHWM) == 7 and s.sndhwm == 7
    s.hwm = 11
    assert s.sndhwm == 11 and s.rcvhwm == 11 and s.hwm == 11
    s.identity = b"me"
    assert s.routing_id == b"me" and s.getsockopt(zmtp.IDENTITY) == b"me"
    s.setsockopt_string(zmtp.ROUTING_ID, "é")
    assert s.getsockopt_string(zmtp.ROUTING_ID) == "é"
    assert s.type == zmtp.DEALER and s.socket_type == zmtp.DEALER
    assert s.getsockopt(zmtp.TYPE) == zmq.DEALER
    assert s.getsockopt(zmtp.EVENTS) == 0
    assert s.immediate == 0
    s.immediate = True
    assert s.immediate == 1
    assert s.getsockopt(zmtp.RCVMORE) == 0
    assert s.getsockopt(zmtp.LAST_ENDPOINT) == b""
    fresh = h.zctx.socket(zmq.DEALER)
    h.socks.append(fresh)
    for opt, default in ((zmtp.SNDTIMEO, -1), (zmtp.RCVTIMEO, -1), (zmtp.LINGER, -1), (zmtp.RECONNECT_IVL, 100),
                         (zmtp.MAXMSGSIZE, -1), (zmtp.RCVHWM, 1000), (zmtp.SNDHWM, 1000)):
        assert fresh.getsockopt(opt) == default
    # as pyzmq: keyword arguments of socket() go to the socket class, which takes no options
    with pytest.raises(TypeError):
        h.zctx.socket(zmq.PUSH, linger=0)
    ctx_kw = h.zctx.socket(zmq.PUSH, copy_threshold=100)
    h.socks.append(ctx_kw)
    assert ctx_kw.copy_threshold == 100


def test_context_socket_defaults(h: Harness) -> None:
    h.zctx.linger = 0
    h.zctx.setsockopt(zmtp.SNDHWM, 17)
    s = h.zsock(zmq.PUSH)
    assert s.sndhwm == 17
    assert h.zctx.linger == 0


OPTION_CASES: List[Any] = [
    ("unknown set", lambda s, m: s.setsockopt(9999, 1)),
    ("unknown get", lambda s, m: s.getsockopt(9999)),
    ("int option, str", lambda s, m: s.setsockopt(m.LINGER, "x")),
    ("int option, bytes", lambda s, m: s.setsockopt(m.LINGER, b"x")),
    ("int option, float", lambda s, m: s.setsockopt(m.LINGER, 1.5)),
    ("bytes option, int", lambda s, m: s.setsockopt(m.ROUTING_ID, 5)),
    ("bytes option, str", lambda s, m: s.setsockopt(m.ROUTING_ID, "abc")),
    ("linger -2", lambda s, m: s.setsockopt(m.LINGER, -2)),
    ("sndhwm -1", lambda s, m: s.setsockopt(m.SNDHWM, -1)),
    ("empty routing id", lambda s, m: s.setsockopt(m.ROUTING_ID, b"")),
    ("long routing id", lambda s, m: s.setsockopt(m.ROUTING_ID, b"x" * 256)),
    ("subscribe on dealer", lambda s, m: s.setsockopt(m.SUBSCRIBE, b"x")),
    ("set read-only TYPE", lambda s, m: s.setsockopt(m.TYPE, 1)),
    ("get write-only SUBSCRIBE", lambda s, m: s.getsockopt(m.SUBSCRIBE)),
    ("unknown attribute set", lambda s, m: setattr(s, "no_such_option", 1)),
    ("unknown attribute get", lambda s, m: s.no_such_option),
    ("getsockopt_string of an int", lambda s, m: s.getsockopt_string(m.LINGER)),
]


def _outcome(fn: Callable[[], Any]) -> Any:
    try:
        fn()
    except (zmq.ZMQError, zmtp.ZMQError) as exc:
        return ("ZMQError", exc.errno)
    except Exception as exc:
        return type(exc).__name__
    return "ok"


@pytest.mark.parametrize("case", OPTION_CASES, ids=[c[0] for c in OPTION_CASES])
def test_option_errors_match_pyzmq(h: Harness, case: Any) -> None:
    _, fn = case
    ours = _outcome(lambda: fn(h.zsock(zmq.DEALER), zmtp))
    theirs = _outcome(lambda: fn(h.psock(zmq.DEALER), zmq))
    assert ours == theirs
    assert ours != "ok"


ENDPOINT_CASES = [
    ("bind", "foo://x"), ("bind", "tcp://127.0.0.1"), ("bind", "tcp://127.0.0.1:abc"),
    ("bind", "nonsense"), ("bind", ""), ("bind", "tcp://"), ("bind", "pgm://127.0.0.1:5555"),
    ("bind", "tcp://no.such.host.invalid:5555"),
    ("connect", "foo://x"), ("connect", "tcp://127.0.0.1"), ("connect", "tcp://*:5555"),
    ("connect", "tcp://127.0.0.1:*"), ("connect", "nonsense"), ("connect", "ipc://"),
    ("unbind", "tcp://127.0.0.1:5999"), ("disconnect", "tcp://127.0.0.1:5999"),
    ("unbind", "garbage"), ("disconnect", "inproc://never-connected"),
]


@pytest.mark.parametrize("method,endpoint", ENDPOINT_CASES)
def test_endpoint_errors_match_pyzmq(h: Harness, method: str, endpoint: str) -> None:
    ours = _outcome(lambda: getattr(h.zsock(zmq.DEALER), method)(endpoint))
    theirs = _outcome(lambda: getattr(h.psock(zmq.DEALER), method)(endpoint))
    assert ours == theirs
    assert ours != "ok"


def test_eprotonosupport_and_einval(h: Harness) -> None:
    s = h.zsock(zmq.PUSH)
    expect_errno(zmq.EPROTONOSUPPORT, s.bind, "foo://x")
    expect_errno(zmq.EPROTONOSUPPORT, s.connect, "foo://x")
    for bad in ("tcp://127.0.0.1", "tcp://127.0.0.1:notaport", "no-transport", "tcp://:x"):
        expect_errno(zmq.EINVAL, s.bind, bad)
    for bad in ("tcp://127.0.0.1", "tcp://*:5555", "no-transport"):
        expect_errno(zmq.EINVAL, s.connect, bad)
    with pytest.raises(zmtp.ZMQError):
        h.zctx.socket(99)


# -- endpoints -------------------------------------------------------------------------------------


def test_last_endpoint_tcp_ipc_wildcard(h: Harness) -> None:
    s = h.zsock(zmq.PULL)
    s.bind("tcp://127.0.0.1:*")
    ep = s.getsockopt(zmtp.LAST_ENDPOINT)
    assert isinstance(ep, bytes) and ep.startswith(b"tcp://127.0.0.1:")
    assert int(ep.rsplit(b":", 1)[1]) > 0
    assert s.last_endpoint == ep
    assert s.getsockopt_string(zmtp.LAST_ENDPOINT) == ep.decode()
    path = f"{h.ipc_dir}/le.sock"
    s.bind(f"ipc://{path}")
    assert s.getsockopt(zmtp.LAST_ENDPOINT) == f"ipc://{path}".encode()
    s.bind("tcp://*:*")
    star = s.getsockopt(zmtp.LAST_ENDPOINT)
    assert star.startswith(b"tcp://0.0.0.0:")
    # each is really reachable by pyzmq
    for endpoint in (ep, f"ipc://{path}".encode(), star.replace(b"0.0.0.0", b"127.0.0.1")):
        p = h.psock(zmq.PUSH)
        p.connect(endpoint.decode())
        h.send(p, [endpoint])
        assert h.recv(s) == [endpoint]


def test_last_endpoint_matches_pyzmq_format(h: Harness) -> None:
    for addr in ("tcp://127.0.0.1:*", "tcp://*:*"):
        z, p = h.zsock(zmq.PULL), h.psock(zmq.PULL)
        z.bind(addr)
        p.bind(addr)
        zep, pep = z.last_endpoint, p.last_endpoint
        assert zep.rsplit(b":", 1)[0] == pep.rsplit(b":", 1)[0]


@pytest.mark.skipif(not has_ipv6_loopback(), reason="host has no ::1")
def test_last_endpoint_ipv6(h: Harness) -> None:
    s = h.zsock(zmq.PULL)
    # without IPV6 an IPv6 interface is refused, as libzmq does
    expect_errno(errno.ENODEV, s.bind, "tcp://[::1]:*")
    s.ipv6 = 1
    s.bind("tcp://[::1]:*")
    ep = s.getsockopt(zmtp.LAST_ENDPOINT)
    assert ep.startswith(b"tcp://[::1]:")
    p = h.psock(zmq.PUSH, ipv6=1)
    p.connect(ep.decode())
    h.send(p, [b"v6"])
    assert h.recv(s) == [b"v6"]
    # and zmtp connects over IPv6 too
    pull = h.psock(zmq.PULL, ipv6=1)
    pull.bind("tcp://[::1]:*")
    push = h.zsock(zmq.PUSH, ipv6=1)
    push.connect(pull.last_endpoint.decode())
    push.send(b"v6 out")
    assert h.recv(pull) == [b"v6 out"]


def test_bind_to_random_port(h: Harness) -> None:
    s = h.zsock(zmq.PULL)
    port = s.bind_to_random_port("tcp://127.0.0.1")
    assert isinstance(port, int) and 0 < port < 65536
    assert s.last_endpoint == f"tcp://127.0.0.1:{port}".encode()
    port2 = s.bind_to_random_port("tcp://127.0.0.1", min_port=40000, max_port=40100, max_tries=100)
    assert 40000 <= port2 < 40100
    p = h.psock(zmq.PUSH)
    p.connect(f"tcp://127.0.0.1:{port2}")
    h.send(p, [b"r"])
    assert h.recv(s) == [b"r"]


def test_bind_to_random_port_gives_up(h: Harness) -> None:
    blocker = h.psock(zmq.PULL)
    port = blocker.bind_to_random_port("tcp://127.0.0.1")
    s = h.zsock(zmq.PULL)
    with pytest.raises(zmtp.ZMQBindError):
        s.bind_to_random_port("tcp://127.0.0.1", min_port=port, max_port=port + 1, max_tries=3)


def test_eaddrinuse(h: Harness) -> None:
    a = h.zsock(zmq.PULL)
    a.bind("tcp://127.0.0.1:*")
    ep = a.last_endpoint.decode()
    b = h.zsock(zmq.PULL)
    expect_errno(zmq.EADDRINUSE, b.bind, ep)
    p = h.psock(zmq.PULL)
    pep = h.bind(p)
    expect_errno(zmq.EADDRINUSE, b.bind, pep)
    a.bind("inproc://taken")
    expect_errno(zmq.EADDRINUSE, b.bind, "inproc://taken")


def test_unbind_frees_the_endpoint(h: Harness) -> None:
    a = h.zsock(zmq.PULL)
    a.bind("tcp://127.0.0.1:*")
    ep = a.last_endpoint.decode()
    a.unbind(ep)
    expect_errno(errno.ENOENT, a.unbind, ep)
    b = h.zsock(zmq.PULL)
    b.bind(ep)  # free again
    p = h.psock(zmq.PUSH)
    p.connect(ep)
    h.send(p, [b"to b"])
    assert h.recv(b) == [b"to b"]
    # a wildcard bind can be undone by the address given or the resolved one
    c = h.zsock(zmq.PULL)
    c.bind("tcp://127.0.0.1:*")
    c.unbind(c.last_endpoint)  # bytes, as pyzmq allows
    ipc = f"ipc://{h.ipc_dir}/unbind.sock"
    c.bind(ipc)
    assert os.path.exists(ipc[6:])
    c.unbind(ipc)
    h.idle(0.05)
    assert not os.path.exists(ipc[6:])


def test_unbind_drops_accepted_connections(h: Harness) -> None:
    pull = h.zsock(zmq.PULL)
    ep = h.bind(pull)
    push = h.psock(zmq.PUSH)
    push.connect(ep)
    h.send(push, [b"before"])
    assert h.recv(pull) == [b"before"]
    pull.unbind(ep)
    h.idle(0.1)
    push.send(b"after", zmq.NOBLOCK)  # queued by libzmq while it reconnects in vain
    h.nothing(pull, 0.2)


def test_disconnect_stops_round_robin(h: Harness) -> None:
    pulls = [h.psock(zmq.PULL) for _ in range(2)]
    eps = [h.bind(p) for p in pulls]
    push = h.zsock(zmq.PUSH)
    for ep in eps:
        push.connect(ep)
    for i in range(4):
        push.send(b"%d" % i)
    assert len([h.recv(pulls[0]) for _ in range(2)]) == 2
    assert len([h.recv(pulls[1]) for _ in range(2)]) == 2
    push.disconnect(eps[0])
    expect_errno(errno.ENOENT, push.disconnect, eps[0])
    for i in range(4):
        push.send(b"only %d" % i)
    assert [h.recv(pulls[1]) for _ in range(4)] == [[b"only %d" % i] for i in range(4)]
    h.nothing(pulls[0], 0.05)


def test_bind_and_connect_return_context_managers(h: Harness) -> None:
    pull = h.zsock(zmq.PULL)
    with pull.bind("tcp://127.0.0.1:*") as s:
        assert s is pull
        ep = pull.last_endpoint.decode()
        push = h.zsock(zmq.PUSH)
        with push.connect(ep):
            push.send(b"ctx")
            assert h.recv(pull) == [b"ctx"]
        expect_errno(errno.ENOENT, push.disconnect, ep)
    expect_errno(errno.ENOENT, pull.unbind, ep)


# -- pattern errors --------------------------------------------------------------------------------


def test_efsm(h: Harness) -> None:
    req = h.zsock(zmq.REQ)
    rep = h.psock(zmq.REP)
    h.link(rep, req)
    expect_errno(zmq.EFSM, req.recv)
    req.send(b"1")
    expect_errno(zmq.EFSM, req.send, b"2")
    assert h.recv(rep) == [b"1"]
    zrep = h.zsock(zmq.REP)
    expect_errno(zmq.EFSM, zrep.send, b"no request yet")


def test_req_relaxed_allows_resend(h: Harness) -> None:
    req = h.zsock(zmq.REQ, req_relaxed=1, req_correlate=1)
    rep = h.psock(zmq.REP)
    h.link(rep, req)
    req.send(b"first")
    assert h.recv(rep) == [b"first"]
    req.send(b"second")  # no EFSM
    rep.send(b"late answer to first")  # dropped by REQ_CORRELATE
    assert h.recv(rep) == [b"second"]
    h.send(rep, [b"answer"])
    assert h.recv(req) == [b"answer"]


def test_router_mandatory_ehostunreach(h: Harness) -> None:
    r = h.zsock(zmq.ROUTER)
    r.bind("tcp://127.0.0.1:*")
    r.send_multipart([b"nobody", b"dropped silently"])
    r.router_mandatory = 1
    err = expect_errno(zmq.EHOSTUNREACH, r.send_multipart, [b"nobody", b"x"])
    assert "unreachable" in str(err).lower() or err.errno == zmq.EHOSTUNREACH


def test_enotsup_for_wrong_direction(h: Harness) -> None:
    push = h.zsock(zmq.PUSH)
    expect_errno(zmq.ENOTSUP, push.recv)
    pull = h.zsock(zmq.PULL)
    expect_errno(zmq.ENOTSUP, pull.send, b"x")
    sub = h.zsock(zmq.SUB)
    expect_errno(zmq.ENOTSUP, sub.send, b"x")
    pub = h.zsock(zmq.PUB)
    expect_errno(zmq.ENOTSUP, pub.recv)


def test_enotsock_after_close(h: Harness) -> None:
    s = h.zsock(zmq.DEALER)
    s.bind("tcp://127.0.0.1:*")
    assert not s.closed
    s.close()
    assert s.closed
    s.close()  # twice is fine
    for call in (lambda: s.send(b"x"), lambda: s.recv(), lambda: s.send_multipart([b"x"]),
                 lambda: s.recv_multipart(), lambda: s.bind("tcp://127.0.0.1:*"),
                 lambda: s.connect("tcp://127.0.0.1:1"), lambda: s.setsockopt(zmtp.LINGER, 0),
                 lambda: s.getsockopt(zmtp.LINGER)):
        with pytest.raises(zmtp.ZMQError) as info:
            call()
        assert info.value.errno == zmq.ENOTSOCK
    with pytest.raises(zmtp.ZMQError) as info:
        s.poll(0)
    assert info.value.errno == zmq.ENOTSUP  # pyzmq's Socket.poll on a closed socket


def test_socket_context_manager(h: Harness) -> None:
    with h.zctx.socket(zmq.PUSH) as s:
        s.linger = 0
        assert not s.closed
    assert s.closed


def test_events_option(h: Harness, pair: Any) -> None:
    z, p = pair
    h.wait(lambda: z.getsockopt(zmtp.EVENTS) & zmtp.POLLOUT, "POLLOUT")
    assert not z.getsockopt(zmtp.EVENTS) & zmtp.POLLIN
    h.send(p, [b"x"])
    h.wait(lambda: z.getsockopt(zmtp.EVENTS) & zmtp.POLLIN, "POLLIN")
    z.recv()
    assert not z.getsockopt(zmtp.EVENTS) & zmtp.POLLIN


# -- polling ---------------------------------------------------------------------------------------


def test_poller_register_modify_unregister(h: Harness, pair: Any) -> None:
    z, p = pair
    poller = zmtp.Poller()
    poller.register(z, zmtp.POLLIN)
    assert z in poller
    t0 = time.monotonic()
    assert poller.poll(50) == []
    assert 0.04 <= time.monotonic() - t0 < 1.0
    h.send(p, [b"hi"])
    events = dict(poller.poll(int(WAIT * 1000)))
    assert events == {z: zmtp.POLLIN}
    poller.modify(z, zmtp.POLLIN | zmtp.POLLOUT)
    assert dict(poller.poll(1000)) == {z: zmtp.POLLIN | zmtp.POLLOUT}
    z.recv()
    assert dict(poller.poll(1000)) == {z: zmtp.POLLOUT}
    poller.register(z, 0)  # flags 0: unregister, as pyzmq
    assert z not in poller
    poller.register(z, zmtp.POLLOUT)
    poller.unregister(z)
    assert z not in poller
    with pytest.raises(KeyError):
        poller.unregister(z)
    assert poller.poll(0) == []


def test_poller_mixes_sockets_and_fds(h: Harness, pair: Any) -> None:
    z, p = pair
    a, b = socket.socketpair()
    r, w = os.pipe()
    try:
        poller = zmtp.Poller()
        poller.register(z, zmtp.POLLIN)
        poller.register(a, zmtp.POLLIN)  # an object with fileno()
        poller.register(r, zmtp.POLLIN)  # a plain int fd
        assert poller.poll(30) == []
        b.send(b"!")
        assert dict(poller.poll(1000)) == {a.fileno(): zmtp.POLLIN}  # the fd, as pyzmq reports it
        a.recv(1)
        os.write(w, b"!")
        assert dict(poller.poll(1000)) == {r: zmtp.POLLIN}
        os.read(r, 1)
        h.send(p, [b"zmq"])
        assert dict(poller.poll(int(WAIT * 1000))) == {z: zmtp.POLLIN}
        z.recv()
        poller.register(b, zmtp.POLLOUT)
        assert dict(poller.poll(1000)) == {b.fileno(): zmtp.POLLOUT}
        # a zmtp socket becoming readable wakes a poll that is waiting on fds too
        poller.unregister(b)

        def later() -> None:
            time.sleep(0.1)
            p.send(b"later")

        t = threading.Thread(target=later)
        t.start()
        try:
            t0 = time.monotonic()
            assert dict(poller.poll(int(WAIT * 1000))) == {z: zmtp.POLLIN}
            assert time.monotonic() - t0 < WAIT
        finally:
            t.join()
    finally:
        a.close()
        b.close()
        os.close(r)
        os.close(w)


def test_poller_two_contexts(h: Harness) -> None:
    other = zmtp.Context()
    try:
        a = h.zsock(zmq.PULL)
        ep = h.bind(a)
        b = other.socket(zmq.PULL)
        b.linger = 0
        b.bind("inproc://other")
        pb = other.socket(zmq.PUSH)
        pb.linger = 0
        pb.connect("inproc://other")
        poller = zmtp.Poller()
        poller.register(a, zmtp.POLLIN)
        poller.register(b, zmtp.POLLIN)
        assert poller.poll(20) == []
        pb.send(b"x")
        assert dict(poller.poll(1000)) == {b: zmtp.POLLIN}
        b.recv()
        p = h.psock(zmq.PUSH)
        p.connect(ep)
        h.send(p, [b"y"])
        assert dict(poller.poll(int(WAIT * 1000))) == {a: zmtp.POLLIN}
    finally:
        other.destroy(linger=0)


def test_socket_poll(h: Harness, pair: Any) -> None:
    z, p = pair
    assert z.poll(20) == 0
    h.send(p, [b"x"])
    assert z.poll(int(WAIT * 1000)) == zmtp.POLLIN
    assert z.poll(0, zmtp.POLLIN | zmtp.POLLOUT) == zmtp.POLLIN | zmtp.POLLOUT


def test_select(h: Harness, pair: Any) -> None:
    z, p = pair
    t0 = time.monotonic()
    assert zmtp.select([z], [], [], 0.05) == ([], [], [])
    assert 0.04 <= time.monotonic() - t0 < 1.0
    h.send(p, [b"x"])
    assert zmtp.select([z], [], [], WAIT) == ([z], [], [])
    r, w, x = zmtp.select([z], [z], [], WAIT)
    assert r == [z] and w == [z] and x == []


# -- contexts --------------------------------------------------------------------------------------


def test_context_instance() -> None:
    a = zmtp.Context.instance()
    assert zmtp.Context.instance() is a
    a.term()
    b = zmtp.Context.instance()
    assert b is not a and not b.closed
    b.term()


def test_context_manager_and_destroy(driver: str) -> None:
    with zmtp.Context(driver=driver) as ctx:
        s = ctx.socket(zmq.PUSH)
        s.connect("tcp://127.0.0.1:9")
        s.linger = 0  # (with the default -1 and a pending message, exit would wait, as pyzmq's)
        s.send(b"never delivered")
        assert repr(ctx)
    assert ctx.closed and s.closed
    with pytest.raises(zmtp.ZMQError) as info:
        ctx.socket(zmq.PUSH)
    assert info.value.errno == zmq.ENOTSUP  # as pyzmq: socket() on a closed context


def test_destroy_linger_zero_returns_at_once(driver: str) -> None:
    ctx = zmtp.Context(driver=driver)
    socks = [ctx.socket(zmq.PUSH) for _ in range(3)]
    for s in socks:
        s.connect("tcp://127.0.0.1:9")
        s.send(b"pending")
    t0 = time.monotonic()
    ctx.destroy(linger=0)
    assert time.monotonic() - t0 < 1.0
    assert all(s.closed for s in socks) and ctx.closed


def test_blocking_driver_by_io_threads_zero() -> None:
    ctx = zmtp.Context(io_threads=0)
    try:
        assert ctx.driver == "blocking"
        a, b = ctx.socket(zmq.PAIR), ctx.socket(zmq.PAIR)
        a.bind("inproc://io0")
        b.connect("inproc://io0")
        a.send(b"x")
        assert b.recv() == b"x"
    finally:
        ctx.destroy(linger=0)


def test_term_wakes_blocked_recv(driver: str) -> None:
    ctx = zmtp.Context(driver=driver)
    s = ctx.socket(zmq.PULL)
    s.bind("tcp://127.0.0.1:*")
    caught: List[BaseException] = []
    started = threading.Event()

    def worker() -> None:
        started.set()
        try:
            s.recv()
        except BaseException as exc:  # noqa: B036
            caught.append(exc)
        s.close(linger=0)

    t = threading.Thread(target=worker, daemon=True)
    t.start()
    started.wait()
    time.sleep(0.05)
    done = threading.Event()
    threading.Thread(target=lambda: (ctx.term(), done.set()), daemon=True).start()
    assert done.wait(WAIT), "term() did not return"
    t.join(WAIT)
    assert not t.is_alive()
    assert len(caught) == 1 and isinstance(caught[0], zmtp.ContextTerminated), caught
    assert caught[0].errno == zmq.ETERM


def test_term_wakes_blocked_poll(driver: str) -> None:
    ctx = zmtp.Context(driver=driver)
    s = ctx.socket(zmq.PULL)
    s.bind("tcp://127.0.0.1:*")
    caught: List[BaseException] = []

    def worker() -> None:
        poller = zmtp.Poller()
        poller.register(s, zmtp.POLLIN)
        try:
            poller.poll()
        except BaseException as exc:  # noqa: B036
            caught.append(exc)
        s.close(linger=0)

    t = threading.Thread(target=worker, daemon=True)
    t.start()
    time.sleep(0.05)
    done = threading.Event()
    threading.Thread(target=lambda: (ctx.term(), done.set()), daemon=True).start()
    assert done.wait(WAIT), "term() did not return"
    t.join(WAIT)
    assert len(caught) == 1 and isinstance(caught[0], zmtp.ContextTerminated), caught


def test_proxy_router_dealer(driver: str) -> None:
    ctx = zmtp.Context(driver=driver)
    pctx = zmq.Context()
    try:
        frontend = ctx.socket(zmq.ROUTER)
        backend = ctx.socket(zmq.DEALER)
        frontend.bind("tcp://127.0.0.1:*")
        backend.bind("tcp://127.0.0.1:*")
        fe, be = frontend.last_endpoint.decode(), backend.last_endpoint.decode()
        errors: List[BaseException] = []

        def run() -> None:
            try:
                zmtp.proxy(frontend, backend)
            except zmtp.ContextTerminated:
                pass
            except BaseException as exc:  # noqa: B036
                errors.append(exc)
            frontend.close(linger=0)
            backend.close(linger=0)

        t = threading.Thread(target=run, daemon=True)
        t.start()
        workers = [pctx.socket(zmq.REP) for _ in range(2)]
        for w in workers:
            w.linger = 0
            w.rcvtimeo = int(WAIT * 1000)
            w.connect(be)
        clients = [pctx.socket(zmq.REQ) for _ in range(3)]
        for c in clients:
            c.linger = 0
            c.rcvtimeo = int(WAIT * 1000)
            c.connect(fe)
        for i, c in enumerate(clients):
            c.send_string(f"job {i}")

        served = 0
        poller = zmq.Poller()
        for w in workers:
            poller.register(w, zmq.POLLIN)
        deadline = time.monotonic() + WAIT
        while served < 3 and time.monotonic() < deadline:
            for w, _ in poller.poll(100):
                w.send_string(w.recv_string().upper())
                served += 1
        assert served == 3
        assert sorted(c.recv_string() for c in clients) == ["JOB 0", "JOB 1", "JOB 2"]
        for s in workers + clients:
            s.close()
        done = threading.Event()
        threading.Thread(target=lambda: (ctx.term(), done.set()), daemon=True).start()
        assert done.wait(WAIT), "term() did not stop the proxy"
        t.join(WAIT)
        assert not t.is_alive() and not errors, errors
    finally:
        pctx.destroy(linger=0)
        if not ctx.closed:
            ctx.destroy(linger=0)


def test_socket_from_another_thread_blocking_driver() -> None:
    """The blocking driver also serves a socket used by a thread other than its creator."""
    ctx = zmtp.Context(driver="blocking")
    pctx = zmq.Context()
    try:
        rep = pctx.socket(zmq.REP)
        rep.linger = 0
        rep.rcvtimeo = int(WAIT * 1000)
        port = rep.bind_to_random_port("tcp://127.0.0.1")
        req = ctx.socket(zmq.REQ)
        req.linger = 0
        req.rcvtimeo = int(WAIT * 1000)
        req.connect(f"tcp://127.0.0.1:{port}")
        result: List[bytes] = []

        def client() -> None:
            req.send(b"ping")
            result.append(req.recv())

        t = threading.Thread(target=client)
        t.start()
        rep.send(rep.recv() + b"-pong")
        t.join(WAIT)
        assert result == [b"ping-pong"]
    finally:
        ctx.destroy(linger=0)
        pctx.destroy(linger=0)


def test_close_then_term_delivers_pending_messages(driver: str) -> None:
    """The pyzmq idiom: send, close (LINGER -1), term: every message still reaches the peer."""
    pctx = zmq.Context()
    try:
        pull = pctx.socket(zmq.PULL)
        pull.linger = 0
        pull.rcvtimeo = int(WAIT * 1000)
        port = pull.bind_to_random_port("tcp://127.0.0.1")
        ctx = zmtp.Context(driver=driver)
        push = ctx.socket(zmq.PUSH)
        push.connect(f"tcp://127.0.0.1:{port}")
        for i in range(50):
            push.send(b"%d" % i)
        push.close()
        ctx.term()
        assert [pull.recv() for _ in range(50)] == [b"%d" % i for i in range(50)]
    finally:
        pctx.destroy(linger=0)


def test_linger_bounds_close_to_absent_peer(driver: str) -> None:
    ctx = zmtp.Context(driver=driver)
    push = ctx.socket(zmq.PUSH)
    push.connect("tcp://127.0.0.1:9")
    push.send(b"nobody will take this")
    push.linger = 100
    t0 = time.monotonic()
    push.close()
    ctx.term()
    assert time.monotonic() - t0 < 1.5
