"""The ``zmtp`` command's shell peers, end to end against real libzmq peers (pyzmq), in subprocesses."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from typing import Iterator, List, Optional, Sequence, Tuple

import pytest
import zmq

from zmtp.cli.formats import FormatError, format_message, parse_line

pytestmark = pytest.mark.timeout(60)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), PYTHONUNBUFFERED="1")


def start(args: Sequence[str], stdin: Optional[bytes] = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "zmtp", *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=ENV, cwd=ROOT)


def finish(p: subprocess.Popen[bytes], stdin: Optional[bytes] = None, timeout: float = 20) -> Tuple[int, str, str]:
    if p.stdin is not None and p.stdin.closed:
        p.stdin = None
    try:
        out, err = p.communicate(stdin, timeout=timeout)
        return p.returncode, out.decode(), err.decode()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def run(args: Sequence[str], stdin: Optional[bytes] = None, timeout: float = 20) -> Tuple[int, str, str]:
    return finish(start(args), stdin, timeout)


@pytest.fixture
def ctx() -> Iterator[zmq.Context]:
    c = zmq.Context()
    try:
        yield c
    finally:
        c.destroy(linger=0)


def bound(ctx: zmq.Context, kind: int) -> Tuple[zmq.Socket, str]:
    s = ctx.socket(kind)
    s.linger = 0
    s.rcvtimeo = 10000
    port = s.bind_to_random_port("tcp://127.0.0.1")
    return s, f"tcp://127.0.0.1:{port}"


def test_help_lists_every_command_with_a_description() -> None:
    status, out, _ = run(["--help"])
    assert status == 0
    for cmd in ("sub", "pub", "req", "rep", "push", "pull", "dealer", "router", "pair", "xpub", "xsub", "decode",
                "fuzz", "keygen", "monitor"):
        line = next((ln for ln in out.splitlines() if ln.strip().startswith(cmd + " ")), None)
        assert line is not None and len(line.split()) > 2, f"{cmd} missing from --help:\n{out}"


def test_console_script_is_declared() -> None:
    with open(os.path.join(ROOT, "pyproject.toml")) as f:
        assert 'zmtp = "zmtp.cli:main"' in f.read()
    from zmtp.cli import main

    assert main(["decode", "--hex", os.devnull]) == 0  # an empty stream decodes to nothing, no error


def publish_until_done(pub: zmq.Socket, p: subprocess.Popen[bytes], msgs: List[List[bytes]]) -> None:
    end = time.monotonic() + 15
    while p.poll() is None and time.monotonic() < end:
        for m in msgs:
            pub.send_multipart(m)
        time.sleep(0.02)


@pytest.mark.parametrize("version", ["3.1", "3.0"])
def test_sub_listens_to_a_libzmq_pub_with_topics(ctx: zmq.Context, version: str) -> None:
    pub, ep = bound(ctx, zmq.PUB)
    p = start(["sub", ep, "--topic", "weather", "--topic", "news", "--count", "4", "--timeout", "10",
               "--zmtp", version])
    try:
        publish_until_done(pub, p, [[b"weather", b"sunny"], [b"sports", b"x"], [b"news.1"]])
    finally:
        status, out, err = finish(p)
    assert status == 0, err
    lines = out.splitlines()
    assert len(lines) == 4
    assert set(lines) <= {"weather\tsunny", "news.1"} and "weather\tsunny" in lines


def test_pub_binds_and_libzmq_sub_receives(ctx: zmq.Context) -> None:
    probe = ctx.socket(zmq.PUB)
    port = probe.bind_to_random_port("tcp://127.0.0.1")
    probe.close(0)
    time.sleep(0.1)
    ep = f"tcp://127.0.0.1:{port}"
    p = start(["pub", ep, "--bind", "--delay", "1.5", "--separator", "|"])
    sub = ctx.socket(zmq.SUB)
    sub.linger = 0
    sub.rcvtimeo = 10000
    sub.subscribe(b"")
    try:
        sub.connect(ep)
        p.stdin.write(b"a|b\nplain\n")  # type: ignore[union-attr]
        p.stdin.close()  # type: ignore[union-attr]
        assert sub.recv_multipart() == [b"a", b"b"]
        assert sub.recv_multipart() == [b"plain"]
    finally:
        status, _, err = finish(p)
    assert status == 0, err


def test_req_sends_json_multipart_to_libzmq_rep(ctx: zmq.Context) -> None:
    rep, ep = bound(ctx, zmq.REP)

    def serve() -> None:
        for _ in range(2):
            msg = rep.recv_multipart()
            rep.send_multipart([f.upper() for f in msg] + [b"\xff"])

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    status, out, err = run(["req", ep, "--json", "--timeout", "10"], b'["ab", {"hex": "00ff"}]\n"cd"\n')
    th.join(5)
    assert status == 0, err
    assert [json.loads(x) for x in out.splitlines()] == [["AB", {"hex": "00ff"}, {"hex": "ff"}], ["CD", {"hex": "ff"}]]


@pytest.mark.parametrize("mode", ["echo", "exec", "stdin"])
def test_rep_answers_a_libzmq_req(ctx: zmq.Context, mode: str) -> None:
    req, ep = bound(ctx, zmq.REQ)
    args = ["rep", ep, "--count", "2", "--timeout", "10", "--separator", ","]
    args += {"echo": ["--echo"], "exec": ["--exec", "tr a-z A-Z | tr H h"], "stdin": []}[mode]
    p = start(args)
    try:
        if mode == "stdin":
            p.stdin.write(b"r1,x\nr2\n")  # type: ignore[union-attr]
            p.stdin.flush()  # type: ignore[union-attr]
        replies = []
        for body in (b"hello", b"again"):
            req.send_multipart([body, b"w"])
            replies.append(req.recv_multipart())
    finally:
        status, out, err = finish(p)
    assert status == 0, err
    expected = {"echo": [[b"hello", b"w"], [b"again", b"w"]], "exec": [[b"hELLO", b"W"], [b"AGAIN", b"W"]],
                "stdin": [[b"r1", b"x"], [b"r2"]]}[mode]
    assert replies == expected
    if mode == "stdin":
        assert out.splitlines() == ["hello,w", "again,w"]


def test_push_hex_to_libzmq_pull_and_pull_from_libzmq_push(ctx: zmq.Context) -> None:
    pull, ep = bound(ctx, zmq.PULL)
    status, _, err = run(["push", ep, "--hex"], b"00ff 41\n42\n")
    assert status == 0, err
    assert pull.recv_multipart() == [b"\x00\xff", b"A"]
    assert pull.recv_multipart() == [b"B"]
    push, ep2 = bound(ctx, zmq.PUSH)
    p = start(["pull", ep2, "--count", "1", "--hex", "--timeout", "10"])
    try:
        push.send_multipart([b"\x01\x02", b""])
    finally:
        status, out, err = finish(p)
    assert status == 0, err
    assert out.strip() == "0102 -"


def test_dealer_with_identity_talks_to_libzmq_router(ctx: zmq.Context) -> None:
    router, ep = bound(ctx, zmq.ROUTER)
    p = start(["dealer", ep, "--identity", "me", "--count", "1", "--timeout", "10"])
    try:
        p.stdin.write(b"hi\n")  # type: ignore[union-attr]
        p.stdin.flush()  # type: ignore[union-attr]
        ident, body = router.recv_multipart()
        assert (ident, body) == (b"me", b"hi")
        router.send_multipart([ident, b"back"])
    finally:
        status, out, err = finish(p)
    assert status == 0, err
    assert out.strip() == "back"


def free_endpoint(ctx: zmq.Context) -> str:
    """A loopback port nobody listens on, for a CLI process to bind.  Found with a plain OS socket: a
    libzmq socket bound and closed for this keeps listening until its reaper gets to it, which under
    load came after the CLI's bind had failed with EADDRINUSE (seen in a loop of the CURVE test)."""
    del ctx
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    finally:
        s.close()
    return f"tcp://127.0.0.1:{port}"


def test_router_prints_routing_ids_and_routes_replies(ctx: zmq.Context) -> None:
    dealer = ctx.socket(zmq.DEALER)
    dealer.linger = 0
    dealer.rcvtimeo = 10000
    dealer.routing_id = b"peer1"
    ep = free_endpoint(ctx)
    p = start(["router", ep, "--bind", "--count", "2", "--separator", "|", "--timeout", "10"])
    try:
        dealer.connect(ep)
        dealer.send(b"ping")
        line = p.stdout.readline().decode() if p.stdout is not None else ""
        assert line.strip() == "peer1|ping"
        p.stdin.write(b"peer1|pong\n")  # type: ignore[union-attr]
        p.stdin.flush()  # type: ignore[union-attr]
        assert dealer.recv() == b"pong"
        dealer.send(b"bye")
    finally:
        status, out, err = finish(p)
    assert status == 0, err
    assert out.strip() == "peer1|bye"


def test_pair_exchanges_both_ways(ctx: zmq.Context) -> None:
    pair, ep = bound(ctx, zmq.PAIR)
    p = start(["pair", ep, "--count", "1", "--timeout", "10"])
    try:
        p.stdin.write(b"from-cli\n")  # type: ignore[union-attr]
        p.stdin.flush()  # type: ignore[union-attr]
        assert pair.recv() == b"from-cli"
        pair.send(b"from-libzmq")
    finally:
        status, out, err = finish(p)
    assert status == 0, err
    assert out.strip() == "from-libzmq"


def test_xpub_prints_subscriptions_and_xsub_receives(ctx: zmq.Context) -> None:
    ep = free_endpoint(ctx)
    p = start(["xpub", ep, "--bind", "--count", "1", "--timeout", "10"])
    sub = ctx.socket(zmq.SUB)
    sub.linger = 0
    try:
        sub.subscribe(b"topic")
        sub.connect(ep)
    finally:
        status, out, err = finish(p)
    assert status == 0, err
    assert out.strip() == "\\x01topic"
    pub, ep = bound(ctx, zmq.PUB)
    p = start(["xsub", ep, "--topic", "t", "--count", "1", "--timeout", "10"])
    try:
        publish_until_done(pub, p, [[b"t1"], [b"other"]])
    finally:
        status, out, err = finish(p)
    assert status == 0, err
    assert out.strip() == "t1"


def test_timeout_exits_with_status_1() -> None:
    t0 = time.monotonic()
    status, _, err = run(["pull", "tcp://127.0.0.1:1", "--timeout", "0.5"])
    assert status == 1 and "nothing received" in err
    assert time.monotonic() - t0 < 15


def test_keygen_makes_keys_libzmq_accepts() -> None:
    status, out, err = run(["keygen"])
    assert status == 0, err
    public, secret = (line.split(": ")[1] for line in out.splitlines())
    assert len(public) == len(secret) == 40
    assert zmq.curve_public(secret.encode()) == public.encode()
    status, out, _ = run(["keygen", "--json"])
    assert set(json.loads(out)) == {"public", "secret"}


def test_curve_req_and_rep_against_libzmq(ctx: zmq.Context) -> None:
    server_public, server_secret = zmq.curve_keypair()
    rep = ctx.socket(zmq.REP)
    rep.linger = 0
    rep.rcvtimeo = 10000
    rep.curve_server = True
    rep.curve_secretkey = server_secret
    port = rep.bind_to_random_port("tcp://127.0.0.1")

    def serve() -> None:
        rep.send(rep.recv() + b"!")

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    status, out, err = run(["req", f"tcp://127.0.0.1:{port}", "--curve-serverkey", server_public.decode(),
                            "--timeout", "10"], b"secret-hello\n")
    th.join(5)
    assert status == 0, err
    assert out.strip() == "secret-hello!"
    # zmtp as the CURVE server, libzmq as the client
    status, keys, _ = run(["keygen", "--json"])
    k = json.loads(keys)
    _libzmq_req_to_curve_rep(ctx, k["public"], k["secret"])


def _libzmq_req_to_curve_rep(ctx: zmq.Context, public: str, secret: str) -> None:
    """`zmtp rep --curve-server` with this key pair echoes one request from a libzmq CURVE client."""
    ep = free_endpoint(ctx)
    p = start(["rep", ep, "--bind", "--echo", "--count", "1", "--curve-server", "--curve-secretkey", secret,
               "--curve-publickey", public])
    req = ctx.socket(zmq.REQ)
    req.linger = 0
    req.rcvtimeo = 10000
    req.curve_serverkey = public.encode()
    req.curve_publickey, req.curve_secretkey = zmq.curve_keypair()
    try:
        req.connect(ep)
        req.send(b"sealed")
        assert req.recv() == b"sealed"
    finally:
        status, _, err = finish(p)
    assert status == 0, err


def test_key_values_starting_with_a_dash(ctx: zmq.Context) -> None:
    """"-" is in Z85's alphabet, so one key in 85 starts with it, and argparse took such a value for an
    option ("expected one argument"): the CURVE test above failed whenever keygen drew one."""
    from zmtp.cli import _attach_values

    assert _attach_values(["rep", "--curve-secretkey", "-ab", "--bind", "--", "--plain-password", "-x"]) == [
        "rep", "--curve-secretkey=-ab", "--bind", "--", "--plain-password", "-x"]
    while True:
        public, secret = zmq.curve_keypair()
        if secret.startswith(b"-"):
            break
    _libzmq_req_to_curve_rep(ctx, public.decode(), secret.decode())


def test_plain_client_against_libzmq_with_zap(ctx: zmq.Context) -> None:
    from zmq.auth.thread import ThreadAuthenticator

    auth = ThreadAuthenticator(ctx)
    auth.start()
    try:
        auth.configure_plain(domain="*", passwords={"admin": "secret"})
        rep = ctx.socket(zmq.REP)
        rep.linger = 0
        rep.rcvtimeo = 10000
        rep.plain_server = True
        port = rep.bind_to_random_port("tcp://127.0.0.1")

        def serve() -> None:
            rep.send(rep.recv().upper())

        th = threading.Thread(target=serve, daemon=True)
        th.start()
        status, out, err = run(["req", f"tcp://127.0.0.1:{port}", "--plain-username", "admin",
                                "--plain-password", "secret", "--timeout", "10"], b"plain text\n")
        th.join(5)
        assert status == 0, err
        assert out.strip() == "PLAIN TEXT"
        status, out, err = run(["req", f"tcp://127.0.0.1:{port}", "--plain-username", "admin",
                                "--plain-password", "wrong", "--timeout", "2"], b"x\n")
        assert status == 1 and "no reply" in err
    finally:
        auth.stop()


def test_security_options_conflict() -> None:
    status, _, err = run(["req", "tcp://127.0.0.1:1", "--curve-serverkey", "x" * 40, "--plain-username", "u"], b"")
    assert status == 2 and "not both" in err


def test_monitor_prints_the_events_of_a_connection_to_libzmq(ctx: zmq.Context) -> None:
    router, ep = bound(ctx, zmq.ROUTER)
    status, out, err = run(["monitor", ep, "--count", "3", "--timeout", "10"])
    assert status == 0, err
    names = [line.split()[1] for line in out.splitlines()]
    assert "CONNECTED" in names and names[-1] == "HANDSHAKE_SUCCEEDED"
    assert all(line.split()[-1] == ep for line in out.splitlines())


def test_term_returns_after_closing_a_monitored_socket() -> None:
    code = ("import zmtp; c = zmtp.Context(); s = c.socket(zmtp.DEALER); s.linger = 0; "
            "m = s.get_monitor_socket(); m.close(0); s.close(0); c.term(); print('termed')")
    try:
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=10)
    except subprocess.TimeoutExpired:
        p = None
    assert p is not None and p.stdout.strip() == "termed"


def test_monitor_event_parsing() -> None:
    from zmtp.cli.monitor import parse_event

    assert parse_event([b"\x01\x00\x07\x00\x00\x00", b"tcp://127.0.0.1:5"]) == ("CONNECTED", 7, "tcp://127.0.0.1:5")
    with pytest.raises(ValueError):
        parse_event([b"\x01"])


def test_formats_round_trip() -> None:
    frames = [b"", b"text", b"\x00\xff\x80", "é".encode()]
    for mode in ("hex", "json"):
        assert parse_line(format_message(frames, mode), mode) == frames
    assert format_message([b"a\x01", b"b"]) == "a\\x01\tb"
    assert parse_line("a|b", "text", "|") == [b"a", b"b"]
    with pytest.raises(FormatError):
        parse_line("zz", "hex")
    with pytest.raises(FormatError):
        parse_line("[1]", "json")
