"""Regressions from fuzzing.

* Every input of the coverage-guided corpus (fuzz/corpus, kept by libFuzzer's merge of the atheris runs
  over zmtp.protocol) replays through the harness: only RemoteProtocolError, bounded buffers.
* What broke other peers stays harmless to zmtp: the minimised streams that stopped JeroMQ 0.3.6 (it
  casts ZMTP's 8-byte sizes to a Java int) and the toy target's bad READY, sent to a real zmtp REP.

* What the fuzzers found in zmtp, now fixed: a PAIR that stopped serving new peers after many short
  sessions (with its control against libzmq 4.3.5), and a large frame trickled one byte per read that
  cost far more memory than had arrived (the network fuzzer's case and the atheris input).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import List

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from fuzz.harness import check  # noqa: E402
from zmtp.tools.fuzz import Case, FuzzConfig, Fuzzer, Target  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"
ECHO = ROOT / "fuzz" / "targets" / "echo.py"

SIG = b"\xff" + bytes(8) + b"\x7f"
NULL_GREETING = SIG + b"\x03\x01NULL" + bytes(16) + b"\x00" + bytes(31)


def corpus() -> List[Path]:
    return sorted(CORPUS.iterdir()) if CORPUS.is_dir() else []


def test_the_corpus_is_there() -> None:
    assert len(corpus()) >= 50


@pytest.mark.parametrize("path", corpus(), ids=lambda p: p.name[:12])
def test_corpus_input_keeps_the_invariant(path: Path) -> None:
    check(path.read_bytes())


#: (name, chunks): streams that broke another peer under `zmtp fuzz`, minimised.
FOREIGN_FINDINGS = [
    # JeroMQ 0.3.6 reads a 3.x greeting as ZMTP 2.0: the mechanism bytes become an identity frame whose
    # 8-byte size 2**64-1 is the Java int -1: its I/O thread dies and no connection is served again.
    ("jeromq-hang-mechanism-0xff", [SIG + b"\x03\x01" + b"\xff" * 20 + bytes(32)]),
    ("jeromq-hang-zmtp2-identity-size", [SIG + b"\x01\x05\x02" + b"\xff" * 8]),
    # ... and a data frame of 2**31-1 bytes is allocated at once (the JVM stops on its heap limit).
    ("jeromq-hang-frame-2^31-1", [SIG + b"\x01\x05\x00\x00\x02" + ((1 << 31) - 1).to_bytes(8, "big")]),
    # ... a size whose low 32 bits are 0x41000000 makes it allocate 1 GiB (RSS 41 MB -> 3.2 GB).
    ("jeromq-memory-1GiB", [SIG + b"\x03\x01" + b"\x4e\xb9\x3f\x23\x26\x41" + bytes(46)]),
    # the toy target's planted bug: a READY property name length that runs past the frame
    ("toy-crash-ready", [NULL_GREETING + b"\x04\x07\x05READYS"]),
    # 3.x frames announcing the largest sizes, before and after the handshake
    ("frame-2^63-1-before-ready", [NULL_GREETING + b"\x02" + ((1 << 63) - 1).to_bytes(8, "big")]),
    ("frame-2^64-1-after-ready", [NULL_GREETING + b"\x04\x26\x05READY\x0bSocket-Type\x00\x00\x00\x03REQ"
                                  b"\x08Identity\x00\x00\x00\x00" + b"\x02" + b"\xff" * 8]),
]


@pytest.mark.timeout(90)
def test_streams_that_broke_other_peers_leave_zmtp_alive() -> None:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    command = f"{sys.executable} {ECHO} {port} --impl zmtp --type REP"  # inherits our PYTHONPATH
    target = Target("127.0.0.1", port, "REP", command=command, deadline=3.0)
    fuzzer = Fuzzer(FuzzConfig(f"tcp://127.0.0.1:{port}", "REP", minimize_seconds=0), target)
    target.start()
    try:
        for name, chunks in FOREIGN_FINDINGS:
            _, result = fuzzer.run_case(Case("regression", name, chunks))
            assert result.ok, f"{name}: {result.kind}: {result.detail}"
    finally:
        target.stop()


def _pair_after_short_sessions(impl: str, sessions: int = 100) -> str:
    """An echo PAIR (``impl``) after ``sessions`` peers each connected, handshook, sent one message and
    hung up at once (the fuzzer's "churn: full-session"): does a new peer still get its echo?"""
    import socket
    import time

    from zmtp.tools.fuzz import grammar as g

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    target = Target("127.0.0.1", port, "PAIR", command=f"{sys.executable} {ECHO} {port} --impl {impl} --type PAIR",
                    deadline=2.0)
    target.start()
    try:
        session = b"".join(g.session("PAIR", 1))
        for _ in range(sessions):
            c = socket.create_connection(("127.0.0.1", port))
            c.sendall(session)
            c.close()
        end = time.monotonic() + 6.0
        while True:
            r = target.probe()
            if r.ok or time.monotonic() > end:
                return "ok" if r.ok else f"{r.kind}: {r.detail}"
            time.sleep(0.5)
    finally:
        target.stop()


@pytest.mark.timeout(60)
def test_libzmq_pair_serves_a_new_peer_after_short_sessions() -> None:
    """The control for the test below: libzmq 4.3.5 answers the new peer at once."""
    assert _pair_after_short_sessions("zmq") == "ok"


@pytest.mark.timeout(60)
def test_zmtp_pair_serves_a_new_peer_after_short_sessions() -> None:
    assert _pair_after_short_sessions("zmtp") == "ok"


def _memory_for_a_trickled_large_frame(reads: int) -> int:
    """Peak bytes traced while a large frame's first ``reads`` bytes arrive one per ``recv_into`` (the
    driver's path: Connection.receive_buffer / buffer_received), after a valid NULL handshake."""
    import tracemalloc

    from fuzz.harness import valid_prefix
    from zmtp.protocol import Connection

    conn = Connection("PULL", handshake_ivl=0)
    conn.receive_data(valid_prefix("PULL", 1))
    conn.receive_data(b"\x02" + (1 << 20).to_bytes(8, "big") + b"x" * 16)  # a 1 MiB frame begins
    tracemalloc.start()
    try:
        for _ in range(reads):
            view = conn.receive_buffer()
            assert view is not None
            view[:1] = b"y"
            view.release()
            conn.buffer_received(1)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_trickled_large_frame_costs_what_arrived() -> None:
    reads = 200
    # what arrived (200 bytes) plus the documented reusable chunks, with room for Python's own objects
    assert _memory_for_a_trickled_large_frame(reads) < 2 * 1024 * 1024


#: The atheris input (150 bytes: a FrameDecoder, ZMTP 2.0 framing, read one byte at a time through
#: recv_into) whose run peaked at 34 MB of Python allocations.
TRICKLE_INPUT = bytes.fromhex(
    "d7f80100000000000003000066666666615366000a21000000000000000000000000000000003d000000000000000001"
    "0000000000017a000000000004504f000a61620407044a4f494e50000000000000000000000000000000000000000000"
    "000a61620a61620407044a4f494e504f0009616200000036000000000000000000000000000000000001000005686c6f"
    "6c6504090450"
)


def test_the_atheris_input_stays_within_memory_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    import fuzz.harness as h

    monkeypatch.setattr(h, "TRACE_MEMORY", True)
    h.check(TRICKLE_INPUT)
