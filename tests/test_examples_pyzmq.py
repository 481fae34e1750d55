"""pyzmq's own asyncio and tornado examples (tests/examples_pyzmq/, vendored unchanged) run on zmtp.

Each runs with ``import zmq`` aliased to zmtp for a few seconds (they run forever), then its output is
checked; the echo servers are driven by a pyzmq client.  They bind fixed ports (5555, 5556) on
127.0.0.1, as written upstream: a test whose port is taken by another program is skipped, saying so.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from typing import List

import pytest
import zmq

pytest.importorskip("tornado", reason="tornado is in the test extra")

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
EXAMPLES = os.path.join(HERE, "examples_pyzmq")

RUNNER = """
import asyncio, runpy, sys
sys.path.insert(0, {here!r})
import zmtp_as_zmq
zmtp_as_zmq.install()
if sys.version_info >= (3, 11):
    # the examples give asyncio.wait() bare coroutines, which Python 3.11 removed (pyzmq fails too)
    _wait = asyncio.wait
    async def wait(aws, *args, **kwargs):
        return await _wait([asyncio.ensure_future(a) for a in aws], *args, **kwargs)
    asyncio.wait = wait
sys.argv = [{path!r}]
runpy.run_path({path!r}, run_name="__main__")
"""


def _need_ports(*ports: int) -> None:
    for port in ports:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as a listener binds
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                pytest.skip(f"port {port} on 127.0.0.1 is taken by another program (the example hard-codes it)")


def _start(name: str) -> subprocess.Popen[bytes]:
    path = os.path.join(EXAMPLES, name)
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""),
               PYTHONUNBUFFERED="1", PYTHONWARNINGS="ignore")
    return subprocess.Popen([sys.executable, "-c", RUNNER.format(here=HERE, path=path)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=EXAMPLES)


def _stop(proc: subprocess.Popen[bytes]) -> tuple[str, str]:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate(timeout=5)
    else:
        out, err = proc.communicate(timeout=5)
    return out.decode(errors="replace"), err.decode(errors="replace")


def _run_for(name: str, seconds: float) -> tuple[str, str]:
    proc = _start(name)
    time.sleep(seconds)
    alive = proc.poll() is None
    out, err = _stop(proc)
    assert alive, f"{name} exited early:\n{out}\n{err}"
    return out, err


def _no_error(err: str) -> None:
    """Only the KeyboardInterrupt we ended the example with (and the cancellations it causes) may show
    in stderr: no other exception, no failed callback or task."""
    allowed = ("KeyboardInterrupt", "CancelledError")
    bad = [line for line in err.splitlines()
           if ("Error" in line or "Exception in callback" in line or "exception was never retrieved" in line)
           and not any(a in line for a in allowed)]
    assert not bad, err


def test_asyncio_coroutines() -> None:
    _need_ports(5555)
    out, err = _run_for("coroutines_asyncio.py", 2.6)
    lines = out.splitlines()
    assert lines.count("sending") >= 2, out
    recvd = [line for line in lines if line.startswith("recvd [b'")]
    assert len(recvd) >= 2, out
    assert "." in lines, out
    _no_error(err)


def test_asyncio_helloworld_pubsub_dealerrouter() -> None:
    _need_ports(5555, 5556)
    out, err = _run_for("helloworld_pubsub_dealerrouter.py", 3.4)
    assert "world sub; topic: world\tmessage: Hello World" in out, out
    assert "Command rout; Sender ID: b'lang_dealer';\tmessage: Change that language!" in out, out
    assert "Changed language! New language is: jap" in out, out
    assert "Current libzmq version is 4.3.5" in out
    _no_error(err)


def test_tornado_coroutines_with_future_sockets() -> None:
    _need_ports(5555)
    out, err = _run_for("coroutines_tornado.py", 2.6)
    lines = out.splitlines()
    assert len([line for line in lines if line.startswith("recvd [b'")]) >= 2, out
    assert "nothing to recv" in lines, out
    _no_error(err)


@pytest.mark.parametrize("name", ["echo.py", "echostream.py"])
def test_tornado_echo_servers(name: str) -> None:
    _need_ports(5555)
    proc = _start(name)
    ctx = zmq.Context()
    try:
        dealer = ctx.socket(zmq.DEALER)
        dealer.linger = 0
        dealer.connect("tcp://127.0.0.1:5555")
        got: List[List[bytes]] = []
        for i in range(20):  # the first ones may go out before the server listens: resend
            dealer.send_multipart([b"hello", b"%d" % i])
            if dealer.poll(200):
                got.append(dealer.recv_multipart())
                break
        assert got, f"{name} never echoed"
        for i in range(50):  # a burst: the edge-triggered FD must not starve
            dealer.send_multipart([b"burst", b"%d" % i])
        echoed = []
        while len(echoed) < 50 and dealer.poll(3000):
            msg = dealer.recv_multipart()
            if msg[0] == b"burst":
                echoed.append(msg)
        assert echoed == [[b"burst", b"%d" % i] for i in range(50)]
        assert proc.poll() is None, "the echo server died"
    finally:
        ctx.destroy(linger=0)
        out, err = _stop(proc)
    assert "b'burst'" in out
    _no_error(err)
