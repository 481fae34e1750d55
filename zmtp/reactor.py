"""The I/O reactor: a selector, timers, a wake-up, and the one wait loop every blocking call uses.

Everything the reactor touches (streams, pipes, patterns, socket cores) is guarded by one lock, the
context's.  The reactor releases it only while some thread waits in ``select``; callbacks run with it
held.

**Leader/follower.**  Whichever thread needs progress runs the selector itself: a thread blocked in
``recv``, ``send``, ``poll`` or ``Poller.poll`` becomes the *leader* and dispatches I/O and timers in
its own stack, so a reply is read, decoded and handed over in the thread that asked for it, with no
thread switch (the classic threaded design costs two switches per round trip: I/O thread wakes up,
then wakes the application).  Other threads that wait meanwhile are *followers*: they sleep on their
own :class:`Waiter` until the leader's dispatch signals a socket they watch, or until the leader steps
down and hands the selector to the first of them.

The background I/O thread of the threaded driver is the follower of last resort: it leads only when no
application thread does, so connects, reconnects, accepts, heartbeats and messages sent and forgotten
keep moving while the application computes or sleeps.  When an application thread starts waiting while
the I/O thread leads, it asks for the selector (a byte on the wake-up socket pair) and the I/O thread
steps aside after its current turn.  When an application leader steps down, the I/O thread does not take
over at once: it waits :data:`IDLE_GRACE` seconds (less when a timer is due sooner, not at all when
output is pending), because an application in a request/reply or receive loop comes back at once and
would otherwise pay a hand-over on every call.

The **blocking driver** is the same machinery without the I/O thread: only the application's own calls
turn the crank.
"""

from __future__ import annotations

import heapq
import itertools
import select as _select
import selectors
import socket
import threading
import time
from collections import deque
from typing import Any, Callable, Deque, Dict, Iterable, List, Optional, Protocol, Tuple

Callback = Callable[[], None]

READ = selectors.EVENT_READ
WRITE = selectors.EVENT_WRITE

#: How long the I/O thread lets an application thread keep the selector after that thread stopped
#: waiting, before it takes the selector back (seconds).  Background I/O (accepts, reads for nobody
#: waiting) is delayed by at most this much; pending output and timers never wait for it.
IDLE_GRACE = 0.002

#: The size of the one receive buffer every stream of a reactor reads into.
RECV_BUFFER_SIZE = 1 << 18
#: ``Reactor.leader`` when no thread runs the selector.
_NOBODY = 0
#: The longest the parked I/O thread sleeps before looking whether the application left the selector.
_MAX_PARK = 0.1
#: Work deferred with :meth:`Reactor.defer` (a streaming sender's flush) runs within this many seconds
#: even when no application thread leads in the meantime.
DEFER_DELAY = 1e-3
_FAR = float("inf")


class Handler:
    """Something registered with the reactor: it gets ``on_readable`` / ``on_writable`` calls."""

    def on_readable(self) -> None:  # pragma: no cover - interface
        pass

    def on_writable(self) -> None:  # pragma: no cover - interface
        pass


class Timer:
    """A one-shot timer.  ``cancel()`` drops the callback (and what it holds) at once."""

    __slots__ = ("deadline", "callback")

    def __init__(self, deadline: float, callback: Optional[Callback]) -> None:
        self.deadline = deadline
        self.callback = callback

    @property
    def cancelled(self) -> bool:
        return self.callback is None

    def cancel(self) -> None:
        # The heap entry stays until its deadline or the next compaction, but it no longer keeps a
        # stream, its connection and their buffers alive (a cancelled handshake timer used to hold a
        # closed stream's half-received frame for the whole HANDSHAKE_IVL).
        self.callback = None


class _EpollPoller:
    """Linux: ``select.epoll`` directly (the ``selectors`` module builds a key object per event and per
    registration, which costs more than the system calls on the hot path).  Registrations made while
    another thread waits in ``epoll_wait`` take effect at once."""

    live_registration = True

    def __init__(self) -> None:
        self._ep = _select.epoll()

    @staticmethod
    def _events(mask: int) -> int:
        return (_select.EPOLLIN if mask & READ else 0) | (_select.EPOLLOUT if mask & WRITE else 0)

    def register(self, fd: int, mask: int) -> None:
        self._ep.register(fd, self._events(mask))

    def modify(self, fd: int, mask: int) -> None:
        self._ep.modify(fd, self._events(mask))

    def unregister(self, fd: int) -> None:
        try:
            self._ep.unregister(fd)
        except (OSError, ValueError):
            pass

    def poll(self, timeout: Optional[float]) -> List[Tuple[int, int]]:
        """``[(fd, READ|WRITE)]``; hang-ups and errors count as both (the handler finds out which)."""
        if timeout is None:
            timeout = -1
        elif timeout > 0:
            timeout = max(timeout, 1e-3)  # epoll's resolution is a millisecond: never spin below it
        out = []
        for fd, ev in self._ep.poll(timeout):
            mask = 0
            if ev & ~_select.EPOLLOUT:
                mask |= READ
            if ev & ~_select.EPOLLIN:
                mask |= WRITE
            out.append((fd, mask))
        return out

    def fileno(self) -> int:
        """The epoll descriptor: readable while a registered descriptor is ready (zmtp.asyncio nests
        it in an event loop)."""
        return self._ep.fileno()

    def close(self) -> None:
        self._ep.close()


class _SelectorPoller:
    """Elsewhere: the ``selectors`` module's best selector."""

    def __init__(self) -> None:
        self._sel = selectors.DefaultSelector()
        live = tuple(getattr(selectors, n) for n in ("KqueueSelector", "DevpollSelector") if hasattr(selectors, n))
        #: poll and select work on a snapshot: a registration change must then wake the waiting thread
        self.live_registration = isinstance(self._sel, live)

    def register(self, fd: int, mask: int) -> None:
        self._sel.register(fd, mask)

    def modify(self, fd: int, mask: int) -> None:
        self._sel.modify(fd, mask)

    def unregister(self, fd: int) -> None:
        try:
            self._sel.unregister(fd)
        except (KeyError, ValueError):
            pass

    def poll(self, timeout: Optional[float]) -> List[Tuple[int, int]]:
        return [(key.fd, mask) for key, mask in self._sel.select(timeout)]

    def fileno(self) -> int:
        """The selector's descriptor, where it has one (kqueue, devpoll; not select/poll)."""
        return self._sel.fileno()

    def close(self) -> None:
        self._sel.close()


class Waiter:
    """One waiting thread: a condition on the reactor's lock, and whether it was notified."""

    __slots__ = ("cond", "fired")

    def __init__(self, lock: Any) -> None:
        self.cond = threading.Condition(lock)
        self.fired = False

    def notify(self) -> None:
        self.fired = True
        self.cond.notify()


class Watchable(Protocol):
    """What a waiting thread registers its :class:`Waiter` with (a socket core)."""

    watchers: List[Any]


class Reactor:
    """Selector, timers and leadership for one context.

    ``threaded``: start an I/O thread with :meth:`start_thread` (the threaded driver); otherwise only
    the application's own waits run the selector (the blocking driver).
    """

    def __init__(self, lock: Any, threaded: bool) -> None:
        self.lock = lock
        self.threaded = threaded
        self._poller: Any = _EpollPoller() if hasattr(_select, "epoll") else _SelectorPoller()
        self._live_registration: bool = self._poller.live_registration
        self._timers: List[Tuple[float, int, Timer]] = []
        self._pushes = 0
        self._seq = itertools.count()
        self._soon: Deque[Callback] = deque()
        self.deferred: Deque[Callback] = deque()
        #: When the oldest deferred call is due (monotonic).
        self._deferred_at = 0.0
        #: Until when the leader now in select waits at most.
        self._select_until = _FAR
        #: When an application thread last called into a socket (recv/send under the lock): the I/O
        #: thread keeps away from the selector while the application is busy with its sockets.
        self.app_active_at = 0.0
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._woken = False
        self._wake_fd = self._wake_r.fileno()
        self._poller.register(self._wake_fd, READ)
        self._masks: Dict[int, int] = {}
        self._handlers: Dict[int, Handler] = {}
        self._writers = 0
        #: One receive buffer for every stream this reactor reads (reads happen under the lock).
        self.recv_buffer = memoryview(bytearray(RECV_BUFFER_SIZE))
        #: True while run_once dispatches I/O and timers (the lock is held throughout).
        self.dispatching = False
        #: True while some thread is inside ``select`` (with the lock released).
        self.selecting = False
        #: Wake-ups for blocked callers, collected while dispatching and delivered once at its end, just
        #: before the lock is released: a woken thread then finds the lock free instead of waking only
        #: to block on it again (a costly extra context switch per message on a shared core).
        self.pending_wakeups: Dict[int, Callback] = {}
        #: The thread ident of the thread running the selector loop now (0: nobody).
        self.leader = _NOBODY
        #: Threads waiting for a signal or for the selector, oldest first.
        self.followers: Deque[Waiter] = deque()
        #: Counts application waits: lets a sender tell request/reply traffic from a stream of sends.
        self.wait_epoch = 0
        self._thread: Optional[threading.Thread] = None
        self._thread_ident = _NOBODY
        #: What the parked I/O thread sleeps on: an Event, not a condition on the context lock, so
        #: waking up to look costs it no fight for the lock with a busy application thread.
        self._io_event = threading.Event()
        self._handover = False
        self._released_at = 0.0
        self._io_wake_at = _FAR
        self._stopping = False
        self._last_turn = 0.0
        #: How many turns ran: a turn's number, for handlers that ration work per turn.
        self.turns = 0
        #: Free slot for the transports' per-turn rationing of handshake reads (transport/stream.py).
        self.handshakes: Any = None
        self.closed = False

    @property
    def io_thread_ident(self) -> int:
        """The I/O thread's ident (0 without one)."""
        return self._thread_ident

    # -- registration ---------------------------------------------------------------------------
    def set_interest(self, sock: socket.socket, handler: Handler, mask: int) -> None:
        """Watch ``sock`` for ``mask`` (READ|WRITE; 0 stops watching).  Lock held, any thread."""
        fd = sock.fileno()
        if fd < 0:
            return
        old = self._masks.get(fd, 0)
        if mask == old:
            return
        if mask == 0:
            self._poller.unregister(fd)
            del self._masks[fd]
            self._handlers.pop(fd, None)
        elif old == 0:
            self._poller.register(fd, mask)
            self._masks[fd] = mask
            self._handlers[fd] = handler
        else:
            self._poller.modify(fd, mask)
            self._masks[fd] = mask
            self._handlers[fd] = handler
        self._writers += bool(mask & WRITE) - bool(old & WRITE)
        if self.selecting and not self._live_registration:
            self.wake()
        elif mask & WRITE and not old & WRITE:
            self._kick()

    def forget(self, sock: socket.socket) -> None:
        """Stop watching ``sock`` (before closing it)."""
        try:
            fd = sock.fileno()
        except OSError:
            return
        if fd < 0:
            return
        old = self._masks.pop(fd, 0)
        if old:
            self._writers -= bool(old & WRITE)
            self._handlers.pop(fd, None)
            self._poller.unregister(fd)

    # -- time and deferred calls ----------------------------------------------------------------
    def call_at(self, deadline: float, callback: Callback) -> Timer:
        """Run ``callback`` (lock held, in whichever thread leads) at ``deadline`` (monotonic)."""
        timer = Timer(deadline, callback)
        self._pushes += 1
        if not self._pushes & 1023:
            self._compact_timers()
        timers = self._timers
        first = not timers or deadline < timers[0][0]
        heapq.heappush(timers, (deadline, next(self._seq), timer))
        if first:
            # the leader (or the parked I/O thread) computed its timeout from a later deadline
            if self.selecting:
                self.wake()
            elif deadline < self._io_wake_at:
                self._io_event.set()
        return timer

    def call_later(self, delay: float, callback: Callback) -> Timer:
        return self.call_at(time.monotonic() + delay, callback)

    def _compact_timers(self) -> None:
        """Drop cancelled entries once they are most of the heap (connection churn cancels many)."""
        live = [t for t in self._timers if t[2].callback is not None]
        if len(live) * 2 < len(self._timers):
            heapq.heapify(live)
            self._timers = live

    def call_soon(self, callback: Callback) -> None:
        """Run ``callback`` (lock held) in the reactor as soon as possible.  Lock held."""
        self._soon.append(callback)
        self._kick()

    def defer(self, callback: Callback) -> None:
        """Run ``callback`` when a thread next leads, or within :data:`DEFER_DELAY` at the latest.

        Unlike :meth:`call_soon` this does not wake anybody at once: a streaming sender's flush is
        batched into the sender's own next wait (or its next batch boundary) instead of bouncing to
        the I/O thread after every message.  Lock held.
        """
        deferred = self.deferred
        if not deferred:
            self._deferred_at = due = time.monotonic() + DEFER_DELAY
            if self.selecting:
                if due < self._select_until:
                    self.wake()  # the leader waits in select longer than that
            elif self._thread is not None and due < self._io_wake_at:
                self._io_event.set()  # the parked I/O thread would look too late
        deferred.append(callback)

    def postpone_deferred(self) -> None:
        """The one deferred call is a streaming sender's flush, and that sender has just flushed by
        itself: move the deadline on, so nobody else wakes for it while the sender keeps going."""
        if len(self.deferred) == 1:
            self._deferred_at = time.monotonic() + DEFER_DELAY

    def run_deferred_if_due(self) -> None:
        """Run deferred work older than :data:`DEFER_DELAY` (a sender's own calls do this, so that a
        sender that never waits needs no other thread for its leftovers).  Lock held."""
        if self.deferred and time.monotonic() >= self._deferred_at:
            self._run_deferred()

    def _run_deferred(self) -> None:
        deferred = self.deferred
        for _ in range(len(deferred)):
            deferred.popleft()()

    def call_soon_threadsafe(self, callback: Callback) -> None:
        """As :meth:`call_soon`, from a thread that may not hold the lock (a ``__del__``).

        ``deque.append`` is atomic; the wake-up byte interrupts a selecting leader, and a parked I/O
        thread sees it within its park interval.
        """
        self._soon.append(callback)
        self.wake()
        self._io_event.set()

    def _kick(self) -> None:
        """Make sure somebody runs the loop soon: wake the selecting leader, or the parked I/O thread."""
        if self.selecting:
            self.wake()
        elif self.leader == _NOBODY and self._thread is not None:
            self._io_event.set()

    def wake(self) -> None:
        """Interrupt a ``select`` in progress (or the next one)."""
        if not self._woken:
            self._woken = True
            try:
                self._wake_w.send(b"\x00")
            except OSError:
                pass

    # -- the crank ------------------------------------------------------------------------------
    def run_once(self, timeout: Optional[float]) -> None:
        """Wait up to ``timeout`` seconds (None: forever) for I/O or timers, then handle them.

        Called with the lock held by the leader; releases it while waiting in ``select``.
        """
        if self._soon or self.deferred:
            # Deferred calls may change what the caller waits for (a flush that drains a full pipe
            # signals the very thread that leads, which is not selecting yet and so cannot be woken):
            # run them, then only poll, so the caller looks at its condition again before blocking.
            if self._soon:
                self._run_soon()
            if self.deferred:
                self._run_deferred()
            timeout = 0.0
        timers = self._timers
        while timers and timers[0][2].callback is None:
            heapq.heappop(timers)
        if timers:
            delay = max(0.0, timers[0][0] - time.monotonic())
            timeout = delay if timeout is None else min(timeout, delay)
        self._select_until = _FAR if timeout is None else time.monotonic() + timeout
        self.selecting = True
        self.lock.release()
        try:
            ready = self._poller.poll(timeout)
        finally:
            self.lock.acquire()
            self.selecting = False
        self._last_turn = time.monotonic()
        self.turns += 1
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

    def _dispatch(self, ready: List[Tuple[int, int]]) -> None:
        handlers = self._handlers
        wake_fd = self._wake_fd
        for fd, mask in ready:
            handler = handlers.get(fd)
            if handler is None:
                if fd == wake_fd:
                    self._drain_wake()
                continue  # closed by an earlier callback in this batch
            if mask & READ:
                handler.on_readable()
                if mask & WRITE and handlers.get(fd) is handler:
                    handler.on_writable()
            elif mask & WRITE:
                handler.on_writable()
        if self._soon:
            self._run_soon()
        timers = self._timers
        if timers:
            now = time.monotonic()
            while timers and timers[0][0] <= now:
                _, _, timer = heapq.heappop(timers)
                callback = timer.callback
                if callback is not None:
                    timer.callback = None
                    callback()
        if self._soon:
            self._run_soon()

    def _drain_wake(self) -> None:
        self._woken = False
        try:
            while self._wake_r.recv(4096):
                pass
        except OSError:
            pass

    def _run_soon(self) -> None:
        soon = self._soon
        # bounded: callbacks queued by these callbacks run on the next turn, not in an endless loop
        for _ in range(len(soon)):
            soon.popleft()()

    def run_pending(self) -> None:
        """Run queued calls and due timers without waiting (lock held; nobody else may be leading)."""
        if self.leader != _NOBODY or self.closed:
            return
        self.leader = threading.get_ident()
        try:
            self.run_once(0.0)
        finally:
            self.leader = _NOBODY
            self._released()

    def turn_if_idle(self, min_interval: float = 1e-3) -> None:
        """Blocking driver: move I/O during a call that would not otherwise wait (``send``), at most
        once per ``min_interval`` seconds, when nobody else is running the loop.  Lock held."""
        if self.leader == _NOBODY and not self.closed and time.monotonic() - self._last_turn >= min_interval:
            self.run_pending()

    # -- waiting --------------------------------------------------------------------------------
    def wait(
        self,
        done: Callable[[], bool],
        deadline: Optional[float],
        watch: Iterable[Watchable] = (),
        checked: bool = False,
    ) -> bool:
        """The one wait loop: return True once ``done()`` holds, False when ``deadline`` passes.

        Called with the lock held.  ``done`` may raise (ContextTerminated, ENOTSOCK): the exception
        propagates after leadership is handed on.  ``watch`` lists the socket cores whose signals should
        wake this thread while it follows another leader.  ``checked``: the caller has just found
        ``done()`` false under the lock (it is not asked again before anything can have changed).
        """
        if not checked and done():
            return True
        self.wait_epoch += 1
        me = threading.get_ident()
        waiter: Optional[Waiter] = None
        watched: List[Watchable] = []
        try:
            while True:
                if self.closed:
                    return done()
                if self.leader == _NOBODY:
                    return self._lead(me, done, deadline)
                if deadline is None:
                    timeout = None
                else:
                    timeout = deadline - time.monotonic()
                    if timeout <= 0:
                        return False
                if waiter is None:
                    waiter = Waiter(self.lock)
                    for source in watch:
                        source.watchers.append(waiter)
                        watched.append(source)
                if self.leader == self._thread_ident and self._thread_ident != _NOBODY:
                    # the I/O thread leads: ask it to step aside after its current turn
                    self._handover = True
                    self.wake()
                waiter.fired = False
                self.followers.append(waiter)
                try:
                    waiter.cond.wait(timeout)
                finally:
                    try:
                        self.followers.remove(waiter)
                    except ValueError:
                        pass
                if done():
                    return True
        finally:
            for source in watched:
                try:
                    source.watchers.remove(waiter)
                except ValueError:
                    pass
            if waiter is not None and self.leader == _NOBODY and self.followers:
                # we were handed the selector but are done: pass it on
                self.followers[0].notify()

    def _lead(self, me: int, done: Callable[[], bool], deadline: Optional[float]) -> bool:
        """Run the loop until ``done()`` (which was false when we took the lead: nothing changes while
        we hold the lock, so it is asked again only after each turn)."""
        self.leader = me
        try:
            while True:
                if deadline is None:
                    timeout = None
                else:
                    timeout = deadline - time.monotonic()
                    if timeout <= 0:
                        return False
                if self.closed:
                    # the context is gone: nothing will ever move again
                    return done()
                self.run_once(timeout)
                if done():
                    return True
        finally:
            self.leader = _NOBODY
            self._released()

    def _released(self) -> None:
        """The leader stepped down: hand the selector to a follower, or (later) to the I/O thread."""
        if self.followers:
            self.followers[0].notify()
            return
        if self._thread is None:
            return
        self._released_at = time.monotonic()
        timers = self._timers
        if self._soon or self._writers or self._stopping or (timers and timers[0][0] < self._io_wake_at):
            # pending output or work, or a timer due before the parked I/O thread would look again
            self._io_event.set()
        # otherwise the I/O thread looks again on its own (the grace period counts from _released_at)

    # -- threaded driver ------------------------------------------------------------------------
    def start_thread(self, name: str) -> None:
        self._thread = threading.Thread(target=self._thread_main, name=name, daemon=True)
        self._thread.start()

    def _thread_main(self) -> None:
        self._thread_ident = threading.get_ident()
        backoff = IDLE_GRACE
        lock = self.lock
        while not self._stopping:
            try:
                # Look without the lock (plain reads of a few attributes): a busy application keeps
                # the lock most of the time, and fighting it for nothing stalls both threads.
                if self.leader == _NOBODY and not self.followers:
                    delay = self._idle_delay()
                    if delay <= 0:
                        with lock:
                            if self.leader == _NOBODY and not self.followers and self._idle_delay() <= 0:
                                self._io_lead()
                                backoff = IDLE_GRACE
                        continue
                    # the application is busy with its sockets: look again later and later (a recv
                    # loop refreshes app_active_at all the time); urgent work (queued calls, output
                    # waiting, a timer, deferred output) sets _io_event meanwhile
                    self._park(self._park_for(max(delay, backoff)))
                else:
                    # An application thread leads.  It wakes us when it steps down with work pending
                    # or a timer due; otherwise we look again now and then (it may have stepped down
                    # and gone computing), less and less often while it keeps the selector, so a
                    # thread blocked in recv for minutes costs almost nothing.
                    self._park(backoff)
                backoff = min(backoff * 2, _MAX_PARK)
            except Exception:  # pragma: no cover - a bug in a callback must not kill I/O
                import traceback

                traceback.print_exc()
        with lock:
            if self.leader == self._thread_ident:
                self.leader = _NOBODY

    def _park(self, delay: float) -> None:
        event = self._io_event
        self._io_wake_at = time.monotonic() + delay
        try:
            event.wait(delay)
        finally:
            self._io_wake_at = _FAR
            event.clear()

    def _idle_delay(self) -> float:
        """How long the I/O thread should still leave the selector to a recently active application
        (0 or less: lead now)."""
        if self._soon or self._writers or self._woken or self._stopping:
            return 0.0
        now = time.monotonic()
        delay = max(self._released_at, self.app_active_at) + IDLE_GRACE - now
        if delay > 0:
            timers = self._timers
            if timers:
                delay = min(delay, timers[0][0] - now)
            if self.deferred:
                delay = min(delay, self._deferred_at - now)
        return delay

    def _park_for(self, delay: float) -> float:
        """``delay``, but no later than the next timer or the deadline of deferred output."""
        now = time.monotonic()
        timers = self._timers
        if timers:
            delay = min(delay, max(0.0, timers[0][0] - now))
        if self.deferred:
            delay = min(delay, max(0.0, self._deferred_at - now))
        return delay

    def _io_lead(self) -> None:
        """Lead until an application thread asks for the selector, or the application is busy with
        its sockets again and nothing urgent is left (it then does its own I/O)."""
        self.leader = self._thread_ident
        self._handover = False
        try:
            while not self._stopping and not self._handover:
                self.run_once(None)
                if (
                    time.monotonic() - self.app_active_at < IDLE_GRACE
                    and not (self._soon or self._writers or self._woken)
                ):
                    break
        finally:
            self._handover = False
            self.leader = _NOBODY
            if self.followers:
                self.followers[0].notify()

    def stop(self) -> None:
        """Stop the thread (if any) and close the selector.  Called with the lock held."""
        self._stopping = True
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            self.wake()
            self._io_event.set()
            self.lock.release()
            try:
                thread.join(5.0)
            finally:
                self.lock.acquire()
        self.closed = True
        for waiter in list(self.followers):
            waiter.notify()
        self._poller.close()
        self._wake_r.close()
        self._wake_w.close()

    def notify_all_waiters(self) -> None:
        """Wake every follower and the leader (termination).  Lock held."""
        for waiter in list(self.followers):
            waiter.notify()
        self.wake()


__all__ = ["Reactor", "Handler", "Timer", "Waiter", "Watchable", "READ", "WRITE", "IDLE_GRACE"]
