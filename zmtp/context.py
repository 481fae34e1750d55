"""``Context``: owns the reactor (and its thread), the lock, the sockets and the inproc names."""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Optional

from .constants import Errno
from .error import ZMQError
from .reactor import Reactor
from .socket import Socket
from .transport.inproc import InprocLink

#: Context options (pyzmq's numbering).
IO_THREADS = 1
MAX_SOCKETS = 2
BLOCKY = 70


class Context:
    """A ZeroMQ context: ``zmtp.Context()``.

    ``driver="threaded"`` (the default) does all I/O in one background thread per context, as libzmq
    does.  ``driver="blocking"`` (or ``io_threads=0``) runs no thread at all: I/O happens inside the
    application's own ``send``/``recv``/``poll``/``close`` calls, so nothing moves between calls (a
    message sent just before a long sleep waits until the next call; heartbeats and reconnects too).
    """

    _instance: Optional[Context] = None
    _instance_lock = threading.Lock()

    def __init__(self, io_threads: int = 1, *, driver: Optional[str] = None, **kwargs: Any) -> None:
        if driver is None:
            driver = "blocking" if io_threads == 0 else "threaded"
        if driver not in ("threaded", "blocking"):
            raise ValueError(f"driver must be 'threaded' or 'blocking', not {driver!r}")
        d = self.__dict__
        d["driver"] = driver
        d["_lock"] = threading.Lock()
        d["_reactor"] = Reactor(self._lock, threaded=driver == "threaded")
        d["_sockets"] = set()
        d["_lingering"] = set()
        d["_inproc"] = {}
        d["_inproc_pending"] = {}
        d["_socket_defaults"] = {}
        d["_terminated"] = False
        #: Counts the application's waits (recv, send at HWM, poll): see Socket._pipe_outbound.
        d["_wait_epoch"] = 0
        d["_closed_cond"] = threading.Condition(self._lock)
        d["_options"] = {IO_THREADS: io_threads, MAX_SOCKETS: 1023, BLOCKY: 1}
        if driver == "threaded":
            self._reactor.start_thread(f"zmtp-io-{id(self):x}")

    @classmethod
    def instance(cls, io_threads: int = 1) -> Context:
        with cls._instance_lock:
            if cls._instance is None or cls._instance.closed:
                cls._instance = cls(io_threads)
            return cls._instance

    @property
    def closed(self) -> bool:
        return self._terminated  # type: ignore[no-any-return]

    @property
    def underlying(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        state = " terminated" if self._terminated else ""
        return f"<zmtp.Context({self.driver}){state} {len(self._sockets)} sockets at {id(self):#x}>"

    def __enter__(self) -> Context:
        return self

    def __exit__(self, *args: Any) -> None:
        self.destroy()

    def __del__(self) -> None:
        try:
            if not self.__dict__.get("_terminated", True) and not self._sockets:
                self.term()
        except Exception:
            pass

    # -- options -------------------------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
            return
        from .sockopt import OPTION_NAMES

        opt = OPTION_NAMES.get(name.lower())
        if opt is not None and not name.startswith("_"):
            self.setsockopt(opt, value)
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        from .sockopt import OPTION_NAMES

        opt = OPTION_NAMES.get(name.lower()) if not name.startswith("_") else None
        if opt is not None and opt in self._socket_defaults:
            return self._socket_defaults[opt]
        raise AttributeError(f"'Context' object has no attribute {name!r}")

    def setsockopt(self, option: int, value: Any) -> None:
        """Set a default option for sockets created from now on (pyzmq's ``ctx.linger = 0``)."""
        self._socket_defaults[int(option)] = value

    def getsockopt(self, option: int) -> Any:
        if option in self._socket_defaults:
            return self._socket_defaults[option]
        raise ZMQError(Errno.EINVAL)

    def set(self, option: int, value: int) -> None:
        """Context options (IO_THREADS, MAX_SOCKETS, BLOCKY): stored, mostly advisory."""
        self._options[int(option)] = value

    def get(self, option: int) -> int:
        try:
            return self._options[int(option)]  # type: ignore[no-any-return]
        except KeyError:
            raise ZMQError(Errno.EINVAL) from None

    # -- sockets -------------------------------------------------------------------------------
    def socket(
        self, socket_type: int, socket_class: Optional[Callable[..., Socket]] = None, **kwargs: Any
    ) -> Socket:
        self._check_alive()
        cls = socket_class or Socket
        sock = cls(self, socket_type)
        for name, value in kwargs.items():
            setattr(sock, name, value)
        with self._lock:
            self._sockets.add(sock)
        return sock

    def _check_alive(self) -> None:
        if self._terminated:
            raise ZMQError(Errno.ETERM)

    def _socket_closed(self, sock: Socket) -> None:
        self._sockets.discard(sock)
        self._lingering.discard(sock)
        self._closed_cond.notify_all()

    def _socket_lingering(self, sock: Socket) -> None:
        self._lingering.add(sock)

    def _run_until(self, done: Callable[[], bool], deadline: Optional[float]) -> None:
        """Blocking driver: turn the crank (lock held) until ``done()`` or the deadline."""
        reactor = self._reactor
        while not done():
            timeout = None if deadline is None else deadline - time.monotonic()
            if timeout is not None and timeout <= 0:
                return
            if reactor.threaded or reactor.running:
                self._closed_cond.wait(timeout)
            else:
                reactor.run_once(timeout if timeout is None else min(timeout, 0.1))

    def term(self) -> None:
        """Terminate: blocked calls in other threads raise ContextTerminated; waits for every socket
        to be closed and for lingering messages to be sent (as libzmq's zmq_ctx_term)."""
        with self._lock:
            if self._terminated and self._reactor.closed:
                return
            self.__dict__["_terminated"] = True
            for sock in list(self._sockets):
                sock._cond.notify_all()
                for watcher in sock._watchers:
                    watcher.notify()
            # blocking driver: a thread waiting inside the reactor's select must see it too
            self._reactor.wake()
            self._run_until(lambda: not self._sockets, None)
            self._reactor.stop()
        if Context._instance is self:
            Context._instance = None

    def destroy(self, linger: Optional[int] = None) -> None:
        """Close every socket (with ``linger`` if given), then terminate."""
        for sock in list(self._sockets):
            if not sock.closed:
                sock.close(linger=linger)
        self.term()

    # -- inproc --------------------------------------------------------------------------------
    def _inproc_bind(self, sock: Socket, name: str) -> None:
        if name in self._inproc:
            raise ZMQError(Errno.EADDRINUSE, f"Address already in use: inproc://{name}")
        self._inproc[name] = sock
        for link in self._inproc_pending.pop(name, []):
            if not link.closed:
                if link.join(sock):
                    sock._inproc_links.add(link)  # closing the binder closes the link
                else:
                    link.close()

    def _inproc_unbind(self, sock: Socket, name: str) -> None:
        """Forget the name; links already joined stay up, as libzmq keeps established inproc pipes."""
        if self._inproc.get(name) is sock:
            del self._inproc[name]

    def _inproc_connect(self, link: InprocLink, name: str) -> None:
        binder = self._inproc.get(name)
        if binder is None:
            self._inproc_pending.setdefault(name, []).append(link)
            return
        if not link.join(binder):
            link.close()
            return
        binder._inproc_links.add(link)

    def _inproc_forget(self, link: InprocLink) -> None:
        for links in self._inproc_pending.values():
            if link in links:
                links.remove(link)
        if link.binder is not None:
            link.binder._inproc_links.discard(link)

