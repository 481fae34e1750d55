"""Mutators: each turns a seeded random generator into one test case aimed at one layer of ZMTP.

A case is a list of byte chunks (each written with its own ``send``) plus how to deliver them: slowly,
half-closed, held open while the target is probed, repeated over many connections, ended with a reset.
Every case is a pure function of ``(seed, index, target type)``, so ``--seed S --case I`` replays it.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from . import grammar as g

#: Targets that cannot answer the probe while another peer holds a finished handshake: PAIR takes one
#: peer at a time (libzmq's pair_t drops a second pipe), and a DEALER echo goes round-robin to any peer.
EXCLUSIVE = frozenset({"PAIR", "CHANNEL", "DEALER"})

#: Sizes at the edges of every length field ZMTP has.
EDGE_SIZES = [0, 1, 254, 255, 256, 257, 65535, 65536, (1 << 31) - 1, 1 << 31, (1 << 32) - 1, 1 << 32,
              (1 << 62), (1 << 63) - 1, (1 << 63), (1 << 64) - 1]


@dataclass
class Case:
    """One fuzz case: what to send and how."""

    mutator: str
    description: str
    chunks: List[bytes]
    delay: float = 0.0  # seconds between chunks (slow sends)
    half_close: bool = False  # shutdown(SHUT_WR) after the last chunk
    hold: bool = False  # keep the connection open while the target is probed (half-open)
    connections: int = 1  # connection churn: deliver the case on this many connections in a row
    abort: bool = False  # end with a TCP reset (SO_LINGER 0) instead of a FIN
    expect_echo: bool = False  # a valid session: the target must answer it like the probe
    #: Before sending chunk ``sync_at`` wait for the target's side of the handshake (libzmq rejects data
    #: that arrives before it has sent its own READY: see the report in the fuzzer's documentation).
    sync_at: Optional[int] = None

    @property
    def data(self) -> bytes:
        return b"".join(self.chunks)

    def to_json(self) -> Dict[str, Any]:
        d = asdict(self)
        d["chunks"] = [c.hex() for c in self.chunks]
        return d

    @classmethod
    def from_json(cls, d: Dict[str, Any]) -> Case:
        d = dict(d)
        d["chunks"] = [bytes.fromhex(c) for c in d["chunks"]]
        return cls(**d)

    def with_chunks(self, chunks: List[bytes]) -> Case:
        return Case(**{**asdict(self), "chunks": chunks})


#: (random generator, target socket type, target speaks ZMTP 2.0) -> case
Mutator = Callable[[random.Random, str, bool], Case]


def _ours(target: str) -> str:
    return g.PEER_ROLE.get(target.upper(), ("PAIR", [], False))[0]


def _probe_msg(target: str) -> List[bytes]:
    return g.PEER_ROLE.get(target.upper(), ("PAIR", [b"probe"], False))[1] or [b"x"]


def _valid_head(rng: random.Random, target: str) -> List[bytes]:
    minor = rng.choice([0, 1, 1])
    return [g.greeting(minor), g.ready(_ours(target), b"" if _ours(target) in ("REQ", "DEALER") else None)]


def _rand_bytes(rng: random.Random, n: int) -> bytes:
    return bytes(rng.getrandbits(8) for _ in range(n))


# -- greeting layer ----------------------------------------------------------------------------------------

def m_signature(rng: random.Random, target: str, zmtp2: bool = False) -> Case:
    sig = bytearray(g.greeting()[:10])
    what = rng.choice(["flip", "first", "last", "zmtp1", "padding"])
    if what == "flip":
        i = rng.randrange(10)
        sig[i] ^= 1 << rng.randrange(8)
    elif what == "first":
        sig[0] = rng.choice([0x00, 0x01, 0xFE, 0x7F])
    elif what == "last":
        sig[9] = rng.choice([0x00, 0x7E, 0xFF, 0x01])
    elif what == "zmtp1":  # a ZMTP 1.0 peer: length, flags, identity
        sig = bytearray(b"\x01\x00")
    else:
        sig[1:9] = _rand_bytes(rng, 8)
    rest = g.greeting()[10:]
    return Case("signature", f"signature {what}: {bytes(sig).hex()}", [bytes(sig), rest] + _valid_head(rng, target)[1:])


def m_version(rng: random.Random, target: str, zmtp2: bool = False) -> Case:
    major = rng.choice([0, 1, 2, 3, 4, 255])
    minor = rng.choice([0, 1, 2, 9, 255])
    gr = bytearray(g.greeting())
    gr[10], gr[11] = major, minor
    return Case("version", f"version {major}.{minor}", [bytes(gr)] + _valid_head(rng, target)[1:])


def m_mechanism(rng: random.Random, target: str, zmtp2: bool = False) -> Case:
    names = [b"", b"null", b"PLAIN", b"CURVE", b"GSSAPI", b"NULL\x00X", b"NU LL", b"\xff" * 20, b"N" * 20,
             _rand_bytes(rng, rng.randrange(1, 21))]
    mech = rng.choice(names)
    gr = bytearray(g.greeting())
    gr[12:32] = mech[:20].ljust(20, b"\x00")
    return Case("mechanism", f"mechanism {mech!r}", [bytes(gr)] + _valid_head(rng, target)[1:])


def m_as_server(rng: random.Random, target: str, zmtp2: bool = False) -> Case:
    gr = bytearray(g.greeting())
    gr[32] = rng.choice([1, 2, 0x7F, 0xFF])
    if rng.random() < 0.5:
        gr[33:64] = _rand_bytes(rng, 31)  # filler garbage too
    return Case("as-server", f"as-server {gr[32]:#x}, filler {gr[33:64].hex()[:16]}",
                [bytes(gr)] + _valid_head(rng, target)[1:])


def m_zmtp2(rng: random.Random, target: str, zmtp2: bool = False) -> Case:
    kind = rng.choice(["valid", "bad-type", "bad-identity-flags", "long-identity", "v3-then-v2"])
    if kind == "valid":
        chunks = [g.zmtp2_greeting(rng.randrange(9)), g.frame(b"\x00probe")]
    elif kind == "bad-type":
        chunks = [g.zmtp2_greeting(rng.choice([11, 99, 255]))]
    elif kind == "bad-identity-flags":
        gr = bytearray(g.zmtp2_greeting(5, b"id"))
        gr[12] = rng.choice([1, 2, 4, 0xFF])
        chunks = [bytes(gr)]
    elif kind == "long-identity":
        chunks = [b"\xff" + bytes(8) + b"\x7f\x01\x05\x02" + (1 << 40).to_bytes(8, "big")]
    else:
        chunks = [g.greeting()[:11], bytes((5, 0, 0)), g.frame(b"hi")]
    return Case("zmtp2", f"ZMTP 2.0 {kind}", chunks)


# -- handshake layer -----------------------------------------------------------------------------------

def m_ready_metadata(rng: random.Random, target: str, zmtp2: bool = False) -> Case:
    ours = _ours(target).encode()
    kind = rng.choice(["name-len-zero", "name-len-over", "value-len-over", "value-len-huge", "truncated",
                       "no-socket-type", "wrong-socket-type", "long-identity", "non-ascii-name",
                       "many-properties", "duplicate", "lowercase", "huge-value"])
    st = b"\x0bSocket-Type" + len(ours).to_bytes(4, "big") + ours
    if kind == "name-len-zero":
        body = st + b"\x00\x00\x00\x00\x00"
    elif kind == "name-len-over":
        body = st + bytes((rng.choice([5, 200, 255]),)) + b"abc"
    elif kind == "value-len-over":
        body = b"\x0bSocket-Type" + (len(ours) + rng.choice([1, 2, 100])).to_bytes(4, "big") + ours
    elif kind == "value-len-huge":
        body = st + b"\x04Name" + rng.choice([(1 << 31) - 1, 1 << 31, (1 << 32) - 1]).to_bytes(4, "big") + b"x"
    elif kind == "truncated":
        body = st[: rng.randrange(1, len(st))]
    elif kind == "no-socket-type":
        body = b"\x08Identity\x00\x00\x00\x00"
    elif kind == "wrong-socket-type":
        other = rng.choice([b"PUB", b"PUSH", b"GARBAGE", b"", b"rep", b"\xff\xfe"])
        body = b"\x0bSocket-Type" + len(other).to_bytes(4, "big") + other
    elif kind == "long-identity":
        ident = b"i" * rng.choice([256, 1000, 65536])
        body = st + b"\x08Identity" + len(ident).to_bytes(4, "big") + ident
    elif kind == "non-ascii-name":
        body = st + b"\x04\xff\xfe\x00\x80" + b"\x00\x00\x00\x01x"
    elif kind == "many-properties":
        body = st + b"".join(bytes((5,)) + b"X-%03d" % i + b"\x00\x00\x00\x01v" for i in range(rng.choice([100, 3000])))
    elif kind == "duplicate":
        body = st + b"\x0bSocket-Type\x00\x00\x00\x03PUB"
    elif kind == "lowercase":
        body = b"\x0bsocket-type" + len(ours).to_bytes(4, "big") + ours
    else:
        body = st + b"\x05X-Big" + (200000).to_bytes(4, "big") + bytes(200000)
    chunks = [g.greeting(rng.choice([0, 1])), g.command(b"READY", body)] + [g.message(_probe_msg(target))]
    return Case("ready-metadata", f"READY {kind}", chunks)


def m_command_name(rng: random.Random, target: str, zmtp2: bool = False) -> Case:
    kind = rng.choice(["name-len-zero", "name-len-over", "empty-command", "unknown", "error-first", "ping-first",
                       "ready-twice", "subscribe-first", "long-name", "misspelled-error", "hello-null"])
    head = [g.greeting()]
    ready = g.ready(_ours(target), b"" if _ours(target) in ("REQ", "DEALER") else None)
    if kind == "name-len-zero":
        cmds = [g.frame(b"\x00READY", g.COMMAND)]
    elif kind == "name-len-over":
        cmds = [g.frame(bytes((rng.choice([6, 50, 255]),)) + b"READY", g.COMMAND)]
    elif kind == "empty-command":
        cmds = [g.frame(b"", g.COMMAND)]
    elif kind == "unknown":
        cmds = [g.command(_rand_bytes(rng, rng.randrange(1, 12)), _rand_bytes(rng, rng.randrange(20))), ready]
    elif kind == "error-first":
        cmds = [g.command(b"ERROR", b"\x05oops!"), ready]
    elif kind == "ping-first":
        cmds = [g.ping(10, b"ctx"), ready]
    elif kind == "ready-twice":
        cmds = [ready, ready]
    elif kind == "subscribe-first":
        cmds = [g.command(b"SUBSCRIBE", b"topic"), ready]
    elif kind == "long-name":
        cmds = [g.frame(b"\xff" + b"R" * 255, g.COMMAND), ready]
    elif kind == "misspelled-error":
        cmds = [g.frame(b"^RROR\x03bad", g.COMMAND)]
    else:
        cmds = [g.command(b"HELLO", b"\x05admin\x05secret"), ready]
    return Case("command-name", f"command {kind}", head + cmds + [g.message(_probe_msg(target))])


# -- framing layer -------------------------------------------------------------------------------------

def m_frame_flags(rng: random.Random, target: str, zmtp2: bool = False) -> Case:
    flags = rng.choice([0x08, 0x10, 0x80, 0xF8, 0xFF, 0x05, 0x07, 0x0C])
    where = rng.choice(["handshake", "established"])
    bad = bytes((flags & ~g.LONG & 0xFF, 5)) + b"hello" if not flags & g.LONG else bytes((flags,)) + \
        (5).to_bytes(8, "big") + b"hello"
    chunks = [g.greeting(), bad] if where == "handshake" else _valid_head(rng, target) + [bad]
    return Case("frame-flags", f"flags {flags:#04x} during the {where}", chunks + [g.message(_probe_msg(target))])


def m_frame_size(rng: random.Random, target: str, zmtp2: bool = False) -> Case:
    size = rng.choice(EDGE_SIZES)
    kind = rng.choice(["data", "command", "long-small", "before-handshake", "more-then-huge"])
    if kind == "data":
        f = bytes((g.LONG,)) + (size & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big") + b"x" * rng.randrange(64)
        chunks = _valid_head(rng, target) + [f]
    elif kind == "command":
        f = bytes((g.LONG | g.COMMAND,)) + (size & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big") + b"\x04PING"
        chunks = _valid_head(rng, target) + [f]
    elif kind == "long-small":  # LONG flag on a short frame: legal, libzmq accepts it
        head = g.session(target, 1, messages=0, zmtp2=zmtp2)
        chunks = head + [b"".join(g.frame(p, g.MORE if i < len(_probe_msg(target)) - 1
                                                              else 0, long=True)
                                                      for i, p in enumerate(_probe_msg(target)))]
        return Case("frame-size", "LONG flag on short frames (valid)", chunks, expect_echo=True,
                    sync_at=len(head))
    elif kind == "before-handshake":
        chunks = [g.greeting(), bytes((g.LONG,)) + (size & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")]
    else:
        chunks = _valid_head(rng, target) + [g.frame(b"a", g.MORE),
                                             bytes((g.LONG,)) + (size & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")]
    return Case("frame-size", f"{kind} frame announcing {size} bytes", chunks)


def m_post_handshake(rng: random.Random, target: str, zmtp2: bool = False) -> Case:
    kind = rng.choice(["ping-big-context", "ping-short", "pong", "subscribe", "cancel", "error", "unknown",
                       "empty-message", "command-mid-message", "many-frames", "garbage"])
    if kind == "ping-big-context":
        extra = [g.ping(rng.choice([0, 1, 0xFFFF]), _rand_bytes(rng, rng.choice([17, 255, 1000])))]
    elif kind == "ping-short":
        extra = [g.command(b"PING", b"\x01")]
    elif kind == "pong":
        extra = [g.command(b"PONG", b"unasked")]
    elif kind == "subscribe":
        extra = [g.command(b"SUBSCRIBE", _rand_bytes(rng, rng.randrange(40)))]
    elif kind == "cancel":
        extra = [g.command(b"CANCEL", b"never-subscribed")]
    elif kind == "error":
        extra = [g.command(b"ERROR", bytes((rng.choice([0, 5, 255]),)) + b"reason")]
    elif kind == "unknown":
        extra = [g.command(b"X-" + _rand_bytes(rng, 4), _rand_bytes(rng, 30))]
    elif kind == "empty-message":
        extra = [g.message([b""])]
    elif kind == "command-mid-message":
        extra = [g.frame(b"part", g.MORE), g.ping(), g.frame(b"end")]
    elif kind == "many-frames":
        extra = [g.frame(b"", g.MORE) * rng.choice([1000, 20000]) + g.frame(b"")]
    else:
        extra = [_rand_bytes(rng, rng.randrange(1, 200))]
    return Case("post-handshake", f"after the handshake: {kind}",
                _valid_head(rng, target) + extra + [g.message(_probe_msg(target))])


# -- delivery ------------------------------------------------------------------------------------------

def m_truncate(rng: random.Random, target: str, zmtp2: bool = False) -> Case:
    data = b"".join(g.session(target, rng.choice([0, 1]), messages=2))
    cut = rng.randrange(1, len(data))
    how = rng.choice(["close", "reset"] if target in EXCLUSIVE else ["close", "reset", "hold"])
    return Case("truncate", f"valid session cut at byte {cut} of {len(data)}, then {how}", [data[:cut]],
                abort=how == "reset", hold=how == "hold")


def _split_session(target: str, minor: int, cut: Callable[[bytes], List[bytes]],
                   zmtp2: bool = False) -> Tuple[List[bytes], int]:
    """A valid session cut into chunks, handshake and messages separately; (chunks, index of 1st message)."""
    parts = g.session(target, minor, zmtp2=zmtp2)
    head = cut(b"".join(parts[:2]))
    return head + cut(b"".join(parts[2:])), len(head)


def m_split(rng: random.Random, target: str, zmtp2: bool = False) -> Case:
    if rng.random() < 0.5:
        chunks, sync = _split_session(target, rng.choice([0, 1]), lambda d: [d[i : i + 1] for i in range(len(d))],
                                      zmtp2)
        desc = "valid session, one byte per send"
    else:
        def cut(d: bytes) -> List[bytes]:
            if len(d) < 2:
                return [d] if d else []
            cuts = sorted(rng.sample(range(1, len(d)), min(len(d) - 1, rng.randrange(1, 5))))
            return [d[a:b] for a, b in zip([0] + cuts, cuts + [len(d)])]

        chunks, sync = _split_session(target, rng.choice([0, 1]), cut, zmtp2)
        desc = f"valid session in {len(chunks)} pieces of {[len(c) for c in chunks]} bytes"
    return Case("split", desc, chunks, delay=rng.choice([0.0, 0.001]), expect_echo=True, sync_at=sync)


def m_slow(rng: random.Random, target: str, zmtp2: bool = False) -> Case:
    step = rng.choice([1, 4, 16])
    chunks, sync = _split_session(target, 1, lambda d: [d[i : i + step] for i in range(0, len(d), step)], zmtp2)
    return Case("slow", f"valid session, {step} bytes every 20 ms", chunks, delay=0.02, expect_echo=True,
                sync_at=sync)


def m_flood(rng: random.Random, target: str, zmtp2: bool = False) -> Case:
    kind = rng.choice(["messages", "pings", "subscriptions", "garbage-greetings"])
    n = rng.choice([1000, 10000])
    if kind == "messages":
        body = g.message(_probe_msg(target)) * n
    elif kind == "pings":
        body = g.ping(1, b"c") * n
    elif kind == "subscriptions":
        body = g.command(b"SUBSCRIBE", b"t") * n
    else:
        return Case("flood", "garbage greetings on 50 connections", [_rand_bytes(rng, 64)], connections=50)
    return Case("flood", f"{n} {kind} without reading the answers", _valid_head(rng, target) + [body],
                half_close=rng.random() < 0.5)


def m_half_open(rng: random.Random, target: str, zmtp2: bool = False) -> Case:
    kinds = ["silent", "partial-greeting", "greeting-only", "handshake-only"]
    if target in EXCLUSIVE:
        kinds.pop()  # a held handshake would rightly keep the probe's answer away (see EXCLUSIVE)
    kind = rng.choice(kinds)
    chunks = {"silent": [], "partial-greeting": [g.greeting()[: rng.randrange(1, 64)]],
              "greeting-only": [g.greeting()], "handshake-only": _valid_head(rng, target)}[kind]
    return Case("half-open", f"{kind} connection held open during the probe", chunks, hold=True,
                half_close=rng.random() < 0.3)


def m_trickle(rng: random.Random, target: str, zmtp2: bool = False) -> Case:
    """A large frame whose body arrives one byte per segment, held open while the target is checked: its
    memory must follow the bytes that arrived, not the number of reads."""
    head = g.session(target, 1, messages=0, zmtp2=zmtp2)
    size = rng.choice([1 << 16, 1 << 17, 1 << 20])
    n = rng.choice([300, 1200])
    first = g.frame(b"t" * 4096, 0, long=True, size=size)
    return Case("trickle", f"a {size}-byte frame, then {n} body bytes one per send", head + [first] +
                [b"t"] * n, delay=0.001, hold=target not in EXCLUSIVE, sync_at=len(head))


def m_churn(rng: random.Random, target: str, zmtp2: bool = False) -> Case:
    n = rng.choice([20, 100])
    kind = rng.choice(["connect-close", "reset", "mid-greeting", "full-session"])
    chunks = {"connect-close": [], "reset": [], "mid-greeting": [g.greeting()[:20]],
              "full-session": g.session(target, 1)}[kind]
    return Case("churn", f"{n} connections: {kind}", chunks, connections=n, abort=kind == "reset")


def m_havoc(rng: random.Random, target: str, zmtp2: bool = False) -> Case:
    data = bytearray(b"".join(g.session(target, rng.choice([0, 1]), messages=2)))
    ops = []
    for _ in range(rng.randrange(1, 6)):
        op = rng.choice(["flip", "set", "insert", "delete", "dup"])
        i = rng.randrange(len(data))
        if op == "flip":
            data[i] ^= 1 << rng.randrange(8)
        elif op == "set":
            data[i] = rng.choice([0, 1, 0x7F, 0x80, 0xFF])
        elif op == "insert":
            data[i:i] = _rand_bytes(rng, rng.randrange(1, 9))
        elif op == "delete":
            del data[i : i + rng.randrange(1, 9)]
        else:
            j = min(len(data), i + rng.randrange(1, 32))
            data[j:j] = data[i:j]
        ops.append(f"{op}@{i}")
    return Case("havoc", "random edits of a valid session: " + ", ".join(ops), [bytes(data)])


MUTATORS: Dict[str, Mutator] = {
    "signature": m_signature,
    "version": m_version,
    "mechanism": m_mechanism,
    "as-server": m_as_server,
    "zmtp2": m_zmtp2,
    "ready-metadata": m_ready_metadata,
    "command-name": m_command_name,
    "frame-flags": m_frame_flags,
    "frame-size": m_frame_size,
    "post-handshake": m_post_handshake,
    "truncate": m_truncate,
    "split": m_split,
    "slow": m_slow,
    "flood": m_flood,
    "half-open": m_half_open,
    "trickle": m_trickle,
    "churn": m_churn,
    "havoc": m_havoc,
}


def make_case(seed: int, index: int, target_type: str, mutators: Optional[Sequence[str]] = None,
              zmtp2: bool = False) -> Case:
    """Case number ``index`` of the run with ``seed``: the same inputs always give the same case.

    ``zmtp2``: the target speaks ZMTP 2.0 (its valid sessions are then ZMTP 2.0 sessions).
    """
    rng = random.Random(f"zmtp-fuzz:{seed}:{index}")
    names = sorted(mutators) if mutators else sorted(MUTATORS)
    name = rng.choice(names)
    return MUTATORS[name](rng, target_type.upper(), zmtp2)
