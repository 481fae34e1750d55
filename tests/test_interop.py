"""zmtp against real ZeroMQ, through the interop matrix's own machinery (``python -m interop``).

The libzmq (pyzmq wheel) peer is required: every pattern pair, both sides binding, tcp and ipc,
ZMTP 3.1 and 3.0, with zmtp alternating between the pair's two roles.  Debian's libzmq and JeroMQ get
one cell each; they are skipped (with the reason) only when their packages are not installed.
zmtp not being importable is a failure, never a skip.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, List

import pytest

from interop.local import load_impl, supports_zmtp_version
from interop.matrix import BINDERS, NA, PASS, REVISIONS, Cell, Env, Worker, prepare, static_status
from interop.peers import Peer, discover
from interop.scenarios import PATTERNS

PEERS = {p.name: p for p in discover()}


def _cells() -> List[Cell]:
    cells = []
    for pat in PATTERNS:
        for bi, binder in enumerate(BINDERS):
            for ti, transport in enumerate(("tcp", "ipc")):
                for ri, revision in enumerate(REVISIONS):
                    role = "A" if pat.symmetric or (bi + ti + ri) % 2 == 0 else "B"
                    cells.append(Cell("libzmq-pypi", pat.name, role, binder, transport, revision))
    return cells


def _id(c: Cell) -> str:
    return f"{c.pattern}-zmtp_{c.zmtp_type}-{c.binder}_binds-{c.transport}-{c.revision}"


@contextmanager
def _worker(peer: Peer) -> Iterator[Worker]:
    impl = load_impl("zmtp")  # ImportError here fails every test that needs it
    env: Env = prepare(impl, [peer], supports_zmtp_version(impl))
    w = Worker(env)
    try:
        yield w
    finally:
        w.close()


@pytest.fixture(scope="module")
def libzmq_worker() -> Iterator[Worker]:
    with _worker(PEERS["libzmq-pypi"]) as w:
        yield w


def _run(worker: Worker, cell: Cell, required: bool) -> None:
    st = static_status(worker.env, cell)
    if st is not None:
        status, reason = st
        if not required and status == "unavailable":
            pytest.skip(f"{cell.peer} not installed: {reason}")
        pytest.fail(f"{cell.describe()}: {status}: {reason}")
    res = worker.run(cell)
    assert res.status == PASS, f"{cell.describe()}: {res.reason}"


@pytest.mark.parametrize("cell", _cells(), ids=_id)
def test_libzmq(libzmq_worker: Worker, cell: Cell) -> None:
    _run(libzmq_worker, cell, required=True)


OPTIONAL = [
    Cell("libzmq-debian", "DEALER-ROUTER", "B", "peer", "tcp", "3.1"),
    Cell("jeromq", "REQ-ROUTER", "B", "zmtp", "tcp", "3.1"),
]


@pytest.mark.parametrize("cell", OPTIONAL, ids=lambda c: f"{c.peer}-{_id(c)}")
def test_other_implementations(cell: Cell) -> None:
    peer = PEERS[cell.peer]
    reason = peer.availability()
    if reason is not None:
        pytest.skip(f"{cell.peer} not installed: {reason}")
    with _worker(peer) as worker:
        _run(worker, cell, required=False)


#: The mechanism column, a few cells each (the full column: ``python -m interop --mechanisms
#: PLAIN,CURVE,ZAP``): zmtp as server and as client; PLAIN and ZAP cells run a ThreadAuthenticator on
#: the server side (zmtp's judging libzmq clients, pyzmq's judging zmtp clients).
MECHANISM_CELLS = [
    Cell("libzmq-pypi", "REQ-REP", "A", "zmtp", "tcp", "3.1", "PLAIN"),
    Cell("libzmq-pypi", "DEALER-ROUTER", "A", "peer", "tcp", "3.1", "PLAIN"),
    Cell("libzmq-pypi", "PUB-SUB", "A", "zmtp", "tcp", "3.0", "CURVE"),
    Cell("libzmq-pypi", "XPUB-XSUB", "B", "peer", "tcp", "3.1", "CURVE"),
    Cell("libzmq-pypi", "PUSH-PULL", "B", "zmtp", "tcp", "3.1", "ZAP"),
    Cell("libzmq-pypi", "REQ-ROUTER", "A", "peer", "tcp", "3.1", "ZAP"),
]
OPTIONAL_MECHANISM_CELLS = [
    Cell("libzmq-debian", "DEALER-REP", "A", "zmtp", "tcp", "3.1", "PLAIN"),
    Cell("libzmq-debian", "PAIR-PAIR", "A", "peer", "tcp", "3.1", "CURVE"),
    Cell("libzmq-debian", "PUB-SUB", "B", "zmtp", "tcp", "3.1", "ZAP"),
]


@pytest.mark.parametrize("cell", MECHANISM_CELLS, ids=lambda c: f"{c.mechanism}-{_id(c)}")
def test_libzmq_mechanisms(libzmq_worker: Worker, cell: Cell) -> None:
    _run(libzmq_worker, cell, required=True)


@pytest.mark.parametrize("cell", OPTIONAL_MECHANISM_CELLS, ids=lambda c: f"{c.peer}-{c.mechanism}-{_id(c)}")
def test_debian_libzmq_mechanisms(cell: Cell) -> None:
    peer = PEERS[cell.peer]
    reason = peer.availability()
    if reason is not None:
        pytest.skip(f"{cell.peer} not installed: {reason}")
    with _worker(peer) as worker:
        _run(worker, cell, required=False)


#: Draft pattern pairs (libzmq's thread-safe sockets): against libzmq 4.3.5 built with the draft API
#: (zeromq.js; optional like JeroMQ, skipped with the reason only when node/npm are missing) and against
#: zmtp itself (PEER: zeromq.js has no connect_peer).  The full draft grid: ``python -m interop --peers
#: zeromqjs,zmtp --patterns CLIENT-SERVER,RADIO-DISH,SCATTER-GATHER,CHANNEL-CHANNEL,PEER-PEER``.
DRAFT_CELLS = [
    Cell("zeromqjs", "CLIENT-SERVER", "A", "zmtp", "tcp", "3.1"),
    Cell("zeromqjs", "CLIENT-SERVER", "B", "peer", "ipc", "3.0"),
    Cell("zeromqjs", "RADIO-DISH", "A", "peer", "tcp", "3.0"),
    Cell("zeromqjs", "RADIO-DISH", "B", "zmtp", "udp", "3.1"),
    Cell("zeromqjs", "RADIO-DISH", "A", "peer", "udp", "3.1"),
    Cell("zeromqjs", "SCATTER-GATHER", "B", "peer", "tcp", "3.1", "CURVE"),
    Cell("zeromqjs", "CHANNEL-CHANNEL", "A", "zmtp", "tcp", "3.1", "ZAP"),
    Cell("zmtp", "PEER-PEER", "A", "peer", "tcp", "3.1"),
    Cell("zmtp", "PEER-PEER", "A", "zmtp", "ipc", "3.0", "PLAIN"),
]


@pytest.mark.parametrize("cell", DRAFT_CELLS, ids=lambda c: f"{c.peer}-{c.mechanism}-{_id(c)}")
def test_draft_pairs(cell: Cell) -> None:
    peer = PEERS[cell.peer]
    reason = peer.availability()
    if reason is not None:
        pytest.skip(f"{cell.peer} not installed: {reason}")
    with _worker(peer) as worker:
        _run(worker, cell, required=False)


def test_draft_pairs_are_na_without_the_draft_api(libzmq_worker: Worker) -> None:
    """pyzmq's wheel has no draft API: graded n/a with the reason, never run, never 'passed'."""
    for cell in (Cell("libzmq-pypi", "CLIENT-SERVER", "A", "zmtp", "tcp", "3.1"),
                 Cell("libzmq-pypi", "RADIO-DISH", "B", "zmtp", "udp", "3.1")):
        st = static_status(libzmq_worker.env, cell)
        assert st is not None and st[0] == NA and "draft" in st[1], st
