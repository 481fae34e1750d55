"""The I/O reactor both drivers share: a selector, timers, and a way to wake it.

Everything the reactor touches (streams, pipes, patterns) is guarded by the context's lock.  The
reactor releases it only while it waits in ``select``; callbacks run with it held.

Two drivers turn the same crank (:meth:`Reactor.run_once`):

* the **threaded** driver (the default) runs it forever in one background thread per context, as
  libzmq's I/O thread does, so connects, reconnects, accepts, heartbeats and the delivery of messages
  the application sent and forgot all happen while the application sleeps or computes;
* the **blocking** driver has no thread at all: the application's own calls (``send``, ``recv``,
  ``poll``) run it while they wait.  Nothing happens between calls.

Other threads never modify the selector: they queue a call with :meth:`call_soon` (which wakes the
reactor through a socket pair) so registration changes happen in the thread that selects.
"""

from __future__ import annotations

import heapq
import itertools
import selectors
import socket
import threading
import time
from typing import Callable, Dict, List, Optional, Tuple

Callback = Callable[[], None]

READ = selectors.EVENT_READ
WRITE = selectors.EVENT_WRITE


class Handler:
    """Something registered with the reactor: it gets ``on_readable`` / ``on_writable`` calls."""

    def on_readable(self) -> None:  # pragma: no cover - interface
        pass

    def on_writable(self) -> None:  # pragma: no cover - interface
        pass


class Timer:
    """A cancellable one-shot timer."""

    __slots__ = ("deadline", "callback", "cancelled")

    def __init__(self, deadline: float, callback: Callback) -> None:
        self.deadline = deadline
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Reactor:
    def __init__(self, lock: threading.Lock, threaded: bool) -> None:
        self.lock = lock
        self.threaded = threaded
        self.selector = selectors.DefaultSelector()
        self._timers: List[Tuple[float, int, Timer]] = []
        self._seq = itertools.count()
        self._soon: List[Callback] = []
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._woken = False
        self.selector.register(self._wake_r, READ, None)
        self._masks: Dict[int, int] = {}
        #: One receive buffer for every stream this reactor reads (reads happen under the lock).
        self.recv_buffer = memoryview(bytearray(1 << 18))
        #: True while run_once dispatches I/O and timers (the lock is held throughout).
        self.dispatching = False
        #: Wake-ups for blocked callers, collected while dispatching and delivered once at its end, just
        #: before the lock is released: a woken thread then finds the lock free instead of waking only
        #: to block on it again (a costly extra context switch per message on a shared core).
        self.pending_wakeups: Dict[int, Callback] = {}
        self._thread: Optional[threading.Thread] = None
        self._stopping = False
        #: True while some thread is inside run_once (blocking driver: only one may turn the crank).
        self.running = False
        self.closed = False

    # -- registration (reactor thread, or any thread under the lock in blocking mode) -------------
    def set_interest(self, sock: socket.socket, handler: Handler, mask: int) -> None:
        fd = sock.fileno()
        old = self._masks.get(fd, 0)
        if mask == old:
            return
        if mask == 0:
            self.selector.unregister(sock)
            del self._masks[fd]
        elif old == 0:
            self.selector.register(sock, mask, handler)
            self._masks[fd] = mask
        else:
            self.selector.modify(sock, mask, handler)
            self._masks[fd] = mask

    def forget(self, sock: socket.socket) -> None:
        try:
            fd = sock.fileno()
        except OSError:
            return
        if fd >= 0 and self._masks.pop(fd, 0):
            try:
                self.selector.unregister(sock)
            except (KeyError, ValueError):
                pass

    def call_later(self, delay: float, callback: Callback) -> Timer:
        timer = Timer(time.monotonic() + delay, callback)
        heapq.heappush(self._timers, (timer.deadline, next(self._seq), timer))
        if self.threaded and threading.current_thread() is not self._thread:
            self.wake()
        return timer

    def call_at(self, deadline: float, callback: Callback) -> Timer:
        timer = Timer(deadline, callback)
        heapq.heappush(self._timers, (deadline, next(self._seq), timer))
        if self.threaded and threading.current_thread() is not self._thread:
            self.wake()
        return timer

    def call_soon(self, callback: Callback) -> None:
        """Run ``callback`` in the reactor (under the lock) as soon as possible."""
        self._soon.append(callback)
        if self.threaded:
            if threading.current_thread() is not self._thread:
                self.wake()
        # blocking driver: the next run_once runs it

    def wake(self) -> None:
        if not self._woken:
            self._woken = True
            try:
                self._wake_w.send(b"\x00")
            except OSError:
                pass

    def in_reactor_thread(self) -> bool:
        return not self.threaded or threading.current_thread() is self._thread

    # -- the crank ------------------------------------------------------------------------------
    def run_once(self, timeout: Optional[float]) -> None:
        """Wait up to ``timeout`` seconds (None: forever) for I/O or timers, then handle them.

        Called with the lock held; releases it while waiting.
        """
        if self._soon:
            self._run_soon()
        timers = self._timers
        if timers:
            delay = max(0.0, timers[0][0] - time.monotonic())
            timeout = delay if timeout is None else min(timeout, delay)
        self.running = True
        self.lock.release()
        try:
            ready = self.selector.select(timeout)
        finally:
            self.lock.acquire()
            self.running = False
        self.dispatching = True
        try:
            self._dispatch(ready)
        finally:
            self.dispatching = False
            wakeups = self.pending_wakeups
            if wakeups:
                self.pending_wakeups = {}
                for wakeup in wakeups.values():
                    wakeup()

    def _dispatch(self, ready: List[Tuple[selectors.SelectorKey, int]]) -> None:
        for key, mask in ready:
            handler = key.data
            if handler is None:
                self._drain_wake()
                continue
            if key.fd not in self._masks:
                continue  # closed by an earlier callback in this batch
            if mask & READ:
                handler.on_readable()
            if mask & WRITE and key.fd in self._masks:
                handler.on_writable()
        if self._soon:
            self._run_soon()
        timers = self._timers
        if timers:
            now = time.monotonic()
            while timers and timers[0][0] <= now:
                _, _, timer = heapq.heappop(timers)
                if not timer.cancelled:
                    timer.callback()

    def _drain_wake(self) -> None:
        self._woken = False
        try:
            while self._wake_r.recv(4096):
                pass
        except OSError:
            pass

    def _run_soon(self) -> None:
        soon = self._soon
        self._soon = []
        for callback in soon:
            callback()

    # -- threaded driver ------------------------------------------------------------------------
    def start_thread(self, name: str) -> None:
        self._thread = threading.Thread(target=self._thread_main, name=name, daemon=True)
        self._thread.start()

    def _thread_main(self) -> None:
        with self.lock:
            while not self._stopping:
                try:
                    self.run_once(None)
                except Exception:  # pragma: no cover - a bug in a callback must not kill I/O
                    import traceback

                    traceback.print_exc()

    def stop(self) -> None:
        """Stop the thread (if any) and close the selector.  Called with the lock held."""
        self._stopping = True
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            self.wake()
            self.lock.release()
            try:
                thread.join(5.0)
            finally:
                self.lock.acquire()
        self.closed = True
        self.selector.close()
        self._wake_r.close()
        self._wake_w.close()


__all__ = ["Reactor", "Handler", "Timer", "READ", "WRITE"]
