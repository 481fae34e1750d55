"""The native asyncio driver: a :class:`~zmtp.reactor.Reactor` whose crank is an event loop.

A :class:`LoopReactor` is the ordinary reactor (its own selector, timer heap, deferred calls, wake-up
socket pair, leader/follower wait) *mounted* on an asyncio event loop: the loop watches one file
descriptor, the reactor's own selector (an epoll or kqueue descriptor is readable while any descriptor
registered in it is ready), and calls :meth:`LoopReactor.turn` when it is readable, when a timer is due
(one ``loop.call_at`` for the earliest) or when work was queued.  A turn takes the context lock, runs
one non-blocking pass of the reactor (reads, handshakes, writes, timers, exactly as the threaded
driver's leader does), and then, with the lock released, runs what the asyncio facades queued
(:meth:`post`): resolving the futures of waiting ``recv``/``send``/``poll`` calls.  There is no I/O
thread and no thread hop: bytes are read, decoded and handed to the awaiting coroutine in the loop's
own thread.

Why a nested selector instead of one ``add_reader`` per socket: everything a transport does with its
reactor (watch, forget, timers) may happen in *any* thread holding the lock (a socket closed by
``Context.destroy`` in another thread, a ZAP reply, an inproc peer), and asyncio's loop is not
thread-safe.  The reactor's own selector is (registrations are kernel calls made under the lock), so
only the loop's single registration, made and removed in the loop's thread, touches the loop.
Calls from other threads reach the loop through the wake-up socket pair, which is in the selector.

A reactor is mounted on one loop at a time.  Sockets made outside a running loop get a reactor that is
mounted by the first loop that uses them; one whose loop was closed (or stopped) is remounted by the
next loop that uses it, so a socket survives ``asyncio.run()`` being called again.  A blocking call on
a sync shadow in the loop's thread leads the reactor's own selector (the loop is blocked anyway, as in
pyzmq); in another thread, while the loop runs, it only follows (woken by the socket's signals).

With the threaded driver, the engine's I/O thread watches each loop reactor (:meth:`LoopReactor.start_watch`):
when the loop made no turn for :data:`WATCH_INTERVAL` while work is waiting (its thread blocked on
something that is not zmq, as code written for pyzmq may do), it runs a pass itself.  A loop that turns
is never touched, so the normal path stays thread-hop free.
"""

from __future__ import annotations

import asyncio
import heapq
import selectors
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Iterable, List, Optional

from ..reactor import Reactor, Waiter, Watchable

if TYPE_CHECKING:
    from ..core import SocketCore
    from ..engine import Engine

_NOBODY = 0
_tls = threading.local()
#: How often the engine's I/O thread looks whether a loop reactor's loop is stuck (seconds).
WATCH_INTERVAL = 0.01


def native_supported() -> bool:
    """True where a selector is itself pollable (epoll, kqueue, devpoll): the nested design needs it."""
    return any(hasattr(selectors, n) for n in ("EpollSelector", "KqueueSelector", "DevpollSelector"))


def post_queue() -> Optional[List[Callable[[], None]]]:
    """The queue of the reactor turn running in this thread (None outside a turn): callbacks put there
    run right after the turn, with the lock released."""
    return getattr(_tls, "post", None)


class LoopReactor(Reactor):
    """A reactor cranked by an asyncio event loop (see the module docstring)."""

    def __init__(self, lock: Any, engine: Engine) -> None:
        super().__init__(lock, threaded=True)
        self.engine = engine
        #: The loop this reactor is mounted on (None: not yet).
        self.loop: Optional[asyncio.AbstractEventLoop] = None
        #: The thread that runs ``loop`` (the thread that mounted it).
        self.loop_thread = _NOBODY
        self._turn_scheduled = False
        self._timer_handle: Optional[asyncio.TimerHandle] = None
        self._timer_at = float("inf")
        self._post: List[Callable[[], None]] = []
        self._reader_fd = -1
        #: Turns the loop made (the watch compares it with the count it saw last time).
        self.turns = 0
        self._watched_turns = -1
        self._watch_timer: Any = None

    def __repr__(self) -> str:
        return f"<LoopReactor on {self.loop!r}{' closed' if self.closed else ''}>"

    # -- mounting -----------------------------------------------------------------------------------
    def mount(self, loop: asyncio.AbstractEventLoop) -> None:
        """Be cranked by ``loop`` (the running loop of this thread) from now on.  Lock not held.

        Raises RuntimeError when another running loop already cranks this reactor: its sockets belong
        to that loop's thread (as pyzmq documents, sockets are not thread-safe).
        """
        old = self.loop
        if old is loop:
            return
        if self.closed:
            raise RuntimeError("the context of this socket was terminated")
        if old is not None and not old.is_closed() and old.is_running():
            raise RuntimeError(
                f"this zmtp.asyncio socket belongs to the event loop {old!r}, running in another thread: "
                "use each socket from its own loop's thread only"
            )
        with self.lock:
            if old is not None and not old.is_closed():
                try:
                    old.remove_reader(self._reader_fd)
                except Exception:  # pragma: no cover - a loop torn down half-way
                    pass
            if self._timer_handle is not None:
                self._timer_handle.cancel()
                self._timer_handle = None
            self._timer_at = float("inf")
            self.loop = loop
            self.loop_thread = threading.get_ident()
            self._turn_scheduled = False
            self._reader_fd = self._poller.fileno()
            loop.add_reader(self._reader_fd, self.turn)
            # whatever was queued before (connects, timers) starts now
            self._schedule_turn()

    @property
    def running_here(self) -> bool:
        """True when this thread runs the loop this reactor is mounted on."""
        return self.loop_thread == threading.get_ident() and self.loop is not None

    # -- the crank ------------------------------------------------------------------------------------
    def turn(self) -> None:
        """One non-blocking pass, called by the loop; then the facades' post-turn callbacks."""
        self._turn_scheduled = False
        lock = self.lock
        lock.acquire()
        try:
            if self.closed or self.leader != _NOBODY:
                return
            self.turns += 1
            self.leader = self.loop_thread
            post = self._post
            _tls.post = post
            try:
                self.run_once(0.0)
            finally:
                _tls.post = None
                self.leader = _NOBODY
                self._released()
            self._arm_timer()
        finally:
            lock.release()
        if post:
            self._post = []
            for callback in post:
                callback()

    def _arm_timer(self) -> None:
        """Keep one loop timer for the earliest of our timers (lock held, loop thread)."""
        timers = self._timers
        while timers and timers[0][2].callback is None:
            heapq.heappop(timers)
        at = timers[0][0] if timers else float("inf")
        if self._soon or self.deferred:
            self._schedule_turn()
        if at == self._timer_at:
            return
        handle = self._timer_handle
        if handle is not None:
            handle.cancel()
            self._timer_handle = None
        self._timer_at = at
        loop = self.loop
        if at != float("inf") and loop is not None:
            self._timer_handle = loop.call_later(max(0.0, at - time.monotonic()), self._on_timer)

    def _on_timer(self) -> None:
        self._timer_handle = None
        self._timer_at = float("inf")
        self.turn()

    def _schedule_turn(self) -> None:
        """Make the loop call :meth:`turn` soon (any thread; lock held or not)."""
        loop = self.loop
        if loop is None or self.closed:
            return
        if self.loop_thread == threading.get_ident():
            if not self._turn_scheduled and self.leader == _NOBODY:
                self._turn_scheduled = True
                try:
                    loop.call_soon(self.turn)
                except RuntimeError:  # the loop is closed
                    self._turn_scheduled = False
        else:
            self.wake()  # the wake-up socket is in our selector, and our selector in the loop

    # -- what the base reactor calls to get somebody to run the loop ----------------------------------
    def _kick(self) -> None:
        if self.selecting:
            self.wake()
        elif self.leader == _NOBODY:
            self._schedule_turn()

    def defer(self, callback: Callable[[], None]) -> None:
        """A streaming sender's flush: on the loop's next turn (all the sends the coroutine makes
        before it yields go out together)."""
        super().defer(callback)
        if self.leader == _NOBODY:
            self._schedule_turn()

    def call_at(self, deadline: float, callback: Callable[[], None]) -> Any:
        first = not self._timers or deadline < self._timers[0][0]
        timer = super().call_at(deadline, callback)
        if first and self.leader == _NOBODY:
            self._schedule_turn()  # the turn re-arms the loop's timer
        return timer

    def turn_if_idle(self, min_interval: float = 1e-3) -> None:
        """The loop moves the I/O: nothing to do here."""

    # -- waiting (sync shadows of async sockets, term) ------------------------------------------------
    def wait(
        self,
        done: Callable[[], bool],
        deadline: Optional[float],
        watch: Iterable[Watchable] = (),
        checked: bool = False,
    ) -> bool:
        """As :meth:`Reactor.wait`: in the loop's thread (or when no loop runs) this thread drives the
        reactor's own selector; in another thread while the loop runs, it follows the loop."""
        loop = self.loop
        if loop is None or self.running_here or loop.is_closed() or not loop.is_running():
            if self.leader == _NOBODY and not self.closed and not done():
                # nobody else moves this reactor now (its loop is this blocked thread, or none runs): one
                # non-blocking pass first, so even a zero-timeout poll sees what arrived (pyzmq's I/O
                # thread would have read it in the background)
                self.run_pending()
            return super().wait(done, deadline, watch)
        if done():
            return True
        waiter = Waiter(self.lock)
        watched = list(watch)
        for source in watched:
            source.watchers.append(waiter)
        try:
            while True:
                if self.closed:
                    return done()
                timeout = 0.1
                if deadline is not None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    timeout = min(timeout, left)
                waiter.fired = False
                waiter.cond.wait(timeout)
                if done():
                    return True
                if not loop.is_running() and self.leader == _NOBODY:
                    # the loop stopped meanwhile: nobody else will move our I/O
                    return super().wait(done, deadline, watch)
        finally:
            for source in watched:
                try:
                    source.watchers.remove(waiter)
                except ValueError:
                    pass

    def settle(self, cores: List[SocketCore]) -> None:
        """term(): finish ``cores`` (closed ones lingering) here if our loop cannot.  Lock held."""
        if not cores:
            return
        loop = self.loop
        if loop is not None and loop.is_closed() and _exiting():
            # the program is ending and its loop is gone: run what was queued (a dropped socket's close),
            # then drop what lingers rather than hang the exit on a loop nobody will run again
            Reactor.run_pending(self)
            for core in cores:
                if core.closed and not core.finished:
                    core.abort_lingering()
            return
        if loop is None or loop.is_closed() or self.running_here or not loop.is_running():
            # nobody else will move these sockets: deliver what they linger for here (an explicit term()
            # after asyncio.run() delivers, as libzmq's I/O threads do for pyzmq), bounded by LINGER
            self.wait(lambda: all(c.finished or not c.closed for c in cores) and not self._soon, None)

    # -- the watch: I/O keeps moving while the loop's thread is blocked ------------------------------
    def start_watch(self) -> None:
        """Have the engine's I/O thread (threaded driver only) check every :data:`WATCH_INTERVAL` that
        the loop still turns.  Lock held.

        Code written for pyzmq may block its loop's thread on something that is not zmq (jupyter_client's
        heartbeat thread sends a ping, then waits on a ``threading.Event`` and polls with timeout 0),
        counting on libzmq's I/O thread to receive meanwhile.  When the loop made no turn for a whole
        interval, the watch runs one pass of this reactor itself (futures are then resolved through
        ``call_soon_threadsafe``); a loop that turns is never touched.
        """
        engine_reactor = self.engine.reactor
        if engine_reactor.threaded and not self.closed and self._watch_timer is None:
            self._watch_timer = engine_reactor.call_later(WATCH_INTERVAL, self._watch)

    def _watch(self) -> None:
        self._watch_timer = None
        if self.closed or self.engine.reactor.closed:
            return
        if self.turns == self._watched_turns and self.leader == _NOBODY and self.loop is not None \
                and self._has_work():
            self.leader = threading.get_ident()
            try:
                self.run_once(0.0)
            finally:
                self.leader = _NOBODY
                self._released()
            self.wake()  # when the loop turns again it re-arms its timer for what we left
        self._watched_turns = self.turns
        self.start_watch()

    def _has_work(self) -> bool:
        """Ready descriptors, due timers or queued calls (a look that consumes nothing).  Lock held."""
        if self._soon:
            return True
        timers = self._timers
        if timers and timers[0][0] <= time.monotonic():
            return True
        if self.deferred:
            return True
        try:
            return bool(self._poller.poll(0))
        except (OSError, ValueError):  # closed meanwhile
            return False

    # -- stopping ---------------------------------------------------------------------------------
    def stop(self) -> None:
        """Unmount and close (lock held; from any thread)."""
        if self.closed:
            return
        self._stopping = True
        self.closed = True
        if self._watch_timer is not None:
            self._watch_timer.cancel()
            self._watch_timer = None
        for waiter in list(self.followers):
            waiter.notify()
        loop = self.loop
        if loop is None or loop.is_closed() or self.running_here or not loop.is_running():
            self._detach()
            return
        try:
            loop.call_soon_threadsafe(self._detach)
        except RuntimeError:  # closed meanwhile
            self._detach()

    def _detach(self) -> None:
        loop = self.loop
        if loop is not None and not loop.is_closed() and self._reader_fd >= 0:
            try:
                loop.remove_reader(self._reader_fd)
            except Exception:  # pragma: no cover
                pass
        handle = self._timer_handle
        if handle is not None:
            handle.cancel()
            self._timer_handle = None
        self._reader_fd = -1
        try:
            self._poller.close()
        except Exception:  # pragma: no cover
            pass
        self._wake_r.close()
        self._wake_w.close()


def _exiting() -> bool:
    """True once zmtp's exit handler destroys the contexts left alive."""
    from .. import context

    return bool(getattr(context, "_exiting", False))


def reactor_for(engine: Engine, loop: Optional[asyncio.AbstractEventLoop]) -> LoopReactor:
    """The reactor new async sockets of ``engine`` get: the one mounted on ``loop`` (made and mounted
    if need be), or, outside a running loop, one this thread's first loop will mount."""
    with engine.lock:
        me = threading.get_ident()
        for r in engine.extra_reactors:
            if not isinstance(r, LoopReactor) or r.closed:
                continue
            if loop is not None and r.loop is loop:
                return r
            if loop is None and r.loop is None and r.loop_thread == me:
                return r
        reactor = LoopReactor(engine.lock, engine)
        reactor.loop_thread = me
        engine.extra_reactors.append(reactor)
        reactor.start_watch()
    if loop is not None:
        reactor.mount(loop)
    return reactor


__all__ = ["LoopReactor", "reactor_for", "native_supported", "post_queue"]
