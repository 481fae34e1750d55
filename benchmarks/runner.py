"""Process orchestration: start worker processes, collect their JSON events, enforce timeouts."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import IO, Any, Dict, List, Optional, Sequence, TextIO, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GRACE_S = 3.0  # how long a finished group may take to exit before it is killed


_PIN_EXEC = "import os, sys; os.sched_setaffinity(0, {int(sys.argv[1])}); os.execv(sys.argv[2], sys.argv[2:])"


class BenchTimeout(Exception):
    """The workload did not finish within its time budget."""


class WorkerFailed(Exception):
    """A worker reported an error or died."""


@dataclass(frozen=True)
class Interp:
    """One implementation under test: which interpreter runs which module."""

    key: str  # "zmq", "zmtp", "pypy", "raw", "raw-pypy"
    exe: str
    impl: str  # module name given to the worker: zmq, zmtp or raw
    label: str


def worker_env() -> Dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT
    env.pop("PYTHONSTARTUP", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


class Worker:
    """A ``python -m benchmarks.worker`` subprocess whose stdout events go to a shared queue."""

    def __init__(
        self,
        name: str,
        interp: Interp,
        args: Sequence[str],
        events: queue.Queue[Tuple[str, Any]],
        cpu: Optional[int] = None,
    ):
        self.name = name
        self.stderr: IO[bytes] = tempfile.TemporaryFile()
        cmd = [interp.exe, "-m", "benchmarks.worker", "--impl", interp.impl, *args]
        if cpu is not None:
            # PyPy has no os.sched_setaffinity: pin from a CPython trampoline, the affinity survives exec
            cmd = [sys.executable, "-c", _PIN_EXEC, str(cpu), *cmd]
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            cwd=ROOT,
            env=worker_env(),
        )
        self.got: set = set()  # names under which a result arrived (for diagnostics)
        self._events = events
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace").strip()
            if not line.startswith("{"):
                continue
            try:
                self._events.put((self.name, json.loads(line)))
            except ValueError:
                continue
        self._events.put((self.name, None))

    def stderr_tail(self, n: int = 600) -> str:
        try:
            self.stderr.seek(0)
            data = self.stderr.read().decode(errors="replace").strip()
        except (OSError, ValueError):
            return ""
        return data[-n:]

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.kill()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        try:
            if self.proc.stdout is not None:
                self.proc.stdout.close()
        except OSError:
            pass
        self.stderr.close()


def _params_arg(params: Dict[str, Any]) -> List[str]:
    return ["--params", json.dumps(params)]


def _describe(workers: Dict[str, Worker]) -> str:
    """Who was still running when the deadline hit, and the tail of everyone's stderr."""
    parts = []
    for name, w in workers.items():
        rc = w.proc.poll()
        state = "running" if rc is None else f"exited rc={rc}"
        tail = w.stderr_tail(300).replace("\n", " | ")
        parts.append(f"{name} {state}, result={'yes' if name in w.got else 'no'}" + (f": {tail}" if tail else ""))
    return "; ".join(parts)


def _next(events: queue.Queue[Tuple[str, Any]], deadline: float) -> Tuple[str, Any]:
    left = deadline - time.monotonic()
    if left <= 0:
        raise BenchTimeout()
    try:
        return events.get(timeout=left)
    except queue.Empty:
        raise BenchTimeout() from None


def run_group(
    interp: Interp,
    server_role: str,
    client_role: str,
    params: Dict[str, Any],
    *,
    clients: int = 1,
    server_cpu: Optional[int] = None,
    client_cpus: Optional[Sequence[Optional[int]]] = None,
    need_server: bool = True,
    need_clients: bool = False,
    timeout: float = 60.0,
) -> Dict[str, Any]:
    """Run a server process and ``clients`` client processes; return ``{"server": ..., "clients": [...]}``.

    Raises BenchTimeout or WorkerFailed. Every process is gone when this returns.
    """
    events: queue.Queue[Tuple[str, Any]] = queue.Queue()
    deadline = time.monotonic() + timeout
    workers: Dict[str, Worker] = {}
    results: Dict[str, Any] = {}
    try:
        srv = Worker("server", interp, ["--role", server_role, *_params_arg(params)], events, server_cpu)
        workers["server"] = srv
        info: Optional[Dict[str, Any]] = None
        while info is None:
            name, ev = _next(events, deadline)
            if ev is None:
                raise WorkerFailed("server exited before binding: " + srv.stderr_tail())
            if ev.get("event") == "error":
                raise WorkerFailed(ev.get("error", "?"))
            if ev.get("event") == "announce":
                info = {k: v for k, v in ev.items() if k != "event"}
        cpus = list(client_cpus) if client_cpus is not None else [None] * clients
        for i in range(clients):
            cparams = dict(params, index=i, **info)
            name = f"client{i}"
            workers[name] = Worker(name, interp, ["--role", client_role, *_params_arg(cparams)], events, cpus[i])
        needed = set()
        if need_server:
            needed.add("server")
        if need_clients:
            needed.update(f"client{i}" for i in range(clients))
        while not needed.issubset(results):
            name, ev = _next(events, deadline)
            w = workers[name]
            if ev is None:
                if name in results:
                    continue
                rc = w.proc.wait(timeout=5)
                if name in needed or rc != 0:
                    raise WorkerFailed(f"{name} exited (rc={rc}) without a result: {w.stderr_tail()}")
                continue
            kind = ev.get("event")
            if kind == "error":
                time.sleep(0.2)  # let the traceback reach stderr
                raise WorkerFailed("{}: {} | {}".format(name, ev.get("error", "?"), w.stderr_tail(1500)))
            if kind == "result":
                results[name] = ev.get("result", {})
                w.got.add(name)
    except BenchTimeout:
        raise BenchTimeout(_describe(workers)) from None
    else:
        # give everyone a moment to exit cleanly, then kill
        end = time.monotonic() + GRACE_S
        for w in workers.values():
            try:
                w.proc.wait(timeout=max(0.01, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
    finally:
        for w in workers.values():
            w.kill()
    return {
        "server": results.get("server", {}),
        "clients": [results.get(f"client{i}", {}) for i in range(clients)],
    }


def run_inproc(
    interp: Interp,
    server_role: str,
    client_role: str,
    params: Dict[str, Any],
    *,
    clients: int = 1,
    timeout: float = 60.0,
) -> Dict[str, Any]:
    """Both ends as threads in one worker process; returns the merged result dict."""
    events: queue.Queue[Tuple[str, Any]] = queue.Queue()
    deadline = time.monotonic() + timeout
    w = Worker(
        "inproc",
        interp,
        ["--inproc", server_role, client_role, "--clients", str(clients), *_params_arg(params)],
        events,
    )
    try:
        while True:
            _, ev = _next(events, deadline)
            if ev is None:
                raise WorkerFailed("inproc worker exited without a result: " + w.stderr_tail())
            if ev.get("event") == "error":
                raise WorkerFailed(ev.get("error", "?"))
            if ev.get("event") == "result":
                result: Dict[str, Any] = ev.get("result", {})
                w.got.add("inproc")
                break
        try:
            w.proc.wait(timeout=GRACE_S)
        except subprocess.TimeoutExpired:
            pass
        return result
    except BenchTimeout:
        raise BenchTimeout(_describe({"inproc": w})) from None
    finally:
        w.kill()


class Progress:
    """Live progress of a benchmark run, so a long run never looks dead.

    On a terminal: a status line rewritten in place with what is running now (case, implementation,
    repetition, elapsed time); each finished row replaces it with a permanent line.  Piped (CI logs):
    just the finished rows, one line each, flushed at once.
    """

    def __init__(self, stream: TextIO, tty: Optional[bool] = None) -> None:
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self.t0 = time.monotonic()
        self._shown = 0

    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    def status(self, text: str) -> None:
        """What is running now (terminal only)."""
        if not self.tty:
            return
        import shutil

        width = shutil.get_terminal_size((100, 20)).columns - 1
        line = f"[{self.elapsed():5.0f}s] {text}"[:width]
        self.stream.write("\r" + line + " " * max(0, self._shown - len(line)))
        self._shown = len(line)
        self.stream.flush()

    def row(self, text: str) -> None:
        """A finished row: its own line, flushed."""
        self._clear()
        self.stream.write(text + "\n")
        self.stream.flush()

    def _clear(self) -> None:
        if self._shown:
            self.stream.write("\r" + " " * self._shown + "\r")
            self._shown = 0

    def close(self) -> None:
        self._clear()
        self.stream.flush()
