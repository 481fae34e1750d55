"""Read TCP byte streams out of pcap and pcapng captures, with no dependency.

Formats: classic pcap in both byte orders, microsecond and nanosecond variants; pcapng section header,
interface description, enhanced, simple and (obsolete) packet blocks, with per-interface timestamp
resolution.  Link layers: Ethernet (with 802.1Q tags), Linux cooked SLL and SLL2, raw IP, BSD
loopback/null.  IPv4 (no fragments) and IPv6 (extension headers skipped).

TCP is reassembled per direction by sequence number (32-bit wrap-around included): retransmitted and
overlapping bytes are dropped, out-of-order segments are held until the gap before them fills, and a
gap that never fills is reported (``Direction.gaps``) rather than papered over.

:class:`PcapWriter` writes a classic pcap of synthetic IPv4/TCP packets, so a program that relays a
connection itself can record it without tcpdump (the tests' loopback recorder does).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import BinaryIO, Dict, Iterator, List, Optional, Tuple

LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LOOP = 108
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276

PCAP_MAGIC_US = 0xA1B2C3D4
PCAP_MAGIC_NS = 0xA1B23C4D
PCAPNG_SHB = 0x0A0D0D0A
PCAPNG_BYTE_ORDER = 0x1A2B3C4D

TCP_FIN, TCP_SYN, TCP_RST = 0x01, 0x02, 0x04

Endpoint = Tuple[str, int]


class CaptureError(ValueError):
    """The file is not a capture this reader understands (or is damaged)."""


@dataclass(frozen=True)
class Packet:
    """One captured link-layer frame."""

    time: float
    linktype: int
    data: bytes


@dataclass(frozen=True)
class Segment:
    """One TCP segment taken out of a packet."""

    time: float
    src: Endpoint
    dst: Endpoint
    seq: int
    flags: int
    payload: bytes


# ----------------------------------------------------------------------------------------- file formats


def read_packets(f: BinaryIO) -> Iterator[Packet]:
    """Every packet of a pcap or pcapng file, in file order."""
    head = f.read(4)
    if len(head) < 4:
        raise CaptureError("file too short for a capture header")
    if struct.unpack("<I", head)[0] == PCAPNG_SHB:
        yield from _read_pcapng(f, head)
    else:
        yield from _read_pcap(f, head)


def _read_pcap(f: BinaryIO, head: bytes) -> Iterator[Packet]:
    rest = f.read(20)
    if len(rest) < 20:
        raise CaptureError("truncated pcap file header")
    for order in ("<", ">"):
        magic = struct.unpack(order + "I", head)[0]
        if magic in (PCAP_MAGIC_US, PCAP_MAGIC_NS):
            break
    else:
        raise CaptureError(f"not a pcap or pcapng file (magic {head.hex()})")
    scale = 1e-9 if magic == PCAP_MAGIC_NS else 1e-6
    linktype = struct.unpack(order + "I", rest[16:20])[0] & 0x0FFFFFFF
    rec = struct.Struct(order + "IIII")
    while True:
        hdr = f.read(16)
        if len(hdr) < 16:
            return  # a capture cut short (tcpdump killed) simply ends
        sec, frac, incl, _orig = rec.unpack(hdr)
        data = f.read(incl)
        if len(data) < incl:
            return
        yield Packet(sec + frac * scale, linktype, data)


def _tsresol(options: bytes, order: str) -> float:
    """The if_tsresol option of an IDB (default microseconds)."""
    pos = 0
    while pos + 4 <= len(options):
        code, length = struct.unpack(order + "HH", options[pos : pos + 4])
        value = options[pos + 4 : pos + 4 + length]
        if code == 0:
            break
        if code == 9 and length >= 1:
            v = value[0]
            return 2.0 ** -(v & 0x7F) if v & 0x80 else 10.0 ** -v
        pos += 4 + (length + 3) // 4 * 4
    return 1e-6


def _read_pcapng(f: BinaryIO, head: bytes) -> Iterator[Packet]:
    order = "<"
    interfaces: List[Tuple[int, float, int]] = []  # linktype, timestamp unit, snaplen
    first = True
    while True:
        block_head = head if first else f.read(4)
        first = False
        if len(block_head) < 4:
            return
        more = f.read(4)
        if len(more) < 4:
            return
        if struct.unpack("<I", block_head)[0] == PCAPNG_SHB:
            body_start = f.read(4)
            if len(body_start) < 4:
                return
            if struct.unpack("<I", body_start)[0] == PCAPNG_BYTE_ORDER:
                order = "<"
            elif struct.unpack(">I", body_start)[0] == PCAPNG_BYTE_ORDER:
                order = ">"
            else:
                raise CaptureError("pcapng section header with an unknown byte-order magic")
            total = struct.unpack(order + "I", more)[0]
            if total < 28:
                raise CaptureError(f"pcapng section header block of {total} bytes")
            rest = f.read(total - 12)
            interfaces = []  # interface ids are per section
            continue
        btype = struct.unpack(order + "I", block_head)[0]
        total = struct.unpack(order + "I", more)[0]
        if total < 12 or total % 4:
            raise CaptureError(f"pcapng block of type {btype:#x} has a bad length {total}")
        rest = f.read(total - 8)
        if len(rest) < total - 8:
            return
        body = rest[:-4]
        if btype == 1:  # interface description
            linktype, _, snaplen = struct.unpack(order + "HHI", body[:8])
            interfaces.append((linktype, _tsresol(body[8:], order), snaplen))
        elif btype in (6, 2):  # enhanced packet, obsolete packet
            if btype == 6:
                iface, hi, lo, caplen, _orig = struct.unpack(order + "IIIII", body[:20])
            else:
                iface, _drops, hi, lo, caplen, _orig = struct.unpack(order + "HHIIII", body[:20])
            if iface >= len(interfaces):
                raise CaptureError(f"pcapng packet on undeclared interface {iface}")
            linktype, unit, _ = interfaces[iface]
            yield Packet(((hi << 32) | lo) * unit, linktype, body[20 : 20 + caplen])
        elif btype == 3:  # simple packet: interface 0, no timestamp
            if not interfaces:
                raise CaptureError("pcapng simple packet before any interface description")
            linktype, _, snaplen = interfaces[0]
            orig = struct.unpack(order + "I", body[:4])[0]
            caplen = min(orig, snaplen) if snaplen else orig
            yield Packet(0.0, linktype, body[4 : 4 + caplen])
        # other blocks (name resolution, statistics, custom ...) carry no packets


# ------------------------------------------------------------------------------------- link, IP and TCP


def _ip_payload(linktype: int, data: bytes) -> Optional[bytes]:
    """The IP packet inside a link-layer frame, or None if it carries something else."""
    if linktype == LINKTYPE_ETHERNET:
        pos, ethertype = 14, struct.unpack(">H", data[12:14])[0] if len(data) >= 14 else 0
        while ethertype in (0x8100, 0x88A8) and len(data) >= pos + 4:
            ethertype = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
            pos += 4
        return data[pos:] if ethertype in (0x0800, 0x86DD) else None
    if linktype == LINKTYPE_LINUX_SLL:
        proto = struct.unpack(">H", data[14:16])[0] if len(data) >= 16 else 0
        return data[16:] if proto in (0x0800, 0x86DD) else None
    if linktype == LINKTYPE_LINUX_SLL2:
        proto = struct.unpack(">H", data[0:2])[0] if len(data) >= 20 else 0
        return data[20:] if proto in (0x0800, 0x86DD) else None
    if linktype in (LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6, 12, 14):
        return data
    if linktype in (LINKTYPE_NULL, LINKTYPE_LOOP):
        if len(data) < 4:
            return None
        family = struct.unpack(">I" if linktype == LINKTYPE_LOOP else "<I", data[:4])[0]
        if linktype == LINKTYPE_NULL and family > 0xFFFF:  # written on a big-endian machine
            family = struct.unpack(">I", data[:4])[0]
        return data[4:] if family in (2, 24, 28, 30) else None
    return None


def _format_ip6(raw: bytes) -> str:
    import ipaddress

    return str(ipaddress.IPv6Address(raw))


def parse_segment(packet: Packet) -> Optional[Segment]:
    """The TCP segment in a packet, or None (not TCP over IP, a fragment, or truncated)."""
    ip = _ip_payload(packet.linktype, packet.data)
    if not ip:
        return None
    version = ip[0] >> 4
    if version == 4:
        if len(ip) < 20:
            return None
        ihl = (ip[0] & 0x0F) * 4
        total = struct.unpack(">H", ip[2:4])[0]
        frag = struct.unpack(">H", ip[6:8])[0]
        if ip[9] != 6 or frag & 0x3FFF:  # not TCP, or a fragment
            return None
        src = ".".join(map(str, ip[12:16]))
        dst = ".".join(map(str, ip[16:20]))
        tcp = ip[ihl:total] if total >= ihl else ip[ihl:]
    elif version == 6:
        if len(ip) < 40:
            return None
        plen = struct.unpack(">H", ip[4:6])[0]
        nxt = ip[6]
        src, dst = _format_ip6(ip[8:24]), _format_ip6(ip[24:40])
        body = ip[40 : 40 + plen]
        while nxt in (0, 43, 60, 44):
            if len(body) < 8:
                return None
            if nxt == 44:  # fragment header: reassembly is out of scope
                return None
            nxt, body = body[0], body[(body[1] + 1) * 8 :]
        if nxt != 6:
            return None
        tcp = body
    else:
        return None
    if len(tcp) < 20:
        return None
    sport, dport, seq = struct.unpack(">HHI", tcp[:8])
    offset = (tcp[12] >> 4) * 4
    flags = tcp[13]
    return Segment(packet.time, (src, sport), (dst, dport), seq, flags, bytes(tcp[offset:]))


# ------------------------------------------------------------------------------------------ reassembly


@dataclass
class Direction:
    """The bytes one side sent, in order, each chunk with the time its segment was captured."""

    src: Endpoint
    dst: Endpoint
    chunks: List[Tuple[float, bytes]] = field(default_factory=list)
    #: (stream offset, bytes missing) for every hole the capture never filled.
    gaps: List[Tuple[int, int]] = field(default_factory=list)
    retransmitted: int = 0
    out_of_order: int = 0
    syn: bool = False
    fin: bool = False
    rst: bool = False
    _next: Optional[int] = None
    _pending: Dict[int, Tuple[float, bytes]] = field(default_factory=dict)
    _offset: int = 0

    @property
    def data(self) -> bytes:
        """Everything this side sent, reassembled."""
        return b"".join(c for _, c in self.chunks)

    def add(self, seg: Segment) -> None:
        """Place one segment by sequence number."""
        seq = seg.seq
        if seg.flags & TCP_SYN:
            self.syn = True
            self._next = (seq + 1) & 0xFFFFFFFF
            seq = self._next
        if seg.flags & TCP_RST:
            self.rst = True
        if seg.flags & TCP_FIN:
            self.fin = True
        payload = seg.payload
        if not payload:
            return
        if self._next is None:  # capture started mid-connection
            self._next = seq
        rel = (seq - self._next + (1 << 31)) % (1 << 32) - (1 << 31)
        if rel < 0:
            if len(payload) <= -rel:
                self.retransmitted += 1
                return
            self.retransmitted += 1
            payload = payload[-rel:]
            seq = self._next
            rel = 0
        if rel > 0:
            self.out_of_order += 1
            old = self._pending.get(seq)
            if old is None or len(old[1]) < len(payload):
                self._pending[seq] = (seg.time, payload)
            return
        self._append(seg.time, payload)
        self._drain()

    def _append(self, t: float, payload: bytes) -> None:
        assert self._next is not None
        self.chunks.append((t, payload))
        self._offset += len(payload)
        self._next = (self._next + len(payload)) & 0xFFFFFFFF

    def _drain(self) -> None:
        progressed = True
        while progressed and self._pending:
            progressed = False
            assert self._next is not None
            for seq in list(self._pending):
                rel = (seq - self._next + (1 << 31)) % (1 << 32) - (1 << 31)
                if rel > 0:
                    continue
                t, payload = self._pending.pop(seq)
                if len(payload) > -rel:
                    self._append(t, payload[-rel:])
                progressed = True

    def finish(self) -> None:
        """End of capture: whatever is still held lies after a hole; keep it, note the hole."""
        while self._pending:
            assert self._next is not None
            nxt = self._next
            seq = min(self._pending, key=lambda s: (s - nxt) % (1 << 32))
            missing = (seq - nxt) % (1 << 32)
            self.gaps.append((self._offset, missing))
            self._next = seq
            self._drain()


@dataclass
class TcpStream:
    """One TCP connection: ``client`` is the side that sent the SYN (or the first sender seen)."""

    index: int
    client: Direction
    server: Direction
    start: float

    @property
    def directions(self) -> Tuple[Direction, Direction]:
        return self.client, self.server


def reassemble(packets: Iterator[Packet], port: Optional[int] = None) -> List[TcpStream]:
    """Group TCP segments into connections and reassemble both directions of each.

    ``port`` keeps only connections with that port on either side.  A SYN (without ACK) that follows a
    finished connection on the same addresses and ports starts a new stream.
    """
    streams: List[TcpStream] = []
    live: Dict[Tuple[Endpoint, Endpoint], TcpStream] = {}
    for pkt in packets:
        seg = parse_segment(pkt)
        if seg is None:
            continue
        if port is not None and port not in (seg.src[1], seg.dst[1]):
            continue
        key = (seg.src, seg.dst) if seg.src <= seg.dst else (seg.dst, seg.src)
        stream = live.get(key)
        fresh_syn = seg.flags & TCP_SYN and not seg.flags & 0x10
        if stream is not None and fresh_syn and (stream.client.syn and stream.client.src == seg.src):
            if stream.client.chunks or stream.client.fin or stream.client.rst:
                stream = None  # the same 4-tuple reused for a new connection
        if stream is None:
            swap = bool(seg.flags & TCP_SYN and seg.flags & 0x10)  # a SYN-ACK comes from the server
            client, server = (seg.dst, seg.src) if swap else (seg.src, seg.dst)
            stream = TcpStream(len(streams) + 1, Direction(client, server), Direction(server, client), seg.time)
            streams.append(stream)
            live[key] = stream
        (stream.client if seg.src == stream.client.src else stream.server).add(seg)
    for s in streams:
        s.client.finish()
        s.server.finish()
    return streams


def read_streams(path: str, port: Optional[int] = None) -> List[TcpStream]:
    """Open a capture file and return its reassembled TCP connections."""
    with open(path, "rb") as f:
        return reassemble(read_packets(f), port)


# ---------------------------------------------------------------------------------------------- writing


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    s: int = sum(struct.unpack(f">{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


class PcapWriter:
    """Write synthetic IPv4/TCP packets (link type raw IP) to a classic microsecond pcap file.

    Call :meth:`open_connection` once per connection (it writes the three-way handshake), then
    :meth:`send` for each chunk a side sent and :meth:`close` for a FIN.  Sequence numbers are kept per
    direction, so the file reassembles exactly like a real capture.
    """

    def __init__(self, f: BinaryIO, snaplen: int = 262144) -> None:
        self.f = f
        f.write(struct.pack("<IHHiIII", PCAP_MAGIC_US, 2, 4, 0, 0, snaplen, LINKTYPE_RAW))
        self._seq: Dict[Tuple[Endpoint, Endpoint], int] = {}

    def packet(self, t: float, src: Endpoint, dst: Endpoint, seq: int, ack: int, flags: int,
               payload: bytes = b"") -> None:
        """Write one TCP/IPv4 packet as given (no state: tests use this for reordering)."""
        sip = bytes(int(x) for x in src[0].split("."))
        dip = bytes(int(x) for x in dst[0].split("."))
        tcp = struct.pack(">HHIIBBHHH", src[1], dst[1], seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags,
                          65535, 0, 0)
        pseudo = sip + dip + struct.pack(">BBH", 0, 6, len(tcp) + len(payload))
        csum = _checksum(pseudo + tcp + payload)
        tcp = tcp[:16] + struct.pack(">H", csum) + tcp[18:]
        total = 20 + len(tcp) + len(payload)
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, total, 0, 0x4000, 64, 6, 0, sip, dip)
        ip = ip[:10] + struct.pack(">H", _checksum(ip)) + ip[12:]
        frame = ip + tcp + payload
        sec = int(t)
        self.f.write(struct.pack("<IIII", sec, int((t - sec) * 1e6), len(frame), len(frame)))
        self.f.write(frame)

    def open_connection(self, t: float, client: Endpoint, server: Endpoint, isn: int = 1000) -> None:
        """SYN, SYN-ACK, ACK between ``client`` and ``server``."""
        self._seq[(client, server)] = isn + 1
        self._seq[(server, client)] = isn * 7 + 1
        self.packet(t, client, server, isn, 0, TCP_SYN)
        self.packet(t, server, client, isn * 7, isn + 1, TCP_SYN | 0x10)
        self.packet(t, client, server, isn + 1, isn * 7 + 1, 0x10)

    def send(self, t: float, src: Endpoint, dst: Endpoint, payload: bytes, mss: int = 65000) -> None:
        """``src`` sent ``payload`` (split into segments of at most ``mss`` bytes)."""
        for i in range(0, len(payload), mss):
            piece = payload[i : i + mss]
            seq = self._seq[(src, dst)]
            self.packet(t, src, dst, seq, self._seq[(dst, src)], 0x18, piece)
            self._seq[(src, dst)] = seq + len(piece)

    def close(self, t: float, src: Endpoint, dst: Endpoint) -> None:
        """``src`` sent FIN."""
        seq = self._seq[(src, dst)]
        self.packet(t, src, dst, seq, self._seq[(dst, src)], TCP_FIN | 0x10)
        self._seq[(src, dst)] = seq + 1

    def flush(self) -> None:
        """Push what was written to the file (a reader may open it while we record)."""
        self.f.flush()
