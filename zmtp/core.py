"""The socket core: one ZeroMQ socket's state and behaviour, below the pyzmq-shaped API.

A :class:`SocketCore` owns the pattern (plain logic over pipes), the pipes, the endpoints it binds and
connects, the transports that carry them, and linger and close.  It implements
:class:`~zmtp.transport.owner.Owner`, the small interface transports call back.  Every method runs with
the context lock held (the ``*_locked`` public entry points take it); nothing here blocks or waits:
waiting is the facades' business (:mod:`zmtp.socket` for threads, :mod:`zmtp.asyncio` for event loops),
through :meth:`zmtp.reactor.Reactor.wait` or futures.

The core never refers to its facade, so a facade the application drops is garbage-collected by
reference counting alone; its ``__del__`` then closes the core (with its linger) through the reactor.
"""

from __future__ import annotations

import errno as _errno
import logging
import os
import random
import socket as _socket
import time
from collections import deque
from functools import partial
from typing import Any, Callable, Deque, Dict, List, Optional, Protocol, Set, Tuple, Union

from .constants import IPC_PATH_MAX_LEN, Errno, Event, PollEvent, SocketOption, SocketType
from .error import ZMQError
from .options import Options
from .patterns import PATTERNS
from .patterns.base import Pattern
from .patterns.pipe import Pipe
from .protocol import (
    AuthenticationRequested,
    Connection,
    ErrorReason,
    HandshakeComplete,
    LocalProtocolError,
    Mechanism,
    NullMechanism,
    RemoteProtocolError,
)
from .protocol.curve import CurveClient, CurveServer
from .protocol.plain import PlainClient, PlainServer
from .protocol.sockettypes import SOCKET_TYPE_NAMES
from .reactor import Reactor
from .sockopt import OPTIONS, check_unknown_option, spec_for
from .transport.endpoint import parse_endpoint
from .transport.failure import describe, logger
from .transport.inproc import InprocLink, InprocNames
from .transport.notify import disconnect_message, hiccup_message
from .transport.stream import Connecter, Listener, Stream
from .transport.udp import UdpEngine, open_udp

_POLLIN = int(PollEvent.POLLIN)
_monotonic = time.monotonic
_POLLOUT = int(PollEvent.POLLOUT)

#: Socket types whose connecting side keeps one pipe across reconnects (libzmq: the session's pipe
#: exists from connect() on unless IMMEDIATE).  Publishers and subscribers rebuild their
#: subscription state per connection and ROUTER routes by the identity each handshake brings.
_PERSISTENT_PIPES = frozenset(
    {SocketType.PAIR, SocketType.REQ, SocketType.REP, SocketType.DEALER, SocketType.PULL, SocketType.PUSH,
     SocketType.CLIENT, SocketType.SERVER, SocketType.PEER, SocketType.SCATTER, SocketType.GATHER,
     SocketType.CHANNEL}
)
#: Socket types whose recv() has no state, so a recv may take several ready messages at once into a
#: socket-local queue (REQ and REP must not: their recv moves their state machine).
_BATCH_RECV = frozenset({SocketType.PULL, SocketType.SUB, SocketType.XSUB, SocketType.DEALER,
                         SocketType.ROUTER, SocketType.PAIR})
_RECV_BATCH = 255
#: Socket types whose LINGER starts at 0 (libzmq's xsub_t constructor).
_LINGER_ZERO = frozenset({SocketType.SUB, SocketType.XSUB})
#: A send is written straight from the application's thread when the application has waited (for a
#: reply, a poll ...) since this stream's last direct write, or when that write is older than this many
#: seconds; otherwise the application is streaming, and the reactor writes the burst in batches.
_DIRECT_WRITE_AGE = 1e-3

class ZapService(Protocol):
    """What a socket asks of its context's ZAP client (zmtp.zap.ZapBroker implements it)."""

    def available(self) -> bool:
        """Is a ZAP handler bound now?"""

    def request(self, core: SocketCore, stream: Any, event: AuthenticationRequested) -> None:
        """Send the ZAP request for ``stream``; the answer goes to ``stream.authentication_result``."""

    def forget(self, stream: Any) -> None:
        """``stream`` closed: ignore the answer to its pending request."""




class MonitorSink(Protocol):
    """Where a socket's monitor events go (:mod:`zmtp.monitor`)."""

    def __call__(self, event: int, value: int, endpoint: str, reason: str) -> None:
        """Report one event (libzmq's number and value, the endpoint, zmtp's reason sentence)."""

    def stop(self) -> None:
        """Send MONITOR_STOPPED (if subscribed) and close the monitor's PAIR.  Lock held."""


_IPC_BIND_ERRORS = {
    _errno.ENAMETOOLONG: 'ipc path "{path}" is longer than {max} characters (sizeof(sockaddr_un.sun_path)).',
    _errno.ENOENT: 'No such file or directory for ipc path "{path}".',
}


class Signaler:
    """The file descriptor behind ``Socket.FD``: readable when the socket's state may have changed.

    libzmq's semantics (edge-triggered): it becomes readable when something happens and stays so until
    ``EVENTS`` is read, which clears it; an application must then read ``EVENTS`` until it stops
    saying POLLIN, since one readable edge may stand for several messages.
    """

    def __init__(self) -> None:
        self._r, self._w = _socket.socketpair()
        self._r.setblocking(False)
        self._w.setblocking(False)
        self.armed = False

    def fileno(self) -> int:
        return self._r.fileno()

    def set(self) -> None:
        if not self.armed:
            self.armed = True
            try:
                self._w.send(b"\x00")
            except OSError:
                pass

    def clear(self) -> None:
        if self.armed:
            self.armed = False
            try:
                while self._r.recv(64):
                    pass
            except OSError:
                pass

    def close(self) -> None:
        self._r.close()
        self._w.close()


class SocketCore:
    """One socket's state: pattern, pipes, endpoints, transports, linger.  See the module docstring.

    ``on_closed`` is called (lock held) once the socket is closed and done lingering.
    """

    def __init__(
        self,
        socket_type: int,
        *,
        reactor: Reactor,
        inproc: InprocNames,
        on_closed: Callable[[SocketCore], None],
        terminated: Callable[[], bool],
        zap: Optional[ZapService] = None,
    ) -> None:
        if socket_type not in PATTERNS:
            raise ZMQError(Errno.EINVAL, f"Invalid socket type: {socket_type}")
        self.socket_type = SocketType(socket_type)
        self.type_name = SOCKET_TYPE_NAMES[socket_type]
        #: STREAM sockets speak raw bytes to non-ZeroMQ peers (transport/raw.py).
        self.raw = socket_type == SocketType.STREAM
        self.options = Options(socket_type=socket_type)
        if socket_type in _LINGER_ZERO:
            self.options.linger = 0  # libzmq's xsub_t: pending subscriptions never hold up a close
        self.reactor = reactor
        self.lock = reactor.lock
        self.inproc = inproc
        self._on_closed = on_closed
        self._zap = zap
        #: True once the context is terminated (blocking calls raise ContextTerminated).
        self.terminated = terminated
        pattern = PATTERNS[socket_type](self.options, id_seed=random.getrandbits(31))
        pattern.signal = self.signal
        pattern.close_pipe = self._close_pipe
        self.pattern: Pattern = pattern
        #: Frames of a multipart message being sent with SNDMORE, and the rest of one being received
        #: frame by frame (the facades share them, as shadows share libzmq's socket state).
        self.send_parts: List[Any] = []
        #: Trackers of frames queued with SNDMORE and track=True (done when the whole message is).
        self.send_trackers: List[Any] = []
        self.recv_rest: List[Any] = []
        self.rcvmore = False
        #: Metadata of the connection the last message came from (``Frame.get``); None: unknown.
        self.last_metadata: Optional[Dict[str, bytes]] = None
        #: Messages taken in one batch by a recv, read by the facade without the lock (see _BATCH_RECV).
        self.recv_queue: Deque[List[Any]] = deque()
        #: A message recv took from another connection than its batch's, with its pipe: returned next.
        self._held: Optional[Tuple[List[Any], Optional[Pipe]]] = None
        self._batch_recv = socket_type in _BATCH_RECV
        self.closed = False
        #: True once close finished (lingering done): the core is gone from its context.
        self.finished = False
        self.binds: Dict[str, Union[Listener, UdpEngine, str]] = {}
        self.connects: Dict[str, Union[Connecter, InprocLink, UdpEngine]] = {}
        self.streams: Set[Any] = set()  # Stream (ZMTP) or RawConnection (STREAM sockets)
        self._links: Set[InprocLink] = set()
        self.last_endpoint = b""
        self._lingering = 0
        self._linger_timer: Any = None
        #: Objects with ``notify()`` to call when the socket may have become readable or writable:
        #: waiting threads (reactor.Waiter) and pollers.
        self.watchers: List[Any] = []
        #: Callables run on the same signals (asyncio facades resolve their futures there).
        self.signal_hooks: List[Callable[[], None]] = []
        self._signaler: Optional[Signaler] = None
        self.monitor: Optional[MonitorSink] = None
        #: A weak reference to the API object that made this core (the pyzmq-shaped Context), for
        #: ``Socket.shadow(address)``; the core itself never uses it.
        self.api_context: Optional[Callable[[], Any]] = None

    def __repr__(self) -> str:
        return f"<SocketCore {self.type_name}{' closed' if self.closed else ''} at {id(self):#x}>"

    # -- options -------------------------------------------------------------------------------
    def set_option(self, option: int, value: Any) -> None:
        """Validate (through the option table) and apply one option.  Lock held."""
        option = int(option)
        spec = OPTIONS.get(option)
        if spec is None:
            check_unknown_option(option, value)  # TypeError as pyzmq for a value of the wrong type
            raise ZMQError(Errno.EINVAL, f"Invalid argument: unknown socket option {option}")
        if not spec.writable:
            raise ZMQError(Errno.EINVAL, f"Invalid argument: option {option} is read-only")
        value = spec.check(option, value)
        if spec.types is not None and int(self.socket_type) not in spec.types:
            raise ZMQError(Errno.EINVAL, f"Invalid argument: option {option} is not one of {self.type_name}'s")
        o = self.options
        if option == SocketOption.SUBSCRIBE or option == SocketOption.UNSUBSCRIBE:
            self._subscription(value, option == SocketOption.SUBSCRIBE)
            return
        if option == SocketOption.HWM:
            o.sndhwm = o.rcvhwm = value
            return
        if option == SocketOption.IPV4ONLY:
            o.ipv6 = not value
            return
        assert spec.attr is not None
        setattr(o, spec.attr, value)
        if option in _MECHANISM_OPTIONS:
            _select_mechanism(o, option, value)

    def _subscription(self, topic: bytes, subscribe: bool) -> None:
        pattern = self.pattern
        if self.socket_type == SocketType.XSUB:
            pattern.send([(b"\x01" if subscribe else b"\x00") + topic])
        elif subscribe:
            pattern.subscribe(topic)  # type: ignore[attr-defined]
        else:
            pattern.unsubscribe(topic)  # type: ignore[attr-defined]

    def get_option(self, option: int) -> Any:
        """Read one option.  Lock held."""
        option = int(option)
        spec = spec_for(option)
        if not spec.readable:
            raise ZMQError(Errno.EINVAL, f"Invalid argument: option {option} is write-only")
        o = self.options
        if option == SocketOption.RCVMORE:
            return int(self.rcvmore)
        if option == SocketOption.EVENTS:
            if self._signaler is not None:
                self._signaler.clear()
            return self.events()
        if option == SocketOption.FD:
            return self.fileno()
        if option == SocketOption.LAST_ENDPOINT:
            return self.last_endpoint
        if option == SocketOption.HWM:
            return o.sndhwm
        if option == SocketOption.IPV4ONLY:
            return int(not o.ipv6)
        if option == SocketOption.THREAD_SAFE:
            return 0
        if option == SocketOption.PLAIN_SERVER:
            return int(o.as_server and o.mechanism == _PLAIN)  # libzmq reads it back from both
        if option == SocketOption.CURVE_SERVER:
            return int(o.as_server and o.mechanism == _CURVE)
        assert spec.attr is not None
        value = getattr(o, spec.attr)
        if option == SocketOption.TYPE:
            return SocketType(value)
        if isinstance(value, bytes) and len(value) == 255 and option in _STRING_OPTIONS:
            # pyzmq reads string options into 255 bytes, and libzmq needs one more for the NUL
            raise ZMQError(Errno.EINVAL, "Invalid argument")
        if isinstance(value, bool):
            return int(value)
        return value

    def fileno(self) -> int:
        """``Socket.FD``: see :class:`Signaler`.  Not with the blocking driver, which moves nothing
        between calls: its FD would never become readable by itself and the caller's loop would hang."""
        if self._signaler is None:
            if not self.reactor.threaded:
                raise ZMQError(
                    Errno.ENOTSUP,
                    "Socket.FD needs something that moves I/O between calls, and the blocking driver does "
                    "not: use a threaded context (zmtp.Context(), the default) or zmtp.asyncio",
                )
            self._signaler = Signaler()
            if self.events():
                self._signaler.set()
        return self._signaler.fileno()

    # -- endpoints -----------------------------------------------------------------------------
    def bind(self, addr: str) -> str:
        """Bind; returns the resolved endpoint (LAST_ENDPOINT).  Lock held."""
        ep = parse_endpoint(addr)
        if ep.transport == "inproc":
            self.inproc.bind(self, ep.address)
            self.binds[addr] = ep.address
            resolved = addr
        elif ep.transport == "udp":
            engine = open_udp(self, ep.address, addr, bind=True)
            resolved = engine.last_endpoint
            self.binds[resolved] = engine
            if resolved != addr:
                self.binds.setdefault(addr, engine)
        else:
            try:
                listener = Listener(self, ep.transport, ep.address)
            except (OSError, ZMQError) as exc:
                # libzmq reports the address without its scheme here (socket_base_t::bind)
                code = exc.errno or 0
                self.transport_event(Event.BIND_FAILED, ep.address, code)
                if logger.isEnabledFor(logging.INFO):
                    logger.info("%s: bind failed: %s", addr, describe(exc))
                if ep.transport == "ipc" and code in (_errno.ENAMETOOLONG, _errno.ENOENT):
                    raise ZMQError(code, _IPC_BIND_ERRORS[code].format(path=ep.address, max=IPC_PATH_MAX_LEN)) from None
                if isinstance(exc, ZMQError):
                    raise
                raise os_error(exc, addr) from None
            resolved = listener.last_endpoint
            self.binds[resolved] = listener
            if resolved != addr:
                self.binds.setdefault(addr, listener)
            listener.start()
        self.last_endpoint = resolved.encode()
        return resolved

    def unbind(self, addr: str) -> None:
        target = self.binds.pop(addr, None)
        if target is None:
            parse_endpoint(addr)  # a malformed endpoint is EINVAL/EPROTONOSUPPORT, as libzmq
            raise ZMQError(Errno.ENOENT, f"No such endpoint: {addr}")
        for key in [k for k, v in self.binds.items() if v is target]:
            del self.binds[key]
        if isinstance(target, Listener):
            target.close()
            for stream in list(self.streams):
                if stream.connecter is None and stream.endpoint == target.last_endpoint:
                    stream.close(None)
        elif isinstance(target, UdpEngine):
            target.close(None)
        else:
            self.inproc.unbind(self, target)

    def connect(self, addr: str) -> None:
        ep = parse_endpoint(addr)
        persistent = not self.options.immediate and self.socket_type in _PERSISTENT_PIPES
        if ep.transport == "inproc":
            link = InprocLink(self, addr)
            self.connects[addr] = link
            self._links.add(link)
            if persistent:
                self.pattern.attach(link.a)
            self.inproc.connect(link, ep.address)
        elif ep.transport == "udp":
            self.connects[addr] = open_udp(self, ep.address, addr, bind=False)
        else:
            connecter = Connecter(self, ep.transport, ep.address, addr)
            # CONNECT_ROUTING_ID names the peer of this one connect() (libzmq clears it afterwards)
            connecter.routing_id = self.options.connect_routing_id
            self.options.connect_routing_id = b""
            if persistent:
                pipe = self.new_pipe()
                connecter.pipe = pipe
                self.pattern.attach(pipe)
            self.connects[addr] = connecter
            connecter.start()
        self.last_endpoint = addr.encode()

    def connect_peer(self, addr: str) -> int:
        """PEER (RFC 51): connect and return the routing id the new peer has (known at once: the
        pipe is attached before any connection exists).  EFAULT with IMMEDIATE, as libzmq."""
        if self.socket_type != SocketType.PEER:
            raise ZMQError(Errno.ENOTSUP, "connect_peer is for PEER sockets")
        if self.options.immediate:
            raise ZMQError(Errno.EFAULT, "connect_peer needs IMMEDIATE unset")
        self.connect(addr)
        return int(self.pattern.last_routing_id)  # type: ignore[attr-defined]

    def disconnect(self, addr: str) -> None:
        target = self.connects.pop(addr, None)
        if target is None:
            parse_endpoint(addr)
            raise ZMQError(Errno.ENOENT, f"No such endpoint: {addr}")
        self._drop_connect(target)

    def connect_stopped(self, connecter: Connecter, forget: bool) -> None:
        """A connecter gave up (RECONNECT_STOP ...): its pipe goes, and with ``forget`` its endpoint."""
        if self.closed:
            return
        if forget:
            for key in [k for k, v in self.connects.items() if v is connecter]:
                del self.connects[key]
        if connecter.pipe is not None:
            pipe, connecter.pipe = connecter.pipe, None
            self.detach_pipe(pipe)

    def _drop_connect(self, target: Union[Connecter, InprocLink, UdpEngine]) -> None:
        if isinstance(target, InprocLink):
            self._links.discard(target)
            self.inproc.forget(target)
            target.close()
            return
        if isinstance(target, UdpEngine):
            target.close(None)
            return
        target.close()
        if target.stream is not None:
            target.stream.close(None)
        if target.pipe is not None:
            self.detach_pipe(target.pipe)

    # -- sending and receiving (lock held; never block) ------------------------------------------
    def send(self, msg: List[Any]) -> bool:
        """Hand a whole message to the pattern: False when it would block."""
        return self.pattern.send(msg)

    def recv(self) -> Optional[List[Any]]:
        """The next whole message, or None; may batch more into :attr:`recv_queue`.

        Sets :attr:`last_metadata` to the properties of the connection the message came from; a batch
        holds messages of that one connection only (a message from another pipe waits in ``_held``).
        """
        pattern = self.pattern
        held = self._held
        if held is None:
            msg = pattern.recv()
            if msg is None:
                return None
            pipe = pattern.last_in
        else:
            self._held = None
            msg, pipe = held
        self.last_metadata = None if pipe is None else pipe.metadata
        if self._batch_recv and not self.options.conflate:
            # Take what else is ready under this one lock acquisition: later recv() calls are then a
            # deque pop (stateless patterns only; see _BATCH_RECV).
            if len(pattern.pipes) <= 1:
                # one peer: whatever is ready is that connection's (metadata as set above)
                pattern.recv_many(self.recv_queue, _RECV_BATCH)
            else:
                queue = self.recv_queue
                for _ in range(_RECV_BATCH):
                    more = pattern.recv()
                    if more is None:
                        break
                    if pattern.last_in is not pipe:
                        self._held = (more, pattern.last_in)
                        break
                    queue.append(more)
        return msg

    def events(self) -> int:
        """POLLIN / POLLOUT as ``zmq_poll`` would report them now."""
        mask = 0
        if self.recv_rest or self.recv_queue or self._held is not None or self.pattern.can_recv():
            mask |= _POLLIN
        if self.pattern.can_send():
            mask |= _POLLOUT
        return mask

    # -- signalling ----------------------------------------------------------------------------
    def signal(self) -> None:
        """The socket may have become readable or writable: wake whoever waits on it."""
        reactor = self.reactor
        if reactor.dispatching:
            reactor.pending_wakeups[id(self)] = self._wake
            return
        self._wake()

    def _wake(self) -> None:
        for watcher in self.watchers:
            watcher.notify()
        if self._signaler is not None:
            self._signaler.set()
        for hook in self.signal_hooks:
            hook()
        reactor = self.reactor
        if reactor.selecting and reactor.leader != reactor.io_thread_ident:
            # an application thread leads and sleeps in select: it may be waiting for this very
            # socket (an inproc message from another thread, a state change); let it look again
            reactor.wake()

    # -- what transports call (Owner) ------------------------------------------------------------
    def new_pipe(self) -> Pipe:
        o = self.options
        pipe = Pipe(sndhwm=o.sndhwm, rcvhwm=o.rcvhwm)
        pipe.on_outbound = self._pipe_outbound
        pipe.on_inbound_space = self._pipe_inbound_space
        return pipe

    def attach_pipe(self, pipe: Pipe) -> bool:
        if self.closed:
            return False
        return self.pattern.attach(pipe) is not False

    def detach_pipe(self, pipe: Pipe) -> None:
        if pipe.pattern is not None:
            self.pattern.detach(pipe)
            self.signal()

    def make_connection(self, now: float, peer_address: str) -> Connection:
        o = self.options
        return Connection(
            self.type_name,
            identity=o.routing_id,
            mechanism=self._mechanism(),
            minor_version=o.zmtp_minor,
            max_message_size=o.maxmsgsize,
            handshake_ivl=o.handshake_ivl / 1000.0,
            heartbeat_ivl=o.heartbeat_ivl / 1000.0,
            heartbeat_ttl=o.heartbeat_ttl / 1000.0,
            heartbeat_timeout=None if o.heartbeat_timeout < 0 else o.heartbeat_timeout / 1000.0,
            now=now,
        )

    def _mechanism(self) -> Mechanism:
        """The security mechanism for a new connection, from the options (libzmq's rules).

        A CURVE key never set is 32 zero bytes, as in libzmq (``options_t`` starts them zeroed), so an
        incomplete configuration connects and then fails its handshake (HANDSHAKE_FAILED_*), retrying
        like any failed handshake: nothing raises inside the reactor.
        """
        o = self.options
        zap = self._zap is not None and self._zap.available()
        if o.mechanism == _PLAIN:
            if o.as_server:
                return PlainServer(zap=zap)
            return PlainClient(username=o.plain_username, password=o.plain_password)
        if o.mechanism == _CURVE:
            if o.as_server:
                return CurveServer(secret_key=o.curve_secretkey or _ZERO_KEY, zap=zap, random_bytes=os.urandom)
            try:
                return CurveClient(
                    public_key=o.curve_publickey or _ZERO_KEY, secret_key=o.curve_secretkey or _ZERO_KEY,
                    server_key=o.curve_serverkey or _ZERO_KEY, random_bytes=os.urandom,
                )
            except LocalProtocolError as exc:  # a zero (or other small-order) server key: no HELLO box
                return _FailingMechanism(b"CURVE", f"cannot start a CURVE handshake: {exc.message}")
        # NULL asks ZAP only when a domain is set (libzmq 4.3 null_mechanism_t)
        return NullMechanism(zap=zap and bool(o.zap_domain))

    def authenticate(self, stream: Stream, request: AuthenticationRequested) -> None:
        if self._zap is None:
            stream.close(ConnectionRefusedError("no ZAP broker"))
            return
        self._zap.request(self, stream, request)

    def add_stream(self, stream: Any) -> bool:
        connecter = stream.connecter
        if self.closed:
            if connecter is None or not connecter.lingering:
                return False
            stream.lingering = True  # connected at last, after close(): deliver what was queued
        self.streams.add(stream)
        return True

    def stream_ready(self, stream: Any, event: HandshakeComplete) -> Optional[Pipe]:
        """A stream finished its handshake: give it a pipe (None refuses the peer)."""
        if self.closed and not stream.lingering:
            return None
        connecter = stream.connecter
        pipe: Optional[Pipe] = connecter.pipe if connecter is not None else None
        metadata = _message_properties(stream.peer_address, event)
        if pipe is not None:
            pipe.peer_identity = event.identity
            pipe.peer_socket_type = event.socket_type
            pipe.metadata = metadata
            pipe.data = stream
            pipe.closed = False
            if pipe.outbound:
                self._pipe_outbound(pipe)
            return pipe
        pipe = self.new_pipe()
        pipe.peer_identity = event.identity
        pipe.peer_socket_type = event.socket_type
        pipe.metadata = metadata
        pipe.data = stream
        if connecter is not None and connecter.routing_id:
            # our own name for a peer we connected to (router.cpp / stream.cpp identify_peer)
            if self.raw:
                pipe.routing_id = connecter.routing_id
            else:
                pipe.peer_identity = connecter.routing_id
        if not self.attach_pipe(pipe):
            return None
        self.signal()
        return pipe

    def stream_closed(self, stream: Any) -> None:
        self.streams.discard(stream)
        if self._zap is not None and stream.pipe is None:
            self._zap.forget(stream)
        if stream.error is not None:
            # libzmq reports every connection that failed, in or after its handshake, but not one we closed
            self.transport_event(Event.DISCONNECTED, stream.endpoint, stream.fd)
        connecter = stream.connecter
        pipe = stream.pipe
        if pipe is not None and pipe.data is stream:
            if not self.closed:
                # DISCONNECT_MSG / HICCUP_MSG (see transport/notify.py)
                if connecter is None and self.options.disconnect_msg:
                    bye = disconnect_message(self)
                    if bye:
                        pipe.deliver([bye])
                elif connecter is not None and stream.error is not None and self.options.hiccup_msg:
                    hiccup = hiccup_message(self)
                    if hiccup and not connecter.closed and connecter.pipe is pipe:
                        pipe.deliver([hiccup])
            pipe.data = None
            if connecter is None or connecter.pipe is not pipe:
                if pipe.inbound and not self.closed:
                    # what the peer sent before leaving is still delivered (libzmq does too)
                    pipe.closed = True
                    pipe.on_drained = self._drained
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

    def _drained(self, pipe: Pipe) -> None:
        self.reactor.call_soon(partial(self.detach_pipe, pipe))

    def transport_event(self, event: int, endpoint: str, value: int = 0, reason: str = "") -> None:
        sink = self.monitor
        if sink is not None:
            sink(int(event), value, endpoint, reason)

    def stop_monitor(self) -> None:
        """Stop the socket monitor, if any: MONITOR_STOPPED is its last event (libzmq stops a socket's
        monitor when the socket is destroyed, and when the context terminates)."""
        sink = self.monitor
        if sink is not None:
            self.monitor = None
            sink.stop()

    def _pipe_outbound(self, pipe: Pipe) -> None:
        """A pipe's outbound queue became non-empty, or reached a batch boundary: get its stream
        writing.

        Request/reply traffic (the application waited since this stream's last direct write, or that
        write is old) is written at once, for latency.  A stream of sends is written in batches by the
        sending thread itself: every FLUSH_BATCH messages (the pipe calls us again), and when the
        sender next waits or within the reactor's DEFER_DELAY for the rest; no other thread is woken
        for it (with the GIL, a second thread encoding adds hand-overs, not parallelism).
        """
        stream: Any = pipe.data
        if stream is None or stream.pipe is not pipe:
            return
        reactor = self.reactor
        # the application is busy sending: the I/O thread keeps away (see Reactor._idle_delay)
        reactor.app_active_at = _monotonic()
        if reactor.dispatching:
            stream.flush()
            return
        if len(pipe.outbound) > 1:
            stream.flush()  # a batch boundary of a streaming sender
            if stream.flush_scheduled:
                reactor.postpone_deferred()
            return
        if stream.flush_scheduled:
            return
        if reactor.threaded:
            now = time.perf_counter()
            epoch = reactor.wait_epoch
            if epoch == stream.wait_epoch and now - stream.last_direct_flush < _DIRECT_WRITE_AGE:
                stream.flush_scheduled = True
                reactor.defer(partial(_scheduled_flush, stream))
                return
            stream.wait_epoch = epoch
            stream.last_direct_flush = now
        stream.flush()

    def _close_pipe(self, pipe: Pipe) -> None:
        """The pattern dropped a peer (ROUTER_HANDOVER, a malformed DISH input, a RADIO JOIN over 255 bytes):
        close its connection."""
        stream: Any = pipe.data
        if isinstance(stream, InprocLink):
            stream.close()
        elif stream is not None:
            stream.close(None)
        if not (pipe.closed and pipe.on_drained is not None):
            # (kept by stream_closed while it holds what the peer sent before: read first, as libzmq's
            # terminate(delay) does; a DISH refusing a malformed message keeps the earlier ones)
            self.detach_pipe(pipe)

    def _pipe_inbound_space(self, pipe: Pipe) -> None:
        stream: Any = pipe.data
        if stream is not None and not isinstance(stream, InprocLink):
            stream.resume_reading()

    # -- closing -------------------------------------------------------------------------------
    def close(self, linger: Optional[int]) -> None:
        """Close now; lingering streams keep delivering for up to ``linger`` ms (None: the option)."""
        if self.closed:
            return
        self.closed = True
        self.recv_queue.clear()
        self._held = None
        self.recv_rest = []
        ms = self.options.linger if linger is None else linger
        for target in {id(t): t for t in self.binds.values()}.values():
            if isinstance(target, Listener):
                target.close()
        self.binds.clear()
        self.inproc.close_owner(self)
        for link in list(self._links):
            self.inproc.forget(link)
            link.close()
        self._links.clear()
        # One unit per lingering stream or connecter; the guard unit keeps a unit that finishes during
        # these loops (a flush that completes at once) from ending the close before all are counted.
        self._lingering = 1
        for connecter in self.connects.values():
            if isinstance(connecter, Connecter):
                if ms != 0 and connecter.pipe is not None and connecter.pipe.outbound and not connecter.closed:
                    # messages queued for a peer not (or no longer) connected: keep connecting until
                    # they are delivered or the linger expires, as libzmq does
                    connecter.lingering = True
                    self._lingering += 1
                else:
                    connecter.close()
        for stream in list(self.streams):
            if stream.connecter is not None and stream.connecter.lingering:
                stream.lingering = True  # counted with its connecter
                stream.flush()
                continue
            if ms != 0 and stream.has_pending_output() and not stream.closed:
                stream.lingering = True
                self._lingering += 1
                stream.flush()
            else:
                stream.close(None)
        for pipe in list(self.pattern.pipes):
            self.pattern.detach(pipe)
        self._wake()
        self._linger_unit_done()
        if self._lingering > 0 and ms > 0:
            self._linger_timer = self.reactor.call_later(ms / 1000.0, self.abort_lingering)

    @property
    def lingering(self) -> bool:
        return self._lingering > 0

    def abort_lingering(self) -> None:
        """The linger period is over (or the context is being destroyed): drop what is left."""
        self._linger_timer = None
        if self.finished:
            return
        for connecter in self.connects.values():
            if isinstance(connecter, Connecter) and connecter.lingering:
                connecter.lingering = False
                connecter.close()
        for stream in list(self.streams):
            stream.lingering = False
            stream.close(None)
        self._lingering = 0
        self._finish()

    def _linger_unit_done(self) -> None:
        self._lingering -= 1
        if self._lingering <= 0:
            self._finish()

    def _finish(self) -> None:
        if self.finished:
            return
        self.finished = True
        if self._linger_timer is not None:
            self._linger_timer.cancel()
            self._linger_timer = None
        if self._signaler is not None:
            self._signaler.set()  # an event loop waiting on FD sees the socket go away
        self.stop_monitor()
        self._on_closed(self)


_ZERO_KEY = bytes(32)


def _message_properties(peer_address: str, event: HandshakeComplete) -> Dict[str, bytes]:
    """What ``Frame.get`` answers for this connection's messages, as libzmq's
    ``stream_engine_base_t::mechanism_ready`` compiles it: Peer-Address first, then the ZAP handler's
    properties and User-Id, then what the peer's READY/INITIATE carried (Socket-Type, Identity ...);
    the first value of a name wins.  The event's metadata already puts the ZAP properties first."""
    properties = dict(event.metadata)
    if peer_address:
        properties["peer-address"] = peer_address.encode()
    return properties


class _FailingMechanism(Mechanism):
    """Stands in for a mechanism our own keys cannot run: the handshake fails right after the greeting.

    libzmq's CURVE client with an unusable server key fails in ``produce_hello`` (crypto_box fails on a
    small-order key): HANDSHAKE_FAILED_PROTOCOL with ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC, and the
    connection is retried.  This does the same through the connection's ordinary failure path.
    """

    def __init__(self, name: bytes, reason: str) -> None:
        super().__init__(as_server=False)
        self.name = name
        self._reason = reason

    def start(self, metadata: bytes) -> List[bytes]:
        raise RemoteProtocolError(ErrorReason.AUTHENTICATION_FAILED, self._reason)

    def receive_command(self, name: bytes, data: bytes) -> List[bytes]:
        raise RemoteProtocolError(ErrorReason.AUTHENTICATION_FAILED, self._reason)


def _scheduled_flush(stream: Any) -> None:
    stream.flush_scheduled = False
    stream.flush(release_lock=True)


_MECHANISM_OPTIONS = frozenset(
    {
        int(SocketOption.PLAIN_SERVER), int(SocketOption.PLAIN_USERNAME), int(SocketOption.PLAIN_PASSWORD),
        int(SocketOption.CURVE_SERVER), int(SocketOption.CURVE_PUBLICKEY), int(SocketOption.CURVE_SECRETKEY),
        int(SocketOption.CURVE_SERVERKEY),
    }
)


_NULL, _PLAIN, _CURVE = 0, 1, 2
_STRING_OPTIONS = frozenset(
    {int(SocketOption.PLAIN_USERNAME), int(SocketOption.PLAIN_PASSWORD), int(SocketOption.ZAP_DOMAIN)}
)


def _select_mechanism(o: Options, option: int, value: Any) -> None:
    """libzmq picks the mechanism and the as-server flag from the security option set last
    (src/options.cpp ``options_t::setsockopt``): PLAIN_SERVER / CURVE_SERVER choose their mechanism
    (or NULL when cleared) and set as-server; PLAIN_USERNAME / PLAIN_PASSWORD choose PLAIN as a client
    (NULL when set empty); any CURVE key chooses CURVE, and CURVE_SERVERKEY makes us a client."""
    if option == SocketOption.PLAIN_SERVER:
        o.as_server = bool(value)
        o.mechanism = _PLAIN if value else _NULL
    elif option in (SocketOption.PLAIN_USERNAME, SocketOption.PLAIN_PASSWORD):
        if value:
            o.as_server = False
            o.mechanism = _PLAIN
        else:
            o.mechanism = _NULL
    elif option == SocketOption.CURVE_SERVER:
        o.as_server = bool(value)
        o.mechanism = _CURVE if value else _NULL
    else:  # a CURVE key
        o.mechanism = _CURVE
        if option == SocketOption.CURVE_SERVERKEY:
            o.as_server = False


def os_error(exc: OSError, endpoint: str = "") -> ZMQError:
    """An OSError from bind/connect as pyzmq reports it: libzmq's errno, the endpoint in the text."""
    code = exc.errno if exc.errno is not None else Errno.EINVAL
    text = exc.strerror or str(exc)
    if endpoint:
        text = f"{text} (addr={endpoint!r})"
    return ZMQError(code, text)


__all__ = ["SocketCore", "Signaler", "os_error", "MonitorSink"]
