"""udp:// for RADIO and DISH (zmtp/transport/udp.py), as libzmq 4.3.5 speaks it.

The datagram codec and the address parser on their own, then zmtp RADIO -> zmtp DISH over unicast
and multicast, bad datagrams and floods from a raw UDP socket, and libzmq 4.3.5 (zeromq.js, the only
libzmq with the draft API on this machine) on either side.
"""

from __future__ import annotations

import errno
import socket
import time
from typing import Iterator, List, Optional, Tuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

import zmtp
from zmtp.transport.udp import MAX_UDP_MSG, UdpEngine, decode_datagram, encode_datagram, resolve_udp

pytestmark = pytest.mark.timeout(60)

RECV_MS = 2000


def lo_index() -> int:
    """The loopback interface's index, from the kernel (PyPy's socket module has no if_nametoindex)."""
    if hasattr(socket, "if_nametoindex"):
        return int(socket.if_nametoindex("lo"))
    with open("/sys/class/net/lo/ifindex") as f:
        return int(f.read())


def free_udp_port(host: str = "127.0.0.1") -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((host, 0))
        return int(s.getsockname()[1])
    finally:
        s.close()


@pytest.fixture
def ctx() -> Iterator[zmtp.Context]:
    c = zmtp.Context()
    yield c
    c.destroy(linger=0)


def dish_on(ctx: zmtp.Context, endpoint: str = "udp://127.0.0.1:*", **opts: int) -> Tuple[zmtp.Socket, str]:
    d = ctx.socket(zmtp.DISH)
    d.linger = 0
    d.rcvtimeo = RECV_MS
    for k, v in opts.items():
        setattr(d, k, v)
    d.bind(endpoint)
    return d, d.last_endpoint.decode()


def radio_to(ctx: zmtp.Context, endpoint: str, **opts: int) -> zmtp.Socket:
    r = ctx.socket(zmtp.RADIO)
    r.linger = 0
    for k, v in opts.items():
        setattr(r, k, v)
    r.connect(endpoint)
    return r


def recv_all(sock: zmtp.Socket, until: bytes, timeout_ms: int = RECV_MS) -> List[Tuple[Optional[str], bytes]]:
    """(group, body) of everything up to the message whose body is ``until`` (excluded)."""
    got = []
    sock.rcvtimeo = timeout_ms
    while True:
        f = sock.recv(copy=False)
        if f.bytes == until:
            return got
        got.append((f.group, f.bytes))


def engine_of(sock: zmtp.Socket) -> UdpEngine:
    engines = [s for s in sock.core.streams if isinstance(s, UdpEngine)]
    assert len(engines) == 1, engines
    return engines[0]


# -- the datagram format -----------------------------------------------------------------------------
class TestDatagram:
    def test_round_trip(self) -> None:
        for group, body in [(b"", b""), (b"g", b"body"), (b"G" * 255, b"x"), (b"\x00a", b"\x00" * 10)]:
            d = encode_datagram(group, body)
            assert d is not None and d[0] == len(group)
            assert decode_datagram(d) == (group, body)
            assert decode_datagram(memoryview(bytearray(d))) == (group, body)

    def test_wire_bytes_as_libzmq(self) -> None:
        # what a libzmq 4.3.5 RADIO sends (udp_engine_t::out_event), captured from zeromq.js
        assert encode_datagram(b"g", b"end") == b"\x01gend"
        assert encode_datagram(b"", b"") == b"\x00"

    def test_malformed_is_none(self) -> None:
        assert decode_datagram(b"") is None  # empty datagram
        assert decode_datagram(b"\x05abc") is None  # shorter than its group length
        assert decode_datagram(b"\xff" + b"a" * 254) is None

    def test_length_byte_is_unsigned(self) -> None:
        # libzmq reads a signed char and aborts on these; the format says 0-255
        g = b"h" * 200
        assert decode_datagram(b"\xc8" + g + b"body") == (g, b"body")

    @given(st.binary(max_size=600))
    def test_any_bytes_decode_or_are_refused(self, data: bytes) -> None:
        got = decode_datagram(data)
        if got is None:
            assert not data or data[0] > len(data) - 1
        else:
            assert encode_datagram(*got) == data

    def test_too_big_to_send(self) -> None:
        assert encode_datagram(b"g" * 256, b"") is None
        assert encode_datagram(b"g", b"x" * (MAX_UDP_MSG - 2)) is not None
        assert encode_datagram(b"g", b"x" * (MAX_UDP_MSG - 1)) is None


# -- addresses --------------------------------------------------------------------------------------
def _err(address: str, bind: bool, ipv6: bool = False) -> int:
    with pytest.raises(zmtp.ZMQError) as info:
        resolve_udp(address, bind, ipv6)
    assert info.value.errno is not None
    return info.value.errno


class TestAddress:
    def test_unicast(self) -> None:
        a = resolve_udp("127.0.0.1:5555", True, False)
        assert a.family == socket.AF_INET and not a.multicast
        assert a.bind == ("127.0.0.1", 5555) and a.target == ("127.0.0.1", 5555)
        c = resolve_udp("127.0.0.1:5555", False, False)
        assert c.target == ("127.0.0.1", 5555) and c.bind == ("0.0.0.0", 5555)

    def test_wildcards(self) -> None:
        assert resolve_udp("*:5555", True, False).bind == ("0.0.0.0", 5555)
        assert resolve_udp("127.0.0.1:*", True, False).bind == ("127.0.0.1", 0)
        assert resolve_udp("127.0.0.1:0", False, False).target == ("127.0.0.1", 0)  # libzmq takes it too
        assert _err("*:5555", False) == zmtp.EINVAL  # libzmq: EINVAL, '*' is not connectable
        assert _err("127.0.0.1:*", False) == zmtp.EINVAL

    def test_names(self) -> None:
        assert resolve_udp("localhost:5555", False, False).target == ("127.0.0.1", 5555)
        assert resolve_udp("lo:5555", True, False).bind == ("127.0.0.1", 5555)  # an interface name
        assert _err("nosuchhost.invalid:5555", True) == errno.ENODEV  # as libzmq: bind ENODEV
        assert _err("nosuchhost.invalid:5555", False) == zmtp.EINVAL  # connect EINVAL

    def test_bad_ports(self) -> None:
        for bad in ("127.0.0.1", "127.0.0.1:", "127.0.0.1:abc", "127.0.0.1:65536", "127.0.0.1:-1",
                    "127.0.0.1:99999"):
            assert _err(bad, True) == zmtp.EINVAL, bad
            assert _err(bad, False) == zmtp.EINVAL, bad

    def test_multicast(self) -> None:
        a = resolve_udp("239.1.2.3:5555", True, False)
        assert a.multicast and a.bind == ("0.0.0.0", 5555) and a.target == ("239.1.2.3", 5555)
        b = resolve_udp("127.0.0.1;239.1.2.3:5555", True, False)
        assert b.multicast and b.bind == ("127.0.0.1", 5555) and b.interface == -1
        c = resolve_udp("lo;239.1.2.3:5555", False, False)
        assert c.bind == ("127.0.0.1", 5555) and c.interface == lo_index()
        assert resolve_udp("*;239.1.2.3:5555", False, False).interface == 0
        # an interface is only for a multicast target; a multicast source is nonsense
        assert _err("127.0.0.1;127.0.0.2:5555", False) == zmtp.EINVAL
        assert _err("239.1.1.1;239.1.1.2:5555", True) == zmtp.EINVAL
        # the interface part is never looked up in the DNS
        assert _err("localhost;239.1.2.3:5555", True) == errno.ENODEV

    def test_ipv6(self) -> None:
        assert _err("[::1]:5555", False) == zmtp.EINVAL  # IPv6 needs the IPV6 option
        assert _err("[::1]:5555", True) == errno.ENODEV
        a = resolve_udp("[::1]:5555", False, True)
        assert a.family == socket.AF_INET6 and a.target[:2] == ("::1", 5555)
        m = resolve_udp("lo;[ff12::1]:5555", True, True)
        assert m.multicast and m.interface == lo_index()
        assert resolve_udp("[ff12::1]:5555", False, True).interface == 0
        # IPv6 multicast joins by interface index: an address is not enough (libzmq: ENODEV)
        assert _err("::1;[ff12::1]:5555", True, True) == errno.ENODEV


# -- socket types and endpoints ---------------------------------------------------------------------
def test_only_dish_binds_and_radio_connects(ctx: zmtp.Context) -> None:
    radio, dish, push = ctx.socket(zmtp.RADIO), ctx.socket(zmtp.DISH), ctx.socket(zmtp.PUSH)
    for call in (radio.bind, dish.connect, push.bind, push.connect):
        with pytest.raises(zmtp.ZMQError) as info:
            call("udp://127.0.0.1:5555")
        assert info.value.errno == zmtp.ENOCOMPATPROTO
    for s in (radio, dish, push):
        s.close(linger=0)


def test_last_endpoint_names_the_port_and_unbind_works(ctx: zmtp.Context) -> None:
    d, ep = dish_on(ctx)
    port = int(ep.rsplit(":", 1)[1])
    assert ep == f"udp://127.0.0.1:{port}" and port > 0
    d.join("g")
    r = radio_to(ctx, ep)
    r.send(b"one", group="g")
    assert d.recv() == b"one"
    d.unbind(ep)
    r.send(b"lost", group="g")
    d.rcvtimeo = 200
    with pytest.raises(zmtp.Again):
        d.recv()
    # the port is free again: a new bind takes it
    d.bind(ep)
    d.rcvtimeo = RECV_MS
    r.send(b"two", group="g")
    assert d.recv() == b"two"


def test_bind_errors_come_at_bind(ctx: zmtp.Context) -> None:
    d = ctx.socket(zmtp.DISH)
    with pytest.raises(zmtp.ZMQError) as info:
        d.bind("udp://192.0.2.123:5555")  # TEST-NET-1: not an address of this host
    assert info.value.errno == errno.EADDRNOTAVAIL
    with pytest.raises(zmtp.ZMQError) as info:
        d.bind("udp://nosuchhost.invalid:5555")
    assert info.value.errno == errno.ENODEV
    d.close(linger=0)


# -- zmtp RADIO -> zmtp DISH ------------------------------------------------------------------------
def test_unicast_groups_filtered_by_the_dish(ctx: zmtp.Context) -> None:
    d, ep = dish_on(ctx)
    d.join("weather")
    d.join("")
    r = radio_to(ctx, ep)
    longest = "L" * 255
    d.join(longest)
    for group, body in (("news", b"n1"), ("weather", b"w1"), ("weathe", b"prefix"), ("", b"empty group"),
                        (longest, b"long group"), ("weather", b"end")):
        r.send(body, group=group)
    assert recv_all(d, b"end") == [("weather", b"w1"), (None, b"empty group"), (longest, b"long group")]
    d.leave("weather")
    r.send(b"w2", group="weather")
    r.send(b"end", group="")
    assert recv_all(d, b"end") == []


def test_largest_datagram_passes_and_larger_is_dropped(ctx: zmtp.Context) -> None:
    d, ep = dish_on(ctx)
    d.join("g")
    r = radio_to(ctx, ep)
    fits = b"x" * (MAX_UDP_MSG - 2)
    r.send(fits, group="g")
    r.send(fits + b"y", group="g")  # one byte too many: dropped on the udp pipe, not an error
    r.send(b"end", group="g")
    assert recv_all(d, b"end") == [("g", fits)]
    assert engine_of(r).dropped == 1


def test_udp_and_tcp_pipes_of_one_radio(ctx: zmtp.Context) -> None:
    """The udp pipe takes every group; a tcp DISH still gets only its joins (and big messages)."""
    udish, uep = dish_on(ctx)
    udish.join("a")
    tdish = ctx.socket(zmtp.DISH)
    tdish.linger = 0
    tdish.rcvtimeo = RECV_MS
    tep = tdish.bind("tcp://127.0.0.1:*")
    tdish.join("b")
    r = radio_to(ctx, uep)
    r.connect(tdish.last_endpoint.decode())
    deadline = time.monotonic() + 5
    tdish.rcvtimeo = 50
    while True:  # until the tcp DISH's JOIN reached the radio
        r.send(b"probe", group="b")
        try:
            if tdish.recv() == b"probe":
                break
        except zmtp.Again:
            assert time.monotonic() < deadline, "JOIN never reached the RADIO"
    tdish.rcvtimeo = RECV_MS
    big = b"B" * 100_000
    for group, body in (("a", b"a1"), ("b", b"b1"), ("b", big), ("a", b"end"), ("b", b"end")):
        r.send(body, group=group)
    assert recv_all(udish, b"end") == [("a", b"a1")]
    assert [b for _, b in recv_all(tdish, b"end") if b != b"probe"] == [b"b1", big]
    del tep


def test_radio_linger_delivers_what_is_queued(ctx: zmtp.Context) -> None:
    d, ep = dish_on(ctx)
    d.join("g")
    r = ctx.socket(zmtp.RADIO)
    r.connect(ep)
    for i in range(200):
        r.send(b"%d" % i, group="g")
    r.close(linger=1000)
    got = [d.recv() for _ in range(200)]
    assert got == [b"%d" % i for i in range(200)]


def test_disconnect_stops_sending(ctx: zmtp.Context) -> None:
    d, ep = dish_on(ctx)
    d.join("g")
    r = radio_to(ctx, ep)
    r.send(b"before", group="g")
    assert d.recv() == b"before"
    r.disconnect(ep)
    r.send(b"after", group="g")  # no pipe left: a RADIO drops it
    d.rcvtimeo = 200
    with pytest.raises(zmtp.Again):
        d.recv()


def test_two_dishes_share_a_port(ctx: zmtp.Context) -> None:
    """SO_REUSEADDR as libzmq sets it: a second bind of the port succeeds (unicast goes to one)."""
    d1, ep = dish_on(ctx)
    d2, ep2 = dish_on(ctx, ep)
    assert ep2 == ep


# -- multicast ---------------------------------------------------------------------------------------
def _kernel_multicast(group: str, iface: str) -> Optional[str]:
    """None if this kernel delivers multicast sent on ``iface`` back to this host, else why not."""
    port = free_udp_port()
    r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        r.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        r.bind(("0.0.0.0", port))
        r.settimeout(1.0)
        r.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton(group) + socket.inet_aton(iface))
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(iface))
        s.sendto(b"probe", (group, port))
        r.recv(16)
    except OSError as e:
        return f"the kernel refuses multicast on {iface}: {e}"
    finally:
        r.close()
        s.close()
    return None


def test_multicast_zmtp_to_zmtp(ctx: zmtp.Context) -> None:
    reason = _kernel_multicast("239.192.41.1", "127.0.0.1")
    if reason is not None:
        print(reason)
        pytest.skip(reason)
    port = free_udp_port()
    ep = f"udp://127.0.0.1;239.192.41.1:{port}"
    d1, _ = dish_on(ctx, ep)
    d2, _ = dish_on(ctx, ep)  # SO_REUSEPORT: two members on one port, both get every datagram
    d1.join("m")
    d2.join("m")
    r = radio_to(ctx, ep, multicast_hops=1)
    r.send(b"nope", group="other")
    r.send(b"hello", group="m")
    r.send(b"end", group="m")
    assert recv_all(d1, b"end") == [("m", b"hello")]
    assert recv_all(d2, b"end") == [("m", b"hello")]


def test_multicast_hops_applied(ctx: zmtp.Context) -> None:
    r = radio_to(ctx, f"udp://239.192.41.2:{free_udp_port()}", multicast_hops=7)
    sock = engine_of(r).sock
    assert sock.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL) == 7
    assert sock.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP) == 1


def test_ipv6_unicast(ctx: zmtp.Context) -> None:
    d = ctx.socket(zmtp.DISH)
    d.ipv6 = True
    d.linger = 0
    d.rcvtimeo = RECV_MS
    try:
        d.bind("udp://[::1]:*")
    except zmtp.ZMQError as e:
        pytest.skip(f"no IPv6 loopback here: {e}")
    d.join("six")
    r = ctx.socket(zmtp.RADIO)
    r.ipv6 = True
    r.linger = 0
    r.connect(d.last_endpoint.decode())
    r.send(b"over v6", group="six")
    f = d.recv(copy=False)
    assert (f.group, f.bytes) == ("six", b"over v6")


# -- bad datagrams from a raw socket -----------------------------------------------------------------
def raw_send(port: int, datagrams: List[bytes]) -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for dg in datagrams:
            s.sendto(dg, ("127.0.0.1", port))
    finally:
        s.close()


def test_bad_datagrams_are_dropped(ctx: zmtp.Context) -> None:
    d, ep = dish_on(ctx)
    port = int(ep.rsplit(":", 1)[1])
    d.join("g")
    long_group = b"h" * 200
    d.join(long_group)
    raw_send(port, [
        b"\x01ga",                      # fine
        b"",                            # empty datagram
        b"\x05ab",                      # shorter than its group length
        b"\xff" + b"x" * 100,           # group length 255, 100 bytes follow
        b"\xc8" + long_group + b"big",  # group length 200: libzmq 4.3.5 aborts, zmtp reads it
        b"\x01g" + b"z" * 9000,         # over libzmq's 8 KiB: whole here (libzmq truncates)
        b"\x02g\x00nul",                # a NUL in the group: C-string semantics, group "g"
        b"\x01gend",
    ])
    got = recv_all(d, b"end")
    assert got == [("g", b"a"), (long_group.decode(), b"big"), ("g", b"z" * 9000), ("g", b"nul")]
    assert engine_of(d).dropped == 3


def test_flood_is_bounded_by_rcvhwm(ctx: zmtp.Context) -> None:
    hwm = 50
    d, ep = dish_on(ctx, rcvhwm=hwm)
    port = int(ep.rsplit(":", 1)[1])
    d.join("f")
    raw_send(port, [b"\x01f%d" % i for i in range(3000)])
    time.sleep(0.3)
    engine = engine_of(d)
    assert engine.pipe is not None
    assert len(engine.pipe.inbound) <= hwm  # the kernel's buffer took (and dropped) the rest
    taken = 0
    d.rcvtimeo = 300
    while True:
        try:
            d.recv()
            taken += 1
        except zmtp.Again:
            break
    assert hwm <= taken < 3000
    # still serving
    r = radio_to(ctx, ep)
    r.send(b"after", group="f")
    d.rcvtimeo = RECV_MS
    assert d.recv() == b"after"


# -- libzmq 4.3.5 (zeromq.js) on the other side -----------------------------------------------------
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


def _zjs_dish(zjs: object, endpoint: str, groups: List[bytes]) -> object:
    dish = zjs.socket("DISH")  # type: ignore[attr-defined]
    dish.bind(endpoint)
    for g in groups:
        dish.join(g)
    return dish


def test_zeromqjs_radio_to_zmtp_dish(ctx: zmtp.Context, zjs: object) -> None:
    d, ep = dish_on(ctx)
    d.join("g")
    radio = zjs.socket("RADIO")  # type: ignore[attr-defined]
    try:
        radio.connect(ep)
        time.sleep(0.1)
        for group, body in ((b"x", b"other"), (b"g", b"hello"), (b"g", b"y" * 8000), (b"g", b"end")):
            radio.send_draft([body], 1000, group=group)
        assert recv_all(d, b"end") == [("g", b"hello"), ("g", b"y" * 8000)]
    finally:
        radio.close()


def test_zmtp_radio_to_zeromqjs_dish(ctx: zmtp.Context, zjs: object) -> None:
    port = free_udp_port()
    ep = f"udp://127.0.0.1:{port}"
    dish = _zjs_dish(zjs, ep, [b"g", b"G" * 127])
    try:
        r = radio_to(ctx, ep)
        time.sleep(0.1)
        for group, body in ((b"x", b"other"), (b"g", b"hello"), (b"G" * 127, b"longest a libzmq DISH survives"),
                            (b"g", b"y" * (MAX_UDP_MSG - 2)), (b"g", b"end")):
            r.send(body, group=group.decode())
        got = []
        while True:
            m = dish.recv_draft(RECV_MS)  # type: ignore[attr-defined]
            if m.frames == [b"end"]:
                break
            got.append((m.group, m.frames[0]))
        assert got == [(b"g", b"hello"), (b"G" * 127, b"longest a libzmq DISH survives"),
                       (b"g", b"y" * (MAX_UDP_MSG - 2))]
    finally:
        dish.close()  # type: ignore[attr-defined]


def test_multicast_with_zeromqjs(ctx: zmtp.Context, zjs: object) -> None:
    reason = _kernel_multicast("239.192.41.3", "127.0.0.1")
    if reason is not None:
        print(reason)
        pytest.skip(reason)
    ep = f"udp://127.0.0.1;239.192.41.3:{free_udp_port()}"
    dish = _zjs_dish(zjs, ep, [b"m"])
    d, _ = dish_on(ctx, ep)
    d.join("m")
    try:
        radio = zjs.socket("RADIO")  # type: ignore[attr-defined]
        radio.connect(ep)
        time.sleep(0.1)
        radio.send_draft([b"from libzmq"], 1000, group=b"m")
        r = radio_to(ctx, ep)
        r.send(b"from zmtp", group="m")
        # both members of the group hear both senders
        assert sorted(d.recv() for _ in range(2)) == [b"from libzmq", b"from zmtp"]
        assert sorted(dish.recv_draft(RECV_MS).frames[0] for _ in range(2)) == [  # type: ignore[attr-defined]
            b"from libzmq", b"from zmtp"]
        radio.close()
    finally:
        dish.close()  # type: ignore[attr-defined]
