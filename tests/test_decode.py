"""``zmtp decode``: captures of real libzmq <-> zmtp traffic (tcpdump, or a recording relay when tcpdump
cannot run), hand-built PLAIN/CURVE/ZMTP 2.0 streams, malformed streams, and every capture format."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterator, List, Optional, Tuple

import pytest
import zmq

import zmtp
from zmtp.tools.dissect import dissect_pair, dissect_stream
from zmtp.tools.pcap import PcapWriter, read_packets, read_streams, reassemble

pytestmark = pytest.mark.timeout(60)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))


def decode_cli(*args: str) -> Tuple[int, str]:
    p = subprocess.run([sys.executable, "-m", "zmtp", "decode", *args], capture_output=True, text=True, env=ENV,
                       timeout=30)
    assert not p.stderr, p.stderr
    return p.returncode, p.stdout


# -- recording real traffic ------------------------------------------------------------------------------

def _tcpdump_usable() -> bool:
    return shutil.which("tcpdump") is not None and hasattr(os, "geteuid") and os.geteuid() == 0


class Relay:
    """A loopback TCP relay that records both directions into a pcap file (no tcpdump needed)."""

    def __init__(self, server_port: int, path: Path) -> None:
        self.server_port = server_port
        self.f = open(path, "wb")
        self.writer = PcapWriter(self.f)
        self.lock = threading.Lock()
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(8)
        self.port = self.lsock.getsockname()[1]
        self.threads: List[threading.Thread] = []
        self.socks: List[socket.socket] = []
        self.closed = False
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self.threads.append(t)

    def _accept(self) -> None:
        while True:
            try:
                c, addr = self.lsock.accept()
            except OSError:
                return
            s = socket.create_connection(("127.0.0.1", self.server_port))
            self.socks += [c, s]
            client, server = (addr[0], addr[1]), ("127.0.0.1", self.server_port)
            with self.lock:
                self.writer.open_connection(time.time(), client, server)
            for a, b, src, dst in ((c, s, client, server), (s, c, server, client)):
                t = threading.Thread(target=self._pump, args=(a, b, src, dst), daemon=True)
                t.start()
                self.threads.append(t)

    def _pump(self, a: socket.socket, b: socket.socket, src: Tuple[str, int], dst: Tuple[str, int]) -> None:
        while True:
            try:
                data = a.recv(65536)
            except OSError:
                data = b""
            with self.lock:
                if self.closed:
                    return
                if data:
                    self.writer.send(time.time(), src, dst, data)
                else:
                    self.writer.close(time.time(), src, dst)
            try:
                if not data:
                    b.shutdown(socket.SHUT_WR)
                    return
                b.sendall(data)
            except OSError:
                return

    def close(self) -> None:
        self.lsock.close()
        time.sleep(0.2)
        with self.lock:
            self.closed = True
            self.f.close()
        for s in self.socks:
            s.close()


def _start_tcpdump(server_port: int, path: Path) -> Optional[subprocess.Popen[bytes]]:
    """tcpdump on the loopback, once it says it is listening; None if it cannot capture here."""
    try:
        proc = subprocess.Popen(["tcpdump", "-i", "lo", "--immediate-mode", "-U", "-w", str(path),
                                 f"tcp port {server_port}"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    except OSError:
        return None
    assert proc.stderr is not None
    line = proc.stderr.readline()
    if b"listening" not in line:
        proc.kill()
        proc.wait()
        return None
    time.sleep(0.2)
    return proc


@contextlib.contextmanager
def recording(server_port: int, path: Path, use_tcpdump: Optional[bool] = None) -> Iterator[int]:
    """Record the traffic to ``server_port``; yields the port clients must connect to.

    tcpdump when it can capture here (root), else the recording relay above.
    """
    if use_tcpdump is None:
        use_tcpdump = _tcpdump_usable()
    proc = _start_tcpdump(server_port, path) if use_tcpdump else None
    if proc is not None:
        try:
            yield server_port
            time.sleep(0.3)
        finally:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return
    relay = Relay(server_port, path)
    try:
        yield relay.port
        time.sleep(0.3)
    finally:
        relay.close()


RECORDERS = ["relay"] + (["tcpdump"] if _tcpdump_usable() else [])


def libzmq_req_zmtp_rep(path: Path, recorder: str, version: Tuple[int, int] = (3, 1)) -> None:
    zc = zmtp.Context()
    rep = zc.socket(zmtp.REP)
    rep.linger = 0
    rep.zmtp_version = version
    port = rep.bind_to_random_port("tcp://127.0.0.1")
    ctx = zmq.Context()
    req = ctx.socket(zmq.REQ)
    req.linger = 0
    req.rcvtimeo = 5000
    rep.rcvtimeo = 5000
    try:
        with recording(port, path, recorder == "tcpdump") as cport:
            req.connect(f"tcp://127.0.0.1:{cport}")
            for i in range(2):
                req.send_multipart([b"hello", b"x" * 300])
                assert rep.recv_multipart()[0] == b"hello"
                rep.send(b"world-%d" % i)
                assert req.recv() == b"world-%d" % i
            req.close()
            time.sleep(0.2)
    finally:
        rep.close()
        zc.term()
        ctx.destroy(0)


@pytest.mark.parametrize("recorder", RECORDERS)
def test_decode_libzmq_req_to_zmtp_rep_zmtp31(tmp_path: Path, recorder: str) -> None:
    cap = tmp_path / "req-rep.pcap"
    libzmq_req_zmtp_rep(cap, recorder)
    status, out = decode_cli(str(cap))
    assert status == 0, out
    assert "C>S greeting: ZMTP 3.1, mechanism NULL, as-server 0" in out
    assert "S>C greeting: ZMTP 3.1, mechanism NULL, as-server 0" in out
    assert "C>S READY socket-type='REQ' identity=''" in out
    assert "S>C READY socket-type='REP'" in out
    assert out.count("C>S message: 3 frames, 305 bytes: [0] 0 B '' | [1] 5 B 'hello' | [2] 300 B 'xxxx") == 2
    assert "S>C message: 2 frames, 7 bytes: [0] 0 B '' | [1] 7 B 'world-1'" in out
    assert "VIOLATION" not in out
    # JSON lines carry the same, structured
    status, out = decode_cli(str(cap), "--json")
    items = [json.loads(line) for line in out.splitlines()]
    msgs = [i for i in items if i["kind"] == "message" and i["direction"] == 0]
    assert [bytes.fromhex(f) for f in msgs[0]["frames"]] == [b"", b"hello", b"x" * 300]


def test_decode_zmtp30_subscription_from_zmtp_sub_to_libzmq_pub(tmp_path: Path) -> None:
    cap = tmp_path / "pubsub30.pcap"
    ctx = zmq.Context()
    pub = ctx.socket(zmq.PUB)
    pub.linger = 0
    port = pub.bind_to_random_port("tcp://127.0.0.1")
    zc = zmtp.Context()
    sub = zc.socket(zmtp.SUB)
    sub.linger = 0
    sub.zmtp_version = (3, 0)
    sub.rcvtimeo = 100
    sub.subscribe(b"news")
    try:
        with recording(port, cap) as cport:
            sub.connect(f"tcp://127.0.0.1:{cport}")
            got = None
            end = time.monotonic() + 10
            while got is None and time.monotonic() < end:
                pub.send_multipart([b"news", b"today"])
                try:
                    got = sub.recv_multipart()
                except zmtp.Again:
                    pass
            assert got == [b"news", b"today"]
            sub.close()
            time.sleep(0.2)
    finally:
        zc.term()
        ctx.destroy(0)
    status, out = decode_cli(str(cap))
    assert status == 0, out
    assert "C>S greeting: ZMTP 3.0, mechanism NULL" in out
    assert "S>C greeting: ZMTP 3.1, mechanism NULL" in out
    assert "C>S subscribe 'news' (data-message form)" in out
    assert "S>C message: 2 frames, 9 bytes: [0] 4 B 'news' | [1] 5 B 'today'" in out


def zmtp2_message(frames: List[bytes]) -> bytes:
    out = b""
    for i, f in enumerate(frames):
        out += bytes((1 if i < len(frames) - 1 else 0, len(f))) + f
    return out


def test_decode_zmtp20_peer_and_zmtp_falling_back(tmp_path: Path) -> None:
    """A hand-made ZMTP 2.0 REQ (RFC 15) talks to a zmtp REP, which falls back to 2.0."""
    cap = tmp_path / "zmtp2.pcap"
    zc = zmtp.Context()
    rep = zc.socket(zmtp.REP)
    rep.linger = 0
    rep.rcvtimeo = 5000
    port = rep.bind_to_random_port("tcp://127.0.0.1")
    try:
        with recording(port, cap) as cport:
            s = socket.create_connection(("127.0.0.1", cport), timeout=5)
            s.sendall(b"\xff" + bytes(8) + b"\x7f\x01\x03\x00\x00")  # revision 1, REQ, empty identity
            s.sendall(zmtp2_message([b"", b"hi-v2"]))
            assert rep.recv_multipart() == [b"hi-v2"]
            rep.send(b"ok-v2")
            data = b""
            while not data.endswith(b"ok-v2"):
                chunk = s.recv(100)
                assert chunk
                data += chunk
            s.close()
            time.sleep(0.2)
    finally:
        rep.close()
        zc.term()
    status, out = decode_cli(str(cap))
    assert status == 0, out
    assert "C>S greeting: ZMTP 2.0 peer, socket type REQ, identity ''" in out
    assert "S>C greeting: ZMTP 3.x peer (revision 3) downgraded to ZMTP 2.0, socket type REP" in out
    assert "C>S message: 2 frames, 5 bytes: [0] 0 B '' | [1] 5 B 'hi-v2'" in out
    assert "S>C message: 2 frames, 5 bytes: [0] 0 B '' | [1] 5 B 'ok-v2'" in out


GREETING = b"\xff" + bytes(8) + b"\x7f\x03\x01NULL" + bytes(16) + b"\x00" + bytes(31)


def ready_frame(props: bytes) -> bytes:
    body = b"\x05READY" + props
    return bytes((4, len(body))) + body


def test_decode_malformed_ready_sent_to_libzmq(tmp_path: Path) -> None:
    cap = tmp_path / "bad.pcap"
    ctx = zmq.Context()
    router = ctx.socket(zmq.ROUTER)
    router.linger = 0
    port = router.bind_to_random_port("tcp://127.0.0.1")
    try:
        with recording(port, cap) as cport:
            s = socket.create_connection(("127.0.0.1", cport), timeout=5)
            s.sendall(GREETING + ready_frame(b"\x0bSocket-Type\x00\x00\x00\x06DEALER\x09Identity"))
            s.settimeout(5)
            while s.recv(1000):  # libzmq hangs up
                pass
            s.close()
    finally:
        ctx.destroy(0)
    status, out = decode_cli(str(cap))
    assert status == 1
    assert "C>S !! VIOLATION: peer's READY has a property name length 9 that does not fit the command" in out
    # libzmq judged our READY before sending more than its 10-byte signature (or anything), then hung up
    assert "S>C -- stream ends inside the greeting (10 bytes)" in out or "S>C -- no bytes in this direction" in out


def test_decode_continues_past_violations_in_a_hex_stream(tmp_path: Path) -> None:
    stream = (GREETING + ready_frame(b"\x0bSocket-Type\x00\x00\x00\x03REQ") + b"\x01\x00\x00\x02ok"
              + b"\x10\x01x"  # reserved flag bit
              + b"\x00\x03end" + b"\x04\x00"  # empty command
              + b"\x02" + (1 << 40).to_bytes(8, "big") + b"abc")  # huge frame cut short
    f = tmp_path / "s.hex"
    f.write_text("# a REQ that goes wrong\n" + " ".join(f"{b:02x}" for b in stream))
    status, out = decode_cli("--hex", str(f))
    assert status == 1
    lines = out.splitlines()
    assert any("A>B message: 2 frames, 2 bytes" in x for x in lines)
    assert any("VIOLATION: peer sent a frame with reserved flag bits set (flags 0x10)" in x for x in lines)
    assert any("[0] 3 B 'end'" in x for x in lines), "dissection goes on after the violation"
    assert any("VIOLATION: peer sent an empty command frame" in x for x in lines)
    assert any(f"header announces {1 << 40} bytes, 3 present" in x for x in lines)


def test_decode_zmtp10_and_bad_mechanism_are_flagged() -> None:
    items = dissect_stream(b"\x01\x00hello")
    assert items[0].kind == "violation" and "ZMTP 1.0" in items[0].text
    bad = bytearray(GREETING)
    bad[12:16] = b"N L\x00"
    items = dissect_stream(bytes(bad))
    assert any(i.kind == "violation" and "mechanism name is malformed" in i.text for i in items)


def test_decode_incompatible_socket_types_and_data_before_ready() -> None:
    a = GREETING + ready_frame(b"\x0bSocket-Type\x00\x00\x00\x03PUB")
    b = GREETING + b"\x00\x02hi" + ready_frame(b"\x0bSocket-Type\x00\x00\x00\x03REQ")
    ia, ib = dissect_pair([(None, a)], [(None, b)])
    texts_b = [i.text for i in ib if i.kind == "violation"]
    assert texts_b == ["peer sent a data frame before completing the handshake"]
    texts_a = [i.text for i in ia if i.kind == "violation"]
    assert texts_a == ["peer is a PUB socket, which a REQ socket cannot talk to"]


def test_split_invariance_of_the_dissector() -> None:
    a = GREETING + ready_frame(b"\x0bSocket-Type\x00\x00\x00\x06DEALER") + b"\x04\x09\x04PING\x00\x0aab" \
        + b"\x01\x00\x02" + (300).to_bytes(8, "big") + b"z" * 300 + b"\x04\x07\x04PONGab"
    whole = [(i.kind, i.text) for i in dissect_pair([(None, a)], [])[0]]
    bytewise = [(i.kind, i.text) for i in dissect_pair([(None, a[i : i + 1]) for i in range(len(a))], [])[0]]
    assert whole == bytewise
    assert ("heartbeat", "PING ttl 1 s, context 'ab'") in whole
    assert ("heartbeat", "PONG context 'ab'") in whole


# -- PLAIN and CURVE, hand-built per RFC 24 and RFC 26 ---------------------------------------------------

def greeting(mech: bytes, as_server: int) -> bytes:
    return b"\xff" + bytes(8) + b"\x7f\x03\x01" + mech.ljust(20, b"\x00") + bytes((as_server,)) + bytes(31)


def cmd(name: bytes, data: bytes) -> bytes:
    body = bytes((len(name),)) + name + data
    return (bytes((4, len(body))) if len(body) < 256 else b"\x06" + len(body).to_bytes(8, "big")) + body


def prop(name: bytes, value: bytes) -> bytes:
    return bytes((len(name),)) + name + len(value).to_bytes(4, "big") + value


def write_hex(path: Path, data: bytes) -> str:
    path.write_text(data.hex())
    return str(path)


def test_decode_plain_handshake(tmp_path: Path) -> None:
    client = greeting(b"PLAIN", 0) + cmd(b"HELLO", b"\x05admin\x06secret") + cmd(
        b"INITIATE", prop(b"Socket-Type", b"DEALER")) + b"\x00\x04data"
    server = greeting(b"PLAIN", 1) + cmd(b"WELCOME", b"") + cmd(b"READY", prop(b"Socket-Type", b"ROUTER"))
    status, out = decode_cli("--hex", write_hex(tmp_path / "c", client), write_hex(tmp_path / "s", server))
    assert status == 0, out
    assert "A>B greeting: ZMTP 3.1, mechanism PLAIN, as-server 0" in out
    assert "B>A greeting: ZMTP 3.1, mechanism PLAIN, as-server 1" in out
    assert "A>B HELLO username 'admin', password of 6 bytes" in out
    assert "secret" not in out
    assert "A>B INITIATE socket-type='DEALER'" in out
    assert "B>A WELCOME" in out and "B>A READY socket-type='ROUTER'" in out
    assert "A>B message: 1 frame, 4 bytes: [0] 4 B 'data'" in out
    bad = greeting(b"PLAIN", 0) + cmd(b"HELLO", b"\x09admin")
    status, out = decode_cli("--hex", write_hex(tmp_path / "b", bad))
    assert status == 1 and "A>B !! VIOLATION: peer's PLAIN HELLO has a malformed user name" in out
    status, out = decode_cli("--no-validate", "--hex", write_hex(tmp_path / "b", bad))  # our RFC 24 check alone
    assert status == 1 and "does not hold a username and a password" in out
    early = greeting(b"PLAIN", 0) + cmd(b"INITIATE", b"") + cmd(b"HELLO", b"\x05admin\x06secret")
    status, out = decode_cli("--hex", write_hex(tmp_path / "e", early))
    assert "VIOLATION: peer sent INITIATE during the PLAIN handshake; expected HELLO" in out


def test_decode_curve_handshake(tmp_path: Path) -> None:
    hello = b"\x01\x00" + bytes(72) + b"C" * 32 + bytes(8) + b"S" * 80
    client = greeting(b"CURVE", 0) + cmd(b"HELLO", hello) + cmd(b"INITIATE", b"K" * 96 + bytes(8) + b"B" * 200) \
        + cmd(b"MESSAGE", bytes(8) + b"M" * 40)
    server = greeting(b"CURVE", 1) + cmd(b"WELCOME", bytes(16) + b"W" * 144) + cmd(b"READY", bytes(8) + b"R" * 60)
    status, out = decode_cli("--hex", write_hex(tmp_path / "c", client), write_hex(tmp_path / "s", server))
    assert status == 0, out
    assert "A>B HELLO CURVE version 1.0, client transient key, 8-byte nonce, signature box of 80 bytes" in out
    assert "B>A WELCOME (CURVE) nonce 16 bytes, encrypted box 144 bytes" in out
    assert "A>B INITIATE (CURVE) cookie 96 bytes, nonce 8 bytes, encrypted box 200 bytes" in out
    assert "B>A READY (CURVE) nonce 8 bytes, encrypted box 60 bytes" in out
    assert "A>B MESSAGE (CURVE, in a command) nonce 8 bytes, encrypted box 40 bytes" in out
    short = greeting(b"CURVE", 0) + cmd(b"HELLO", hello[:-10])
    status, out = decode_cli("--hex", write_hex(tmp_path / "b", short))
    assert status == 1 and "RFC 26 says 194" in out


# -- capture formats, link layers, reassembly -----------------------------------------------------------

def _csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    s = sum(struct.unpack(f">{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def tcp(sport: int, dport: int, seq: int, flags: int, payload: bytes) -> bytes:
    return struct.pack(">HHIIBBHHH", sport, dport, seq, 0, 5 << 4, flags, 65535, 0, 0) + payload


def ipv4(src: str, dst: str, seg: bytes) -> bytes:
    hdr = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(seg), 1, 0x4000, 64, 6, 0, socket.inet_aton(src),
                      socket.inet_aton(dst))
    return hdr[:10] + struct.pack(">H", _csum(hdr)) + hdr[12:] + seg


def ipv6(src: str, dst: str, seg: bytes) -> bytes:
    return struct.pack(">IHBB16s16s", 6 << 28, len(seg), 6, 64, socket.inet_pton(socket.AF_INET6, src),
                       socket.inet_pton(socket.AF_INET6, dst)) + seg


def conversation(ip: Callable[[str, str, bytes], bytes], a: str, b: str) -> List[Tuple[float, bytes]]:
    """A client sends 'hello world' in 3 segments (out of order, one retransmitted, one overlapping);
    the server answers 'ok'.  Sequence numbers wrap around 2**32 in the client's direction."""
    isn = 0xFFFFFFF0
    c, s = 40000, 5555
    return [
        (1.0, ip(a, b, tcp(c, s, isn, 0x02, b""))),
        (1.1, ip(b, a, tcp(s, c, 500, 0x12, b""))),
        (1.2, ip(a, b, tcp(c, s, isn + 1 + 6 & 0xFFFFFFFF, 0x18, b"world"))),  # early
        (1.3, ip(a, b, tcp(c, s, isn + 1, 0x18, b"hello "))),
        (1.4, ip(a, b, tcp(c, s, isn + 1, 0x18, b"hello "))),  # retransmission
        (1.5, ip(a, b, tcp(c, s, isn + 1 + 4 & 0xFFFFFFFF, 0x18, b"o wor"))),  # overlap
        (1.6, ip(b, a, tcp(s, c, 501, 0x18, b"ok"))),
        (1.7, ip(a, b, tcp(c, s, isn + 12 & 0xFFFFFFFF, 0x11, b""))),
    ]


def link(kind: str, ip: bytes) -> bytes:
    v6 = ip[0] >> 4 == 6
    etype = 0x86DD if v6 else 0x0800
    if kind == "ethernet":
        return bytes(12) + struct.pack(">H", etype) + ip
    if kind == "vlan":
        return bytes(12) + struct.pack(">HHH", 0x8100, 7, etype) + ip
    if kind == "sll":
        return struct.pack(">HHH8sH", 0, 772, 6, bytes(8), etype) + ip
    if kind == "sll2":
        return struct.pack(">HHIHBB8s", etype, 0, 1, 772, 0, 6, bytes(8)) + ip
    if kind == "null":
        return struct.pack("<I", 30 if v6 else 2) + ip
    return ip


LINKTYPES = {"ethernet": 1, "vlan": 1, "sll": 113, "sll2": 276, "null": 0, "raw": 101}


def pcap_bytes(packets: List[Tuple[float, bytes]], linktype: int, order: str, nanos: bool) -> bytes:
    magic = 0xA1B23C4D if nanos else 0xA1B2C3D4
    out = struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, 65535, linktype)
    for t, data in packets:
        frac = round((t % 1) * (1e9 if nanos else 1e6))
        out += struct.pack(order + "IIII", int(t), frac, len(data), len(data)) + data
    return out


def pcapng_bytes(packets: List[Tuple[float, bytes]], linktype: int, order: str, simple: bool) -> bytes:
    def block(btype: int, body: bytes) -> bytes:
        body += bytes(-len(body) % 4)
        n = len(body) + 12
        return struct.pack(order + "II", btype, n) + body + struct.pack(order + "I", n)

    out = block(0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1))
    opts = struct.pack(order + "HH", 9, 1) + b"\x09\x00\x00\x00" + struct.pack(order + "HH", 0, 0)  # ns
    out += block(0x00000004, b"name resolution, ignored")
    out += block(1, struct.pack(order + "HHI", linktype, 0, 0) + opts)
    for t, data in packets:
        if simple:
            out += block(3, struct.pack(order + "I", len(data)) + data)
        else:
            ts = round(t * 1e9)
            out += block(6, struct.pack(order + "IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(data), len(data)) + data)
    return out


@pytest.mark.parametrize("fmt", ["pcap-le-us", "pcap-be-ns", "pcapng-le", "pcapng-be", "pcapng-simple"])
@pytest.mark.parametrize("kind", list(LINKTYPES))
@pytest.mark.parametrize("family", ["ipv4", "ipv6"])
def test_capture_formats_and_reassembly(fmt: str, kind: str, family: str) -> None:
    ip, a, b = (ipv4, "10.0.0.1", "10.0.0.2") if family == "ipv4" else (ipv6, "fe80::1", "fe80::2")
    pkts = [(t, link(kind, p)) for t, p in conversation(ip, a, b)]
    if fmt.startswith("pcapng"):
        data = pcapng_bytes(pkts, LINKTYPES[kind], ">" if fmt == "pcapng-be" else "<", fmt == "pcapng-simple")
    else:
        data = pcap_bytes(pkts, LINKTYPES[kind], ">" if "be" in fmt else "<", "ns" in fmt)
    packets = list(read_packets(io.BytesIO(data)))
    assert len(packets) == 8
    if fmt != "pcapng-simple":
        assert abs(packets[2].time - 1.2) < 1e-6
    (stream,) = reassemble(iter(packets))
    assert stream.client.src == (a, 40000) and stream.server.src == (b, 5555)
    assert stream.client.data == b"hello world"
    assert stream.server.data == b"ok"
    assert stream.client.retransmitted == 2 and stream.client.out_of_order == 1
    assert stream.client.fin and not stream.client.gaps


def test_a_hole_in_the_capture_is_reported(tmp_path: Path) -> None:
    f = tmp_path / "gap.pcap"
    with open(f, "wb") as fh:
        w = PcapWriter(fh)
        c, s = ("127.0.0.1", 1000), ("127.0.0.1", 2000)
        w.open_connection(0.0, c, s)
        w.send(0.1, c, s, GREETING)
        w.packet(0.2, c, s, 1001 + 64 + 10, 0, 0x18, b"after-hole")
    (stream,) = read_streams(str(f))
    assert stream.client.gaps == [(64, 10)]
    status, out = decode_cli(str(f))
    assert "lost 10 bytes at stream offset 64" in out
    assert "greeting: ZMTP 3.1" in out


def test_not_a_capture_is_a_clear_error(tmp_path: Path) -> None:
    f = tmp_path / "x.pcap"
    f.write_bytes(b"hello, world, this is not a capture")
    p = subprocess.run([sys.executable, "-m", "zmtp", "decode", str(f)], capture_output=True, text=True, env=ENV,
                       timeout=30)
    assert p.returncode == 2 and "not a pcap or pcapng file" in p.stderr


@pytest.mark.slow
def test_decode_real_jeromq_zmtp20_traffic(tmp_path: Path) -> None:
    """JeroMQ 0.3.6 speaks ZMTP 2.0; zmtp's REQ falls back to it after the 11th byte."""
    from test_fuzz import _jeromq_echo, free_port

    cmd = _jeromq_echo()
    port = free_port()
    cap = tmp_path / "jeromq.pcap"
    java = subprocess.Popen([*cmd.split(), str(port)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    zc = zmtp.Context()
    try:
        assert java.stdout is not None and java.stdout.readline().strip() == b"ready"
        with recording(port, cap) as cport:
            req = zc.socket(zmtp.REQ)
            req.linger = 0
            req.rcvtimeo = 10000
            req.connect(f"tcp://127.0.0.1:{cport}")
            req.send_multipart([b"hello", b"jeromq"])
            assert req.recv_multipart() == [b"hello", b"jeromq"]
            req.close()
            time.sleep(0.2)
    finally:
        java.kill()
        java.wait()
        zc.term()
    status, out = decode_cli(str(cap))
    assert status == 0, out
    assert "C>S greeting: ZMTP 3.x peer (revision 3) downgraded to ZMTP 2.0, socket type REQ, identity ''" in out
    assert "S>C greeting: ZMTP 2.0 peer, socket type REP, identity ''" in out
    assert "S>C message: 3 frames, 11 bytes: [0] 0 B '' | [1] 5 B 'hello' | [2] 6 B 'jeromq'" in out


@pytest.mark.parametrize("mechanism", ["PLAIN", "CURVE"])
def test_decode_real_plain_and_curve_traffic(tmp_path: Path, mechanism: str) -> None:
    """zmtp REQ (client) and libzmq REP (server, with a ZAP handler for PLAIN), captured and decoded."""
    from zmq.auth.thread import ThreadAuthenticator

    from zmtp.utils.curve import curve_keypair

    cap = tmp_path / f"{mechanism}.pcap"
    ctx = zmq.Context()
    rep = ctx.socket(zmq.REP)
    rep.linger = 0
    rep.rcvtimeo = 5000
    zc = zmtp.Context()
    req = zc.socket(zmtp.REQ)
    req.linger = 0
    req.rcvtimeo = 5000
    auth = None
    opt = zmtp.SocketOption
    try:
        if mechanism == "PLAIN":
            auth = ThreadAuthenticator(ctx)
            auth.start()
            auth.configure_plain(domain="*", passwords={"admin": "secret"})
            rep.plain_server = True
            req.setsockopt(opt.PLAIN_USERNAME, b"admin")
            req.setsockopt(opt.PLAIN_PASSWORD, b"secret")
        else:
            server_public, server_secret = zmq.curve_keypair()
            rep.curve_server = True
            rep.curve_secretkey = server_secret
            public, secret = curve_keypair()
            req.setsockopt(opt.CURVE_SERVERKEY, server_public)
            req.setsockopt(opt.CURVE_PUBLICKEY, public)
            req.setsockopt(opt.CURVE_SECRETKEY, secret)
        port = rep.bind_to_random_port("tcp://127.0.0.1")
        with recording(port, cap) as cport:
            req.connect(f"tcp://127.0.0.1:{cport}")
            req.send_multipart([b"hello", b"sec"])
            assert rep.recv_multipart() == [b"hello", b"sec"]
            rep.send(b"ok")
            assert req.recv() == b"ok"
            req.close()
            time.sleep(0.2)
    finally:
        zc.term()
        if auth is not None:
            auth.stop()
        ctx.destroy(0)
    status, out = decode_cli(str(cap))
    assert status == 0, out
    assert f"C>S greeting: ZMTP 3.1, mechanism {mechanism}, as-server 0" in out
    if mechanism == "PLAIN":
        assert "C>S HELLO username 'admin', password of 6 bytes" in out and "secret" not in out
        assert "S>C WELCOME" in out
        assert "C>S INITIATE socket-type='REQ' identity=''" in out
        assert "S>C READY socket-type='REP'" in out
        assert "C>S message: 3 frames, 8 bytes: [0] 0 B '' | [1] 5 B 'hello' | [2] 3 B 'sec'" in out
    else:
        assert "C>S HELLO CURVE version 1.0, client transient key, 8-byte nonce, signature box of 80 bytes" in out
        assert "S>C WELCOME (CURVE) nonce 16 bytes, encrypted box 144 bytes" in out
        assert "C>S INITIATE (CURVE) cookie 96 bytes, nonce 8 bytes, encrypted box" in out
        assert "S>C READY (CURVE) nonce 8 bytes, encrypted box" in out
        # the three frames of the request, each sealed in its own MESSAGE (RFC 26 section 2.6)
        assert out.count("C>S MESSAGE (CURVE, in a data frame) nonce 8 bytes") == 3
