"""The ``zmtp`` command (also ``python -m zmtp``): shell peers, a wire decoder, a network fuzzer.

Standard library only.  Every subcommand is listed by ``zmtp --help`` with one line; ``zmtp CMD -h``
gives its options.  Exit status: 0 ok, 1 timeout or findings, 2 usage error, 3 feature not available.
"""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional, Sequence

from .peers import EXIT_UNSUPPORTED, PEER_TYPES, CliError, add_peer_arguments, peer_command


def _keygen(args: argparse.Namespace) -> int:
    from .peers import _curve_keypair

    keypair = _curve_keypair()
    if keypair is None:
        raise CliError("zmtp keygen needs CURVE, which this zmtp does not have", EXIT_UNSUPPORTED)
    public, secret = keypair()
    pub = public.decode("ascii") if isinstance(public, bytes) else str(public)
    sec = secret.decode("ascii") if isinstance(secret, bytes) else str(secret)
    if args.json:
        import json

        print(json.dumps({"public": pub, "secret": sec}))
    else:
        print(f"public: {pub}")
        print(f"secret: {sec}")
    return 0


def _monitor(args: argparse.Namespace) -> int:
    from .monitor import run_monitor

    return run_monitor(args)


def _decode(args: argparse.Namespace) -> int:
    from .decode import run_decode

    return run_decode(args)


def _fuzz(args: argparse.Namespace) -> int:
    from .fuzz import run_fuzz

    return run_fuzz(args)


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: one subparser per command, each with a one-line help."""
    ap = argparse.ArgumentParser(
        prog="zmtp",
        description="Talk ZeroMQ from a shell, read ZMTP off the wire, and fuzz ZMTP peers.",
        epilog="Run 'zmtp COMMAND -h' for the options of a command.",
    )
    sub = ap.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for kind, (desc, _, _) in PEER_TYPES.items():
        p = sub.add_parser(kind, help=f"{kind.upper()} socket: {desc}", description=f"A {kind.upper()} socket: "
                           f"{desc}.  Lines on stdin are messages; received messages are printed one per line.")
        add_peer_arguments(p, kind)
        p.set_defaults(func=peer_command(kind))

    from .decode import add_decode_arguments
    from .fuzz import add_fuzz_arguments

    p = sub.add_parser("decode", help="print a readable ZMTP transcript of a pcap/pcapng capture or a byte stream",
                       description="Decode ZMTP from a pcap/pcapng capture (TCP reassembled per direction) or "
                       "from raw/hex byte streams, flagging every protocol violation.")
    add_decode_arguments(p)
    p.set_defaults(func=_decode)

    p = sub.add_parser("fuzz", help="attack a ZMTP peer with grammar-aware malformed traffic and report findings",
                       description="A grammar-aware network fuzzer for any ZMTP peer.")
    add_fuzz_arguments(p)
    p.set_defaults(func=_fuzz)

    p = sub.add_parser("keygen", help="print a new CURVE key pair (Z85)",
                       description="Generate a CURVE key pair (needs zmtp's CURVE support).")
    p.add_argument("--json", action="store_true", help="print a JSON object")
    p.set_defaults(func=_keygen)

    p = sub.add_parser("monitor", help="connect to or bind an endpoint and print the socket's monitor events",
                       description="Print socket monitor events (connected, handshake, disconnected ...).")
    from .monitor import add_monitor_arguments

    add_monitor_arguments(p)
    p.set_defaults(func=_monitor)
    return ap


#: Options whose value may start with "-": a Z85 key does one time in 85 ("-" is in its alphabet) and a
#: password may.  argparse takes such a value for an option of its own ("expected one argument").
VALUE_OPTIONS = frozenset({
    "--curve-secretkey", "--curve-publickey", "--curve-serverkey", "--plain-username", "--plain-password",
    "--separator",
})


def _attach_values(argv: Sequence[str]) -> List[str]:
    """``--curve-secretkey -abc...`` -> ``--curve-secretkey=-abc...``, for the options above."""
    out: List[str] = []
    it = iter(argv)
    for arg in it:
        if arg in VALUE_OPTIONS:
            value = next(it, None)
            out.append(arg if value is None else f"{arg}={value}")
        else:
            out.append(arg)
        if arg == "--":
            out.extend(it)
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``zmtp`` console script; returns the exit status."""
    ap = build_parser()
    args = ap.parse_args(_attach_values(sys.argv[1:] if argv is None else argv))
    if getattr(args, "func", None) is None:
        ap.print_help()
        return 2
    try:
        status: int = args.func(args)
        return status
    except CliError as e:
        print(f"zmtp {args.command}: {e}", file=sys.stderr)
        return e.status
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


__all__: List[str] = ["main", "build_parser"]
