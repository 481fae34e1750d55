"""``zmtp decode``: a readable ZMTP transcript of a capture or of raw/hex byte streams."""

from __future__ import annotations

import argparse
import binascii
import json
import re
import sys
from typing import List, Optional, Tuple

from zmtp.tools.dissect import Item, dissect_pair
from zmtp.tools.pcap import CaptureError, Direction, TcpStream, read_streams

from .peers import CliError

Chunks = List[Tuple[Optional[float], bytes]]


def add_decode_arguments(ap: argparse.ArgumentParser) -> None:
    """The options of ``zmtp decode``."""
    ap.add_argument("files", nargs="+", metavar="FILE",
                    help="a pcap/pcapng capture; with --hex/--raw one or two byte-stream files ('-' = stdin), "
                    "the second being the other direction")
    kind = ap.add_mutually_exclusive_group()
    kind.add_argument("--hex", action="store_true", help="the files are hex dumps of byte streams")
    kind.add_argument("--raw", action="store_true", help="the files are raw byte streams")
    ap.add_argument("--port", type=int, help="only TCP connections with this port")
    ap.add_argument("--connection", type=int, metavar="N", help="only the N-th TCP connection (1-based)")
    ap.add_argument("--width", type=int, default=40, help="characters of each frame body shown (default 40)")
    ap.add_argument("--json", action="store_true", help="one JSON object per line instead of text")
    ap.add_argument("--no-validate", action="store_true", help="do not judge the streams with the core")


def _read_bytes(path: str, hexdump: bool) -> bytes:
    data = sys.stdin.buffer.read() if path == "-" else open(path, "rb").read()
    if not hexdump:
        return data
    text = data.decode("ascii", "replace")
    text = re.sub(r"#[^\n]*", "", text)  # comments
    text = re.sub(r"0x|[\s:,]", "", text)
    try:
        return binascii.unhexlify(text)
    except (binascii.Error, ValueError) as e:
        raise CliError(f"{path}: not a hex dump ({e})") from None


def _chunks(d: Direction) -> Tuple[Chunks, Optional[str]]:
    """The direction's chunks up to its first hole (after one the framing cannot be trusted)."""
    if not d.gaps:
        return [(t, c) for t, c in d.chunks], None
    where, missing = d.gaps[0]
    out: Chunks = []
    pos = 0
    for t, c in d.chunks:
        if pos >= where:
            break
        out.append((t, c[: where - pos]))
        pos += len(c)
    return out, f"the capture lost {missing} bytes at stream offset {where}: dissection stops there"


def _fmt_ep(ep: Tuple[str, int]) -> str:
    host = f"[{ep[0]}]" if ":" in ep[0] else ep[0]
    return f"{host}:{ep[1]}"


def render(items: List[Item], labels: Tuple[str, str], t0: Optional[float]) -> List[str]:
    """Text lines for items (already in display order)."""
    lines = []
    for it in items:
        when = f"{it.time - t0:10.6f} " if it.time is not None and t0 is not None else ""
        mark = "!! VIOLATION: " if it.kind == "violation" else "-- " if it.kind == "note" else ""
        lines.append(f"  {when}{labels[it.direction]} {mark}{it.text}")
    return lines


def _merge(a: List[Item], b: List[Item]) -> List[Item]:
    if all(i.time is not None for i in a + b):
        # stable: within equal times keep each direction's order, A first
        return sorted(a + b, key=lambda i: (i.time or 0.0, i.direction))
    return a + b


def decode_streams(a: Chunks, b: Chunks, args: argparse.Namespace) -> Tuple[List[Item], List[Item]]:
    """Dissect both directions with the command's options."""
    return dissect_pair(a, b, validate=not args.no_validate, width=args.width)


def run_decode(args: argparse.Namespace) -> int:
    """Print the transcript; exit status 1 when a violation was flagged."""
    out = sys.stdout
    violations = 0
    if args.hex or args.raw:
        if len(args.files) > 2:
            raise CliError("give one byte-stream file, or two (one per direction)")
        datas = [_read_bytes(p, args.hex) for p in args.files]
        a: Chunks = [(None, datas[0])]
        b: Chunks = [(None, datas[1])] if len(datas) > 1 else []
        ia, ib = decode_streams(a, b, args)
        items = ia + (ib if b else [])
        violations = sum(i.kind == "violation" for i in items)
        if args.json:
            for it in items:
                out.write(json.dumps(it.to_json()) + "\n")
        else:
            names = args.files + ["(none)"]
            out.write(f"stream A: {names[0]}" + (f"   stream B: {names[1]}" if b else "") + "\n")
            out.write("\n".join(render(items, ("A>B", "B>A"), None)) + "\n")
    else:
        if len(args.files) != 1:
            raise CliError("give one capture file (or --hex/--raw for byte streams)")
        try:
            streams: List[TcpStream] = read_streams(args.files[0], args.port)
        except (OSError, CaptureError) as e:
            raise CliError(f"{args.files[0]}: {e}") from None
        if args.connection is not None:
            streams = [s for s in streams if s.index == args.connection]
        if not streams:
            out.write("no TCP connections in the capture" + (f" on port {args.port}" if args.port else "") + "\n")
        for s in streams:
            ca, gap_a = _chunks(s.client)
            cb, gap_b = _chunks(s.server)
            ia, ib = decode_streams(ca, cb, args)
            items = _merge(ia, ib)
            violations += sum(i.kind == "violation" for i in items)
            if args.json:
                for it in items:
                    rec = it.to_json()
                    rec["connection"] = s.index
                    out.write(json.dumps(rec) + "\n")
                continue
            out.write(f"connection {s.index}: client {_fmt_ep(s.client.src)} -> server {_fmt_ep(s.server.src)}"
                      f", {len(s.client.data)} + {len(s.server.data)} bytes\n")
            notes = []
            for name, d, gap in (("C>S", s.client, gap_a), ("S>C", s.server, gap_b)):
                if d.retransmitted or d.out_of_order:
                    notes.append(f"{name}: {d.retransmitted} retransmitted, {d.out_of_order} out-of-order "
                                 "segments (reassembled)")
                if gap:
                    notes.append(f"{name}: {gap}")
            for n in notes:
                out.write(f"  -- {n}\n")
            out.write("\n".join(render(items, ("C>S", "S>C"), s.start)) + "\n")
            closing = [f"{n} {'RST' if d.rst else 'FIN'}" for n, d in (("C>S", s.client), ("S>C", s.server))
                       if d.rst or d.fin]
            if closing:
                out.write(f"  -- closed: {', '.join(closing)}\n")
            out.write("\n")
    out.flush()
    return 1 if violations else 0
