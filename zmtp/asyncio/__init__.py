"""asyncio support: pyzmq's ``zmq.asyncio`` (``Context``, ``Socket``, ``Poller``) on zmtp.

``send``/``recv``/``send_multipart``/``recv_multipart``/``recv_into``/``poll`` and all their sugar
(``send_string``, ``recv_json``, ``send_serialized`` ...) return :class:`asyncio.Future` objects, as
pyzmq's do.  The rules are pyzmq's: calls that can complete at once return a finished future; waiting
calls complete in the order they were made (one ``recv`` per message); a cancelled ``recv`` takes no
message (the next ``recv`` gets it); RCVTIMEO / SNDTIMEO make a waiting call fail with
:class:`zmtp.Again`; ``DONTWAIT`` fails at once; a socket belongs to the event loop it is used in and
must be used from that loop's thread only.

**The native driver.**  pyzmq's asyncio sockets wait on libzmq's notification descriptor while libzmq's
I/O thread moves the bytes.  Here a socket made by :class:`Context` runs on its event loop itself: its
connections are watched, read, decoded and written by the loop (:mod:`zmtp.asyncio._reactor`), and a
waiting ``recv`` is resolved in the same loop callback that read the message: no thread hop (the
context's I/O thread steps in only when the loop's thread is blocked on something else).  Sync sockets
of the same (or a shadowed) context keep the threaded driver; all of them share the context's lock and
inproc names, so sync and async sockets talk over ``inproc://``.

An async socket wrapping a sync socket (``zmtp.asyncio.Socket(sync_sock)``, or a sync socket given to
the async :class:`Poller`) keeps that socket's I/O thread: its signals are handed to the loop with
``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import select as _select
import threading
import warnings
import weakref
from collections import deque
from typing import Any, Callable, Deque, Dict, List, Optional, Sequence, Tuple, Type, Union

from .. import context as _context
from .. import poll as _poll
from .. import socket as _socket
from ..constants import Errno, Flag, PollEvent, SocketOption
from ..core import SocketCore
from ..error import Again, ZMQError
from ._reactor import LoopReactor, native_supported, post_queue, reactor_for

_DONTWAIT = int(Flag.DONTWAIT)
_POLLIN = int(PollEvent.POLLIN)
_POLLOUT = int(PollEvent.POLLOUT)
_POLLERR = int(PollEvent.POLLERR)
_SyncSocket = _socket.Socket


class _LoopCall:
    """Runs ``callback`` once on ``loop`` for any burst of :meth:`notify` calls.

    ``notify`` is called with the context lock held, from whichever thread made the socket ready: inside
    a turn of the loop's own reactor the callback joins the turn's post-queue (run right after it, lock
    released); elsewhere in the loop's thread it is ``call_soon``; from another thread (an I/O thread, a
    sync socket's inproc send) it is ``call_soon_threadsafe``.
    """

    __slots__ = ("loop", "thread", "callback", "scheduled", "active", "__weakref__")

    def __init__(self, loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
        self.loop = loop
        self.thread = threading.get_ident()
        self.callback = callback
        self.scheduled = False
        #: False while nobody waits: notify() is then a no-op (the hook stays installed).
        self.active = True

    def notify(self) -> None:
        if self.scheduled or not self.active:
            return
        self.scheduled = True
        if threading.get_ident() == self.thread:
            post = post_queue()
            if post is not None:
                post.append(self.run)
                return
            try:
                self.loop.call_soon(self.run)
            except RuntimeError:  # the loop is closed: nobody waits any more
                self.scheduled = False
        else:
            try:
                self.loop.call_soon_threadsafe(self.run)
            except RuntimeError:
                self.scheduled = False

    def run(self) -> None:
        self.scheduled = False
        self.callback()


class _WeakCall:
    """A bound method held weakly: a socket's signal hook must not keep the socket facade alive (a
    dropped socket is collected and closed, as in pyzmq)."""

    __slots__ = ("ref",)

    def __init__(self, method: Callable[[], None]) -> None:
        self.ref = weakref.WeakMethod(method)

    def __call__(self) -> None:
        method = self.ref()
        if method is not None:
            method()


class _Waiter:
    """A pending send/recv/poll: its future, the operation that completes it, its timeout handle."""

    __slots__ = ("future", "op", "timer")

    def __init__(self, future: asyncio.Future[Any], op: Callable[[], Any]) -> None:
        self.future = future
        self.op = op
        self.timer: Optional[asyncio.TimerHandle] = None


def _default_loop() -> asyncio.AbstractEventLoop:
    """The running loop (pyzmq: outside one, warn and use the thread's event loop)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        warnings.warn(
            "No running event loop. zmtp.asyncio should be used from within an asyncio loop.",
            RuntimeWarning,
            stacklevel=4,
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            return asyncio.get_event_loop()
        except RuntimeError:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            return loop


class Socket(_SyncSocket[Any]):
    """A socket whose send/recv/poll return futures (pyzmq's ``zmq.asyncio.Socket``)."""

    _repr_cls = "zmtp.asyncio.Socket"
    _poller_class: Type[Poller]
    _sync: _SyncSocket[Any]

    def __init__(
        self,
        context: Union[_context.Context[Any], _SyncSocket[Any], None] = None,
        socket_type: int = -1,
        io_loop: Any = None,
        _from_socket: Optional[_SyncSocket[Any]] = None,
        *,
        shadow: Union[_SyncSocket[Any], int] = 0,
        copy_threshold: Optional[int] = None,
    ) -> None:
        if isinstance(context, _SyncSocket):
            context, _from_socket = None, context
        if _from_socket is not None:
            shadow = _from_socket
        if shadow:
            super().__init__(shadow=shadow, copy_threshold=copy_threshold)
        else:
            if context is None:
                raise TypeError("Socket() needs a Context (or a socket to shadow)")
            super().__init__(context, socket_type, copy_threshold=copy_threshold)
        if io_loop is not None:
            warnings.warn(
                f"{type(self).__name__}(io_loop) argument is deprecated in pyzmq 22.2. The currently active "
                "loop will always be used.",
                DeprecationWarning,
                stacklevel=2,
            )
        d = self.__dict__
        d["_sync"] = _SyncSocket(shadow=self)
        d["_recv_waiters"] = deque()
        d["_send_waiters"] = deque()
        d["_poll_waiters"] = []
        d["_loop"] = None
        d["_caller"] = None
        d["_hooked"] = False

    @classmethod
    def from_socket(cls, socket: _SyncSocket[Any], io_loop: Any = None) -> Socket:
        """An async socket over an existing (sync) socket."""
        return cls(_from_socket=socket, io_loop=io_loop)

    def _new_core(self, context: _socket.ContextAPI, socket_type: int) -> SocketCore:
        engine = context.engine
        if not native_supported():
            return engine.socket(socket_type)
        try:
            loop: Optional[asyncio.AbstractEventLoop] = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        return engine.socket(socket_type, reactor_for(engine, loop))

    # -- the loop ---------------------------------------------------------------------------------
    def _get_loop(self) -> asyncio.AbstractEventLoop:
        """The running loop, after making sure this socket's I/O runs on it."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = _default_loop()
        if loop is not self.__dict__["_loop"]:
            self._attach(loop)
        return loop

    def _attach(self, loop: asyncio.AbstractEventLoop) -> None:
        core = self._core
        reactor = core.reactor
        if isinstance(reactor, LoopReactor):
            reactor.mount(loop)
        elif not reactor.threaded:
            raise ZMQError(
                Errno.ENOTSUP,
                "zmtp.asyncio over a blocking-driver socket: nothing would move its I/O while the loop "
                "waits; make it from a threaded context or a zmtp.asyncio.Context",
            )
        d = self.__dict__
        if d["_hooked"]:
            self._unhook()
        d["_loop"] = loop
        d["_caller"] = _LoopCall(loop, _WeakCall(self._process))
        d["_caller"].active = False

    def _hook(self, mask: int) -> None:
        """Be told when the socket may be ready; if it already is (a signal raced us), look at once.

        The hook stays installed once made (cheaper than adding and removing it around every wait);
        the caller's ``active`` flag says whether a signal is worth a look."""
        core = self._core
        d = self.__dict__
        caller: _LoopCall = d["_caller"]
        caller.active = True
        if d["_hooked"]:
            # a signal from another thread after ``active`` was set reaches us; one before it shows here
            if core.closed or core.events() & mask:
                caller.notify()
            return
        with core.lock:
            core.signal_hooks.append(caller.notify)
            d["_hooked"] = True
            if core.events() & mask or core.closed:
                caller.notify()

    def _unhook(self) -> None:
        core = self._core
        caller = self.__dict__["_caller"]
        with core.lock:
            try:
                core.signal_hooks.remove(caller.notify)
            except ValueError:
                pass
        self.__dict__["_hooked"] = False

    # -- completing waiters (the loop's thread, lock not held) --------------------------------------
    def _process(self) -> None:
        d = self.__dict__
        if self._recv_waiters:
            self._complete(d["_recv_waiters"])
        if self._send_waiters:
            self._complete(d["_send_waiters"])
        polls: List[Tuple[asyncio.Future[int], int]] = d["_poll_waiters"]
        if polls:
            core = self._core
            with core.lock:
                events = core.events()
            for fut, mask in list(polls):
                if fut.done():
                    polls.remove((fut, mask))
                elif events & mask:
                    polls.remove((fut, mask))
                    fut.set_result(events & mask)
        if not (d["_recv_waiters"] or d["_send_waiters"] or polls):
            d["_caller"].active = False

    @staticmethod
    def _complete(waiters: Deque[_Waiter]) -> None:
        while waiters:
            w = waiters[0]
            fut = w.future
            if fut.done():
                waiters.popleft()
                continue
            try:
                result = w.op()
            except Again:
                return
            except Exception as exc:
                waiters.popleft()
                if w.timer is not None:
                    w.timer.cancel()
                fut.set_exception(exc)
                continue
            waiters.popleft()
            if w.timer is not None:
                w.timer.cancel()
            fut.set_result(result)

    def _enqueue(self, waiters: Deque[_Waiter], fut: asyncio.Future[Any], op: Callable[[], Any], timeo: int,
              mask: int, loop: asyncio.AbstractEventLoop) -> asyncio.Future[Any]:
        w = _Waiter(fut, op)
        if timeo >= 0:
            w.timer = loop.call_later(timeo / 1000.0, _time_out, fut)
        if waiters and waiters[0].future.done():
            # cancelled or timed-out waiters are skipped when a message comes; drop them now too, so a
            # loop of timed-out recvs on a quiet socket keeps nothing
            for old in [x for x in waiters if x.future.done()]:
                waiters.remove(old)
                if old.timer is not None:
                    old.timer.cancel()
        waiters.append(w)
        reactor = self._core.reactor
        if mask == _POLLIN:
            reactor.wait_epoch += 1  # the application waits: its next send is latency-bound
        self._hook(mask)
        return fut

    # -- receiving --------------------------------------------------------------------------------
    def _add_recv(self, op: Callable[[int], Any], flags: int) -> asyncio.Future[Any]:
        loop = self._get_loop()
        core = self._core
        if core.closed:
            raise ZMQError(Errno.ENOTSOCK)
        fut = loop.create_future()
        waiters: Deque[_Waiter] = self.__dict__["_recv_waiters"]
        if not waiters and not flags & _DONTWAIT and not (core.recv_queue or core.recv_rest
                                                          or core.pattern.can_recv()):
            # nothing there (a racy look, re-checked under the lock once we are hooked): wait
            return self._enqueue(waiters, fut, lambda: op(flags | _DONTWAIT), core.options.rcvtimeo, _POLLIN,
                                 loop)
        if not waiters or flags & _DONTWAIT:
            try:
                fut.set_result(op(flags | _DONTWAIT))
                return fut
            except Again as exc:
                if flags & _DONTWAIT:
                    fut.set_exception(exc)
                    return fut
            except Exception as exc:
                fut.set_exception(exc)
                return fut
        return self._enqueue(waiters, fut, lambda: op(flags | _DONTWAIT), core.options.rcvtimeo, _POLLIN, loop)

    def recv(self, flags: int = 0, copy: bool = True, track: bool = False) -> asyncio.Future[Any]:  # type: ignore[override]
        """Receive one frame: a future of ``bytes`` (or a Frame with ``copy=False``)."""
        sync = self._sync
        return self._add_recv(lambda f: sync.recv(f, copy, track), flags)

    def recv_multipart(  # type: ignore[override]
        self, flags: int = 0, copy: bool = True, track: bool = False
    ) -> asyncio.Future[List[Any]]:
        """Receive a whole multipart message: a future of a list of frames."""
        sync = self._sync
        return self._add_recv(lambda f: sync.recv_multipart(f, copy, track), flags)

    def recv_into(self, buffer: Any, /, *, nbytes: int = 0, flags: int = 0) -> asyncio.Future[int]:  # type: ignore[override]
        """Receive one frame into ``buffer``: a future of the frame's size."""
        sync = self._sync
        return self._add_recv(lambda f: sync.recv_into(buffer, nbytes=nbytes, flags=f), flags)

    def _deserialize(self, recvd: Any, load: Callable[[Any], Any]) -> asyncio.Future[Any]:
        """Chain ``load`` onto a receive future (cancelling the result cancels the receive)."""
        fut: asyncio.Future[Any] = recvd.get_loop().create_future()

        def chain(_: Any) -> None:
            if fut.done():
                if not recvd.cancelled() and recvd.exception() is None:
                    warnings.warn(f"Future {fut} completed while awaiting {recvd}. A message has been dropped!",
                                  RuntimeWarning, stacklevel=1)
                return
            if recvd.cancelled():
                fut.cancel()
                return
            exc = recvd.exception()
            if exc is not None:
                fut.set_exception(exc)
                return
            try:
                fut.set_result(load(recvd.result()))
            except Exception as e:
                fut.set_exception(e)

        def cancel(_: Any) -> None:
            if fut.cancelled() and not recvd.done():
                recvd.cancel()

        recvd.add_done_callback(chain)
        fut.add_done_callback(cancel)
        return fut

    # -- sending ----------------------------------------------------------------------------------
    def _add_send(self, op: Callable[[int], Any], flags: int) -> asyncio.Future[Any]:
        loop = self._get_loop()
        core = self._core
        fut = loop.create_future()
        waiters: Deque[_Waiter] = self.__dict__["_send_waiters"]
        if not waiters or flags & _DONTWAIT:
            try:
                fut.set_result(op(flags | _DONTWAIT))
                return fut
            except Again as exc:
                if flags & _DONTWAIT:
                    fut.set_exception(exc)
                    return fut
            except Exception as exc:
                fut.set_exception(exc)
                return fut
        return self._enqueue(waiters, fut, lambda: op(flags | _DONTWAIT), core.options.sndtimeo, _POLLOUT, loop)

    def send(  # type: ignore[override]
        self, data: Any, flags: int = 0, copy: bool = True, track: bool = False, **kwargs: Any
    ) -> asyncio.Future[Any]:
        """Send one frame (SNDMORE: more follow); a future of None (or a MessageTracker)."""
        core = self._core
        if type(data) is bytes and not flags and not track and not kwargs and not core.send_parts \
                and not self.__dict__["_send_waiters"]:
            # the common case in one step: a whole one-frame message the socket can take now
            loop = self._get_loop()
            fut = loop.create_future()
            try:
                with core.lock:
                    sent = not core.closed and core.pattern.send([data])
            except Exception as exc:  # EFSM and the like: the future's, as pyzmq does
                fut.set_exception(exc)
                return fut
            if sent:
                fut.set_result(None)
                return fut
        sync = self._sync
        return self._add_send(lambda f: sync.send(data, f, copy, track, **kwargs), flags)

    def send_multipart(  # type: ignore[override]
        self, msg_parts: Sequence[Any], flags: int = 0, copy: bool = True, track: bool = False, **kwargs: Any
    ) -> asyncio.Future[Any]:
        """Send a whole multipart message; a future of None (or a MessageTracker)."""
        sync = self._sync
        return self._add_send(lambda f: sync.send_multipart(msg_parts, f, copy, track, **kwargs), flags)

    # -- polling ----------------------------------------------------------------------------------
    def poll(self, timeout: Optional[int] = None, flags: int = _POLLIN) -> asyncio.Future[int]:  # type: ignore[override]
        """A future of the events among ``flags`` ready within ``timeout`` ms (None: no limit; 0 if none)."""
        if self.closed:
            raise ZMQError(Errno.ENOTSUP)
        loop = self._get_loop()
        core = self._core
        fut: asyncio.Future[int] = loop.create_future()
        with core.lock:
            events = core.events() & flags
        if events or timeout == 0:
            fut.set_result(events)
            return fut
        polls: List[Tuple[asyncio.Future[int], int]] = self.__dict__["_poll_waiters"]
        entry = (fut, flags)
        polls.append(entry)
        if timeout is not None and timeout > 0:
            handle = loop.call_later(timeout / 1000.0, _poll_time_out, fut)
            fut.add_done_callback(lambda f: handle.cancel())

        def forget(f: Any) -> None:
            try:
                polls.remove(entry)
            except ValueError:
                pass

        fut.add_done_callback(forget)
        if flags & _POLLIN:
            core.reactor.wait_epoch += 1
        self._hook(flags)
        return fut

    # -- lifetime ---------------------------------------------------------------------------------
    def close(self, linger: Optional[int] = None) -> None:
        """Close; pending futures are cancelled (pyzmq's rule)."""
        d = self.__dict__
        if not self.closed:
            futures = [w.future for w in d["_recv_waiters"]] + [w.future for w in d["_send_waiters"]]
            futures += [f for f, _ in d["_poll_waiters"]]
            loop = d["_loop"]
            if futures and loop is not None:
                if threading.get_ident() == d["_caller"].thread:
                    _cancel_all(futures)
                else:
                    try:
                        loop.call_soon_threadsafe(_cancel_all, futures)
                    except RuntimeError:
                        pass
            if d["_hooked"]:
                self._unhook()
        super().close(linger)


def _cancel_all(futures: List[asyncio.Future[Any]]) -> None:
    for fut in futures:
        if not fut.done():
            try:
                fut.cancel()
            except RuntimeError:  # the loop is closing
                pass


def _time_out(fut: asyncio.Future[Any]) -> None:
    if not fut.done():
        fut.set_exception(Again())


def _poll_time_out(fut: asyncio.Future[Any], empty: Any = 0) -> None:
    if not fut.done():
        fut.set_result(empty)


class Poller(_poll.Poller):
    """pyzmq's ``zmq.asyncio.Poller``: ``poll`` returns a future of ``[(socket, events)]``.

    zmtp sockets (async or sync) and plain file descriptors (ints or objects with ``fileno()``) may be
    mixed, as in pyzmq.
    """

    _socket_class: Type[Socket]

    def _ready_now(self) -> List[Tuple[Any, int]]:
        ready: List[Tuple[Any, int]] = []
        rl: List[int] = []
        wl: List[int] = []
        xl: List[int] = []
        fds: List[Tuple[Any, int, int]] = []
        for s, flags in self.sockets:
            if isinstance(s, _SyncSocket):
                core = s.core
                if core.closed:
                    raise ZMQError(Errno.ENOTSOCK)
                with core.lock:
                    mask = core.events() & flags
                if mask:
                    ready.append((s, mask))
            else:
                fd = s if isinstance(s, int) else int(s.fileno())
                fds.append((s, fd, flags))
                if flags & _POLLIN:
                    rl.append(fd)
                if flags & _POLLOUT:
                    wl.append(fd)
                if flags & _POLLERR:
                    xl.append(fd)
        if fds:
            r, w, x = _select.select(rl, wl, xl, 0)
            for s, fd, flags in fds:
                mask = (_POLLIN if fd in r else 0) | (_POLLOUT if fd in w else 0) | (_POLLERR if fd in x else 0)
                if mask & flags:
                    ready.append((s, mask & flags))
        return ready

    def poll(self, timeout: Optional[float] = -1) -> asyncio.Future[List[Tuple[Any, int]]]:  # type: ignore[override]
        """A future of ``[(socket_or_fd, events)]``: at once if something is ready, else when something
        becomes ready, or ``[]`` after ``timeout`` ms (None or negative: no limit)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = _default_loop()
        fut: asyncio.Future[List[Tuple[Any, int]]] = loop.create_future()
        try:
            ready = self._ready_now()
        except Exception as exc:
            fut.set_exception(exc)
            return fut
        if ready or timeout == 0:
            fut.set_result(ready)
            return fut
        watched_cores: List[SocketCore] = []
        raw: List[int] = []
        timer: List[asyncio.TimerHandle] = []

        def check() -> None:
            if fut.done():
                return
            try:
                now = self._ready_now()
            except Exception as exc:
                fut.set_exception(exc)
                return
            if now:
                fut.set_result(now)

        caller = _LoopCall(loop, check)

        def cleanup(_: Any) -> None:
            for core in watched_cores:
                with core.lock:
                    try:
                        core.watchers.remove(caller)
                    except ValueError:
                        pass
            for fd in raw:
                loop.remove_reader(fd)
                loop.remove_writer(fd)
            for handle in timer:
                handle.cancel()

        fut.add_done_callback(cleanup)
        for s, flags in self.sockets:
            if isinstance(s, _SyncSocket):
                core = s.core
                if isinstance(s, Socket):
                    s._get_loop()  # its I/O must run on this loop
                elif isinstance(core.reactor, LoopReactor):
                    core.reactor.mount(loop)
                with core.lock:
                    core.watchers.append(caller)
                watched_cores.append(core)
                if flags & _POLLIN:
                    core.reactor.wait_epoch += 1
            else:
                fd = s if isinstance(s, int) else int(s.fileno())
                raw.append(fd)
                if flags & _POLLIN:
                    loop.add_reader(fd, caller.notify)
                if flags & _POLLOUT:
                    loop.add_writer(fd, caller.notify)
        if timeout is not None and timeout > 0:
            timer.append(loop.call_later(timeout / 1000.0, _poll_time_out, fut, []))
        caller.notify()  # anything that became ready while we registered
        return fut


Socket._poller_class = Poller
Poller._socket_class = Socket


class Context(_context.Context[Socket]):
    """A context whose sockets are :class:`zmtp.asyncio.Socket` (pyzmq's ``zmq.asyncio.Context``).

    ``Context(sync_ctx)`` / ``Context.shadow(sync_ctx)`` shares a sync context (and ``zmtp.Context(ctx)``
    the converse): one engine, one lock, one inproc namespace.  ``term()`` and ``destroy()`` are
    blocking calls, as in pyzmq.
    """

    _socket_class = Socket
    _instance = None
    _repr_cls = "zmtp.asyncio.Context"

    def __init__(
        self,
        io_threads: Union[int, _context.Context[Any]] = 1,
        shadow: Union[_context.Context[Any], int] = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(io_threads, shadow=shadow, **kwargs)  # type: ignore[call-overload]


class ZMQEventLoop(asyncio.SelectorEventLoop):
    """Deprecated in pyzmq 17: any asyncio loop works.  Kept for old code."""

    def __init__(self, selector: Any = None) -> None:
        _deprecated()
        super().__init__(selector)


def install() -> None:
    """Deprecated in pyzmq 17: nothing to install."""
    _deprecated()


_warned: Dict[str, bool] = {}


def _deprecated() -> None:
    if _warned.get("install"):
        return
    _warned["install"] = True
    warnings.warn(
        "ZMQEventLoop and zmq.asyncio.install are deprecated in pyzmq 17. Special eventloop integration is "
        "no longer needed.",
        DeprecationWarning,
        stacklevel=3,
    )


_ = SocketOption

__all__ = ["Context", "Socket", "Poller", "ZMQEventLoop", "install"]
