"""``Socket``: pyzmq's socket API, a thin face over a :class:`~zmtp.core.SocketCore`.

This module holds only what a pyzmq user calls: argument checking, options as attributes, the
send/recv family and its sugar (strings, JSON, pickles, serializers), timeouts and waiting.  The
socket's state and behaviour live in the core; waiting goes through the reactor's one wait loop
(:meth:`zmtp.reactor.Reactor.wait`), where the waiting thread runs the I/O itself when nobody else does.

The sugar methods are written, as in pyzmq, on top of ``send``/``recv``/``recv_multipart`` and the
``_deserialize`` hook, so :mod:`zmtp.asyncio` overrides those few to return futures and inherits the rest.
"""

from __future__ import annotations

import errno as _errno
import pickle
import random
import threading
import time
import warnings
import weakref
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Generic,
    List,
    Optional,
    Protocol,
    Sequence,
    Tuple,
    TypeVar,
    Union,
    cast,
    overload,
)

from .constants import ContextOption, Errno, Event, Flag, PollEvent, SocketOption, SocketType
from .core import SocketCore
from .error import Again, ContextTerminated, ZMQBindError, ZMQError
from .message import Frame, MessageTracker, byte_view
from .monitor import start_monitor, stop_monitor
from .patterns.pipe import SingleMessage
from .sockopt import BYTES, KEY, OPTION_NAMES, OPTIONS
from .utils import jsonapi

if TYPE_CHECKING:
    from typing import Literal

    from .engine import Engine

_DONTWAIT = int(Flag.DONTWAIT)
_monotonic = time.monotonic
_SNDMORE = int(Flag.SNDMORE)
_POLLIN = int(PollEvent.POLLIN)

_T = TypeVar("_T")
_RT = TypeVar("_RT")
_SocketT_co = TypeVar("_SocketT_co", bound="Socket[Any]", covariant=True)
_ReturnT_co = TypeVar("_ReturnT_co", covariant=True)

#: underlying id -> core, so that ``Socket.shadow(address)`` finds the socket an address names.
_CORES: weakref.WeakValueDictionary[int, SocketCore] = weakref.WeakValueDictionary()


class _Tracked(list):  # type: ignore[type-arg]
    """A message sent with ``track=True``: its tracker is done once this list is freed (the message
    was written, delivered in-process or dropped)."""

    __slots__ = ("__weakref__",)


class ContextAPI(Protocol):
    """What a socket knows of its context: the pyzmq-shaped methods and zmtp's engine behind it.

    :class:`zmtp.Context` implements it (the socket module does not import the context module, which
    builds on it).
    """

    engine: Engine
    sockopts: Dict[int, Any]

    @property
    def closed(self) -> bool:
        """True once terminated."""

    @property
    def underlying(self) -> int:
        """The context's address, for shadowing."""

    def socket(self, socket_type: int, socket_class: Any = None, **kwargs: Any) -> Any:
        """A new socket of this context."""

    def get(self, option: int) -> int:
        """A context option (IPV6 and BLOCKY give new sockets their defaults)."""

    def term(self) -> None:
        """Terminate the context."""

    def destroy(self, linger: Optional[int] = None) -> None:
        """Close every socket, then terminate."""


class _SocketContext(Generic[_SocketT_co]):
    """What bind/connect return (pyzmq >= 20): ``with sock.connect(url):`` disconnects at the end."""

    __slots__ = ("socket", "kind", "addr")

    def __init__(self, socket: _SocketT_co, kind: str, addr: str) -> None:
        self.socket = socket
        self.kind = kind
        self.addr = addr

    def __repr__(self) -> str:
        return f"<SocketContext({self.kind}={self.addr!r})>"

    def __enter__(self) -> _SocketT_co:
        return self.socket

    def __exit__(self, *args: Any) -> None:
        if self.socket.closed:
            return
        try:
            if self.kind == "bind":
                self.socket.unbind(self.addr)
            else:
                self.socket.disconnect(self.addr)
        except ZMQError:
            pass


class Socket(Generic[_ReturnT_co]):
    """A ZeroMQ socket: ``ctx.socket(zmtp.PUSH)``.  Not thread-safe (as in pyzmq): use one socket from
    one thread at a time."""

    _shadow = False
    _shadow_obj: Any = None
    _monitor_socket: Any = None
    _type_name = "UNKNOWN"
    _repr_cls: Optional[str] = "zmtp.Socket"
    context: ContextAPI
    _core: SocketCore
    copy_threshold: int

    @overload
    def __init__(self, ctx_or_socket: ContextAPI, socket_type: int, *, copy_threshold: Optional[int] = None) -> None:
        ...

    @overload
    def __init__(self, *, shadow: Union[Socket[Any], int], copy_threshold: Optional[int] = None) -> None:
        ...

    @overload
    def __init__(self, ctx_or_socket: Socket[Any]) -> None:
        ...

    def __init__(
        self,
        ctx_or_socket: Union[ContextAPI, Socket[Any], None] = None,
        socket_type: int = 0,
        *,
        shadow: Union[Socket[Any], int] = 0,
        copy_threshold: Optional[int] = None,
    ) -> None:
        d = self.__dict__
        if isinstance(ctx_or_socket, Socket):
            shadow = ctx_or_socket
            ctx_or_socket = None
        if shadow:
            d["_shadow"] = True
            d["_shadow_obj"] = shadow
            if isinstance(shadow, Socket):
                core = shadow.core
                context = shadow.context
            else:
                found = _CORES.get(int(shadow))
                owner = found.api_context() if found is not None and found.api_context is not None else None
                if found is None or owner is None:
                    raise ZMQError(Errno.ENOTSOCK, f"No zmtp socket at address {shadow:#x}")
                core = found
                context = owner
        else:
            if ctx_or_socket is None:
                raise TypeError("Socket() needs a Context (or a socket to shadow)")
            context = ctx_or_socket
            if context.closed:
                raise ZMQError(Errno.ETERM)
            core = self._new_core(context, socket_type)
            core.api_context = weakref.ref(context)
            _CORES[id(core)] = core
        d["context"] = context
        d["_core"] = core
        d["copy_threshold"] = 65536 if copy_threshold is None else copy_threshold
        d["_blocking"] = not core.reactor.threaded
        #: Draft (thread-safe) socket types: single-part messages with routing ids and groups.
        d["_single"] = core.pattern.thread_safe
        #: send()'s shortcut applies (a classic socket type on the threaded driver)
        d["_fast"] = not d["_single"] and not d["_blocking"]
        d["_type_name"] = core.type_name
        d["type"] = core.socket_type
        if not shadow:
            # libzmq gives a new socket the context's IPV6, and LINGER 0 unless the context is BLOCKY
            # (socket_base_t's constructor); then come the context's socket defaults (pyzmq)
            if context.get(ContextOption.IPV6):
                self.set(SocketOption.IPV6, 1)
            if not context.get(ContextOption.BLOCKY):
                self.set(SocketOption.LINGER, 0)
            for opt, value in context.sockopts.items():
                spec = OPTIONS.get(opt)
                if spec is not None and spec.types is not None and int(core.socket_type) not in spec.types:
                    continue  # context defaults apply only to socket types that have the option
                try:
                    self.set(opt, value)
                except ZMQError:
                    pass

    def _new_core(self, context: ContextAPI, socket_type: int) -> SocketCore:
        """The core for a new socket (zmtp.asyncio puts its cores on the event loop's reactor)."""
        return context.engine.socket(socket_type)

    # -- attribute options (sock.linger = 0), as pyzmq's AttributeSetter --------------------
    def __setattr__(self, key: str, value: Any) -> None:
        if key in self.__dict__:
            object.__setattr__(self, key, value)
            return
        lower = key.lower()
        if lower in ("subscribe", "unsubscribe"):
            if isinstance(value, str):
                value = value.encode("utf-8")
            self.set(SocketOption.SUBSCRIBE if lower == "subscribe" else SocketOption.UNSUBSCRIBE, value)
            return
        # regular setattr only for class-defined attributes (a subclass's own fields are plain)
        for cls in type(self).__mro__:
            if key in cls.__dict__ or key in getattr(cls, "__annotations__", {}):
                object.__setattr__(self, key, value)
                return
        opt = OPTION_NAMES.get(lower)
        if opt is None:
            raise AttributeError(f"{type(self).__name__} has no such option: {key.upper()}")
        self.set(opt, value)

    def __getattr__(self, key: str) -> Any:
        opt = OPTION_NAMES.get(key.lower()) if not key.startswith("_") else None
        if opt is None:
            raise AttributeError(f"{type(self).__name__} has no such option: {key.upper()}")
        try:
            return self.get(opt)
        except ZMQError as exc:
            if exc.errno in (_errno.EINVAL, _errno.EFAULT):
                raise AttributeError(f"{key} attribute is write-only") from None
            raise

    def __dir__(self) -> List[str]:
        keys = dir(type(self))
        keys.extend(name for name in SocketOption.__members__ if int(SocketOption[name]) in OPTIONS)
        return keys

    # -- identity and lifetime -------------------------------------------------------------------
    @property
    def core(self) -> SocketCore:
        """zmtp's socket core behind this socket (shared by shadows).  Not part of pyzmq's API."""
        return self._core

    @property
    def underlying(self) -> int:
        """An integer naming this socket, for ``Socket.shadow(address)`` (pyzmq: the libzmq pointer)."""
        return id(self._core)

    @property
    def closed(self) -> bool:
        """True once the socket was closed."""
        return self._core.closed

    @property
    def zmtp_version(self) -> Tuple[int, int]:
        """The ZMTP version this socket advertises: (3, 1) by default, or (3, 0).  zmtp's own knob
        (for interop testing), applied to connections made after it is set."""
        return (3, self._core.options.zmtp_minor)

    @zmtp_version.setter
    def zmtp_version(self, value: Sequence[int]) -> None:
        if tuple(value) not in ((3, 0), (3, 1)):
            raise ZMQError(Errno.EINVAL, "zmtp_version must be (3, 0) or (3, 1)")
        self._core.options.zmtp_minor = value[1]

    @property
    def socket_type(self) -> int:
        """Deprecated alias of ``type`` (pyzmq's)."""
        warnings.warn("Socket.socket_type is deprecated, use Socket.type", DeprecationWarning, stacklevel=2)
        return int(self._core.socket_type)

    @classmethod
    def shadow(cls, address: Union[int, Socket[Any]]) -> Socket[Any]:
        """A second Socket object over the same socket (``address``: a Socket or its ``underlying``).

        Closing either closes the socket; dropping a shadow does not."""
        return cls(shadow=address)

    def __copy__(self, memo: Any = None) -> Socket[Any]:
        return type(self).shadow(self.underlying)

    __deepcopy__ = __copy__

    def __repr__(self) -> str:
        cls = type(self)
        name = cls.__dict__.get("_repr_cls") or f"{cls.__module__}.{cls.__name__}"
        closed = " closed" if self.closed else ""
        return f"<{name}(zmq.{self._type_name}) at {id(self):#x}{closed}>"

    def __enter__(self: _T) -> _T:
        return self

    def __exit__(self, *args: Any) -> None:
        self.close()

    def __del__(self) -> None:
        d = self.__dict__
        core = d.get("_core")
        if core is None or d.get("_shadow") or core.closed:
            return
        context = d.get("context")
        if context is None or context.engine.forked:
            return
        try:
            warnings.warn(f"Unclosed socket {self!r}", ResourceWarning, stacklevel=2, source=self)
        except Exception:  # interpreter teardown
            pass
        context.engine.close_dropped(core)

    def close(self, linger: Optional[int] = None) -> None:
        """Close the socket.  Messages still queued are delivered for up to ``linger`` ms (None: the
        LINGER option, by default forever) in the background, as libzmq does."""
        core = self._core
        if core.closed:
            return
        with core.lock:
            core.close(linger)
        if self._blocking and not core.finished:
            # blocking driver: nobody else turns the crank for the lingering streams
            ms = core.options.linger if linger is None else linger
            deadline = None if ms < 0 else time.monotonic() + ms / 1000.0
            self.context.engine.wait_closed(core, deadline)

    # -- options ---------------------------------------------------------------------------------
    def set(self, option: int, optval: Any) -> None:
        """Set a socket option (``zmq_setsockopt``); see :mod:`zmtp.sockopt` for the table."""
        core = self._core
        if core.closed:
            raise ZMQError(Errno.ENOTSOCK)
        with core.lock:
            core.set_option(option, optval)

    setsockopt = set

    def get(self, option: int) -> Any:
        """Get a socket option (``zmq_getsockopt``)."""
        core = self._core
        if core.closed:
            raise ZMQError(Errno.ENOTSOCK)
        with core.lock:
            return core.get_option(option)

    getsockopt = get

    def set_string(self, option: int, optval: str, encoding: str = "utf-8") -> None:
        """Set a bytes option from a str."""
        if not isinstance(optval, str):
            raise TypeError(f"strings only, not {type(optval)}: {optval!r}")
        self.set(option, optval.encode(encoding))

    setsockopt_string = setsockopt_unicode = set_string

    def get_string(self, option: int, encoding: str = "utf-8") -> str:
        """Get a bytes option as a str."""
        spec = OPTIONS.get(option)
        if spec is None or spec.kind not in (BYTES, KEY):
            raise TypeError(f"option {option} will not return a string to be decoded")
        return cast(bytes, self.get(option)).decode(encoding)

    getsockopt_string = getsockopt_unicode = get_string

    def get_hwm(self) -> int:
        """SNDHWM (pyzmq's ``hwm`` getter)."""
        return cast(int, self.get(SocketOption.SNDHWM))

    def set_hwm(self, value: int) -> None:
        """Set both SNDHWM and RCVHWM."""
        self.set(SocketOption.SNDHWM, value)
        self.set(SocketOption.RCVHWM, value)

    hwm = property(get_hwm, set_hwm, None, "SNDHWM when read; sets SNDHWM and RCVHWM.")

    def subscribe(self, topic: Union[str, bytes]) -> None:
        """SUB/XSUB: receive messages whose first frame starts with ``topic``."""
        if isinstance(topic, str):
            topic = topic.encode("utf-8")
        self.set(SocketOption.SUBSCRIBE, topic)

    def unsubscribe(self, topic: Union[str, bytes]) -> None:
        """SUB/XSUB: cancel one earlier subscribe() of ``topic``."""
        if isinstance(topic, str):
            topic = topic.encode("utf-8")
        self.set(SocketOption.UNSUBSCRIBE, topic)

    def fileno(self) -> int:
        """The edge-triggered file descriptor (``FD``): readable means "read EVENTS"; read EVENTS until
        it stops saying POLLIN, one readable edge may stand for several messages."""
        return cast(int, self.get(SocketOption.FD))

    # -- endpoints -------------------------------------------------------------------------------
    def bind(self: _SocketT_co, addr: str) -> _SocketContext[_SocketT_co]:
        """Bind to ``addr`` (``tcp://host:port``, ``ipc://path``, ``inproc://name``; port ``*`` or 0 for
        any).  Returns a context manager that unbinds; LAST_ENDPOINT says where it bound."""
        addr = _endpoint_str(addr)
        core = self._core
        self._check_usable()
        with core.lock:
            try:
                resolved = core.bind(addr)
            except ZMQError as exc:
                _annotate(exc, addr)
                raise
        return _SocketContext(self, "bind", resolved)

    def connect(self: _SocketT_co, addr: str) -> _SocketContext[_SocketT_co]:
        """Connect to ``addr``; the connection is made (and remade) in the background."""
        addr = _endpoint_str(addr)
        core = self._core
        self._check_usable()
        with core.lock:
            try:
                core.connect(addr)
            except ZMQError as exc:
                _annotate(exc, addr)
                raise
        return _SocketContext(self, "connect", addr)

    def unbind(self, addr: str) -> None:
        """Stop listening on ``addr`` (as given to bind, or as LAST_ENDPOINT reported it)."""
        addr = _endpoint_str(addr)
        core = self._core
        self._check_usable()
        with core.lock:
            core.unbind(addr)

    def disconnect(self, addr: str) -> None:
        """Drop the connection made by connect(addr)."""
        addr = _endpoint_str(addr)
        core = self._core
        self._check_usable()
        with core.lock:
            core.disconnect(addr)

    def bind_to_random_port(
        self, addr: str, min_port: int = 49152, max_port: int = 65536, max_tries: int = 100
    ) -> int:
        """Bind to a random port of ``addr`` (the system picks one unless a range is given)."""
        if min_port == 49152 and max_port == 65536:
            self.bind(f"{addr}:*")
            return int(cast(bytes, self.get(SocketOption.LAST_ENDPOINT)).decode().rsplit(":", 1)[1])
        for _ in range(max_tries):
            port = random.randrange(min_port, max_port)
            try:
                self.bind(f"{addr}:{port}")
            except ZMQError as exc:
                if exc.errno in (Errno.EADDRINUSE, _errno.EACCES):
                    continue
                raise
            return port
        raise ZMQBindError("Could not bind socket to random port.")

    def _check_usable(self) -> None:
        core = self._core
        if core.closed:
            raise ZMQError(Errno.ENOTSOCK)
        if core.terminated():
            raise ContextTerminated()

    # -- waiting ---------------------------------------------------------------------------------
    def _wait(self, done: Callable[[], bool], timeo: int) -> None:
        """Wait (lock held) until ``done()``, which the caller has just found false; Again after
        ``timeo`` ms (-1: forever)."""
        core = self._core
        deadline = None if timeo < 0 else time.monotonic() + timeo / 1000.0

        def check() -> bool:
            if core.closed or core.terminated():
                if core.closed:
                    raise ZMQError(Errno.ENOTSOCK)
                raise ContextTerminated()
            return done()

        if not core.reactor.wait(check, deadline, (core,), checked=True):
            raise Again()

    # -- sending ---------------------------------------------------------------------------------
    def send(
        self,
        data: Any,
        flags: int = 0,
        copy: bool = True,
        track: bool = False,
        routing_id: Optional[int] = None,
        group: Optional[str] = None,
    ) -> Optional[MessageTracker]:
        """Send one frame (``SNDMORE`` in ``flags``: more frames of this message follow).

        Waits while the socket cannot take the message (SNDHWM, no peer), up to SNDTIMEO; raises
        Again at once with ``DONTWAIT``.  ``copy=False, track=True`` returns a MessageTracker.
        """
        core = self._core
        if not flags and type(data) is bytes and self._fast and not core.send_parts:
            # the common case in few steps: one bytes frame, no flags, threaded driver
            msg: List[Any] = [data]
            with core.lock:
                if core.closed:
                    raise ZMQError(Errno.ENOTSOCK)
                if core.pattern.send(msg):
                    return None
                if core.terminated():
                    raise ContextTerminated()
                self._wait(lambda: core.pattern.send(msg), core.options.sndtimeo)
            return None
        if self._single:
            self._send_single(data, flags, copy, routing_id, group)
            return None
        tracker: Optional[MessageTracker] = None
        if type(data) is not bytes:
            if isinstance(data, Frame):
                tracker = data.tracker
                data = data.buffer if data.tracker is not None else data.bytes
            elif isinstance(data, str):
                raise TypeError("unicode not allowed, use send_string")
            else:
                try:
                    view = memoryview(data)
                except TypeError:
                    raise TypeError(f"expected bytes-like data, not {type(data).__name__}") from None
                if view.ndim != 1 or view.itemsize != 1:
                    view = byte_view(view)  # a numpy array's frame is its bytes, not its first axis
                data = view if not copy else view.tobytes()
        if track and not copy and tracker is None:
            tracker = MessageTracker(threading.Event())
        parts = core.send_parts
        if flags & _SNDMORE:
            if core.closed:
                raise ZMQError(Errno.ENOTSOCK)
            parts.append(data)
            if tracker is not None:
                core.send_trackers.append(tracker)
            return tracker
        if parts:
            parts.append(data)
            msg = parts
            core.send_parts = []
        else:
            msg = [data]
        if tracker is not None or core.send_trackers:
            msg = self._tracked(msg, tracker)
        with core.lock:
            if core.closed:
                raise ZMQError(Errno.ENOTSOCK)
            if self._blocking:
                core.reactor.turn_if_idle()
            if core.pattern.send(msg):
                return tracker
            if flags & _DONTWAIT:
                raise Again()
            if core.terminated():
                raise ContextTerminated()
            self._wait(lambda: core.pattern.send(msg), core.options.sndtimeo)
        return tracker

    def _send_single(
        self, data: Any, flags: int, copy: bool, routing_id: Optional[int], group: Optional[Union[str, bytes]]
    ) -> None:
        """Draft sockets (CLIENT, SERVER, RADIO ...): one frame per message, with its routing id or
        group; SNDMORE is EINVAL (libzmq's thread-safe types have no multipart messages)."""
        core = self._core
        if flags & _SNDMORE:
            raise ZMQError(Errno.EINVAL, "Invalid argument: thread-safe sockets send single-part messages")
        if isinstance(data, Frame):
            if routing_id is None:
                routing_id = data.routing_id
            if group is None:
                group = data.group
            body = data.bytes
        elif type(data) is bytes:
            body = data
        elif isinstance(data, str):
            raise TypeError("unicode not allowed, use send_string")
        else:
            body = memoryview(data).tobytes()
        rid = int(routing_id) if routing_id is not None else 0
        grp = group.encode("utf-8") if isinstance(group, str) else (bytes(group) if group is not None else b"")
        pattern = core.pattern
        with core.lock:
            if core.closed:
                raise ZMQError(Errno.ENOTSOCK)
            if self._blocking:
                core.reactor.turn_if_idle()
            if pattern.send_single(body, rid, grp):
                return
            if flags & _DONTWAIT:
                raise Again()
            self._wait(lambda: pattern.send_single(body, rid, grp), core.options.sndtimeo)

    def _recv_single(self, flags: int) -> SingleMessage:
        core = self._core
        pattern = core.pattern
        with core.lock:
            if core.closed:
                raise ZMQError(Errno.ENOTSOCK)
            if self._blocking:
                core.reactor.turn_if_idle()
            got = pattern.recv_single()
            if got is not None:
                return got
            if flags & _DONTWAIT:
                raise Again()
            box: List[SingleMessage] = []

            def done() -> bool:
                msg = pattern.recv_single()
                if msg is None:
                    return False
                box.append(msg)
                return True

            self._wait(done, core.options.rcvtimeo)
            return box[0]

    def join(self, group: Union[str, bytes]) -> None:
        """DISH: receive the messages RADIOs send to ``group`` (at most 255 bytes)."""
        self._group_call("join", group)

    def leave(self, group: Union[str, bytes]) -> None:
        """DISH: stop receiving ``group``."""
        self._group_call("leave", group)

    def _group_call(self, name: str, group: Union[str, bytes]) -> None:
        core = self._core
        if core.socket_type != SocketType.DISH:
            raise ZMQError(Errno.ENOTSUP, f"{name} is for DISH sockets")
        raw = group.encode("utf-8") if isinstance(group, str) else bytes(group)
        with core.lock:
            if core.closed:
                raise ZMQError(Errno.ENOTSOCK)
            getattr(core.pattern, name)(raw)

    def connect_peer(self, addr: str) -> int:
        """PEER: connect to ``addr`` and return the peer's routing id (for ``send(routing_id=...)``)."""
        addr = _endpoint_str(addr)
        core = self._core
        self._check_usable()
        with core.lock:
            try:
                return core.connect_peer(addr)
            except ZMQError as exc:
                _annotate(exc, addr)
                raise

    def _tracked(self, msg: List[Any], tracker: Optional[MessageTracker]) -> List[Any]:
        core = self._core
        trackers = core.send_trackers
        if tracker is not None:
            trackers.append(tracker)
        core.send_trackers = []
        tracked = _Tracked(msg)
        for t in trackers:
            for event in t.events:
                weakref.finalize(tracked, event.set)
        return tracked

    def send_multipart(
        self, msg_parts: Sequence[Any], flags: int = 0, copy: bool = True, track: bool = False, **kwargs: Any
    ) -> Optional[MessageTracker]:
        """Send a whole multipart message (SNDMORE is implied between its frames)."""
        for i, part in enumerate(msg_parts):
            if isinstance(part, (Frame, bytes, memoryview)):
                continue
            try:
                memoryview(part)
            except Exception:
                rmsg = repr(part)
                if len(rmsg) > 32:
                    rmsg = rmsg[:32] + "..."
                raise TypeError(f"Frame {i} ({rmsg}) does not support the buffer interface.") from None
        if not msg_parts:
            raise ZMQError(Errno.EINVAL, "a message has at least one frame")
        if self._single and (len(msg_parts) > 1 or flags & _SNDMORE):
            raise ZMQError(Errno.EINVAL, "Invalid argument: thread-safe sockets send single-part messages")
        core = self._core
        if not track and copy and not core.send_parts and all(type(p) is bytes for p in msg_parts):
            # the common case in one step: no per-frame send() calls
            msg = list(msg_parts)
            if flags & _SNDMORE:
                core.send_parts.extend(msg)
                return None
            with core.lock:
                if core.closed:
                    raise ZMQError(Errno.ENOTSOCK)
                if self._blocking:
                    core.reactor.turn_if_idle()
                if core.pattern.send(msg):
                    return None
                if flags & _DONTWAIT:
                    raise Again()
                self._wait(lambda: core.pattern.send(msg), core.options.sndtimeo)
            return None
        for part in msg_parts[:-1]:
            self.send(part, _SNDMORE | flags, copy=copy, track=track)
        return self.send(msg_parts[-1], flags, copy=copy, track=track)

    def send_serialized(
        self, msg: Any, serialize: Callable[[Any], Sequence[Any]], flags: int = 0, copy: bool = True, **kwargs: Any
    ) -> Optional[MessageTracker]:
        """Send ``serialize(msg)`` (a sequence of frames) as one multipart message."""
        frames = serialize(msg)
        return self.send_multipart(frames, flags=flags, copy=copy, **kwargs)

    def send_string(
        self, u: str, flags: int = 0, copy: bool = True, encoding: str = "utf-8", **kwargs: Any
    ) -> Optional[MessageTracker]:
        """Send a str, encoded (UTF-8 by default)."""
        if not isinstance(u, str):
            raise TypeError("str objects only")
        return self.send(u.encode(encoding), flags=flags, copy=copy, **kwargs)

    send_unicode = send_string

    def send_pyobj(self, obj: Any, flags: int = 0, protocol: int = pickle.DEFAULT_PROTOCOL, **kwargs: Any) -> Any:
        """Send a pickled object (only to peers you trust: unpickling runs code)."""
        return self.send(pickle.dumps(obj, protocol), flags=flags, **kwargs)

    def send_json(self, obj: Any, flags: int = 0, **kwargs: Any) -> Any:
        """Send ``obj`` as JSON; keyword arguments go to ``json.dumps``."""
        send_kwargs = {key: kwargs.pop(key) for key in ("routing_id", "group") if key in kwargs}
        return self.send(jsonapi.dumps(obj, **kwargs), flags=flags, **send_kwargs)

    # -- receiving -------------------------------------------------------------------------------
    def _recv_msg(self, flags: int) -> List[Any]:
        core = self._core
        queue = core.recv_queue
        if queue:
            return queue.popleft()
        with core.lock:
            if core.closed:
                raise ZMQError(Errno.ENOTSOCK)
            reactor = core.reactor
            reactor.app_active_at = _monotonic()
            if self._blocking:
                reactor.turn_if_idle()
            msg = core.recv()
            if msg is not None:
                return msg
            if flags & _DONTWAIT:
                raise Again()
            if core.terminated():
                raise ContextTerminated()
            box: List[Any] = []

            def done() -> bool:
                got = core.recv()
                if got is None:
                    return False
                box.append(got)
                return True

            self._wait(done, core.options.rcvtimeo)
            return box[0]  # type: ignore[no-any-return]

    @overload
    def recv(self, flags: int = ..., *, copy: Literal[True] = ..., track: bool = ...) -> bytes:
        ...

    @overload
    def recv(self, flags: int = ..., *, copy: Literal[False], track: bool = ...) -> Frame:
        ...

    @overload
    def recv(self, flags: int, copy: bool, track: bool = ...) -> Any:
        ...

    def recv(self, flags: int = 0, copy: bool = True, track: bool = False) -> Any:
        """Receive one frame: ``bytes``, or a :class:`Frame` over the received buffer with
        ``copy=False``.  RCVMORE says whether more frames of this message follow.  Waits up to
        RCVTIMEO (then Again); ``DONTWAIT`` raises Again at once."""
        core = self._core
        queue = core.recv_queue
        if queue and copy and not core.recv_rest:
            # the common case: a message taken earlier in a batch, read without the lock
            msg = queue.popleft()
            frame = msg[0]
            if len(msg) > 1:
                core.recv_rest = msg[1:]
                core.rcvmore = True
            else:
                core.rcvmore = False
            return frame if type(frame) is bytes else bytes(frame)
        if core.closed:
            raise ZMQError(Errno.ENOTSOCK)
        if self._single:
            single = self._recv_single(flags)
            if copy:
                return single.body
            frame_ = Frame(single.body)
            frame_.routing_id = single.routing_id or None
            frame_.group = single.group.decode("utf-8", "surrogateescape") if single.group else None
            return frame_
        rest = core.recv_rest
        if rest:
            frame = rest.pop(0)
            more = core.rcvmore = bool(rest)
        else:
            msg = self._recv_msg(flags)
            frame = msg[0]
            if len(msg) > 1:
                core.recv_rest = msg[1:]
                more = core.rcvmore = True
            else:
                more = core.rcvmore = False
        if copy:
            return frame if type(frame) is bytes else bytes(frame)
        return Frame(frame, more=more, metadata=core.last_metadata)

    @overload
    def recv_multipart(self, flags: int = ..., *, copy: Literal[True] = ..., track: bool = ...) -> List[bytes]:
        ...

    @overload
    def recv_multipart(self, flags: int = ..., *, copy: Literal[False], track: bool = ...) -> List[Frame]:
        ...

    @overload
    def recv_multipart(self, flags: int, copy: bool, track: bool = ...) -> List[Any]:
        ...

    def recv_multipart(self, flags: int = 0, copy: bool = True, track: bool = False) -> List[Any]:
        """Receive a whole multipart message: a list of ``bytes`` (or of Frames with copy=False)."""
        core = self._core
        if core.closed:
            raise ZMQError(Errno.ENOTSOCK)
        if self._single:
            return [self.recv(flags, copy=copy, track=track)]
        rest = core.recv_rest
        if rest:
            msg = rest
            core.recv_rest = []
        else:
            msg = self._recv_msg(flags)
        core.rcvmore = False
        if copy:
            return [f if type(f) is bytes else bytes(f) for f in msg]
        last = len(msg) - 1
        meta = core.last_metadata
        return [Frame(f, more=i < last, metadata=meta) for i, f in enumerate(msg)]

    def recv_into(self, buffer: Any, /, *, nbytes: int = 0, flags: int = 0) -> int:
        """Receive one frame into ``buffer`` (at most ``nbytes`` bytes, 0: the buffer's size);
        returns the frame's full size (it was truncated if larger)."""
        # every argument is checked before a message is taken, as pyzmq does (same exception types)
        view = memoryview(buffer)
        if view.readonly:
            raise BufferError("memoryview: underlying buffer is not writable")
        if not view.contiguous:
            raise BufferError("memoryview: underlying buffer is not contiguous")
        view = view.cast("B")
        if not isinstance(nbytes, int) or not isinstance(flags, int):
            raise TypeError("an integer is required")
        if nbytes < 0 or nbytes > len(view):
            raise ValueError(f"nbytes={nbytes} too big for memoryview of {len(view)}B")
        frame = self.recv(flags, copy=False)
        data = frame.buffer
        n = min(len(data), nbytes or len(view))
        view[:n] = data[:n]
        return len(data)

    def _deserialize(self, recvd: Any, load: Callable[[Any], Any]) -> Any:
        """Turn what recv returned into the caller's object (asyncio overrides it for futures)."""
        return load(recvd)

    def recv_serialized(self, deserialize: Callable[[List[Any]], _RT], flags: int = 0, copy: bool = True) -> _RT:
        """Receive a multipart message and return ``deserialize(frames)``."""
        frames = self.recv_multipart(flags=flags, copy=copy)
        return self._deserialize(frames, deserialize)  # type: ignore[no-any-return]

    def recv_string(self, flags: int = 0, encoding: str = "utf-8") -> str:
        """Receive one frame decoded as a str."""
        msg = self.recv(flags=flags)
        return self._deserialize(msg, lambda buf: buf.decode(encoding))  # type: ignore[no-any-return]

    recv_unicode = recv_string

    def recv_pyobj(self, flags: int = 0) -> Any:
        """Receive one pickled object (only from peers you trust)."""
        msg = self.recv(flags)
        return self._deserialize(msg, pickle.loads)

    def recv_json(self, flags: int = 0, **kwargs: Any) -> Any:
        """Receive one JSON document; keyword arguments go to ``json.loads``."""
        msg = self.recv(flags)
        return self._deserialize(msg, lambda buf: jsonapi.loads(buf, **kwargs))

    # -- polling ---------------------------------------------------------------------------------
    def poll(self, timeout: Optional[int] = None, flags: int = _POLLIN) -> int:
        """Wait up to ``timeout`` ms (None or negative: forever) for ``flags`` (POLLIN/POLLOUT); the
        events that are ready (0 at the timeout)."""
        if self.closed:
            raise ZMQError(Errno.ENOTSUP)
        core = self._core
        reactor = core.reactor
        deadline = None if timeout is None or timeout < 0 else time.monotonic() + timeout / 1000.0
        ready = [0]

        def done() -> bool:
            if core.closed:
                raise ZMQError(Errno.ENOTSOCK)
            if core.terminated():
                raise ContextTerminated()
            ready[0] = core.events() & flags
            return bool(ready[0])

        with core.lock:
            if self._blocking:
                reactor.turn_if_idle()
            reactor.wait(done, deadline, (core,))
        return ready[0]

    # -- monitoring ------------------------------------------------------------------------------
    def monitor(self, addr: Optional[str], events: int = int(Event.ALL)) -> None:
        """Publish this socket's events (libzmq's v1 format) on a PAIR bound at ``addr`` (inproc);
        ``addr=None`` stops monitoring."""
        self._check_usable()
        if addr is None:
            stop_monitor(self._core)
        else:
            start_monitor(self.context.engine, self._core, _endpoint_str(addr), events)

    def get_monitor_socket(self, events: Optional[int] = None, addr: Optional[str] = None) -> Socket[Any]:
        """A PAIR socket, connected, on which this socket's events arrive."""
        if self._monitor_socket is not None:
            if self._monitor_socket.closed:
                self.__dict__["_monitor_socket"] = None
            else:
                return cast("Socket[Any]", self._monitor_socket)
        if addr is None:
            addr = f"inproc://monitor.s-{self.underlying:x}"
        self.monitor(addr, int(Event.ALL) if events is None else events)
        sock: Socket[Any] = self.context.socket(SocketType.PAIR)
        sock.connect(addr)
        self.__dict__["_monitor_socket"] = sock
        return sock

    def disable_monitor(self) -> None:
        """Stop the monitor started by get_monitor_socket."""
        self.__dict__["_monitor_socket"] = None
        self.monitor(None, 0)


SyncSocket = Socket


def _endpoint_str(addr: Any) -> str:
    """pyzmq takes endpoints as str or bytes."""
    if isinstance(addr, (bytes, bytearray)):
        return bytes(addr).decode("utf-8")
    if not isinstance(addr, str):
        raise TypeError(f"endpoint must be str, not {type(addr).__name__}")
    return addr


def _annotate(exc: ZMQError, addr: str) -> None:
    """pyzmq adds the endpoint to bind/connect errors."""
    if f"{addr!r}" not in exc.strerror:
        exc.strerror = f"{exc.strerror} (addr={addr!r})"


__all__ = ["Socket", "SyncSocket", "Frame", "MessageTracker"]
