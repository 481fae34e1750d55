"""Shell peers: ``zmtp sub|pub|req|rep|push|pull|dealer|router|pair|xpub|xsub ENDPOINT...``.

Each is one zmtp socket (``import zmtp``, the pyzmq-style API) wired to stdin and stdout: every input
line is a message to send, every received message is printed on one line.  They exist so a person can
poke at a live ZeroMQ system from a shell (listen to a PUB, answer a REQ, inject into a PULL) without
writing a program.
"""

from __future__ import annotations

import argparse
import os
import queue
import subprocess
import sys
import threading
import time
from typing import IO, Any, Callable, List, Optional

import zmtp

from .formats import FormatError, format_message, parse_line

#: Socket type name -> (one-line description, sends stdin lines, prints received messages).
PEER_TYPES = {
    "sub": ("subscribe to a publisher and print what arrives", False, True),
    "pub": ("publish each stdin line", True, False),
    "req": ("send each stdin line as a request and print the reply", True, True),
    "rep": ("answer requests: echo them, run a command, or reply from stdin", True, True),
    "push": ("push each stdin line to pullers", True, False),
    "pull": ("print what pushers send", False, True),
    "dealer": ("send stdin lines and print whatever arrives (asynchronous)", True, True),
    "router": ("print messages with their routing id; send stdin lines routed by their first frame",
               True, True),
    "pair": ("exclusive pair: send stdin lines, print what arrives", True, True),
    "xpub": ("publish stdin lines and print the (un)subscriptions that arrive", True, True),
    "xsub": ("subscribe (raw \\x01topic messages) and print what arrives", True, True),
}

EXIT_OK, EXIT_TIMEOUT, EXIT_USAGE, EXIT_UNSUPPORTED = 0, 1, 2, 3
_POLL_MS = 20


class CliError(Exception):
    """A problem to report in one line, with an exit status."""

    def __init__(self, message: str, status: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.status = status


def add_peer_arguments(ap: argparse.ArgumentParser, kind: str) -> None:
    """The options every shell peer takes (plus the REP- and SUB-specific ones)."""
    ap.add_argument("endpoints", nargs="+", metavar="ENDPOINT", help="e.g. tcp://127.0.0.1:5555, ipc:///tmp/x")
    how = ap.add_mutually_exclusive_group()
    how.add_argument("--bind", action="store_true", help="bind the endpoints")
    how.add_argument("--connect", action="store_true", help="connect to the endpoints (the default)")
    if kind in ("sub", "xsub"):
        ap.add_argument("--topic", action="append", default=None,
                        help="subscribe to this prefix (repeatable; default: everything)")
    ap.add_argument("--identity", help="routing id (ZMQ_ROUTING_ID) of this socket")
    ap.add_argument("--separator", help="split input lines into frames at SEP and join received frames "
                    "with SEP (default: one frame per input line, received frames joined by a tab)")
    fmt = ap.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true",
                     help='lines are JSON arrays of frames: strings or {"hex": "..."}')
    fmt.add_argument("--hex", action="store_true", help="frames are hex, separated by spaces")
    ap.add_argument("--count", "-n", type=int, default=None, metavar="N",
                    help="stop after N messages (received, or sent for send-only sockets)")
    ap.add_argument("--timeout", "-t", type=float, default=None, metavar="S",
                    help="give up (exit status 1) after S seconds without a message")
    ap.add_argument("--linger", type=int, default=1000, metavar="MS",
                    help="how long unsent messages may delay the exit (ms, -1 forever; default 1000)")
    ap.add_argument("--delay", type=float, default=0.0, metavar="S",
                    help="wait S seconds after bind/connect before sending (lets subscribers join)")
    ap.add_argument("--zmtp", choices=("3.0", "3.1"), default="3.1", help="ZMTP revision to advertise")
    if kind == "rep":
        what = ap.add_mutually_exclusive_group()
        what.add_argument("--echo", action="store_true", help="reply with the request itself")
        what.add_argument("--exec", dest="exec_cmd", metavar="CMD",
                          help="run the shell command CMD per request: the request line on its stdin, its stdout "
                          "is the reply, $ZMTP_FRAMES the request's frame count")
    sec = ap.add_argument_group("security (PLAIN, RFC 24; CURVE, RFC 26; keys in Z85: see 'zmtp keygen')")
    sec.add_argument("--plain-username", help="PLAIN client user name")
    sec.add_argument("--plain-password", help="PLAIN client password")
    sec.add_argument("--plain-server", action="store_true", help="act as PLAIN server")
    sec.add_argument("--curve-server", action="store_true", help="act as CURVE server (needs --curve-secretkey)")
    sec.add_argument("--curve-publickey", help="our CURVE public key (Z85)")
    sec.add_argument("--curve-secretkey", help="our CURVE secret key (Z85)")
    sec.add_argument("--curve-serverkey", help="the server's CURVE public key (Z85; makes us a client, with a "
                     "fresh key pair unless --curve-publickey/--curve-secretkey are given)")


def _mode(args: argparse.Namespace) -> str:
    return "json" if args.json else "hex" if args.hex else "text"


def _curve_keypair() -> Optional[Callable[[], Any]]:
    """zmtp's CURVE key generator, wherever this version keeps it (None without CURVE)."""
    found = getattr(zmtp, "curve_keypair", None)
    if found is None:
        try:
            from zmtp.utils.curve import curve_keypair as found
        except ImportError:
            return None
    return found


def _apply_security(sock: zmtp.Socket[Any], args: argparse.Namespace) -> None:
    """Set the PLAIN/CURVE options (RFC 24/26); a clear error where zmtp lacks the mechanism.

    A CURVE client given only ``--curve-serverkey`` gets a fresh key pair of its own, as every
    client needs one and its value rarely matters (servers that check client keys use ZAP).
    """
    plain = args.plain_username is not None or args.plain_password is not None or args.plain_server
    curve = any((args.curve_server, args.curve_publickey, args.curve_secretkey, args.curve_serverkey))
    if plain and curve:
        raise CliError("choose PLAIN or CURVE options, not both")
    if not plain and not curve:
        return
    opts = zmtp.SocketOption
    settings: List[Any] = []
    if plain:
        if args.plain_server:
            settings.append((opts.PLAIN_SERVER, 1))
        if args.plain_username is not None:
            settings.append((opts.PLAIN_USERNAME, args.plain_username.encode()))
        if args.plain_password is not None:
            settings.append((opts.PLAIN_PASSWORD, args.plain_password.encode()))
    else:
        public, secret = args.curve_publickey, args.curve_secretkey
        if args.curve_serverkey is not None and public is None and secret is None:
            keypair = _curve_keypair()
            if keypair is None:
                raise CliError("CURVE is not available in this zmtp", EXIT_UNSUPPORTED)
            pub, sec = keypair()
            public, secret = pub.decode("ascii"), sec.decode("ascii")
        if args.curve_server:
            settings.append((opts.CURVE_SERVER, 1))
        for opt, value in ((opts.CURVE_PUBLICKEY, public), (opts.CURVE_SECRETKEY, secret),
                           (opts.CURVE_SERVERKEY, args.curve_serverkey)):
            if value is not None:
                settings.append((opt, value.encode()))
    for opt, value in settings:
        try:
            sock.setsockopt(opt, value)
        except zmtp.ZMQError as e:
            unsupported = e.errno == zmtp.Errno.ENOTSUP
            raise CliError(f"{opt.name} refused: {e}", EXIT_UNSUPPORTED if unsupported else EXIT_USAGE) from None


def open_socket(ctx: zmtp.Context, kind: str, args: argparse.Namespace) -> zmtp.Socket[Any]:
    """Create, configure, then bind or connect the socket for a shell peer (closed again on error)."""
    sock = ctx.socket(getattr(zmtp, kind.upper()))
    try:
        _configure(sock, kind, args)
    except BaseException:
        sock.close(0)
        raise
    return sock


def _configure(sock: zmtp.Socket[Any], kind: str, args: argparse.Namespace) -> None:
    sock.setsockopt(zmtp.SocketOption.LINGER, args.linger)
    if args.zmtp == "3.0":
        sock.zmtp_version = (3, 0)
    if args.identity is not None:
        sock.setsockopt(zmtp.SocketOption.ROUTING_ID, args.identity.encode())
    _apply_security(sock, args)
    if kind == "sub":
        for topic in args.topic if args.topic is not None else [""]:
            sock.setsockopt(zmtp.SocketOption.SUBSCRIBE, topic.encode())
    for ep in args.endpoints:
        try:
            if args.bind:
                sock.bind(ep)
            else:
                sock.connect(ep)
        except zmtp.ZMQError as e:
            raise CliError(f"cannot {'bind' if args.bind else 'connect'} {ep}: {e}") from None
    if kind == "xsub":
        for topic in args.topic if args.topic is not None else [""]:
            sock.send(b"\x01" + topic.encode())


class _Lines:
    """stdin lines read by a thread, so one loop can wait on the socket and the keyboard together."""

    def __init__(self, stream: IO[str]) -> None:
        self.queue: queue.Queue[Optional[str]] = queue.Queue()
        self.eof = False
        th = threading.Thread(target=self._read, args=(stream,), daemon=True)
        th.start()

    def _read(self, stream: IO[str]) -> None:
        try:
            for line in stream:
                self.queue.put(line.rstrip("\r\n"))
        except (OSError, ValueError):
            pass
        self.queue.put(None)

    def get(self, timeout: Optional[float]) -> Optional[str]:
        """The next line; None at EOF; raises queue.Empty after ``timeout``."""
        if self.eof:
            return None
        line = self.queue.get(timeout=timeout) if timeout is None or timeout > 0 else self.queue.get_nowait()
        if line is None:
            self.eof = True
        return line


def _emit(out: IO[str], frames: List[bytes], args: argparse.Namespace) -> None:
    out.write(format_message(frames, _mode(args), args.separator) + "\n")
    out.flush()


def _recv(sock: zmtp.Socket[Any], timeout: Optional[float]) -> Optional[List[bytes]]:
    """One message, or None when ``timeout`` seconds passed first."""
    ms = -1 if timeout is None else max(0, int(timeout * 1000))
    if sock.poll(ms, zmtp.POLLIN) == 0:
        return None
    return sock.recv_multipart()


def _rep_reply(request: List[bytes], args: argparse.Namespace, lines: Optional[_Lines]) -> Optional[List[bytes]]:
    """The reply to a request: the request itself (--echo), CMD's output (--exec), or the next stdin line."""
    mode = _mode(args)
    if args.echo:
        return request
    if args.exec_cmd:
        text = format_message(request, mode, args.separator) + "\n"
        env = dict(os.environ, ZMTP_FRAMES=str(len(request)))
        # through the shell, so CMD may be a pipeline ('tr a-z A-Z | rev')
        proc = subprocess.run(args.exec_cmd, shell=True, input=text.encode(), stdout=subprocess.PIPE,
                              env=env, check=False)
        reply = proc.stdout.decode("utf-8", "surrogateescape").rstrip("\n")
        return parse_line(reply, mode, args.separator)
    line = lines.get(None) if lines is not None else None
    if line is None:
        return None
    return parse_line(line, mode, args.separator)


def run_peer(kind: str, args: argparse.Namespace, stdin: IO[str], stdout: IO[str]) -> int:
    """Run one shell peer until stdin ends, ``--count`` is reached or ``--timeout`` expires."""
    _, sends, prints = PEER_TYPES[kind]
    mode = _mode(args)
    ctx = zmtp.Context()
    sock: Optional[zmtp.Socket[Any]] = None
    try:
        sock = open_socket(ctx, kind, args)
        if args.delay > 0:
            time.sleep(args.delay)
        lines = _Lines(stdin) if sends and not (kind == "rep" and (args.echo or args.exec_cmd)) else None
        count = 0
        if kind == "req":
            assert lines is not None
            while args.count is None or count < args.count:
                line = lines.get(None)
                if line is None:
                    return EXIT_OK
                sock.send_multipart(parse_line(line, mode, args.separator))
                reply = _recv(sock, args.timeout)
                if reply is None:
                    raise CliError(f"no reply within {args.timeout} s", EXIT_TIMEOUT)
                _emit(stdout, reply, args)
                count += 1
            return EXIT_OK
        if kind == "rep":
            while args.count is None or count < args.count:
                request = _recv(sock, args.timeout)
                if request is None:
                    raise CliError(f"no request within {args.timeout} s", EXIT_TIMEOUT)
                if not (args.echo or args.exec_cmd):
                    _emit(stdout, request, args)
                reply = _rep_reply(request, args, lines)
                if reply is None:
                    return EXIT_OK
                sock.send_multipart(reply)
                count += 1
            return EXIT_OK
        if not prints:  # pub, push: send every line
            assert lines is not None
            while args.count is None or count < args.count:
                line = lines.get(None)
                if line is None:
                    break
                sock.send_multipart(parse_line(line, mode, args.separator))
                count += 1
            return EXIT_OK
        # receivers (sub, pull) and the asynchronous ones (dealer, router, pair, xpub, xsub)
        last = time.monotonic()
        while args.count is None or count < args.count:
            if lines is not None and not lines.eof:
                try:
                    line = lines.get(0)
                except queue.Empty:
                    line = None
                else:
                    if line is not None:
                        sock.send_multipart(parse_line(line, mode, args.separator))
                        continue
            msg = _recv(sock, _POLL_MS / 1000 if lines is not None and not lines.eof else 0.2)
            if msg is not None:
                _emit(stdout, msg, args)
                count += 1
                last = time.monotonic()
            elif args.timeout is not None and time.monotonic() - last > args.timeout:
                raise CliError(f"nothing received for {args.timeout} s", EXIT_TIMEOUT)
        return EXIT_OK
    except FormatError as e:
        raise CliError(str(e)) from None
    finally:
        if sock is not None:
            sock.close()
        ctx.term()


def peer_command(kind: str) -> Callable[[argparse.Namespace], int]:
    """The argparse handler for one shell peer type."""

    def handler(args: argparse.Namespace) -> int:
        return run_peer(kind, args, sys.stdin, sys.stdout)

    return handler
