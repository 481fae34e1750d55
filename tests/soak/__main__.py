"""``python -m tests.soak``: run the fault and soak rows against zmtp and libzmq 4.3.5 and print the table.

    python -m tests.soak                  # the issue's shapes at the "slow" scale (a few minutes)
    python -m tests.soak --scale full     # the issue's own sizes (1 GiB messages, 86,000 connections ...)
    python -m tests.soak --rows 2,9,14    # some rows only
    python -m tests.soak --json out.json  # also write every figure as JSON

Run from the repository root (it imports this checkout's zmtp).  Exits 1 when zmtp is worse than libzmq
on a row or fails its own checks.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Dict, List

from .core import SCALES, Figure, table
from .rows import ALL, BY_KEY, LIBZMQ, ZMTP


def main(argv: List[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.soak", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", choices=sorted(SCALES), default="slow")
    ap.add_argument("--rows", default="", help="comma-separated row keys (default: all)")
    ap.add_argument("--zmtp-only", action="store_true", help="skip the libzmq measurements")
    ap.add_argument("--json", default="", help="write the figures to this file")
    args = ap.parse_args(argv)
    scale = SCALES[args.scale]
    rows = [BY_KEY[k] for k in args.rows.split(",")] if args.rows else ALL
    results: Dict[str, Dict[str, Figure]] = {}
    failed = False
    t_all = time.monotonic()
    for row in rows:
        impls = [ZMTP] if args.zmtp_only else [ZMTP, LIBZMQ]
        figs: Dict[str, Figure] = {}
        for impl in impls:
            t0 = time.monotonic()
            try:
                figs[impl] = row.measure(impl, scale)
            except Exception as exc:  # a crashed measurement is a failed row, not a crashed run
                figs[impl] = Figure(float("nan"), "", f"error: {type(exc).__name__}: {exc}", ok=False)
            print(f"[{row.key:>10}] {impl:6} {time.monotonic() - t0:6.1f} s  {figs[impl].text}", flush=True)
        results[row.key] = figs
        ok, _ = row.judge(figs[ZMTP], figs.get(LIBZMQ))
        failed |= not ok
    print(f"\nscale {scale.name}, {time.monotonic() - t_all:.0f} s\n")
    print("\n".join(table(rows, results)))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({k: {i: vars(fig) for i, fig in v.items()} for k, v in results.items()}, f, indent=1,
                      default=str)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
