"""tcp and ipc: a ZMTP connection over a stream socket, and the listeners and connecters that make them.

A :class:`Stream` joins three things: a non-blocking socket, a sans-IO
:class:`~zmtp.protocol.Connection`, and (once the handshake is done) the
:class:`~zmtp.patterns.pipe.Pipe` the socket's pattern reads and writes.  It is the whole driver
logic for one connection: feed received bytes in, dispatch events, move queued messages from the pipe
into the connection, write the bytes out, re-arm the one timer.

Flow control: a stream takes messages from its pipe only while its write buffer is empty (so SNDHWM
really bounds what is queued, and messages not yet handed to the kernel survive a reconnect on the
connecting side), and stops reading while the pipe's inbound queue is at RCVHWM.
"""

from __future__ import annotations

import errno
import os
import socket
import time
from typing import TYPE_CHECKING, Any, List, Optional

from ..patterns.pipe import Pipe, SubscriptionChange
from ..protocol import (
    Cancel,
    Connection,
    ConnectionClosed,
    ErrorReceived,
    HandshakeComplete,
    Message,
    RemoteProtocolError,
    Subscribe,
)
from ..reactor import READ, WRITE, Handler, Reactor, Timer
from .endpoint import format_ipc, format_tcp, ipc_path, resolve, split_host_port, tcp_bind_addresses

if TYPE_CHECKING:
    from ..socket import Socket as SocketCore

#: How much we read per recv call, and how much we encode ahead before writing.
RECV_SIZE = 1 << 18
WRITE_BATCH = 1 << 18
_IOV_MAX = 512


class Stream(Handler):
    """One ZMTP connection over one tcp/ipc socket."""

    def __init__(
        self, owner: SocketCore, sock: socket.socket, endpoint: str, connecter: Optional[Connecter]
    ) -> None:
        self.owner = owner
        self.reactor: Reactor = owner.reactor
        self.sock = sock
        self.endpoint = endpoint
        self.connecter = connecter
        sock.setblocking(False)
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            owner.apply_tcp_options(sock)
        self.conn: Connection = owner.make_connection(time.monotonic())
        self.pipe: Optional[Pipe] = None
        self._wbuf: List[Any] = []
        self.reading = True
        self.closed = False
        self.lingering = False
        self._timer: Optional[Timer] = None
        self._timer_at: Optional[float] = None
        #: For the send-side batching heuristic (see SocketCore.pipe_outbound).
        self.last_direct_flush = 0.0
        self.wait_epoch = -1
        self.flush_scheduled = False
        self._writing = False
        self._flush_again = False
        self.error: Optional[Exception] = None
        self._mask = READ
        self.reactor.set_interest(sock, self, READ)
        self.flush()
        self._arm_timer()

    # -- reading -------------------------------------------------------------------------------
    def on_readable(self) -> None:
        if self.closed:
            return
        conn = self.conn
        view = conn.receive_buffer()
        try:
            if view is not None:
                # the rest of a large frame: straight into its own buffer
                n = self.sock.recv_into(view)
            else:
                # recv_into one reusable buffer: sock.recv(256 KiB) would allocate (and map) a fresh
                # 256 KiB object per call, measured at ~30 us more than the read itself
                rbuf = self.reactor.recv_buffer
                n = self.sock.recv_into(rbuf)
                data = rbuf[:n].tobytes()
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self.close(exc)
            return
        finally:
            if view is not None:
                view.release()
        try:
            if view is not None:
                events = conn.buffer_received(n, time.monotonic())
            else:
                events = conn.receive_data(data, time.monotonic())
        except RemoteProtocolError as exc:
            self.close(exc, flush=True)
            return
        for event in events:
            kind = type(event)
            if kind is Message:
                pipe = self.pipe
                if pipe is not None:
                    pipe.deliver(event.frames)  # type: ignore[attr-defined]
            elif kind is Subscribe:
                if self.pipe is not None:
                    self.pipe.deliver_subscription(event.topic, True)  # type: ignore[attr-defined]
            elif kind is Cancel:
                if self.pipe is not None:
                    self.pipe.deliver_subscription(event.topic, False)  # type: ignore[attr-defined]
            elif kind is HandshakeComplete:
                if not self._on_handshake(event):  # type: ignore[arg-type]
                    return
            elif kind is ConnectionClosed or kind is ErrorReceived:
                self.close(ConnectionResetError(getattr(event, "reason", "peer closed the connection")))
                return
        if self.closed:
            return
        pipe = self.pipe
        if pipe is not None and not pipe.can_deliver():
            self.reading = False
            self._update_interest()
        if self.conn.has_data_to_send() or (pipe is not None and pipe.outbound and not self._wbuf):
            self.flush()
        self._arm_timer()

    def _on_handshake(self, event: HandshakeComplete) -> bool:
        pipe = self.owner.stream_ready(self, event)
        if pipe is None:
            self.close(ConnectionRefusedError(f"{self.owner.type_name} refused a {event.socket_type} peer"))
            return False
        self.pipe = pipe
        pipe.zmtp_version = event.version[1]
        pipe.data = self
        self.conn.message_sink = pipe.deliver
        return True

    def resume_reading(self) -> None:
        """The pipe has room again (RCVHWM): read on."""
        if not self.closed and not self.reading:
            self.reading = True
            self._update_interest()
            # data may already be waiting in the kernel; the selector will tell us

    # -- writing -------------------------------------------------------------------------------
    def on_writable(self) -> None:
        self.flush(release_lock=True)

    def flush(self, release_lock: bool = False) -> None:
        """Move queued messages into the connection and write as much as the kernel takes.

        Called with the context lock held, from the reactor thread or (for a direct write) from the
        application's.  With ``release_lock`` (only from top-level reactor callbacks, never from inside
        a pattern's operation) the lock is released around the send syscall itself, so the
        application can queue the next messages while the kernel copies these; ``_writing`` keeps a
        second thread from writing the same stream meanwhile (it leaves ``_flush_again`` instead).
        """
        if self.closed:
            return
        if self._writing:
            self._flush_again = True
            return
        self._writing = True
        try:
            self._flush(release_lock)
        finally:
            self._writing = False
        if self._flush_again and not self.closed:
            self._flush_again = False
            self.flush(release_lock)

    def _flush(self, release_lock: bool) -> None:
        sock = self.sock
        conn = self.conn
        lock = self.reactor.lock if release_lock else _NO_LOCK
        for _ in range(64):
            wbuf = self._wbuf
            if not wbuf:
                pipe = self.pipe
                if pipe is not None and pipe.outbound and pipe.active:
                    self._encode_from_pipe(pipe)
                wbuf = conn.data_to_send()
                if not wbuf:
                    break
                if len(wbuf) > 1:
                    wbuf = _coalesce(wbuf)
                self._wbuf = wbuf
            lock.release()
            try:
                if len(wbuf) == 1:
                    sent = sock.send(wbuf[0])
                else:
                    sent = sock.sendmsg(wbuf[:_IOV_MAX])
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                lock.acquire()
                self.close(exc)
                lock.release()
                return
            finally:
                lock.acquire()
            if self.closed:
                return
            # drop what was sent
            while sent:
                head = wbuf[0]
                n = len(head)
                if sent >= n:
                    sent -= n
                    del wbuf[0]
                else:
                    wbuf[0] = memoryview(head)[sent:]  # type: ignore[call-overload]
                    sent = 0
            if wbuf:
                break  # the kernel is full: wait for writability
        self._update_interest()
        if self.lingering and not self._wbuf and (self.pipe is None or not self.pipe.outbound):
            connecter = self.connecter
            if self.pipe is None and connecter is not None and connecter.lingering:
                return  # mid-handshake: the messages it lingers for go out once it is done
            self.close(None)

    def _encode_from_pipe(self, pipe: Pipe) -> None:
        outbound = pipe.outbound
        hwm = pipe.sndhwm
        was_full = hwm > 0 and len(outbound) >= hwm
        conn = self.conn
        while outbound:
            conn.send_messages(outbound, WRITE_BATCH)
            if not outbound or type(outbound[0]) is list:
                break  # all taken, or a batch's worth is encoded
            item = outbound.popleft()
            if isinstance(item, SubscriptionChange):
                if item.subscribe:
                    conn.send_subscribe(item.topic)
                else:
                    conn.send_cancel(item.topic)
            else:  # a tuple of frames, or another sequence
                conn.send_message(list(item))
        if was_full and len(outbound) < hwm and pipe.pattern is not None:
            pipe.pattern.pipe_writable(pipe)

    def _update_interest(self) -> None:
        """Tell the selector what we wait for; only the reactor's thread touches the selector."""
        if self.closed:
            return
        pipe = self.pipe
        # WRITE while bytes wait for the kernel, and also while the pipe still holds messages that a
        # bounded flush left behind: writability brings us back to them after other streams' turns.
        pending = bool(self._wbuf) or (pipe is not None and bool(pipe.outbound) and pipe.active)
        mask = (READ if self.reading else 0) | (WRITE if pending else 0)
        if mask == self._mask:
            return
        if not self.reactor.in_reactor_thread():
            self.reactor.call_soon(self._update_interest)
            return
        self._mask = mask
        self.reactor.set_interest(self.sock, self, mask)

    # -- time ----------------------------------------------------------------------------------
    def _arm_timer(self) -> None:
        deadline = self.conn.next_deadline()
        if deadline == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = deadline
        if deadline is not None:
            self._timer = self.reactor.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        if self.closed:
            return
        try:
            self.conn.handle_timer(time.monotonic())
        except RemoteProtocolError as exc:
            self.close(exc, flush=True)
            return
        if self.conn.has_data_to_send():
            self.flush()
        self._arm_timer()

    # -- closing -------------------------------------------------------------------------------
    def close(self, error: Optional[BaseException], flush: bool = False) -> None:
        if self.closed:
            return
        if flush:
            # best effort: the goodbye (an ERROR command) the core queued
            try:
                out = b"".join(bytes(b) for b in self._wbuf) + b"".join(self.conn.data_to_send())
                if out:
                    self.sock.send(out)
            except OSError:
                pass
        self.closed = True
        self.error = error  # type: ignore[assignment]
        if self._timer is not None:
            self._timer.cancel()
        if self.reactor.in_reactor_thread():
            self._close_socket()
        else:
            self.reactor.call_soon(self._close_socket)
        self.owner.stream_closed(self)

    def _close_socket(self) -> None:
        self.reactor.forget(self.sock)
        try:
            self.sock.close()
        except OSError:
            pass


class _NoLock:
    """Stands in for the context lock when flush keeps it held."""

    def acquire(self) -> bool:
        return True

    def release(self) -> None:
        pass


_NO_LOCK = _NoLock()


def _coalesce(buffers: List[Any]) -> List[Any]:
    """Join runs of small buffers; large ones (a frame of 64 KiB or more) stay as they are (no copy)."""
    out: List[Any] = []
    run: List[Any] = []
    for b in buffers:
        if len(b) < 65536:
            run.append(b)
        else:
            if run:
                out.append(b"".join(run) if len(run) > 1 else run[0])
                run = []
            out.append(b)
    if run:
        out.append(b"".join(run) if len(run) > 1 else run[0])
    return out


class Listener(Handler):
    """A bound tcp or ipc socket accepting peers."""

    def __init__(self, owner: SocketCore, transport: str, address: str) -> None:
        self.owner = owner
        self.reactor = owner.reactor
        self.transport = transport
        self.closed = False
        self.ipc_file: Optional[str] = None
        if transport == "tcp":
            family, sockaddr = tcp_bind_addresses(address, owner.options.ipv6)
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                try:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
                except OSError:
                    pass
        else:
            path = ipc_path(address)
            if address == "*":
                import tempfile

                path = os.path.join(tempfile.mkdtemp(prefix="zmtp-ipc-"), "socket")
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            if not path.startswith("\0"):
                _unlink_stale(path)
            sockaddr = path
        try:
            sock.bind(sockaddr)
            sock.listen(max(owner.options.backlog, 1))
        except OSError:
            sock.close()
            raise
        sock.setblocking(False)
        self.sock = sock
        if transport == "tcp":
            self.last_endpoint = format_tcp(sock.getsockname(), sock.family)
        else:
            bound = sock.getsockname()
            if isinstance(bound, bytes):
                bound = bound.decode("utf-8", "surrogateescape")
            self.last_endpoint = format_ipc(bound or sockaddr)
            if not sockaddr.startswith("\0"):
                self.ipc_file = sockaddr
        self._register()

    def _register(self) -> None:
        if self.reactor.in_reactor_thread():
            self.reactor.set_interest(self.sock, self, READ)
        else:
            self.reactor.call_soon(self._register_now)

    def _register_now(self) -> None:
        if not self.closed:
            self.reactor.set_interest(self.sock, self, READ)

    def on_readable(self) -> None:
        for _ in range(64):
            try:
                conn, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    return
                return
            if self.closed:
                conn.close()
                return
            self.owner.add_stream(Stream(self.owner, conn, self.last_endpoint, None))

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        # The address is released now, not when the reactor thread gets round to it, so the app can
        # bind it again at once (close/unbind then bind): unlink the ipc path here (a deferred unlink
        # would remove the next listener's file), and stop a tcp listener listening (a socket no longer
        # in LISTEN state does not block a SO_REUSEADDR bind).
        if self.ipc_file:
            _unlink_stale(self.ipc_file)

        def _close() -> None:
            self.reactor.forget(self.sock)
            self.sock.close()

        if self.reactor.in_reactor_thread():
            _close()
        else:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.reactor.call_soon(_close)


def _unlink_stale(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


class Connecter(Handler):
    """Connects to a tcp/ipc endpoint, and reconnects with backoff (RECONNECT_IVL → RECONNECT_IVL_MAX).

    The connecting side's pipe outlives its connections (unless IMMEDIATE is set): messages queued on
    it while the peer is away are delivered after the next handshake, as libzmq does.
    """

    def __init__(self, owner: SocketCore, transport: str, address: str, endpoint: str) -> None:
        self.owner = owner
        self.reactor = owner.reactor
        self.transport = transport
        self.address = address
        self.endpoint = endpoint
        self.closed = False
        self.sock: Optional[socket.socket] = None
        self.stream: Optional[Stream] = None
        self.pipe: Optional[Pipe] = None  # the persistent pipe, created by the owner
        #: Set by the owner's close() while the pipe still holds messages: keep (re)connecting until
        #: they are written, or the linger expires.
        self.lingering = False
        self._ivl = owner.options.reconnect_ivl / 1000.0
        self._timer: Optional[Timer] = None
        if transport == "tcp":
            host, port = split_host_port(address)
            if host in ("*", ""):
                from ..constants import Errno
                from ..error import ZMQError

                raise ZMQError(Errno.EINVAL, f"Invalid address for connect: {endpoint!r}")
            from .endpoint import parse_port

            self._host, self._port = host, parse_port(port)
            if self._port == 0:
                from ..constants import Errno
                from ..error import ZMQError

                raise ZMQError(Errno.EINVAL, f"Invalid port for connect: {endpoint!r}")
        self.reactor.call_soon(self._attempt)

    def _attempt(self) -> None:
        self._timer = None
        if self.closed or self.stream is not None:
            return
        try:
            if self.transport == "tcp":
                family, sockaddr = resolve(self._host, self._port, self.owner.options.ipv6)
                sock = socket.socket(family, socket.SOCK_STREAM)
            else:
                sockaddr = ipc_path(self.address)
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        except Exception:
            self._schedule_retry()
            return
        sock.setblocking(False)
        err = sock.connect_ex(sockaddr)
        if err in (0, errno.EINPROGRESS, errno.EAGAIN, errno.EWOULDBLOCK):
            self.sock = sock
            self.reactor.set_interest(sock, self, WRITE)
        else:
            sock.close()
            self._schedule_retry()

    def on_writable(self) -> None:
        sock = self.sock
        if sock is None:
            return
        self.reactor.forget(sock)
        self.sock = None
        err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err != 0 or self.closed:
            sock.close()
            self._schedule_retry()
            return
        self._ivl = self.owner.options.reconnect_ivl / 1000.0
        self.stream = Stream(self.owner, sock, self.endpoint, self)
        self.owner.add_stream(self.stream)

    def stream_closed(self, stream: Stream) -> None:
        if stream is self.stream:
            self.stream = None
            if not self.closed:
                self._schedule_retry()

    def _schedule_retry(self) -> None:
        if self.closed:
            return
        ivl_ms = self.owner.options.reconnect_ivl
        if ivl_ms < 0:
            return
        delay = self._ivl
        max_ms = self.owner.options.reconnect_ivl_max
        if max_ms > ivl_ms:
            self._ivl = min(self._ivl * 2, max_ms / 1000.0)
        self._timer = self.reactor.call_later(delay, self._attempt)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
        sock = self.sock
        if sock is not None:
            self.sock = None

            def _close() -> None:
                self.reactor.forget(sock)
                sock.close()

            if self.reactor.in_reactor_thread():
                _close()
            else:
                self.reactor.call_soon(_close)
