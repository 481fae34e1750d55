"""``Poller`` and ``select``: wait for readiness on zmtp sockets and plain file descriptors.

A zmtp socket has no file descriptor, so a waiting poller registers a *watcher* with each socket;
the socket notifies it whenever its state may have changed.  Sockets of one threaded context with no
plain descriptors wait on a condition of that context; otherwise the watcher is a socket pair the
poller selects on together with the plain descriptors.  With the blocking driver the poller turns
the reactor itself while it waits.
"""

from __future__ import annotations

import select as _select
import socket as _socket
import threading
import time
from typing import Any, Dict, List, Optional, Tuple

from .constants import PollEvent
from .socket import Socket

POLLIN = int(PollEvent.POLLIN)
POLLOUT = int(PollEvent.POLLOUT)
POLLERR = int(PollEvent.POLLERR)


class _CondWatcher:
    __slots__ = ("cond", "fired")

    def __init__(self, cond: threading.Condition) -> None:
        self.cond = cond
        self.fired = False

    def notify(self) -> None:
        self.fired = True
        self.cond.notify_all()


class _PipeWatcher:
    __slots__ = ("r", "w", "fired", "lock")

    def __init__(self) -> None:
        self.r, self.w = _socket.socketpair()
        self.r.setblocking(False)
        self.w.setblocking(False)
        self.fired = False
        self.lock = threading.Lock()

    def notify(self) -> None:
        with self.lock:
            if self.fired:
                return
            self.fired = True
        try:
            self.w.send(b"\x00")
        except OSError:
            pass

    def reset(self) -> None:
        with self.lock:
            self.fired = False
        try:
            while self.r.recv(4096):
                pass
        except OSError:
            pass

    def close(self) -> None:
        self.r.close()
        self.w.close()


def _fileno(obj: Any) -> int:
    if isinstance(obj, int):
        return obj
    return int(obj.fileno())


class Poller:
    """pyzmq's ``zmq.Poller``: ``register``, ``modify``, ``unregister``, ``poll(timeout_ms)``."""

    def __init__(self) -> None:
        self.sockets: List[Tuple[Any, int]] = []
        self._map: Dict[Any, int] = {}
        self._pipe_watcher: Optional[_PipeWatcher] = None

    def __contains__(self, socket: Any) -> bool:
        return socket in self._map

    def register(self, socket: Any, flags: int = POLLIN | POLLOUT) -> None:
        if flags:
            if socket in self._map:
                self.sockets[self._map[socket]] = (socket, flags)
            else:
                self._map[socket] = len(self.sockets)
                self.sockets.append((socket, flags))
        elif socket in self._map:
            self.unregister(socket)

    def modify(self, socket: Any, flags: int = POLLIN | POLLOUT) -> None:
        self.register(socket, flags)

    def unregister(self, socket: Any) -> None:
        idx = self._map.pop(socket)
        self.sockets.pop(idx)
        for s, i in list(self._map.items()):
            if i > idx:
                self._map[s] = i - 1

    def __del__(self) -> None:
        if self._pipe_watcher is not None:
            try:
                self._pipe_watcher.close()
            except Exception:
                pass

    def poll(self, timeout: Optional[float] = None) -> List[Tuple[Any, int]]:
        """Wait up to ``timeout`` milliseconds (None or negative: forever) for any registered event."""
        deadline = None if timeout is None or timeout < 0 else time.monotonic() + timeout / 1000.0
        zsocks = [(s, f) for s, f in self.sockets if isinstance(s, Socket)]
        fds = [(s, f) for s, f in self.sockets if not isinstance(s, Socket)]
        contexts = {id(s.context): s.context for s, _ in zsocks}
        if len(contexts) == 1 and not fds:
            ctx = next(iter(contexts.values()))
            return self._poll_one_context(ctx, zsocks, deadline)
        return self._poll_mixed(zsocks, fds, deadline)

    @staticmethod
    def _ready(zsocks: List[Tuple[Socket, int]]) -> List[Tuple[Any, int]]:
        out = []
        for s, flags in zsocks:
            if s.closed:
                out.append((s, POLLERR))
                continue
            mask = s._events() & flags
            if mask:
                out.append((s, mask))
        return out

    def _poll_one_context(
        self, ctx: Any, zsocks: List[Tuple[Socket, int]], deadline: Optional[float]
    ) -> List[Tuple[Any, int]]:
        with ctx._lock:
            ready = self._ready(zsocks)
            if ready or (deadline is not None and deadline <= time.monotonic()):
                return ready
            reactor = ctx._reactor
            watcher = _CondWatcher(threading.Condition(ctx._lock))
            for s, _ in zsocks:
                s._watchers.append(watcher)
            try:
                while True:
                    if ctx._terminated:
                        from .error import ContextTerminated

                        raise ContextTerminated()
                    timeout = None if deadline is None else deadline - time.monotonic()
                    if timeout is not None and timeout <= 0:
                        return []
                    watcher.fired = False
                    ctx._wait_epoch += 1
                    if reactor.threaded or reactor.running:
                        watcher.cond.wait(timeout)
                    else:
                        reactor.run_once(timeout)
                    ready = self._ready(zsocks)
                    if ready:
                        return ready
            finally:
                for s, _ in zsocks:
                    try:
                        s._watchers.remove(watcher)
                    except ValueError:
                        pass

    def _poll_mixed(
        self, zsocks: List[Tuple[Socket, int]], fds: List[Tuple[Any, int]], deadline: Optional[float]
    ) -> List[Tuple[Any, int]]:
        if self._pipe_watcher is None:
            self._pipe_watcher = _PipeWatcher()
        watcher = self._pipe_watcher
        watcher.reset()
        for s, _ in zsocks:
            with s.context._lock:
                s._watchers.append(watcher)
        blocking_ctx = [s.context for s, _ in zsocks if not s.context._reactor.threaded]
        try:
            while True:
                ready: List[Tuple[Any, int]] = []
                for s, flags in zsocks:
                    with s.context._lock:
                        ready.extend(self._ready([(s, flags)]))
                rlist = [_fileno(o) for o, f in fds if f & POLLIN]
                wlist = [_fileno(o) for o, f in fds if f & POLLOUT]
                xlist = [_fileno(o) for o, f in fds if f & POLLERR]
                timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
                if not ready:
                    for s, _ in zsocks:
                        s.context._wait_epoch += 1
                if ready:
                    timeout = 0.0
                elif blocking_ctx:
                    timeout = 0.01 if timeout is None else min(timeout, 0.01)
                    for ctx in blocking_ctx:
                        with ctx._lock:
                            if not ctx._reactor.running:
                                ctx._reactor.run_once(0)
                r, w, x = _select.select(rlist + [watcher.r.fileno()], wlist, xlist, timeout)
                if watcher.r.fileno() in r:
                    watcher.reset()
                for o, f in fds:
                    fd = _fileno(o)
                    mask = (
                        (POLLIN if fd in r else 0) | (POLLOUT if fd in w else 0) | (POLLERR if fd in x else 0)
                    )
                    if mask & f:
                        ready.append((o, mask & f))
                if ready or (deadline is not None and time.monotonic() >= deadline):
                    if not ready:
                        for s, flags in zsocks:
                            with s.context._lock:
                                ready.extend(self._ready([(s, flags)]))
                    return ready
        finally:
            for s, _ in zsocks:
                with s.context._lock:
                    try:
                        s._watchers.remove(watcher)
                    except ValueError:
                        pass


def select(
    rlist: List[Any], wlist: List[Any], xlist: List[Any], timeout: Optional[float] = None
) -> Tuple[List[Any], List[Any], List[Any]]:
    """pyzmq's ``zmq.select``: timeout in seconds (None: forever)."""
    poller = Poller()
    for s in set(rlist) | set(wlist) | set(xlist):
        flags = (
            (POLLIN if s in rlist else 0) | (POLLOUT if s in wlist else 0) | (POLLERR if s in xlist else 0)
        )
        poller.register(s, flags)
    events = dict(poller.poll(None if timeout is None else timeout * 1000))
    return (
        [s for s in rlist if events.get(s, 0) & POLLIN],
        [s for s in wlist if events.get(s, 0) & POLLOUT],
        [s for s in xlist if events.get(s, 0) & POLLERR],
    )
