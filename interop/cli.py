"""``python -m interop``: run the matrix and print the grid."""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import List, Optional, Sequence

from .local import impl_version, load_impl, supports_zmtp_version
from .matrix import ALL_PATTERNS as PATTERNS
from .matrix import BINDERS, FAIL, MECHANISMS, REVISIONS, TRANSPORTS, Result, all_cells, prepare, run_cells
from .peers import discover
from .report import Progress, json_report, markdown_report, text_report

QUICK_PATTERNS = ("REQ-ROUTER", "DEALER-ROUTER", "PUSH-PULL", "XPUB-SUB")


def _csv(value: str) -> List[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    names = ", ".join(p.name for p in PATTERNS)
    ap = argparse.ArgumentParser(prog="python -m interop", description=__doc__)
    ap.add_argument("--impl", default="zmtp", help="module in the zmtp seat (default zmtp; 'zmq' = pyzmq)")
    ap.add_argument("--peers", type=_csv, help="comma-separated peer names (default: all)")
    ap.add_argument("--patterns", type=_csv, help=f"comma-separated pattern pairs among: {names}")
    ap.add_argument("--transports", type=_csv, default=list(TRANSPORTS),
                    help="tcp,ipc,udp (udp: RADIO-DISH only)")
    ap.add_argument("--revisions", type=_csv, default=list(REVISIONS), help="3.1,3.0")
    ap.add_argument("--binders", type=_csv, default=list(BINDERS), help="zmtp,peer")
    ap.add_argument("--mechanisms", type=_csv, default=list(MECHANISMS), help="NULL,PLAIN,CURVE,ZAP")
    ap.add_argument("--quick", action="store_true",
                    help=f"small subset: {', '.join(QUICK_PATTERNS)} over tcp")
    ap.add_argument("--jobs", "-j", type=int, default=2, help="cells run in parallel (default 2)")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    ap.add_argument("--markdown", metavar="FILE", help="also write the results as Markdown")
    ap.add_argument("--list-peers", action="store_true", help="list peers and their availability")
    ap.add_argument("-v", "--verbose", action="store_true", help="print each cell as it finishes")
    return ap.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    peers = discover()
    if args.list_peers:
        for p in peers:
            reason = p.availability()
            print(f"{p.name:<16} {'available' if reason is None else 'unavailable: ' + reason}"
                  f"  -- {p.description}")
        return 0
    if args.peers:
        unknown = set(args.peers) - {p.name for p in peers}
        if unknown:
            print(f"unknown peer(s): {', '.join(sorted(unknown))}; have {', '.join(p.name for p in peers)}",
                  file=sys.stderr)
            return 2
        peers = [p for p in peers if p.name in args.peers]
    patterns = args.patterns
    transports = args.transports
    if args.quick:
        patterns = patterns or list(QUICK_PATTERNS)
        transports = ["tcp"]
    if patterns:
        known = {p.name for p in PATTERNS}
        bad = [p for p in patterns if p not in known]
        if bad:
            print(f"unknown pattern(s): {', '.join(bad)}; have {', '.join(sorted(known))}", file=sys.stderr)
            return 2
    try:
        impl = load_impl(args.impl)
        has_ver = supports_zmtp_version(impl)
    except Exception as e:
        print(f"cannot use {args.impl!r} in the zmtp seat: {type(e).__name__}: {e}", file=sys.stderr)
        print("0 passed, 1 failed")
        return 2
    impl_desc = impl_version(impl)
    for out_path in (args.json, args.markdown):
        if out_path:  # before the run, not after six minutes of it
            os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    t0 = time.monotonic()
    env = prepare(impl, peers, has_ver)
    cells = all_cells(peers, patterns, transports, args.revisions, args.binders, args.mechanisms)

    done = [0]
    live = Progress(cells, sys.stdout)

    def progress(r: Result) -> None:
        done[0] += 1
        if args.verbose:
            mark = {"pass": "ok", "fail": "FAIL"}.get(r.status, r.status)
            print(f"[{done[0]}/{len(cells)}] {mark:<11} {r.seconds:5.2f}s {r.cell.describe()}"
                  + (f"\n      {r.reason}" if r.status == FAIL else ""), file=sys.stderr, flush=True)
        live.update(r)

    results = run_cells(env, cells, jobs=args.jobs, progress=progress)
    live.close()
    text = text_report(env, results, impl_desc)
    print(text.replace("\n(", f"\n(ran {len(cells)} cells in {time.monotonic() - t0:.0f}s; ", 1))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            f.write(json_report(env, results, impl_desc))
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(markdown_report(env, results, impl_desc))
    return 1 if any(r.status == FAIL for r in results) else 0
