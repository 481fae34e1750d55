"""``Poller`` and ``select``: wait for readiness on zmtp sockets and plain file descriptors.

Sockets of one context and no plain descriptors: the poll is one :meth:`~zmtp.reactor.Reactor.wait`
of that context's reactor, so the polling thread runs the I/O itself (leader/follower) and sees its
sockets become ready with no thread switch.

Anything else (several contexts, or sockets with plain file descriptors or objects with ``fileno()``):
each socket notifies a socket pair the poller selects on together with the plain descriptors, while the
contexts' I/O threads (or, for blocking-driver contexts, the poller itself now and then) move the I/O.
"""

from __future__ import annotations

import select as _select
import socket as _socket
import threading
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .constants import Errno, PollEvent
from .core import SocketCore
from .error import ContextTerminated, ZMQError
from .socket import Socket

POLLIN = int(PollEvent.POLLIN)
POLLOUT = int(PollEvent.POLLOUT)
POLLERR = int(PollEvent.POLLERR)


class _PipeWatcher:
    """A socket pair a zmtp socket can wake: readable once notified, until reset."""

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
    """pyzmq's ``zmq.Poller``: ``register``, ``modify``, ``unregister``, ``poll(timeout_ms)``.

    Registered objects are zmtp sockets, integer file descriptors, or objects with ``fileno()``;
    ``poll`` reports a zmtp socket as itself and anything else as its integer file descriptor, as
    pyzmq does (its ``zmq_poll`` hands back ``fileno()``: measured with pyzmq 27.3 and 24.0), so
    ``dict(poller.poll()).get(sys.stdin.fileno())`` works the same on both.
    """

    def __init__(self) -> None:
        self.sockets: List[Tuple[Any, int]] = []
        self._map: Dict[Any, int] = {}
        self._pipe_watcher: Optional[_PipeWatcher] = None

    def __contains__(self, socket: Any) -> bool:
        return socket in self._map

    def register(self, socket: Any, flags: int = POLLIN | POLLOUT) -> None:
        """Watch ``socket`` for ``flags`` (0 unregisters it)."""
        if flags:
            if socket in self._map:
                self.sockets[self._map[socket]] = (socket, flags)
            else:
                self._map[socket] = len(self.sockets)
                self.sockets.append((socket, flags))
        elif socket in self._map:
            self.unregister(socket)

    def modify(self, socket: Any, flags: int = POLLIN | POLLOUT) -> None:
        """Change the flags of a registered socket."""
        self.register(socket, flags)

    def unregister(self, socket: Any) -> None:
        """Stop watching ``socket`` (KeyError if it was not registered)."""
        idx = self._map.pop(socket)
        self.sockets.pop(idx)
        for s, i in list(self._map.items()):
            if i > idx:
                self._map[s] = i - 1

    def __del__(self) -> None:
        watcher = self.__dict__.get("_pipe_watcher")
        if watcher is not None:
            try:
                watcher.close()
            except Exception:
                pass

    def poll(self, timeout: Optional[float] = None) -> List[Tuple[Any, int]]:
        """Wait up to ``timeout`` milliseconds (None or negative: forever) for a registered event.

        Returns ``[(socket_or_fd, events)]`` for what is ready (empty at the timeout).
        """
        deadline = None if timeout is None or timeout < 0 else time.monotonic() + timeout / 1000.0
        zsocks: List[Tuple[Socket[Any], int]] = []
        fds: List[Tuple[Any, int]] = []
        for s, f in self.sockets:
            (zsocks if isinstance(s, Socket) else fds).append((s, f))
        engines = {id(s.context.engine) for s, _ in zsocks}
        if len(engines) == 1 and not fds:
            return self._poll_one_engine(zsocks, deadline)
        return self._poll_mixed(zsocks, fds, deadline)

    @staticmethod
    def _ready(zsocks: List[Tuple[Socket[Any], int]]) -> List[Tuple[Any, int]]:
        out: List[Tuple[Any, int]] = []
        for s, flags in zsocks:
            core = s.core
            if core.closed:
                raise ZMQError(Errno.ENOTSOCK)
            mask = core.events() & flags
            if mask:
                out.append((s, mask))
        return out

    def _poll_one_engine(
        self, zsocks: List[Tuple[Socket[Any], int]], deadline: Optional[float]
    ) -> List[Tuple[Any, int]]:
        engine = zsocks[0][0].context.engine
        cores: List[SocketCore] = [s.core for s, _ in zsocks]
        ready: List[Tuple[Any, int]] = []

        def done() -> bool:
            if engine.terminated:
                raise ContextTerminated()
            ready[:] = self._ready(zsocks)
            return bool(ready)

        # sockets that all run on another reactor of the engine (zmtp.asyncio's, an event loop's) are
        # waited for on that one: it knows how to move their I/O from this thread
        reactor = cores[0].reactor if all(c.reactor is cores[0].reactor for c in cores) else engine.reactor
        with engine.lock:
            if engine.driver == "blocking":
                engine.reactor.turn_if_idle()
            reactor.wait(done, deadline, cores)
        return ready

    def _poll_mixed(
        self, zsocks: List[Tuple[Socket[Any], int]], fds: List[Tuple[Any, int]], deadline: Optional[float]
    ) -> List[Tuple[Any, int]]:
        if self._pipe_watcher is None:
            self._pipe_watcher = _PipeWatcher()
        watcher = self._pipe_watcher
        watcher.reset()
        for s, _ in zsocks:
            with s.core.lock:
                s.core.watchers.append(watcher)
        blocking = {id(s.context.engine): s.context.engine for s, _ in zsocks if s.context.engine.driver == "blocking"}
        try:
            while True:
                ready: List[Tuple[Any, int]] = []
                for s, flags in zsocks:
                    with s.core.lock:
                        if s.core.terminated():
                            raise ContextTerminated()
                        ready.extend(self._ready([(s, flags)]))
                rlist = [_fileno(o) for o, f in fds if f & POLLIN]
                wlist = [_fileno(o) for o, f in fds if f & POLLOUT]
                xlist = [_fileno(o) for o, f in fds if f & POLLERR]
                timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
                if ready:
                    timeout = 0.0
                elif blocking:
                    # blocking-driver contexts move only when someone turns them: do it now and then
                    timeout = 0.01 if timeout is None else min(timeout, 0.01)
                    for engine in blocking.values():
                        with engine.lock:
                            engine.reactor.run_pending()
                r, w, x = _select.select(rlist + [watcher.r.fileno()], wlist, xlist, timeout)
                if watcher.r.fileno() in r:
                    watcher.reset()
                for o, f in fds:
                    fd = _fileno(o)
                    mask = (POLLIN if fd in r else 0) | (POLLOUT if fd in w else 0) | (POLLERR if fd in x else 0)
                    if mask & f:
                        ready.append((fd, mask & f))  # pyzmq reports the fd, not the object
                if ready:
                    return ready
                if deadline is not None and time.monotonic() >= deadline:
                    return []
        finally:
            for s, _ in zsocks:
                with s.core.lock:
                    try:
                        s.core.watchers.remove(watcher)
                    except ValueError:
                        pass


def select(
    rlist: List[Any], wlist: List[Any], xlist: List[Any], timeout: Optional[float] = None
) -> Tuple[List[Any], List[Any], List[Any]]:
    """pyzmq's ``zmq.select``: like ``select.select`` over zmtp sockets and fds; timeout in seconds."""
    poller = Poller()
    for s in set(rlist) | set(wlist) | set(xlist):
        flags = (POLLIN if s in rlist else 0) | (POLLOUT if s in wlist else 0) | (POLLERR if s in xlist else 0)
        poller.register(s, flags)
    ready = poller.poll(None if timeout is None else timeout * 1000)
    # in poll's order and form, as pyzmq builds them (non-zmtp objects come back as their fds)
    return (
        [s for s, mask in ready if mask & POLLIN],
        [s for s, mask in ready if mask & POLLOUT],
        [s for s, mask in ready if mask & POLLERR],
    )


def zmq_poll(sockets: Sequence[Tuple[Any, int]], timeout: Optional[float] = -1) -> List[Tuple[Any, int]]:
    """pyzmq's ``zmq.zmq_poll``: poll ``[(socket_or_fd, flags)]`` for up to ``timeout`` ms (negative:
    forever); returns ``[(socket_or_fd, events)]`` for those ready."""
    poller = Poller()
    for s, flags in sockets:
        poller.register(s, flags)
    return poller.poll(timeout)


__all__ = ["Poller", "select", "zmq_poll", "POLLIN", "POLLOUT", "POLLERR"]
