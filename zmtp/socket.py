"""``Socket``: pyzmq's socket API over the patterns, the transports and the reactor.

Every public method takes the context's lock, asks the pattern (plain logic over pipes) to send or
receive, and when the pattern says "would block", waits: on a condition the reactor thread signals
(threaded driver), or by running the reactor itself (blocking driver).  Options live in one
:class:`~zmtp.options.Options` object shared with the pattern and the transports.
"""

from __future__ import annotations

import codecs
import errno as _errno
import json
import pickle
import random
import socket as _socket
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any, Callable, Deque, Dict, List, Optional, Sequence, Set, Union

from .constants import Errno, Flag, PollEvent, SocketOption, SocketType
from .error import Again, ContextTerminated, ZMQBindError, ZMQError
from .options import Options
from .patterns import PATTERNS
from .patterns.base import Pattern
from .patterns.pipe import Pipe
from .protocol import Connection, HandshakeComplete
from .protocol.sockettypes import SOCKET_TYPE_NAMES
from .reactor import Reactor
from .sockopt import OPTION_NAMES, OPTIONS
from .transport.endpoint import parse_endpoint
from .transport.inproc import InprocLink
from .transport.stream import Connecter, Listener, Stream

if TYPE_CHECKING:
    from .context import Context

_DONTWAIT = int(Flag.DONTWAIT)
_SNDMORE = int(Flag.SNDMORE)
#: Socket types whose connecting side keeps one pipe across reconnects (libzmq: the session's pipe
#: exists from connect() on unless IMMEDIATE).  Publishers and subscribers rebuild their
#: subscription state per connection and ROUTER routes by the identity each handshake brings.
_PERSISTENT_PIPES = frozenset(
    {SocketType.PAIR, SocketType.REQ, SocketType.REP, SocketType.DEALER, SocketType.PULL, SocketType.PUSH}
)
#: Socket types whose recv() has no state, so a recv may take several ready messages at once into a
#: socket-local queue (REQ and REP must not: their recv moves their state machine).
_BATCH_RECV = frozenset({SocketType.PULL, SocketType.SUB, SocketType.XSUB, SocketType.DEALER,
                         SocketType.ROUTER, SocketType.PAIR})
_RECV_BATCH = 63
#: A send is written straight from the application's thread when the application has waited (for a
#: reply, a poll ...) since this stream's last direct write, or when that write is older than this many
#: seconds; otherwise the application is streaming, and the reactor thread writes the burst in batches.
_DIRECT_WRITE_AGE = 1e-3

BytesLike = Union[bytes, bytearray, memoryview]


class Frame:
    """A received frame, for ``copy=False`` (pyzmq's ``zmq.Frame``, minimally)."""

    __slots__ = ("bytes", "more")

    def __init__(self, data: bytes = b"", more: bool = False) -> None:
        self.bytes = bytes(data)
        self.more = more

    @property
    def buffer(self) -> memoryview:
        return memoryview(self.bytes)

    def __bytes__(self) -> bytes:
        return self.bytes

    def __len__(self) -> int:
        return len(self.bytes)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Frame):
            return self.bytes == other.bytes
        return self.bytes == other

    def __hash__(self) -> int:
        return hash(self.bytes)

    def get(self, option: int) -> int:
        if option == SocketOption.RCVMORE or option == 1:
            return int(self.more)
        raise ZMQError(Errno.EINVAL)

    def __repr__(self) -> str:
        return f"<zmtp.Frame({self.bytes[:32]!r}{'...' if len(self.bytes) > 32 else ''})>"


Message = Frame


def _as_frame(data: Any) -> Any:
    t = type(data)
    if t is bytes or t is bytearray or t is memoryview:
        return data
    if isinstance(data, Frame):
        return data.bytes
    if isinstance(data, str):
        raise TypeError("unicode not allowed, use send_string")
    try:
        return memoryview(data)
    except TypeError:
        raise TypeError(f"expected bytes-like data, not {t.__name__}") from None


class Socket:
    """A ZeroMQ socket: ``ctx.socket(zmtp.PUSH)``."""

    # Instance attributes (set through __dict__, since __setattr__ maps option names to setsockopt).
    context: Context
    socket_type: SocketType
    type_name: str
    options: Options
    reactor: Reactor
    _lock: threading.Lock
    _cond: threading.Condition
    _threaded: bool
    _pattern: Pattern
    _send_parts: List[Any]
    _recv_rest: List[bytes]
    _recv_queue: Deque[List[bytes]]
    _batch_recv: bool
    _rcvmore: bool
    _closed: bool
    _binds: Dict[str, Any]
    _connects: Dict[str, Any]
    _streams: Set[Stream]
    _watchers: List[Any]
    _last_endpoint: bytes
    _inproc_links: Set[InprocLink]
    _lingering: int

    def __init__(self, context: Context, socket_type: int) -> None:
        if socket_type not in PATTERNS:
            raise ZMQError(Errno.EINVAL, f"Invalid socket type: {socket_type}")
        d = self.__dict__
        d["context"] = context
        d["socket_type"] = SocketType(socket_type)
        d["type_name"] = SOCKET_TYPE_NAMES[socket_type]
        d["options"] = Options(socket_type=socket_type)
        for opt, value in context._socket_defaults.items():
            self._set_option(opt, value)
        d["reactor"] = context._reactor
        d["_lock"] = context._lock
        d["_cond"] = threading.Condition(context._lock)
        d["_threaded"] = context._reactor.threaded
        pattern = PATTERNS[socket_type](self.options, id_seed=random.getrandbits(31))
        pattern.signal = self._signal
        pattern.close_pipe = self._close_pipe
        d["_pattern"] = pattern
        d["_send_parts"] = []
        d["_recv_rest"] = []
        d["_recv_queue"] = deque()
        d["_batch_recv"] = socket_type in _BATCH_RECV
        d["_rcvmore"] = False
        d["_closed"] = False
        d["_binds"] = {}
        d["_connects"] = {}
        d["_streams"] = set()
        d["_watchers"] = []
        d["_last_endpoint"] = b""
        d["_inproc_links"] = set()
        d["_lingering"] = 0

    # -- attribute options (sock.linger = 0), as pyzmq ---------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        if name in self.__dict__ or name.startswith("_") or hasattr(type(self), name):
            object.__setattr__(self, name, value)
            return
        opt = OPTION_NAMES.get(name.lower())
        if opt is None:
            # as pyzmq: only class-defined attributes and socket options can be set
            raise AttributeError(f"{type(self).__name__} has no such option: {name.upper()}")
        self.setsockopt(opt, value)

    def __getattr__(self, name: str) -> Any:
        opt = OPTION_NAMES.get(name.lower()) if not name.startswith("_") else None
        if opt is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        return self.getsockopt(opt)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def zmtp_version(self) -> tuple[int, int]:
        """The ZMTP version this socket advertises: (3, 1) by default, or (3, 0)."""
        return (3, self.options.zmtp_minor)

    @zmtp_version.setter
    def zmtp_version(self, value: Sequence[int]) -> None:
        if tuple(value) not in ((3, 0), (3, 1)):
            raise ZMQError(Errno.EINVAL, "zmtp_version must be (3, 0) or (3, 1)")
        self.options.zmtp_minor = value[1]

    def __repr__(self) -> str:
        closed = " closed" if self._closed else ""
        return f"<zmtp.Socket({self.type_name}){closed} at {id(self):#x}>"

    def __enter__(self) -> Socket:
        return self

    def __exit__(self, *args: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            if not self.__dict__.get("_closed", True):
                self.close()
        except Exception:
            pass

    def fileno(self) -> int:
        raise ZMQError(Errno.ENOTSUP, "zmtp sockets have no file descriptor; use zmtp.Poller")

    # -- options -------------------------------------------------------------------------------
    def setsockopt(self, option: int, value: Any) -> None:
        self._check_open()
        with self._lock:
            self._set_option(option, value)

    set = setsockopt

    def _set_option(self, option: int, value: Any) -> None:
        spec = OPTIONS.get(option)
        if spec is None or not spec.writable:
            raise ZMQError(Errno.EINVAL, f"Invalid or read-only option: {option}")
        if spec.kind == "bytes":
            if isinstance(value, str):
                raise TypeError("unicode not allowed, use setsockopt_string")
            if not isinstance(value, (bytes, bytearray, memoryview)):
                raise TypeError(f"expected bytes, got: {value!r}")
            value = bytes(value)
        else:
            if isinstance(value, bool):
                value = int(value)
            if isinstance(value, str):
                raise TypeError("unicode not allowed, use setsockopt_string")
            if not isinstance(value, int):
                raise TypeError(f"expected int, got: {value!r}")
        o = self.options
        if option == SocketOption.SUBSCRIBE or option == SocketOption.UNSUBSCRIBE:
            pattern = self.__dict__.get("_pattern")
            if self.socket_type not in (SocketType.SUB, SocketType.XSUB) or pattern is None:
                raise ZMQError(Errno.EINVAL, "SUBSCRIBE/UNSUBSCRIBE are for SUB sockets")
            if self.socket_type == SocketType.XSUB:
                pattern.send([(b"\x01" if option == SocketOption.SUBSCRIBE else b"\x00") + value])
            elif option == SocketOption.SUBSCRIBE:
                pattern.subscribe(value)
            else:
                pattern.unsubscribe(value)
            return
        if option == SocketOption.HWM:
            self._check_int(option, value, -1 < value)
            o.sndhwm = o.rcvhwm = value
            return
        if option == SocketOption.IPV4ONLY:
            o.ipv6 = not value
            return
        if option == SocketOption.ROUTING_ID and not 0 < len(value) <= 255:
            raise ZMQError(Errno.EINVAL, "ROUTING_ID must be 1-255 bytes")
        if spec.kind == "int" and option in (SocketOption.SNDHWM, SocketOption.RCVHWM):
            self._check_int(option, value, value >= 0)
        elif spec.kind == "int" and option in (
            SocketOption.LINGER,
            SocketOption.RCVTIMEO,
            SocketOption.SNDTIMEO,
            SocketOption.MAXMSGSIZE,
        ):
            self._check_int(option, value, value >= -1)
        elif spec.kind == "int" and option in (
            SocketOption.HANDSHAKE_IVL,
            SocketOption.HEARTBEAT_IVL,
            SocketOption.HEARTBEAT_TTL,
            SocketOption.RECONNECT_IVL_MAX,
        ):
            self._check_int(option, value, value >= 0)
        if spec.attr is not None:
            setattr(o, spec.attr, bool(value) if spec.kind == "bool" else value)

    @staticmethod
    def _check_int(option: int, value: int, ok: bool) -> None:
        if not ok:
            raise ZMQError(Errno.EINVAL, f"Invalid value {value} for option {option}")

    def getsockopt(self, option: int) -> Any:
        self._check_open()
        spec = OPTIONS.get(option)
        if spec is None or not spec.readable:
            raise ZMQError(Errno.EINVAL, f"Invalid option: {option}")
        o = self.options
        if option == SocketOption.RCVMORE:
            return int(self._rcvmore)
        if option == SocketOption.EVENTS:
            with self._lock:
                return self._events()
        if option == SocketOption.LAST_ENDPOINT:
            return self._last_endpoint
        if option == SocketOption.HWM:
            return o.sndhwm
        if option == SocketOption.IPV4ONLY:
            return int(not o.ipv6)
        if option == SocketOption.FD:
            raise ZMQError(Errno.ENOTSUP, "ZMQ_FD is not supported; use zmtp.Poller")
        value = getattr(o, spec.attr)  # type: ignore[arg-type]
        if spec.kind == "bool":
            return int(value)
        if option == SocketOption.TYPE:
            return SocketType(value)
        return value

    get = getsockopt

    def setsockopt_string(self, option: int, value: str, encoding: str = "utf-8") -> None:
        self.setsockopt(option, value.encode(encoding))

    set_string = setsockopt_string

    def getsockopt_string(self, option: int, encoding: str = "utf-8") -> str:
        value = self.getsockopt(option)
        if not isinstance(value, bytes):
            raise TypeError(f"option {option} is not a string option")
        return value.decode(encoding)

    get_string = getsockopt_string

    @property
    def hwm(self) -> int:
        return self.options.sndhwm

    @hwm.setter
    def hwm(self, value: int) -> None:
        self.setsockopt(SocketOption.HWM, value)

    def get_hwm(self) -> int:
        return self.hwm

    def set_hwm(self, value: int) -> None:
        self.hwm = value

    def subscribe(self, topic: Union[str, bytes]) -> None:
        if isinstance(topic, str):
            topic = topic.encode("utf-8")
        self.setsockopt(SocketOption.SUBSCRIBE, topic)

    def unsubscribe(self, topic: Union[str, bytes]) -> None:
        if isinstance(topic, str):
            topic = topic.encode("utf-8")
        self.setsockopt(SocketOption.UNSUBSCRIBE, topic)

    # -- endpoints -----------------------------------------------------------------------------
    def bind(self, addr: str) -> _SocketContext:
        self._check_open()
        addr = _endpoint_str(addr)
        ep = parse_endpoint(addr)
        with self._lock:
            self.context._check_alive()
            if ep.transport == "inproc":
                self.context._inproc_bind(self, ep.address)
                resolved = addr
                self._binds[addr] = ("inproc", ep.address)
            else:
                try:
                    listener = Listener(self, ep.transport, ep.address)
                except OSError as exc:
                    raise _os_error(exc) from None
                resolved = listener.last_endpoint
                self._binds[resolved] = listener
                if resolved != addr:
                    self._binds.setdefault(addr, listener)
            self.__dict__["_last_endpoint"] = resolved.encode()
        return _SocketContext(self, "bind", addr)

    def bind_to_random_port(
        self, addr: str, min_port: int = 49152, max_port: int = 65536, max_tries: int = 100
    ) -> int:
        if min_port == 49152 and max_port == 65536:
            self.bind(f"{addr}:*")
            return int(self._last_endpoint.decode().rsplit(":", 1)[1])
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

    def unbind(self, addr: str) -> None:
        self._check_open()
        addr = _endpoint_str(addr)
        with self._lock:
            target = self._binds.pop(addr, None)
            if target is None:
                parse_endpoint(addr)  # a malformed endpoint is EINVAL/EPROTONOSUPPORT, as libzmq
                raise ZMQError(Errno.ENOENT, f"No such endpoint: {addr}")
            for key in [k for k, v in self._binds.items() if v is target]:
                del self._binds[key]
            if isinstance(target, Listener):
                target.close()
                for stream in list(self._streams):
                    if stream.connecter is None and stream.endpoint == target.last_endpoint:
                        stream.close(None)
            else:
                self.context._inproc_unbind(self, target[1])

    def connect(self, addr: str) -> _SocketContext:
        self._check_open()
        addr = _endpoint_str(addr)
        ep = parse_endpoint(addr)
        with self._lock:
            self.context._check_alive()
            if ep.transport == "inproc":
                link = InprocLink(self, addr)
                self._connects[addr] = link
                self._inproc_links.add(link)
                if not (self.options.immediate or self.socket_type not in _PERSISTENT_PIPES):
                    self._pattern.attach(link.a)
                self.context._inproc_connect(link, ep.address)
            else:
                connecter = Connecter(self, ep.transport, ep.address, addr)
                if not self.options.immediate and self.socket_type in _PERSISTENT_PIPES:
                    pipe = self.new_pipe()
                    connecter.pipe = pipe
                    self._pattern.attach(pipe)
                self._connects[addr] = connecter
            self.__dict__["_last_endpoint"] = addr.encode()
        return _SocketContext(self, "connect", addr)

    def disconnect(self, addr: str) -> None:
        self._check_open()
        addr = _endpoint_str(addr)
        with self._lock:
            target = self._connects.pop(addr, None)
            if target is None:
                parse_endpoint(addr)
                raise ZMQError(Errno.ENOENT, f"No such endpoint: {addr}")
            self._drop_connect(target)

    def _drop_connect(self, target: Any) -> None:
        if isinstance(target, InprocLink):
            self._inproc_links.discard(target)
            self.context._inproc_forget(target)
            target.close()
            return
        target.close()
        if target.stream is not None:
            target.stream.close(None)
        if target.pipe is not None:
            self.detach_pipe(target.pipe)

    # -- what transports call ------------------------------------------------------------------
    def new_pipe(self) -> Pipe:
        o = self.options
        pipe = Pipe(sndhwm=o.sndhwm, rcvhwm=o.rcvhwm)
        pipe.on_outbound = self._pipe_outbound
        pipe.on_inbound_space = self._pipe_inbound_space
        return pipe

    def attach_pipe(self, pipe: Pipe) -> bool:
        if self._closed:
            return False
        return self._pattern.attach(pipe) is not False

    def detach_pipe(self, pipe: Pipe) -> None:
        if pipe.pattern is not None:
            self._pattern.detach(pipe)
            self._signal()

    def make_connection(self, now: float) -> Connection:
        o = self.options
        return Connection(
            self.type_name,
            identity=o.routing_id,
            minor_version=o.zmtp_minor,
            max_message_size=o.maxmsgsize,
            handshake_ivl=o.handshake_ivl / 1000.0,
            heartbeat_ivl=o.heartbeat_ivl / 1000.0,
            heartbeat_ttl=o.heartbeat_ttl / 1000.0,
            heartbeat_timeout=None if o.heartbeat_timeout < 0 else o.heartbeat_timeout / 1000.0,
            now=now,
        )

    def apply_tcp_options(self, sock: _socket.socket) -> None:
        o = self.options
        try:
            if o.sndbuf > 0:
                sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_SNDBUF, o.sndbuf)
            if o.rcvbuf > 0:
                sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_RCVBUF, o.rcvbuf)
            if o.tcp_keepalive >= 0:
                sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_KEEPALIVE, o.tcp_keepalive)
            if o.tcp_keepalive > 0:
                for value, name in (
                    (o.tcp_keepalive_cnt, "TCP_KEEPCNT"),
                    (o.tcp_keepalive_idle, "TCP_KEEPIDLE"),
                    (o.tcp_keepalive_intvl, "TCP_KEEPINTVL"),
                ):
                    if value > 0 and hasattr(_socket, name):
                        sock.setsockopt(_socket.IPPROTO_TCP, getattr(_socket, name), value)
        except OSError:
            pass

    def add_stream(self, stream: Stream) -> None:
        connecter = stream.connecter
        if self._closed:
            if connecter is None or not connecter.lingering:
                stream.close(None)
                return
            stream.lingering = True  # connected at last, after close(): deliver what was queued
        self._streams.add(stream)

    def stream_ready(self, stream: Stream, event: HandshakeComplete) -> Optional[Pipe]:
        """A stream finished its handshake: give it a pipe (None refuses the peer)."""
        if self._closed and not stream.lingering:
            return None
        connecter = stream.connecter
        pipe = connecter.pipe if connecter is not None else None
        if pipe is not None:
            pipe.peer_identity = event.identity
            pipe.peer_socket_type = event.socket_type
            pipe.data = stream
            pipe.closed = False
            if pipe.outbound:
                self._pipe_outbound(pipe)
            return pipe
        pipe = self.new_pipe()
        pipe.peer_identity = event.identity
        pipe.peer_socket_type = event.socket_type
        pipe.data = stream
        if not self.attach_pipe(pipe):
            return None
        self._signal()
        return pipe

    def stream_closed(self, stream: Stream) -> None:
        self._streams.discard(stream)
        connecter = stream.connecter
        pipe = stream.pipe
        if pipe is not None and pipe.data is stream:
            pipe.data = None
            if connecter is None or connecter.pipe is not pipe:
                if pipe.inbound and not self._closed:
                    # what the peer sent before leaving is still delivered (libzmq does too)
                    pipe.closed = True
                    pipe.on_drained = lambda p: self.reactor.call_soon(lambda: self.detach_pipe(p))
                else:
                    self.detach_pipe(pipe)
        if connecter is not None and connecter.lingering:
            # a closed socket's connecter that still has messages to deliver (libzmq: the session
            # lingers and reconnects): done once its pipe is empty, else it reconnects
            if connecter.pipe is None or not connecter.pipe.outbound:
                connecter.lingering = False
                connecter.close()
                self._linger_unit_done()
            else:
                connecter.stream_closed(stream)
            return
        if connecter is not None:
            connecter.stream_closed(stream)
        if stream.lingering:
            self._linger_unit_done()

    def _linger_unit_done(self) -> None:
        self._lingering -= 1
        if self._lingering <= 0:
            self._finish_close()

    def _pipe_outbound(self, pipe: Pipe) -> None:
        """A pipe's outbound queue became non-empty: get its stream writing."""
        stream = pipe.data
        if type(stream) is not Stream or stream.flush_scheduled or stream.pipe is not pipe:
            return
        if self._threaded and not self.reactor.in_reactor_thread():
            # Request/reply traffic (the application waits between sends) is written at once, for
            # latency; a stream of sends is left to the reactor thread, which writes what piled up
            # in one syscall (libzmq always hands writes to its I/O thread).
            now = time.perf_counter()
            epoch = self.context._wait_epoch
            if epoch == stream.wait_epoch and now - stream.last_direct_flush < _DIRECT_WRITE_AGE:
                stream.flush_scheduled = True
                self.reactor.call_soon(lambda: _scheduled_flush(stream))
                return
            stream.wait_epoch = epoch
            stream.last_direct_flush = now
        stream.flush()

    def _close_pipe(self, pipe: Pipe) -> None:
        """The pattern dropped a peer (ROUTER_HANDOVER): close its connection."""
        stream = pipe.data
        if isinstance(stream, Stream):
            stream.close(None)
        elif isinstance(stream, InprocLink):
            stream.close()
        self.detach_pipe(pipe)

    def _pipe_inbound_space(self, pipe: Pipe) -> None:
        stream = pipe.data
        if type(stream) is Stream:
            stream.resume_reading()

    # -- signalling ----------------------------------------------------------------------------
    def _signal(self) -> None:
        reactor = self.reactor
        if reactor.dispatching:
            reactor.pending_wakeups[id(self)] = self._wake_waiters
            return
        self._wake_waiters()

    def _wake_waiters(self) -> None:
        self._cond.notify_all()
        for watcher in self._watchers:
            watcher.notify()
        if not self._threaded and self.reactor.running:
            # blocking driver: another thread may be waiting inside the reactor's select (its recv
            # or poll turns the crank); an inproc message or a state change must wake it
            self.reactor.wake()

    def _events(self) -> int:
        mask = 0
        if self._recv_rest or self._recv_queue or self._pattern.can_recv():
            mask |= PollEvent.POLLIN
        if self._pattern.can_send():
            mask |= PollEvent.POLLOUT
        return mask

    def _wait(self, deadline: Optional[float]) -> None:
        """Wait (lock held) for a signal, the deadline (Again) or termination (ContextTerminated)."""
        if self.context._terminated:
            raise ContextTerminated()
        if deadline is None:
            timeout = None
        else:
            timeout = deadline - time.monotonic()
            if timeout <= 0:
                raise Again()
        self.context._wait_epoch += 1
        if self._threaded or self.reactor.running:
            self._cond.wait(timeout)
        else:
            self.reactor.run_once(timeout)
        if self.context._terminated:
            raise ContextTerminated()
        if self._closed:
            raise ZMQError(Errno.ENOTSOCK)

    def _check_open(self) -> None:
        if self._closed:
            raise ZMQError(Errno.ENOTSOCK)

    # -- sending -------------------------------------------------------------------------------
    def send(
        self,
        data: Any,
        flags: int = 0,
        copy: bool = True,
        track: bool = False,
        routing_id: Optional[int] = None,
        group: Optional[str] = None,
    ) -> None:
        if self._closed:
            raise ZMQError(Errno.ENOTSOCK)
        if type(data) is not bytes:
            data = _as_frame(data)
        parts = self._send_parts
        if flags & _SNDMORE:
            parts.append(data)
            return None
        if parts:
            parts.append(data)
            msg = parts
            self.__dict__["_send_parts"] = []
        else:
            msg = [data]
        with self._lock:
            if self._pattern.send(msg):
                return None
            self._send_wait(msg, flags)
        return None

    def _send_wait(self, msg: List[Any], flags: int) -> None:
        if flags & _DONTWAIT:
            raise Again()
        timeo = self.options.sndtimeo
        deadline = None if timeo < 0 else time.monotonic() + timeo / 1000.0
        pattern = self._pattern
        while True:
            self._wait(deadline)
            if pattern.send(msg):
                return

    def send_multipart(
        self, msg_parts: Sequence[Any], flags: int = 0, copy: bool = True, track: bool = False, **kwargs: Any
    ) -> None:
        if self._closed:
            raise ZMQError(Errno.ENOTSOCK)
        msg = [_as_frame(part) for part in msg_parts]
        if not msg:
            raise ZMQError(Errno.EINVAL, "a message has at least one frame")
        if self._send_parts:
            msg = self._send_parts + msg
            self.__dict__["_send_parts"] = []
        if flags & _SNDMORE:
            self._send_parts.extend(msg)
            return
        with self._lock:
            if self._pattern.send(msg):
                return
            self._send_wait(msg, flags)

    def send_string(
        self, u: str, flags: int = 0, copy: bool = True, encoding: str = "utf-8", **kwargs: Any
    ) -> None:
        if not isinstance(u, str):
            raise TypeError("str objects only")
        self.send(u.encode(encoding), flags=flags)

    send_unicode = send_string

    def send_json(self, obj: Any, flags: int = 0, **kwargs: Any) -> None:
        self.send(json.dumps(obj, **kwargs).encode("utf-8"), flags=flags)

    def send_pyobj(
        self, obj: Any, flags: int = 0, protocol: int = pickle.DEFAULT_PROTOCOL, **kwargs: Any
    ) -> None:
        self.send(pickle.dumps(obj, protocol), flags=flags)

    def send_serialized(
        self,
        msg: Any,
        serialize: Callable[[Any], List[bytes]],
        flags: int = 0,
        copy: bool = True,
        **kwargs: Any,
    ) -> None:
        self.send_multipart(serialize(msg), flags=flags)

    # -- receiving -----------------------------------------------------------------------------
    def _recv_msg(self, flags: int) -> List[bytes]:
        queue = self._recv_queue
        if queue:
            return queue.popleft()
        pattern = self._pattern
        with self._lock:
            msg = pattern.recv()
            if msg is not None:
                if self._batch_recv and not self.options.conflate:
                    # Take what else is ready under this one lock acquisition: later recv() calls
                    # are then a deque pop (stateless patterns only; see _BATCH_RECV).
                    for _ in range(_RECV_BATCH):
                        more = pattern.recv()
                        if more is None:
                            break
                        queue.append(more)
                return msg
            if flags & _DONTWAIT:
                raise Again()
            timeo = self.options.rcvtimeo
            deadline = None if timeo < 0 else time.monotonic() + timeo / 1000.0
            while True:
                self._wait(deadline)
                msg = pattern.recv()
                if msg is not None:
                    return msg

    def recv(self, flags: int = 0, copy: bool = True, track: bool = False) -> Any:
        if self._closed:
            raise ZMQError(Errno.ENOTSOCK)
        rest = self._recv_rest
        if rest:
            frame = rest.pop(0)
            self.__dict__["_rcvmore"] = bool(rest)
        else:
            msg = self._recv_msg(flags)
            frame = msg[0]
            if len(msg) > 1:
                self.__dict__["_recv_rest"] = msg[1:]
                self.__dict__["_rcvmore"] = True
            else:
                self.__dict__["_rcvmore"] = False
        if type(frame) is not bytes:
            frame = bytes(frame)
        if copy:
            return frame
        return Frame(frame, self._rcvmore)

    def recv_multipart(self, flags: int = 0, copy: bool = True, track: bool = False) -> List[Any]:
        if self._closed:
            raise ZMQError(Errno.ENOTSOCK)
        rest = self._recv_rest
        if rest:
            msg = rest
            self.__dict__["_recv_rest"] = []
        else:
            msg = self._recv_msg(flags)
        self.__dict__["_rcvmore"] = False
        out = [f if type(f) is bytes else bytes(f) for f in msg]
        if copy:
            return out
        return [Frame(f, i < len(out) - 1) for i, f in enumerate(out)]

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        frame = self.recv(flags)
        view = memoryview(buffer).cast("B")
        n = min(len(frame), nbytes or len(view))
        view[:n] = frame[:n]
        return len(frame)

    def recv_string(self, flags: int = 0, encoding: str = "utf-8") -> str:
        return codecs.decode(self.recv(flags), encoding)

    recv_unicode = recv_string

    def recv_json(self, flags: int = 0, **kwargs: Any) -> Any:
        return json.loads(self.recv(flags), **kwargs)

    def recv_pyobj(self, flags: int = 0) -> Any:
        return pickle.loads(self.recv(flags))

    def recv_serialized(
        self, deserialize: Callable[[List[bytes]], Any], flags: int = 0, copy: bool = True
    ) -> Any:
        return deserialize(self.recv_multipart(flags))

    # -- polling -------------------------------------------------------------------------------
    def poll(self, timeout: Optional[int] = None, flags: int = PollEvent.POLLIN) -> int:
        self._check_open()
        from .poll import Poller

        poller = Poller()
        poller.register(self, flags)
        events = dict(poller.poll(timeout))
        return int(events.get(self, 0))

    # -- closing -------------------------------------------------------------------------------
    def close(self, linger: Optional[int] = None) -> None:
        with self._lock:
            self._close_locked(linger)
        if self._lingering > 0 and not self._threaded:
            # blocking driver: nobody else will turn the crank for the lingering streams
            with self._lock:
                self.context._run_until(lambda: self._lingering <= 0, self._linger_deadline(linger))
                if self._lingering > 0:
                    self._abort_lingering()

    def _linger_deadline(self, linger: Optional[int]) -> Optional[float]:
        ms = self.options.linger if linger is None else linger
        return None if ms < 0 else time.monotonic() + ms / 1000.0

    def _close_locked(self, linger: Optional[int]) -> None:
        if self._closed:
            return
        self.__dict__["_closed"] = True
        self._recv_queue.clear()
        ms = self.options.linger if linger is None else linger
        unique = {id(target): target for target in self._binds.values()}
        for target in unique.values():
            if isinstance(target, Listener):
                target.close()
            elif isinstance(target, tuple):
                self.context._inproc_unbind(self, target[1])
        self._binds.clear()
        for link in list(self._inproc_links):
            self.context._inproc_forget(link)
            link.close()
        # One unit per lingering stream or connecter; the guard unit keeps a unit that finishes during
        # these loops (a flush that completes at once) from ending the close before all are counted.
        self.__dict__["_lingering"] = 1
        for connecter in self._connects.values():
            if isinstance(connecter, Connecter):
                if ms != 0 and connecter.pipe is not None and connecter.pipe.outbound and not connecter.closed:
                    # messages queued for a peer not (or no longer) connected: keep connecting until
                    # they are delivered or the linger expires, as libzmq does
                    connecter.lingering = True
                    self.__dict__["_lingering"] += 1
                else:
                    connecter.close()
        for stream in list(self._streams):
            if stream.connecter is not None and stream.connecter.lingering:
                stream.lingering = True  # counted with its connecter
                stream.flush()
                continue
            pending = (
                stream.conn.has_data_to_send()
                or bool(stream._wbuf)
                or (stream.pipe is not None and bool(stream.pipe.outbound))
            )
            if ms != 0 and pending and not stream.closed:
                stream.lingering = True
                self.__dict__["_lingering"] += 1
                stream.flush()
            else:
                stream.close(None)
        self.__dict__["_lingering"] -= 1
        for pipe in list(self._pattern.pipes):
            self._pattern.detach(pipe)
        self._cond.notify_all()
        for watcher in self._watchers:
            watcher.notify()
        if self._lingering > 0:
            if ms > 0:
                self.reactor.call_later(ms / 1000.0, self._abort_lingering)
            self.context._socket_lingering(self)
        else:
            self._finish_close()

    def _abort_lingering(self) -> None:
        for connecter in self._connects.values():
            if isinstance(connecter, Connecter) and connecter.lingering:
                connecter.lingering = False
                connecter.close()
        for stream in list(self._streams):
            stream.lingering = False
            stream.close(None)
        self.__dict__["_lingering"] = 0
        self._finish_close()

    def _finish_close(self) -> None:
        self.context._socket_closed(self)

    # -- monitor (not yet) ---------------------------------------------------------------------
    def get_monitor_socket(self, events: Optional[int] = None, addr: Optional[str] = None) -> Socket:
        raise ZMQError(Errno.ENOTSUP, "socket monitors are not implemented yet")


class _SocketContext:
    """What bind/connect return (pyzmq >= 26): ``with sock.connect(url):`` disconnects at the end."""

    __slots__ = ("socket", "kind", "addr")

    def __init__(self, socket: Socket, kind: str, addr: str) -> None:
        self.socket = socket
        self.kind = kind
        self.addr = addr

    def __repr__(self) -> str:
        return f"<SocketContext({self.kind}={self.addr!r})>"

    def __enter__(self) -> Socket:
        return self.socket

    def __exit__(self, *args: Any) -> None:
        if self.socket.closed:
            return
        undo = self.socket.unbind if self.kind == "bind" else self.socket.disconnect
        try:
            undo(self.addr)
        except ZMQError:
            pass


def _endpoint_str(addr: Any) -> str:
    """pyzmq takes endpoints as str or bytes."""
    if isinstance(addr, (bytes, bytearray)):
        return bytes(addr).decode("utf-8")
    return addr  # type: ignore[no-any-return]


def _scheduled_flush(stream: Stream) -> None:
    stream.flush_scheduled = False
    stream.flush(release_lock=True)


def _os_error(exc: OSError) -> ZMQError:
    code = exc.errno if exc.errno is not None else Errno.EINVAL
    if code == _errno.EACCES:
        return ZMQError(code, str(exc))
    return ZMQError(code, exc.strerror or str(exc))


__all__ = ["Socket", "Frame", "Message"]
