"""Cells of the matrix, and running them: worker threads, one peer process per worker and peer."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
import traceback
from dataclasses import asdict, dataclass, field
from types import ModuleType
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from .api import CheckFailed, InteropError, Side
from .control import PeerProcess, RemoteSide
from .local import LocalSide, load_impl
from .peers import Peer, Unavailable
from .scenarios import PATTERNS, Pattern, Run
from .scenarios_draft import DRAFT_PATTERNS, UDP_PATTERNS

#: Every pattern pair: the classic ones, then libzmq's draft (thread-safe) ones.
ALL_PATTERNS: List[Pattern] = PATTERNS + DRAFT_PATTERNS
PATTERNS_BY_NAME = {p.name: p for p in ALL_PATTERNS}
DRAFT_NAMES = frozenset(p.name for p in DRAFT_PATTERNS)
#: udp cells exist for RADIO-DISH only, and for one revision (udp carries no ZMTP).
TRANSPORTS = ("tcp", "ipc", "udp")
REVISIONS = ("3.1", "3.0")
BINDERS = ("zmtp", "peer")
#: NULL; PLAIN (the server side runs a ZAP handler, which libzmq's PLAIN server needs); CURVE without a
#: handler (any client with the server key gets in); ZAP: CURVE whose server side's ThreadAuthenticator
#: admits the client's key.  Security mechanisms run on tcp only (ipc carries the same bytes).
MECHANISMS = ("NULL", "PLAIN", "CURVE", "ZAP")
#: Mechanisms whose server side asks a ZAP handler (the scenarios run one there).
ZAP_MECHANISMS = frozenset({"PLAIN", "ZAP"})
#: Peers built on libzmq 4.3, and what their REQ cannot do (libzmq against itself fails the same
#: cells: ``python -m interop --impl zmq --mechanisms PLAIN,ZAP``).
LIBZMQ_PEERS = frozenset({"libzmq-pypi", "libzmq-debian", "zeromqjs"})
LIBZMQ_REQ_ZAP = (
    "libzmq 4.3's REQ judged by a ZAP handler drops the connection at the first reply: the engine pushes "
    "the ZAP User-Id as a credential message first (stream_engine_base.cpp write_credential) and "
    "req_session_t::push_msg refuses any frame but an empty delimiter (EFAULT); zmtp's REQ works there"
)
LIBZMQ_DISH_ZAP = (
    "libzmq 4.3's DISH judged by a ZAP handler drops every connection at once: the engine pushes the ZAP "
    "User-Id as a credential message first (stream_engine_base.cpp write_credential) and "
    "dish_session_t::push_msg refuses a first frame without MORE (EFAULT); zmtp's DISH works there"
)
#: Socket types a libzmq ZAP-judged server cannot be (same failures libzmq against itself).
LIBZMQ_ZAP_BROKEN = {"REQ": LIBZMQ_REQ_ZAP, "DISH": LIBZMQ_DISH_ZAP}
CELL_TIMEOUT = 30.0  # hard limit for one cell, scenario and clean-up together

PASS, FAIL, UNAVAILABLE, NA = "pass", "fail", "unavailable", "n/a"


@dataclass(frozen=True)
class Cell:
    peer: str
    pattern: str
    zmtp_role: str  # "A" (the pair's first-named type) or "B"
    binder: str  # "zmtp" or "peer"
    transport: str
    revision: str  # ZMTP revision zmtp advertises: "3.1" or "3.0"
    mechanism: str = "NULL"

    @property
    def zmtp_type(self) -> str:
        return PATTERNS_BY_NAME[self.pattern].role_type(self.zmtp_role)

    @property
    def peer_type(self) -> str:
        return PATTERNS_BY_NAME[self.pattern].role_type("B" if self.zmtp_role == "A" else "A")

    def describe(self) -> str:
        return (f"{self.pattern} zmtp={self.zmtp_type}({self.zmtp_role}) vs {self.peer} {self.peer_type}, "
                f"{self.binder} binds, {self.transport}, zmtp advertises {self.revision}, {self.mechanism}")


@dataclass
class Result:
    cell: Cell
    status: str
    reason: str = ""
    seconds: float = 0.0
    log: List[str] = field(default_factory=list)

    def to_json(self) -> Dict[str, object]:
        d: Dict[str, object] = asdict(self.cell)
        d.update(zmtp_type=self.cell.zmtp_type, peer_type=self.cell.peer_type, status=self.status,
                 reason=self.reason, seconds=round(self.seconds, 3))
        return d


def all_cells(peers: Sequence[Peer], patterns: Optional[Iterable[str]] = None,
              transports: Iterable[str] = TRANSPORTS, revisions: Iterable[str] = REVISIONS,
              binders: Iterable[str] = BINDERS, mechanisms: Iterable[str] = MECHANISMS) -> List[Cell]:
    wanted = set(patterns) if patterns is not None else None
    revisions = list(revisions)
    cells = []
    for peer in peers:
        for pat in ALL_PATTERNS:
            if wanted is not None and pat.name not in wanted:
                continue
            if peer.patterns is not None and pat.name not in peer.patterns:
                continue
            for role in ("A",) if pat.symmetric else ("A", "B"):
                for transport in transports:
                    if transport == "udp" and pat.name not in UDP_PATTERNS:
                        continue
                    for rev in revisions:
                        if transport == "udp" and rev != revisions[0]:
                            continue
                        for binder in binders:
                            for mech in mechanisms:
                                if mech != "NULL" and transport != "tcp":
                                    continue
                                cells.append(Cell(peer.name, pat.name, role, binder, transport, rev, mech))
    return cells


@dataclass
class Env:
    """What the runner needs to know about this run."""

    impl: ModuleType
    peers: Dict[str, Peer]
    has_zmtp_version: bool
    #: The module in the zmtp seat has libzmq's draft API (``has("draft")``: zmtp yes, pyzmq wheels no).
    impl_draft: bool = True
    unavailable: Dict[str, str] = field(default_factory=dict)  # peer name -> reason
    commands: Dict[str, List[str]] = field(default_factory=dict)
    peer_info: Dict[str, Dict[str, object]] = field(default_factory=dict)


def prepare(impl: ModuleType, peers: Sequence[Peer], has_zmtp_version: bool) -> Env:
    """Check availability, build drivers (javac) and ask each peer for its version, once."""
    has = getattr(impl, "has", None)
    env = Env(impl, {p.name: p for p in peers}, has_zmtp_version, impl_draft=bool(has and has("draft")))
    for p in peers:
        reason = p.availability()
        if reason is None and p.local:
            mod = load_impl("zmtp")
            env.peer_info[p.name] = {"impl": "zmtp", "version": getattr(mod, "__version__", "?"),
                                     "binding": "in-process, its own context"}
            continue
        if reason is None:
            try:
                env.commands[p.name] = list(p.command())
            except Unavailable as e:
                reason = str(e)
        if reason is None:
            proc = PeerProcess(p.name, env.commands[p.name])
            try:
                env.peer_info[p.name] = proc.start()
            except InteropError as e:
                reason = f"driver did not start: {e}"
            finally:
                proc.stop()
        if reason is not None:
            env.unavailable[p.name] = reason
    return env


def static_status(env: Env, cell: Cell) -> Optional[Tuple[str, str]]:
    """A status known without running the cell, if any."""
    if cell.peer in env.unavailable:
        return UNAVAILABLE, env.unavailable[cell.peer]
    peer = env.peers[cell.peer]
    if cell.pattern in DRAFT_NAMES:
        if not env.impl_draft:
            return NA, f"{env.impl.__name__} has no draft socket types (built without libzmq's draft API)"
        if not peer.draft:
            return NA, f"{cell.peer} has no draft socket types (built without libzmq's draft API)"
        if cell.peer_type not in peer.draft:
            return NA, f"{cell.peer} has no {cell.peer_type} socket"
    if cell.transport not in peer.transports:
        return NA, f"{cell.peer} cannot speak real {cell.transport}"
    if cell.transport == "udp":
        dish_role = "B" if PATTERNS_BY_NAME[cell.pattern].b == "DISH" else "A"
        if (cell.binder == "zmtp") != (cell.zmtp_role == dish_role):
            return NA, "udp: the DISH binds and the RADIO connects (libzmq: ENOCOMPATPROTO otherwise)"
    if cell.mechanism not in peer.mechanisms:
        return NA, f"{cell.peer} driver has no {cell.mechanism}"
    if (cell.mechanism in ZAP_MECHANISMS and cell.binder == "peer" and cell.peer_type in LIBZMQ_ZAP_BROKEN
            and cell.peer in LIBZMQ_PEERS):
        return NA, LIBZMQ_ZAP_BROKEN[cell.peer_type]
    if cell.revision == "3.0" and not env.has_zmtp_version:
        return NA, f"{env.impl.__name__} sockets have no zmtp_version knob"
    return None


class Worker:
    """Runs cells one after another; owns one process per peer (restarted after a failure)."""

    def __init__(self, env: Env) -> None:
        self.env = env
        self.procs: Dict[str, PeerProcess] = {}

    def side(self, name: str) -> Side:
        """The peer's side of a cell: its driver process, or a fresh in-process context."""
        if self.env.peers[name].local:
            return LocalSide(load_impl("zmtp"), name)
        return RemoteSide(self.proc(name))

    def proc(self, name: str) -> PeerProcess:
        p = self.procs.get(name)
        if p is None or not p.alive:
            p = PeerProcess(name, self.env.commands[name])
            p.start()
            self.procs[name] = p
        return p

    def drop(self, name: str) -> None:
        p = self.procs.pop(name, None)
        if p is not None:
            p.kill()

    def close(self) -> None:
        for p in self.procs.values():
            p.stop()
        self.procs.clear()

    def run(self, cell: Cell) -> Result:
        st = static_status(self.env, cell)
        if st is not None:
            return Result(cell, st[0], st[1])
        t0 = time.monotonic()
        box: Dict[str, Result] = {}
        decided = threading.Event()
        try:
            remote = self.side(cell.peer)
        except InteropError as e:
            return Result(cell, FAIL, f"peer driver failed to start: {e}", time.monotonic() - t0)
        th = threading.Thread(target=self._cell_thread, args=(cell, remote, box, decided), daemon=True,
                              name=f"cell-{cell.pattern}")
        th.start()
        th.join(CELL_TIMEOUT)
        elapsed = time.monotonic() - t0
        if th.is_alive():
            self.drop(cell.peer)  # unblocks a thread stuck on the peer
            th.join(2.0)
            res = box.get("result")
            where = "clean-up (close/term)" if decided.is_set() else "the scenario"
            reason = f"hard timeout: cell still running after {CELL_TIMEOUT:.0f}s, in {where}"
            if res is not None and res.status == FAIL:
                reason = f"{res.reason}; then {reason}"
            return Result(cell, FAIL, reason, elapsed, res.log if res else [])
        res = box["result"]
        res.seconds = elapsed
        if res.status == FAIL:
            self.drop(cell.peer)  # start the next cell from a fresh peer
        return res

    def _cell_thread(self, cell: Cell, remote: Side, box: Dict[str, Result],
                     decided: threading.Event) -> None:
        pattern = PATTERNS_BY_NAME[cell.pattern]
        ipc_dir = tempfile.mkdtemp(prefix="zi-")
        local: Optional[LocalSide] = None
        run: Optional[Run] = None
        try:
            local = LocalSide(self.env.impl, "zmtp")
            peer_role = "B" if cell.zmtp_role == "A" else "A"
            run = Run(
                sides={cell.zmtp_role: local, peer_role: remote},
                zmtp_role=cell.zmtp_role,
                binder=cell.zmtp_role if cell.binder == "zmtp" else peer_role,
                transport=cell.transport,
                zmtp_version=(3, 0) if cell.revision == "3.0" else None,
                ipc_dir=ipc_dir,
                mechanism=cell.mechanism,
            )
            pattern.scenario(run)
            box["result"] = Result(cell, PASS)
        except CheckFailed as e:
            box["result"] = Result(cell, FAIL, str(e))
        except InteropError as e:
            box["result"] = Result(cell, FAIL, f"{e.error}: {e.detail}")
        except Exception as e:  # a bug in the impl under test (or in a scenario): report it
            tb = traceback.extract_tb(e.__traceback__)
            where = f" at {tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno}" if tb else ""
            box["result"] = Result(cell, FAIL, f"{type(e).__name__}: {e}{where}")
        decided.set()
        # clean-up: failures here are real bugs too, unless the cell already failed
        try:
            remote.close()
            if local is not None:
                local.close()
        except Exception as e:
            if box["result"].status == PASS:
                box["result"] = Result(cell, FAIL, f"clean-up: {type(e).__name__}: {e}")
        finally:
            shutil.rmtree(ipc_dir, ignore_errors=True)
        if run is not None:
            box["result"].log = run.log


def run_cells(env: Env, cells: Sequence[Cell], jobs: int = 2,
              progress: Optional[Callable[[Result], None]] = None) -> List[Result]:
    """Run cells on ``jobs`` worker threads; results come back in ``cells`` order."""
    results: List[Optional[Result]] = [None] * len(cells)
    lock = threading.Lock()
    order = iter(range(len(cells)))

    def work() -> None:
        w = Worker(env)
        try:
            while True:
                with lock:
                    i = next(order, None)
                if i is None:
                    return
                r = w.run(cells[i])
                results[i] = r
                if progress is not None:
                    with lock:
                        progress(r)
        finally:
            w.close()

    threads = [threading.Thread(target=work, daemon=True) for _ in range(max(1, jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [r for r in results if r is not None]
