"""A ZMTP dissector: one direction's bytes in, a readable list of what was said out.

It shows what a person debugging ZeroMQ wants to see (greeting fields, each command with its
properties, each message with its frames) and flags every protocol violation with the sentence the core
itself gives (:class:`zmtp.protocol.RemoteProtocolError`), continuing past it where the framing allows.

How violations are found: the dissector frames the stream itself (it must show per-frame details and
keep going after an error), and shadows it with the core: every frame's bytes go through a
:class:`~zmtp.protocol.FrameDecoder`, and for NULL and ZMTP 2.0 streams every item's bytes also go
through a receiving :class:`~zmtp.protocol.Connection` built as the other side (its socket type and
version), which judges the handshake and state rules.  The first error the Connection raises ends its
judgement (a real peer would hang up there); the framing checks go on.  PLAIN streams (RFC 24) are
judged the same way, by the core's PLAIN server or client (the side that sends HELLO is the client;
every ZAP decision is "200": the protocol is judged, not the credentials).  CURVE (RFC 26) is
encrypted, so its commands are checked structurally here, with sentences in the core's style.

Which framing follows the 10-byte signature depends on both sides: a ZMTP 2.0 peer (revision byte 1,
RFC 15) sends a socket-type byte and an identity frame, and a 3.x peer that sees revision 1 from its
peer downgrades to that same form after its 11th byte (libzmq's zmtp_engine_t::handshake).  So a
direction is dissected knowing the other side's revision byte (``peer_revision``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from zmtp.protocol import (
    COMPATIBLE,
    AuthenticationRequested,
    Connection,
    FrameDecoder,
    Mechanism,
    ProtocolError,
    RemoteProtocolError,
    decode_metadata,
)
from zmtp.protocol.commands import decode_error, decode_ping, split_command
from zmtp.protocol.greeting import check_greeting_prefix, parse_greeting
from zmtp.protocol.plain import PlainClient, PlainServer

#: ZMTP 2.0 socket-type octets (RFC 15) and libzmq's 9/10 for XPUB/XSUB.
ZMTP2_TYPES = {0: "PAIR", 1: "PUB", 2: "SUB", 3: "REQ", 4: "REP", 5: "DEALER", 6: "ROUTER", 7: "PULL", 8: "PUSH",
               9: "XPUB", 10: "XSUB"}

MORE, LONG, COMMAND = 0x01, 0x02, 0x04


def printable(data: bytes) -> str:
    """Bytes as readable text: UTF-8 where it is, ``\\xNN`` for the rest and for control characters."""
    text = data.decode("utf-8", "backslashreplace")
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" if ord(c) < 256 else repr(c)[1:-1] for c in text)


def show_bytes(data: bytes, width: int = 40) -> str:
    """``'text'`` truncated to ``width`` characters, with the length when truncated."""
    if len(data) <= width:
        return f"'{printable(data)}'"
    return f"'{printable(data[:width])}'... ({len(data)} bytes)"


@dataclass
class Item:
    """One line of the transcript."""

    direction: int
    offset: int
    time: Optional[float]
    kind: str  # greeting, command, message, heartbeat, subscription, violation, note
    text: str
    fields: Dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> Dict[str, Any]:
        return {"direction": self.direction, "offset": self.offset, "time": self.time, "kind": self.kind,
                "text": self.text, **{k: v for k, v in self.fields.items() if k not in ("direction", "kind")}}


@dataclass
class SideInfo:
    """What one direction revealed about its sender (used to dissect the other direction)."""

    revision: Optional[int] = None
    minor: Optional[int] = None
    mechanism: Optional[bytes] = None
    socket_type: Optional[str] = None
    #: True when this side sent HELLO: it is the security client (as-server is not reliable: libzmq
    #: 4.3.5's PLAIN server sends 0 there).
    sent_hello: bool = False


class StreamDissector:
    """Dissects the bytes one peer sent.

    ``peer_revision``/``peer``: what the other direction showed (None when unknown).  ``validate``
    turns on the shadow Connection.  ``width`` truncates frame bodies in the text.
    """

    def __init__(self, direction: int, peer: Optional[SideInfo] = None, own: Optional[SideInfo] = None,
                 validate: bool = True, width: int = 40) -> None:
        self.direction = direction
        self.peer = peer or SideInfo()
        self.info = SideInfo()
        self.width = width
        self.items: List[Item] = []
        self._buf = bytearray()
        self._consumed = 0  # stream offset of _buf[0]
        self._time: Optional[float] = None
        self._state = "greeting"
        self._zmtp2 = False
        self._parts: List[Tuple[int, bytes]] = []
        self._part_offset = 0
        self._dead = False
        self._decoder = self._new_decoder()
        self._conn: Optional[Connection] = None
        own = own or SideInfo()
        #: True when the core's PLAIN mechanism judges this stream (our own RFC 24 checks then stay quiet)
        self._core_plain = False
        if validate:
            self._conn = self._shadow_connection(own)
            self._core_plain = self._conn is not None and own.mechanism == b"PLAIN"

    # -- the shadows -----------------------------------------------------------------------------------
    def _new_decoder(self) -> FrameDecoder:
        dec = FrameDecoder(max_message_size=-1, command_limit=1 << 63, handshaking=False)
        dec.command_limit = dec.max_frame_size
        if self._zmtp2:
            dec.reserved = 0xFC
        return dec

    def _shadow_connection(self, own: SideInfo) -> Optional[Connection]:
        """A Connection standing where the receiver stands, or None if the core cannot judge this stream."""
        mechanism: Optional[Mechanism] = None
        if own.mechanism == b"PLAIN":
            # stand where the receiver stands: a server (its ZAP decision always 200) or a client
            mechanism = PlainServer(zap=True) if own.sent_hello else PlainClient()
        elif own.mechanism not in (None, b"NULL"):
            return None  # CURVE: encrypted, so checked structurally below
        if own.revision is not None and own.revision >= 3 and self.peer.revision == 1:
            return None  # a 3.x peer downgraded to 2.0 framing after byte 11: no core state models that
        receiver = self.peer.socket_type
        if receiver is None or receiver.upper() not in COMPATIBLE:
            sender = (own.socket_type or "").upper()
            receiver = sorted(COMPATIBLE[sender])[0] if sender in COMPATIBLE else "PAIR"
        try:
            return Connection(receiver.upper(), minor_version=1 if self.peer.minor != 0 else 0, handshake_ivl=0,
                              mechanism=mechanism)
        except ProtocolError:
            return None

    def _judge(self, raw: bytes) -> Optional[str]:
        """Feed an item's bytes to the shadow Connection; its sentence if it rejects them."""
        if self._conn is None:
            return None
        try:
            events = self._conn.receive_data(bytes(raw), 0.0)
            if any(isinstance(ev, AuthenticationRequested) for ev in events):
                self._conn.authentication_result(b"200")  # judge the protocol, not the credentials
        except RemoteProtocolError as e:
            self._conn = None
            return e.message
        return None

    # -- output ----------------------------------------------------------------------------------------
    def _emit(self, offset: int, kind: str, text: str, **fields: Any) -> None:
        self.items.append(Item(self.direction, offset, self._time, kind, text, fields))

    def _violation(self, offset: int, message: str, source: str = "core") -> None:
        for it in self.items[-3:]:
            if it.kind == "violation" and it.text == message:
                return
        self._emit(offset, "violation", message, source=source)

    # -- input -----------------------------------------------------------------------------------------
    def feed(self, data: bytes, t: Optional[float] = None) -> None:
        """Consume the next bytes of the stream (captured at time ``t``)."""
        if self._dead or not data:
            return
        self._time = t
        self._buf += data
        while not self._dead and self._step():
            pass

    def _take(self, n: int) -> Tuple[int, bytes]:
        raw = bytes(self._buf[:n])
        del self._buf[:n]
        offset = self._consumed
        self._consumed += n
        return offset, raw

    def _stop(self, offset: int, why: str) -> None:
        self._dead = True
        self._emit(offset, "note", why)

    def _step(self) -> bool:
        """Parse one item if its bytes are all here; False when more are needed."""
        if self._state == "greeting":
            return self._step_greeting()
        return self._step_frame()

    def _step_greeting(self) -> bool:
        buf = self._buf
        try:
            check_greeting_prefix(bytes(buf[:11]), allow_zmtp2=True)
        except RemoteProtocolError as e:
            self._judge(bytes(buf))
            self._violation(self._consumed, e.message)
            self._stop(self._consumed, "cannot dissect further: not a ZMTP 2.0/3.x stream")
            return False
        if len(buf) < 11:
            return False
        revision = buf[10]
        self.info.revision = revision
        if revision == 1 or self.peer.revision == 1:
            return self._step_zmtp2_greeting()
        if len(buf) < 64:
            return False
        offset, raw = self._take(64)
        sentence = self._judge(raw)
        try:
            g = parse_greeting(raw)
        except RemoteProtocolError as e:
            self._violation(offset, e.message)
            self._stop(offset, "cannot dissect further: the greeting is malformed")
            return False
        self.info.minor = g.minor
        self.info.mechanism = g.mechanism
        mech = g.mechanism.decode("ascii", "replace")
        pad = int.from_bytes(raw[1:9], "big")
        # libzmq writes its routing-id length + 1 there (ZMTP 1.0 compatibility); anything larger is odd
        extra = f", signature padding {pad:#x}" if pad > 256 else ""
        self._emit(offset, "greeting", f"greeting: ZMTP {g.major}.{g.minor}, mechanism {mech}, "
                   f"as-server {int(g.as_server)}{extra}", version=[g.major, g.minor], mechanism=mech,
                   as_server=g.as_server)
        if raw[32] > 1:
            self._emit(offset, "note", f"as-server byte is {raw[32]:#04x} (neither 0 nor 1; read as 0)")
        if sentence:
            self._violation(offset, sentence)
        self._state = "frames"
        return True

    def _step_zmtp2_greeting(self) -> bool:
        buf = self._buf
        if len(buf) < 14:
            return False
        if buf[12] != 0:
            offset, raw = self._take(14)
            self._judge(raw)
            self._violation(offset, f"ZMTP 2.0 peer's identity frame has flags {raw[12]:#04x}; "
                            "expected a short final frame")
            self._stop(offset, "cannot dissect further: bad ZMTP 2.0 identity frame")
            return False
        need = 14 + buf[13]
        if len(buf) < need:
            return False
        offset, raw = self._take(need)
        sentence = self._judge(raw)
        type_name = ZMTP2_TYPES.get(raw[11], f"unknown type {raw[11]}")
        self.info.socket_type = type_name if raw[11] in ZMTP2_TYPES else None
        self.info.minor = 0
        self.info.mechanism = b"NULL"
        self._zmtp2 = True
        self._decoder = self._new_decoder()
        who = "ZMTP 2.0 peer" if raw[10] == 1 else f"ZMTP 3.x peer (revision {raw[10]}) downgraded to ZMTP 2.0"
        self._emit(offset, "greeting", f"greeting: {who}, socket type {type_name}, identity "
                   f"{show_bytes(raw[14:], self.width)}", version=[2, 0], socket_type=type_name,
                   identity=raw[14:].hex(), revision=raw[10])
        if sentence:
            self._violation(offset, sentence)
        self._state = "frames"
        return True

    def _step_frame(self) -> bool:
        buf = self._buf
        if len(buf) < 2:
            return False
        flags = buf[0]
        if flags & LONG:
            if len(buf) < 9:
                return False
            size = int.from_bytes(buf[1:9], "big")
            head = 9
        else:
            size = buf[1]
            head = 2
        if len(buf) < head + size:
            return False
        offset, raw = self._take(head + size)
        body = raw[head:]
        sentence = self._judge(raw)
        self._frame_check(offset, raw)
        if sentence:
            self._violation(offset, sentence)
        if flags & COMMAND and not self._zmtp2:
            if self._parts:
                self._flush_parts(incomplete=True)
            self._command(offset, body, flags)
        else:
            if not self._parts:
                self._part_offset = offset
            self._parts.append((flags, body))
            if not flags & MORE:
                self._flush_parts()
        return True

    def _frame_check(self, offset: int, raw: bytes) -> None:
        """Judge one frame's bytes with the core's decoder (which may report its error on the next call)."""
        dec = self._decoder
        try:
            dec.feed(raw)
            while dec.paused and dec.error is None:
                dec.feed(b"")
            error = dec.error
        except RemoteProtocolError as e:
            error = e
        if error is not None:
            self._violation(offset, error.message)
            self._decoder = self._new_decoder()

    # -- messages and commands -------------------------------------------------------------------------
    def _flush_parts(self, incomplete: bool = False) -> None:
        parts = [b for _, b in self._parts]
        offset = self._part_offset
        self._parts = []
        mech = self.info.mechanism or b"NULL"
        if mech == b"CURVE" and len(parts) == 1 and parts[0][:8] == b"\x07MESSAGE":
            self._curve_message(offset, parts[0][8:], "data frame")
            return
        receiver = (self.peer.socket_type or "").upper()
        first = parts[0]
        if receiver in ("PUB", "XPUB") and first and first[0] <= 1 and len(parts) == 1:
            what = "subscribe" if first[0] == 1 else "cancel"
            self._emit(offset, "subscription", f"{what} {show_bytes(first[1:], self.width)} (data-message form)",
                       topic=first[1:].hex())
            return
        total = sum(len(p) for p in parts)
        shown = " | ".join(f"[{i}] {len(p)} B {show_bytes(p, self.width)}" for i, p in enumerate(parts))
        label = "message (incomplete: no final frame)" if incomplete else "message"
        plural = "s" if len(parts) != 1 else ""
        nbytes = f"{total} byte{'s' if total != 1 else ''}"
        self._emit(offset, "message", f"{label}: {len(parts)} frame{plural}, {nbytes}: {shown}",
                   frames=[p.hex() for p in parts], sizes=[len(p) for p in parts])

    def _command(self, offset: int, body: bytes, flags: int) -> None:
        try:
            name, data = split_command(body)
        except RemoteProtocolError as e:
            self._violation(offset, e.message)
            return
        nm = name.decode("ascii", "replace")
        mech = self.info.mechanism or b"NULL"
        fields: Dict[str, Any] = {"name": nm, "size": len(body)}
        if flags & MORE:
            self._emit(offset, "note", f"command {nm} has the MORE flag set")
        if name == b"READY":
            if mech == b"CURVE":
                self._curve_box(offset, nm, data, fixed=0, nonce=8, min_box=16)
                return
            self._metadata(offset, nm, data, fields)
        elif name == b"ERROR":
            reason = decode_error(data)
            self._emit(offset, "command", f"ERROR reason {reason!r}", reason=reason, **fields)
        elif name in (b"SUBSCRIBE", b"CANCEL"):
            self._emit(offset, "subscription", f"{nm} {show_bytes(data, self.width)}", topic=data.hex(), **fields)
        elif name == b"PING":
            try:
                ttl, context = decode_ping(data)
            except RemoteProtocolError as e:
                self._violation(offset, e.message)
                return
            extra = f" (context of {len(data) - 2} bytes, over the 16-byte limit)" if len(data) > 18 else ""
            self._emit(offset, "heartbeat", f"PING ttl {ttl / 10:g} s, context {show_bytes(context, self.width)}"
                       + extra, ttl=ttl / 10, context=context.hex(), **fields)
        elif name == b"PONG":
            self._emit(offset, "heartbeat", f"PONG context {show_bytes(data, self.width)}", context=data.hex(),
                       **fields)
        elif name == b"HELLO":
            self.info.sent_hello = True
            self._hello(offset, data, mech, fields)
        elif name == b"WELCOME":
            if mech == b"CURVE":
                self._curve_box(offset, nm, data, fixed=0, nonce=16, exact_box=144)
            else:
                if data and not self._core_plain:
                    self._violation(offset, f"peer's PLAIN WELCOME carries {len(data)} bytes; RFC 24 says it "
                                    "is empty", "rfc24")
                self._emit(offset, "command", "WELCOME", **fields)
        elif name == b"INITIATE":
            if mech == b"CURVE":
                self._curve_box(offset, nm, data, fixed=96, nonce=8, min_box=16 + 128)
            else:
                self._metadata(offset, nm, data, fields)
        elif name == b"MESSAGE" and mech == b"CURVE":
            self._curve_message(offset, data, "command")
        else:
            self._emit(offset, "command", f"command {nm!r} with {len(data)} bytes of data "
                       "(unknown: libzmq ignores it)", **fields)

    def _metadata(self, offset: int, nm: str, data: bytes, fields: Dict[str, Any]) -> None:
        try:
            props = decode_metadata(data, nm)
        except RemoteProtocolError as e:
            self._violation(offset, e.message)
            return
        if nm == "READY" or nm == "INITIATE":
            st = props.get("socket-type")
            if st is not None:
                self.info.socket_type = st.decode("ascii", "replace").upper()
        shown = " ".join(f"{k}={show_bytes(v, self.width)}" for k, v in props.items()) or "(no properties)"
        self._emit(offset, "command", f"{nm} {shown}", metadata={k: v.hex() for k, v in props.items()}, **fields)

    def _hello(self, offset: int, data: bytes, mech: bytes, fields: Dict[str, Any]) -> None:
        if mech == b"PLAIN":
            n = data[0] if data else 0
            user = data[1 : 1 + n]
            rest = data[1 + n :]
            p = rest[0] if rest else 0
            if (not data or len(data) < 1 + n + 1 or len(rest) != 1 + p) and not self._core_plain:
                self._violation(offset, f"peer's PLAIN HELLO of {len(data)} bytes does not hold a username and "
                                "a password with their length bytes (RFC 24)", "rfc24")
            self._emit(offset, "command", f"HELLO username {show_bytes(user, self.width)}, password of "
                       f"{max(p, 0)} bytes", username=user.hex(), password_size=p, **fields)
        elif mech == b"CURVE":
            if len(data) != 194:
                self._violation(offset, f"peer's CURVE HELLO has {len(data)} bytes of data; RFC 26 says 194 "
                                "(version, padding, C', nonce, signature box)", "rfc26")
            version = f"{data[0]}.{data[1]}" if len(data) >= 2 else "?"
            self._emit(offset, "command", f"HELLO CURVE version {version}, client transient key, 8-byte nonce, "
                       f"signature box of {max(len(data) - 114, 0)} bytes", **fields)
        else:
            self._emit(offset, "command", f"HELLO with {len(data)} bytes (unexpected for {mech!r})", **fields)

    def _curve_box(self, offset: int, nm: str, data: bytes, fixed: int, nonce: int, min_box: int = 0,
                   exact_box: Optional[int] = None) -> None:
        box = len(data) - fixed - nonce
        bad = box < min_box if exact_box is None else box != exact_box
        if bad:
            want = f"exactly {exact_box}" if exact_box is not None else f"at least {min_box}"
            self._violation(offset, f"peer's CURVE {nm} has a {box}-byte box; RFC 26 says {want} bytes", "rfc26")
        lead = f"cookie {fixed} bytes, " if fixed else ""
        self._emit(offset, "command", f"{nm} (CURVE) {lead}nonce {nonce} bytes, encrypted box {box} bytes",
                   name=nm, box=box)

    def _curve_message(self, offset: int, data: bytes, carrier: str) -> None:
        box = len(data) - 8
        if box < 17:
            self._violation(offset, f"peer's CURVE MESSAGE has a {box}-byte box; RFC 26 says at least 17", "rfc26")
        self._emit(offset, "message", f"MESSAGE (CURVE, in a {carrier}) nonce 8 bytes, encrypted box {box} bytes",
                   box=box)

    def finish(self) -> List[Item]:
        """The stream ended: say what was left unfinished.  Returns every item."""
        if self._dead:
            return self.items
        end = self._consumed
        if self._state == "greeting":
            if self._buf:
                self._emit(end, "note", f"stream ends inside the greeting ({len(self._buf)} bytes)")
            elif end == 0:
                self._emit(0, "note", "no bytes in this direction")
        elif self._buf:
            buf = self._buf
            if len(buf) >= 2:
                size = int.from_bytes(buf[1:9], "big") if buf[0] & LONG and len(buf) >= 9 else buf[1]
                self._frame_check(end, bytes(buf))
                self._emit(end, "note", f"stream ends inside a frame (flags {buf[0]:#04x}): header announces "
                           f"{size} bytes, {max(len(buf) - (9 if buf[0] & LONG else 2), 0)} present")
            else:
                self._emit(end, "note", "stream ends inside a frame header")
        if self._parts:
            self._flush_parts(incomplete=True)
        return self.items


def dissect_pair(a: List[Tuple[Optional[float], bytes]], b: List[Tuple[Optional[float], bytes]],
                 validate: bool = True, width: int = 40) -> Tuple[List[Item], List[Item]]:
    """Dissect both directions of one connection (chunks of (time, bytes) each).

    Two passes: the first learns each side's revision, version, mechanism and socket type, the
    second dissects each direction knowing the other's (see the module docstring).
    """
    infos = []
    for chunks, peer in ((a, None), (b, None)):
        d = StreamDissector(0, peer, validate=False, width=width)
        for t, data in chunks:
            d.feed(data, t)
        d.finish()
        infos.append(d.info)
    # revision bytes first (they decide the framing), then the rest
    out = []
    for i, chunks in enumerate((a, b)):
        d = StreamDissector(i, infos[1 - i], infos[i], validate=validate, width=width)
        for t, data in chunks:
            d.feed(data, t)
        out.append(d.finish())
    return out[0], out[1]


def dissect_stream(data: bytes, validate: bool = True, width: int = 40) -> List[Item]:
    """Dissect one direction alone (the other side unknown)."""
    return dissect_pair([(None, data)], [], validate=validate, width=width)[0]
