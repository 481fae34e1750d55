"""``Context``: pyzmq's context API, the face of an :class:`~zmtp.engine.Engine`.

Lifetimes are pyzmq's: a socket dropped without ``close()`` is closed when collected (with its linger)
and ``term()`` then returns; a context dropped without ``term()`` is destroyed; at interpreter exit,
every context still alive is destroyed, so messages still queued are delivered within each socket's
LINGER (default: forever, as libzmq) before the process ends.  ``Context.instance()`` in a forked child
is a new context, and a context inherited through ``fork()`` never blocks the child.
"""

from __future__ import annotations

import atexit
import os
import threading
import warnings
import weakref
from typing import TYPE_CHECKING, Any, Dict, Generic, List, Optional, Type, Union, cast, overload

from .constants import ContextOption, Errno, SocketOption
from .engine import BLOCKING, THREADED, Engine
from .error import ZMQError
from .socket import Socket
from .sockopt import OPTION_NAMES

if TYPE_CHECKING:
    from typing_extensions import TypeVar

    _SocketType = TypeVar("_SocketType", bound=Socket[Any], covariant=True, default=Socket[bytes])
else:
    from typing import TypeVar

    _SocketType = TypeVar("_SocketType", bound=Socket, covariant=True)

_ContextType = TypeVar("_ContextType", bound="Context[Any]")


_CONTEXT_OPTION_NAMES = {name.lower(): int(value) for name, value in ContextOption.__members__.items()}
_INT_MAX = (1 << 31) - 1
#: libzmq's ZMQ_ZERO_COPY_RECV (a draft context option without a pyzmq name).
_ZERO_COPY_RECV = 10
#: Read-only context options and their values (libzmq: ``clipped_maxsocket(65535)``, sizeof(zmq_msg_t)).
_FIXED = {int(ContextOption.SOCKET_LIMIT): 65535, int(ContextOption.MSG_T_SIZE): 64}
#: Options ``set`` stores and ``get`` reads back, with the lowest value libzmq accepts (src/ctx.cpp).
_SETTABLE = {
    int(ContextOption.IO_THREADS): 0, int(ContextOption.MAX_SOCKETS): 1, int(ContextOption.IPV6): 0,
    int(ContextOption.BLOCKY): 0, int(ContextOption.MAX_MSGSZ): 0, int(ContextOption.THREAD_SCHED_POLICY): 0,
    _ZERO_COPY_RECV: 0,
}
_BOOLEAN = frozenset({int(ContextOption.IPV6), int(ContextOption.BLOCKY), _ZERO_COPY_RECV})
#: Where the THREAD_AFFINITY_CPU_ADD/REMOVE set lives in ``_options`` (a bit mask; not an option number).
_AFFINITY = -1

#: Every live context, for the exit handler and for fork.
_LIVE: weakref.WeakSet[Context[Any]] = weakref.WeakSet()
#: engine id -> context, for shadowing a socket by address.
_BY_ENGINE: weakref.WeakValueDictionary[int, Context[Any]] = weakref.WeakValueDictionary()


class Context(Generic[_SocketType]):
    """A ZeroMQ context: ``zmtp.Context()``.

    ``driver="threaded"`` (the default) runs one background I/O thread that keeps connections moving
    while the application computes; a thread that waits in ``recv``/``send``/``poll`` runs the I/O
    itself meanwhile, so replies reach it without a thread switch.  ``driver="blocking"`` (or
    ``io_threads=0``) starts no thread: I/O happens only inside the application's own zmtp calls (every
    call, ``send`` included, moves pending I/O without waiting, at most once per millisecond).
    """

    sockopts: Dict[int, Any]
    _instance: Any = None
    _instance_lock = threading.Lock()
    _instance_pid: Optional[int] = None
    _shadow = False
    _shadow_obj: Any = None
    _warn_destroy_close = False
    _repr_cls: Optional[str] = "zmtp.Context"
    # a subclass sets its own socket class (pyzmq's pattern: ``class MyContext(zmq.Context[MySocket])``)
    _socket_class: Type[_SocketType] = Socket  # type: ignore[assignment]
    engine: Engine
    _options: Dict[int, int]
    _sockets: weakref.WeakSet[Socket[Any]]

    @overload
    def __init__(self, io_threads: int = 1, *, driver: Optional[str] = None) -> None:
        ...

    @overload
    def __init__(self, io_threads: Context[Any], /) -> None:
        ...

    @overload
    def __init__(self, *, shadow: Union[Context[Any], int]) -> None:
        ...

    def __init__(
        self,
        io_threads: Union[int, Context[Any]] = 1,
        *,
        shadow: Union[Context[Any], int] = 0,
        driver: Optional[str] = None,
        **kwargs: Any,
    ) -> None:
        d = self.__dict__
        if isinstance(io_threads, Context):
            shadow = io_threads
            io_threads = 1
        if shadow:
            d["_shadow"] = True
            d["_shadow_obj"] = shadow
            if isinstance(shadow, Context):
                other: Optional[Context[Any]] = shadow
            else:
                other = _BY_ENGINE.get(int(shadow))
            if other is None:
                raise ZMQError(Errno.EFAULT, f"No zmtp context at address {shadow!r}")
            d["engine"] = other.engine
            d["sockopts"] = other.sockopts
            d["_options"] = other._options
            d["_sockets"] = other._sockets
            return
        if not isinstance(io_threads, int) or io_threads < 0:
            raise ZMQError(Errno.EINVAL, "Invalid argument: io_threads must be >= 0")
        if driver is None:
            driver = BLOCKING if io_threads == 0 else THREADED
        d["engine"] = Engine(driver)
        d["sockopts"] = {}
        d["_options"] = {
            ContextOption.IO_THREADS: io_threads, ContextOption.MAX_SOCKETS: 1023, ContextOption.BLOCKY: 1,
            ContextOption.IPV6: 0, ContextOption.MAX_MSGSZ: _INT_MAX, ContextOption.THREAD_SCHED_POLICY: -1,
            ContextOption.THREAD_NAME_PREFIX: 0, _ZERO_COPY_RECV: 1,
        }
        d["_sockets"] = weakref.WeakSet()
        _LIVE.add(self)
        _BY_ENGINE[id(self.engine)] = self

    @property
    def driver(self) -> str:
        """"threaded" or "blocking" (see the class docstring)."""
        return self.engine.driver

    @classmethod
    def instance(cls: Type[_ContextType], io_threads: int = 1) -> _ContextType:
        """The process-wide context (a new one in a forked child, or after the last one was closed)."""
        pid = os.getpid()
        inst = cls._instance
        if inst is None or cls._instance_pid != pid or inst.closed:
            with cls._instance_lock:
                inst = cls._instance
                if inst is None or cls._instance_pid != pid or inst.closed:
                    inst = cls(io_threads=io_threads)
                    cls._instance = inst
                    cls._instance_pid = pid
        return cast(_ContextType, inst)

    @classmethod
    def shadow(cls: Type[_ContextType], address: Union[int, Context[Any]]) -> _ContextType:
        """A second Context object over the same context (its ``underlying`` or itself)."""
        return cls(shadow=address)

    def __copy__(self: _ContextType, memo: Any = None) -> _ContextType:
        return type(self).shadow(self.underlying)

    __deepcopy__ = __copy__

    @property
    def closed(self) -> bool:
        """True once the context was terminated."""
        return self.engine.terminated or self.engine.closed

    @property
    def underlying(self) -> int:
        """An integer naming this context, for ``Context.shadow(address)``."""
        return id(self.engine)

    def __repr__(self) -> str:
        cls = type(self)
        name = cls.__dict__.get("_repr_cls") or f"{cls.__module__}.{cls.__name__}"
        n = len(self._sockets)
        sockets = f"{n} socket{'s' if n != 1 else ''}" if n else ""
        closed = " closed" if self.closed else ""
        return f"<{name}({sockets}) at {id(self):#x}{closed}>"

    def __enter__(self: _ContextType) -> _ContextType:
        return self

    def __exit__(self, *args: Any) -> None:
        self.__dict__["_warn_destroy_close"] = True
        self.destroy()

    def __del__(self) -> None:
        d = self.__dict__
        engine = d.get("engine")
        if engine is None or d.get("_shadow") or _exiting or engine.forked or self.closed:
            return
        try:
            warnings.warn(f"Unclosed context {self!r}", ResourceWarning, stacklevel=2, source=self)
        except Exception:
            pass
        d["_warn_destroy_close"] = True
        try:
            self.destroy()
        except Exception:
            pass

    # -- options ---------------------------------------------------------------------------------
    def __setattr__(self, key: str, value: Any) -> None:
        if key in self.__dict__:
            object.__setattr__(self, key, value)
            return
        for cls in type(self).__mro__:
            if key in cls.__dict__ or key in getattr(cls, "__annotations__", {}):
                object.__setattr__(self, key, value)
                return
        lower = key.lower()
        if lower in _CONTEXT_OPTION_NAMES:
            self.set(_CONTEXT_OPTION_NAMES[lower], value)
            return
        opt = OPTION_NAMES.get(lower)
        if opt is None:
            raise AttributeError(f"No such context or socket option: {key.upper()}")
        self.sockopts[opt] = value

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        lower = key.lower()
        if lower in _CONTEXT_OPTION_NAMES:
            return self.get(_CONTEXT_OPTION_NAMES[lower])
        opt = OPTION_NAMES.get(lower)
        if opt is None or opt not in self.sockopts:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {key!r}")
        return self.sockopts[opt]

    def __delattr__(self, key: str) -> None:
        if key in self.__dict__:
            del self.__dict__[key]
            return
        opt = OPTION_NAMES.get(key.lower())
        if opt is None or opt not in self.sockopts:
            raise AttributeError(key)
        del self.sockopts[opt]

    def setsockopt(self, opt: int, value: Any) -> None:
        """A default option for sockets created from now on (pyzmq's ``ctx.linger = 0``); it applies
        only to socket types that have the option."""
        self.sockopts[int(opt)] = value

    def getsockopt(self, opt: int) -> Any:
        """The default set for ``opt`` with :meth:`setsockopt` (KeyError if none was set)."""
        return self.sockopts[int(opt)]

    def set(self, option: int, optval: int) -> None:
        """Set a context option (``zmq_ctx_set``), with libzmq's rules (src/ctx.cpp): IO_THREADS,
        MAX_SOCKETS (>= 1), IPV6 and BLOCKY (the defaults of sockets created afterwards: IPV6, and
        LINGER 0 when not BLOCKY), MAX_MSGSZ, and the I/O thread's scheduling options (accepted and
        stored; zmtp's one I/O thread is a plain Python thread).  Anything else is EINVAL."""
        option = int(option)
        if isinstance(optval, bool):
            optval = int(optval)
        if not isinstance(optval, int):
            raise TypeError(f"expected int, got: {optval!r}")
        if not -(1 << 31) <= optval <= _INT_MAX:
            raise OverflowError("value too large to convert to int")
        if option in _SETTABLE:
            if optval < _SETTABLE[option]:
                raise ZMQError(Errno.EINVAL)
            self._options[option] = int(bool(optval)) if option in _BOOLEAN else optval
        elif option == ContextOption.THREAD_PRIORITY:  # == SOCKET_LIMIT when read
            if optval < 0:
                raise ZMQError(Errno.EINVAL)
        elif option == ContextOption.THREAD_AFFINITY_CPU_ADD:
            if optval < 0:
                raise ZMQError(Errno.EINVAL)
            self._options[_AFFINITY] = self._options.get(_AFFINITY, 0) | 1 << optval
        elif option == ContextOption.THREAD_AFFINITY_CPU_REMOVE:
            mask = self._options.get(_AFFINITY, 0)
            if optval < 0 or not mask >> optval & 1:
                raise ZMQError(Errno.EINVAL)
            self._options[_AFFINITY] = mask & ~(1 << optval)
        elif option == ContextOption.THREAD_NAME_PREFIX:
            self._options[option] = optval
        else:
            raise ZMQError(Errno.EINVAL)

    def get(self, option: int) -> int:
        """Read a context option (``zmq_ctx_get``): what ``set`` stored, SOCKET_LIMIT (65535) or
        MSG_T_SIZE (64); EINVAL for the write-only and unknown ones."""
        option = int(option)
        if option in _FIXED:
            return _FIXED[option]
        if option < 0:
            raise ZMQError(Errno.EINVAL)
        try:
            return self._options[option]
        except KeyError:
            raise ZMQError(Errno.EINVAL) from None

    # -- sockets ---------------------------------------------------------------------------------
    def socket(self, socket_type: int, socket_class: Optional[Type[Any]] = None, **kwargs: Any) -> _SocketType:
        """A new socket of ``socket_type`` (``zmtp.REQ`` ...); ``kwargs`` go to the socket class."""
        if self.closed:
            raise ZMQError(Errno.ENOTSUP)
        cls = socket_class if socket_class is not None else self._socket_class
        if len(self.engine.cores) >= self._options[ContextOption.MAX_SOCKETS]:
            raise ZMQError(Errno.EMFILE, "Too many open files: MAX_SOCKETS reached")
        sock = cls(self, socket_type, **kwargs)
        self._sockets.add(sock)
        return cast(_SocketType, sock)

    def _rm_socket(self, socket: Any) -> None:
        """pyzmq's hook: forget a closed socket."""
        self._sockets.discard(socket)

    def term(self) -> None:
        """Terminate: calls blocked in other threads raise ContextTerminated; then wait until every
        socket is closed and its queued messages are sent or its linger expired (``zmq_ctx_term``)."""
        self.engine.term()
        if Context._instance is self:
            Context._instance = None

    def destroy(self, linger: Optional[int] = None) -> None:
        """Close every open socket (with ``linger`` ms if given), then terminate.  Not thread-safe:
        sockets in use by other threads are closed under them."""
        if self.closed:
            return
        for sock in list(self._sockets):
            if not sock.closed:
                if self._warn_destroy_close:
                    try:
                        warnings.warn(f"Destroying context with unclosed socket {sock!r}", ResourceWarning,
                                      stacklevel=3, source=sock)
                    except Exception:
                        pass
                sock.close(linger=linger)
        # sockets whose facade is gone but which are not closed yet (collected in a cycle, shadows)
        self.engine.destroy(linger)
        if Context._instance is self:
            Context._instance = None


SyncContext = Context

_exiting = False


def _at_exit() -> None:
    """Deliver what is still queued before the process ends: destroy every live context (each socket
    keeps its own linger), while the I/O threads still run (they are daemons, so the interpreter
    would otherwise stop them mid-write)."""
    global _exiting
    _exiting = True
    contexts: List[Context[Any]] = [c for c in list(_LIVE) if not c.closed and not c.engine.forked]
    for ctx in contexts:
        try:
            ctx.destroy()
        except Exception:
            pass


atexit.register(_at_exit)


def _after_fork_in_child() -> None:
    Context._instance = None
    Context._instance_pid = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

_ = SocketOption

__all__ = ["Context", "SyncContext", "ContextOption"]
