"""The engine behind a context: one lock, one reactor (with or without its I/O thread), the inproc name
table, and the socket cores that are open or still lingering.

:class:`zmtp.Context` is the pyzmq-shaped face of an :class:`Engine`; sockets are made here as
:class:`~zmtp.core.SocketCore` objects and wrapped by :class:`zmtp.Socket` (or an asyncio socket).

Lifetimes follow pyzmq: the engine holds its cores strongly (a closed socket may still be lingering) but
never their facades, so a socket the application drops is collected and closed with its linger;
:meth:`Engine.term` then returns once every core is closed and done lingering.  Termination makes every
blocked call raise ContextTerminated.  An engine inherited through ``fork()`` is dead in the child: its
threads do not exist there, so it is never waited for.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from typing import Any, Callable, List, Optional, Set

from .core import SocketCore
from .reactor import Reactor
from .transport.inproc import InprocNames
from .zap import ZapBroker

#: Drivers an engine can run with.
THREADED, BLOCKING = "threaded", "blocking"


class Engine:
    """One context's machinery.  ``driver``: "threaded" (an I/O thread) or "blocking" (none)."""

    def __init__(self, driver: str = THREADED, *, reactor_factory: Optional[Callable[[Any], Reactor]] = None) -> None:
        if driver not in (THREADED, BLOCKING):
            raise ValueError(f"driver must be 'threaded' or 'blocking', not {driver!r}")
        self.driver = driver
        self.lock = threading.Lock()
        if reactor_factory is not None:
            self.reactor = reactor_factory(self.lock)
        else:
            self.reactor = Reactor(self.lock, threaded=driver == THREADED)
        self.inproc = InprocNames()
        self.zap = ZapBroker(self.inproc, self._internal_socket)
        #: Cores not yet finished (open, or closed and still lingering).
        self.cores: Set[SocketCore] = set()
        self.terminated = False
        self.pid = os.getpid()
        #: Waiters of term() (see Reactor.wait's ``watch``).
        self.watchers: List[Any] = []
        #: Reactors other than ``reactor`` that cores of this engine run on (zmtp.asyncio's, one per
        #: event loop): they share the lock; term() waits for their cores and stops them.
        self.extra_reactors: List[Any] = []
        if driver == THREADED and reactor_factory is None:
            self.reactor.start_thread(f"zmtp-io-{id(self):x}")

    @property
    def forked(self) -> bool:
        """True in a child process that inherited this engine: nothing of it runs here."""
        return self.pid != os.getpid()

    @property
    def closed(self) -> bool:
        return self.reactor.closed

    def socket(self, socket_type: int, reactor: Optional[Reactor] = None) -> SocketCore:
        """A new socket core (on ``reactor`` if given: one of :attr:`extra_reactors`, sharing the lock)."""
        with self.lock:
            core = SocketCore(
                socket_type,
                reactor=self.reactor if reactor is None else reactor,
                inproc=self.inproc,
                on_closed=self._core_finished,
                terminated=self.is_terminated,
                zap=self.zap,
            )
            self.cores.add(core)
            return core

    def _internal_socket(self, socket_type: int) -> SocketCore:
        """A socket zmtp itself uses (the ZAP client), lock held; not waited for by term()."""
        return SocketCore(
            socket_type,
            reactor=self.reactor,
            inproc=self.inproc,
            on_closed=lambda core: None,
            terminated=self.is_terminated,
        )

    def internal_socket(self, socket_type: int) -> SocketCore:
        """A socket zmtp itself uses (a monitor's PAIR): not one of the application's, so ``term()``
        does not wait for it; its owner closes it."""
        with self.lock:
            return self._internal_socket(socket_type)

    def is_terminated(self) -> bool:
        return self.terminated

    def _core_finished(self, core: SocketCore) -> None:
        self.cores.discard(core)
        for watcher in self.watchers:
            watcher.notify()
        if self.watchers and core.reactor is not self.reactor:
            self.reactor.wake()  # term() may be leading our own selector, blind to the other reactor

    def close_dropped(self, core: SocketCore) -> None:
        """A facade was garbage-collected without close(): close its core with its linger, on the
        reactor (the collector may run in any thread, even one holding the lock)."""
        if self.forked or core.reactor.closed:
            return
        core.reactor.call_soon_threadsafe(lambda: core.close(None))

    def run_pending(self) -> None:
        """Blocking driver: run deferred work (a dropped socket's close) now.  Lock held."""
        self.reactor.run_pending()

    def spin(self, seconds: float) -> None:
        """Drive I/O for ``seconds`` in this thread (tests; a blocking-driver program that wants its
        background work done without a call to make)."""
        with self.lock:
            if not self.reactor.closed:
                self.reactor.wait(lambda: False, time.monotonic() + seconds)

    def term(self) -> None:
        """Terminate: blocked calls raise ContextTerminated; return once every socket is closed and
        done lingering (libzmq's zmq_ctx_term)."""
        if self.forked:
            return
        with self.lock:
            if self.reactor.closed:
                return
            self.terminated = True
            for core in list(self.cores):
                core.stop_monitor()  # libzmq: socket_base_t::process_stop
                core.signal()
            self.reactor.notify_all_waiters()
            for extra in self.extra_reactors:
                extra.notify_all_waiters()
            if self.cores:
                # Sockets dropped by the application but kept alive by a reference cycle are closed
                # when the collector runs: give it that chance before waiting for them.
                self.lock.release()
                try:
                    gc.collect()
                finally:
                    self.lock.acquire()
            self.reactor.run_pending()
            for extra in list(self.extra_reactors):
                # an event loop's reactor: driven here when its loop cannot (closed, stopped, or the
                # loop of this very thread, blocked in term()); else its loop finishes its cores
                extra.settle([c for c in self.cores if c.reactor is extra])
            self.reactor.wait(lambda: not self.cores, None, (self,))
            self.zap.close()
            for extra in self.extra_reactors:
                extra.stop()
            self.extra_reactors.clear()
            self.reactor.stop()

    def destroy(self, linger: Optional[int]) -> None:
        """Close every open socket (with ``linger`` if given, else each socket's own) and terminate."""
        if self.forked:
            return
        with self.lock:
            for core in list(self.cores):
                if not core.closed:
                    core.close(linger)
        self.term()

    def wait_closed(self, core: SocketCore, deadline: Optional[float]) -> None:
        """Blocking driver: drive the reactor until ``core`` is done lingering or ``deadline``."""
        with self.lock:
            if not self.reactor.wait(lambda: core.finished, deadline, ()):
                core.abort_lingering()


def monotonic_deadline(ms: Optional[int]) -> Optional[float]:
    """A deadline ``ms`` milliseconds from now (None or negative: none)."""
    if ms is None or ms < 0:
        return None
    return time.monotonic() + ms / 1000.0


__all__ = ["Engine", "THREADED", "BLOCKING", "monotonic_deadline"]
