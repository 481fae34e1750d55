"""The draft interop scenarios (interop/scenarios_draft.py) with libzmq's draft sockets in both seats.

Both seats are zeromq.js (libzmq 4.3.5 with the draft API, two separate processes): this checks that
the scenarios and the zeromq.js driver mean what libzmq does, so that the matrix's draft cells grade
zmtp against libzmq's own behaviour (PEER-PEER is not here: zeromq.js has no PEER).  The zeromq.js
peer is optional like JeroMQ: skipped, with the reason, only when node/npm are absent.
"""

from __future__ import annotations

from typing import Iterator, Tuple

import pytest

from interop.control import PeerProcess, RemoteSide
from interop.peers import Unavailable
from interop.peers.zeromqjs import PEER
from interop.scenarios import Run
from interop.scenarios_draft import DRAFT_PATTERNS, DRAFT_PATTERNS_BY_NAME

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def procs() -> Iterator[Tuple[PeerProcess, PeerProcess]]:
    reason = PEER.availability()
    if reason is not None:
        pytest.skip(f"zeromqjs not installed: {reason}")
    try:
        command = list(PEER.command())
    except Unavailable as e:
        pytest.skip(f"zeromqjs not installed: {e}")
    a, b = PeerProcess("zeromqjs-a", command), PeerProcess("zeromqjs-b", command)
    try:
        info = a.start()
        b.start()
        assert info.get("draft") is True, info
        yield a, b
    finally:
        a.stop()
        b.stop()


CASES = [(p.name, binder, transport) for p in DRAFT_PATTERNS if {p.a, p.b} <= PEER.draft
         for binder in "AB" for transport in ("tcp", "ipc")]
CASES.append(("RADIO-DISH", "B", "udp"))  # udp: the DISH binds


@pytest.mark.parametrize("name, binder, transport", CASES, ids=lambda v: str(v))
def test_draft_scenario_libzmq_both_sides(
    procs: Tuple[PeerProcess, PeerProcess], name: str, binder: str, transport: str, tmp_path: object
) -> None:
    a, b = procs
    sides = {"A": RemoteSide(a), "B": RemoteSide(b)}
    run = Run(sides=sides, zmtp_role="A", binder=binder, transport=transport, zmtp_version=None,
              ipc_dir=str(tmp_path))
    try:
        DRAFT_PATTERNS_BY_NAME[name].scenario(run)
    finally:
        for side in sides.values():
            side.close()
