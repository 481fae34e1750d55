"""``zmtp fuzz``: attack a ZMTP peer with grammar-aware malformed traffic (see :mod:`zmtp.tools.fuzz`)."""

from __future__ import annotations

import argparse
import json
import sys

from zmtp.tools.fuzz import MUTATORS, Case, FuzzConfig, Fuzzer, Target
from zmtp.tools.fuzz.grammar import PEER_ROLE
from zmtp.tools.fuzz.target import parse_endpoint

from .peers import CliError


def add_fuzz_arguments(ap: argparse.ArgumentParser) -> None:
    """The options of ``zmtp fuzz``."""
    ap.add_argument("endpoint", metavar="ENDPOINT", help="tcp://HOST:PORT of the peer under test (it binds)")
    ap.add_argument("--socket-type", default="REP", type=str.upper, choices=sorted(PEER_ROLE),
                    help="the target's socket type (REP, ROUTER, DEALER, PAIR targets must echo; default REP)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the run (case I of seed S is always the same)")
    ap.add_argument("--cases", type=int, default=1000, help="number of cases (default 1000)")
    ap.add_argument("--time", type=float, default=60.0, help="stop after S seconds (default 60; 0 = no limit)")
    ap.add_argument("--case", type=int, default=None, metavar="I", help="run only case I of the seed")
    ap.add_argument("--replay", metavar="FILE", help="deliver one saved case (a failure-N.json) and check")
    ap.add_argument("--pid", type=int, help="the target's process id: watch its RSS and open descriptors")
    ap.add_argument("--exec", dest="command", metavar="CMD",
                    help="start the target with CMD (and restart it after a crash, which minimisation needs)")
    ap.add_argument("--out", metavar="DIR", help="save failures (bytes + JSON) and report.json here")
    ap.add_argument("--mutators", help="comma-separated subset of: " + ", ".join(sorted(MUTATORS)))
    ap.add_argument("--no-echo", action="store_true", help="the target does not echo: only check handshakes")
    ap.add_argument("--deadline", type=float, default=2.0, help="seconds for a handshake or echo (default 2)")
    ap.add_argument("--rss-limit", type=int, default=256, help="MiB of RSS growth that counts as a leak")
    ap.add_argument("--minimize-time", type=float, default=60.0, help="seconds spent minimising one failure")
    ap.add_argument("--max-failures", type=int, default=5, help="stop after this many findings (default 5)")
    ap.add_argument("--json", action="store_true", help="print the report as JSON")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")


def run_fuzz(args: argparse.Namespace) -> int:
    """Run the campaign and print the report; exit status 1 when something was found."""
    try:
        host, port = parse_endpoint(args.endpoint)
    except ValueError as e:
        raise CliError(str(e)) from None
    mutators = [m.strip() for m in args.mutators.split(",")] if args.mutators else None
    unknown = [m for m in mutators or [] if m not in MUTATORS]
    if unknown:
        raise CliError(f"unknown mutator(s) {', '.join(unknown)}; have {', '.join(sorted(MUTATORS))}")
    config = FuzzConfig(args.endpoint, args.socket_type, args.seed, args.cases, args.time or None, mutators,
                        args.case, args.out, minimize_seconds=args.minimize_time, stop_after=args.max_failures)
    target = Target(host, port, args.socket_type, command=args.command, pid=args.pid, echo=not args.no_echo,
                    deadline=args.deadline, rss_limit_kib=args.rss_limit * 1024)
    fuzzer = Fuzzer(config, target, None if args.quiet else sys.stderr)
    try:
        if args.replay:
            with open(args.replay) as f:
                doc = json.load(f)
            case = Case.from_json(doc.get("minimized") or doc["case"])
            report = fuzzer.replay(case)
        else:
            report = fuzzer.run()
    except RuntimeError as e:
        raise CliError(str(e)) from None
    if args.out:
        import os

        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "report.json"), "w") as f:
            json.dump(report.to_json(), f, indent=1)
    print(json.dumps(report.to_json(), indent=1) if args.json else report.text(), flush=True)
    return 1 if report.failures else 0
