"""tcp and ipc: a ZMTP connection over a stream socket, and the listeners and connecters that make them.

A :class:`Stream` joins three things: a non-blocking socket, a sans-IO
:class:`~zmtp.protocol.Connection`, and (once the handshake is done) the
:class:`~zmtp.patterns.pipe.Pipe` the socket's pattern reads and writes.  It is the whole driver
logic for one connection: feed received bytes in, dispatch events, move queued messages from the pipe
into the connection, write the bytes out, re-arm the one timer.

Flow control: a stream takes messages from its pipe only while its write buffer is empty (so SNDHWM
really bounds what is queued, and messages not yet handed to the kernel survive a reconnect on the
connecting side), stops reading while the pipe's inbound queue is at RCVHWM, and stops reading while
its own output does not drain (a peer that floods commands and never reads cannot grow our buffers).

No constructor here does I/O: whoever creates a stream registers it with its owner first and then calls
:meth:`Stream.start`, so a connection that fails on its very first write is reported to an owner that
already knows it (a failure inside a constructor used to reach the owner before it had registered the
stream, leaving a connecter that never retried and a closed stream nobody removed).

Everything here runs with the context lock held, in whichever thread leads the reactor (or an
application thread writing directly).
"""

from __future__ import annotations

import errno
import logging
import os
import random
import socket
import time
from typing import Any, Dict, List, Optional

from ..constants import Event
from ..patterns.pipe import GroupChange, Pipe, SubscriptionChange
from ..protocol import (
    AuthenticationRequested,
    Cancel,
    Connection,
    ConnectionClosed,
    ErrorReason,
    ErrorReceived,
    HandshakeComplete,
    Join,
    Leave,
    MessageReceived,
    RemoteProtocolError,
    Subscribe,
)
from ..protocol import (
    Event as ProtocolEvent,
)
from ..protocol.frames import SCATTER_BODY, EncodedMessage
from ..reactor import READ, WRITE, Handler, Reactor, Timer
from .endpoint import format_ipc, format_tcp, ipc_path, resolve, split_host_port, tcp_bind_addresses
from .failure import PeerClosed, PeerSentError, describe, handshake_failure, is_protocol_violation, logger
from .notify import NOTIFY_CONNECT, NOTIFY_DISCONNECT, hello_message
from .owner import Owner
from .raw import RawConnection
from .tcp import apply_tcp_options

#: How much one read takes from the kernel (the reactor's shared receive buffer is this large).
RECV_SIZE = 1 << 18
#: One read's decoding and dispatch should take about this long at most (seconds): a stream whose reads
#: take longer reads less next time (down to READ_MIN bytes), so one peer's flood of commands cannot hold
#: the reactor for long between other peers' turns (issue 9 row 4: PINGs; libzmq reads 8 KiB per turn).
#: Reads that carried only data get DATA_READ_BUDGET, about a whole RECV_SIZE read of tiny messages: the
#: application wants those, and fewer, larger reads keep small-message throughput.  Cheap bytes (large
#: frames) keep whole RECV_SIZE reads either way.
READ_BUDGET = 0.5e-3
DATA_READ_BUDGET = 4e-3
READ_MIN = 1 << 10
#: Pacing counts this thread's CPU time, not the wall clock: time spent waiting for the GIL while the
#: application runs is not the cost of decoding.
_thread_time = time.thread_time
#: Peers still in their handshake read in a turn until their reads have taken this long (seconds); the
#: first always reads, the others wait for the next turn (see Stream._defer_handshake).
HANDSHAKE_TURN_BUDGET = 10e-3
#: How much we encode ahead before writing.
WRITE_BATCH = 1 << 18
#: Stop reading from a peer while this much of our output to it is waiting for the kernel.
OUTPUT_STALL = 1 << 20
_IOV_MAX = 512
#: Accept back-off while the process is out of file descriptors (seconds, doubling up to the max).
ACCEPT_BACKOFF = 0.05
ACCEPT_BACKOFF_MAX = 1.0
_INT_MAX = (1 << 31) - 1
#: RECONNECT_STOP bits (libzmq's ZMQ_RECONNECT_STOP_*).
#: (AFTER_DISCONNECT, 0x4, needs nothing here: disconnect() stops its endpoint's connecter at once.)
_STOP_CONN_REFUSED, _STOP_HANDSHAKE_FAILED = 0x1, 0x2


def _peer_address(sock: socket.socket) -> str:
    """The peer's address as libzmq reports it in "Peer-Address" (the IP for tcp, "" for ipc)."""
    try:
        peer = sock.getpeername()
    except OSError:
        return ""
    if isinstance(peer, tuple):
        return str(peer[0])
    return ""


class Stream(Handler):
    """One ZMTP connection over one tcp/ipc socket."""

    def __init__(self, owner: Owner, sock: socket.socket, endpoint: str, connecter: Optional[Connecter]) -> None:
        self.owner = owner
        self.reactor: Reactor = owner.reactor
        self.sock = sock
        self.fd = sock.fileno()
        self.endpoint = endpoint
        self.connecter = connecter
        sock.setblocking(False)
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            apply_tcp_options(sock, owner.options)
        self.peer_address = _peer_address(sock)
        self.conn: Connection = owner.make_connection(time.monotonic(), self.peer_address)
        self.pipe: Optional[Pipe] = None
        self._wbuf: List[Any] = []
        self._wbuf_size = 0
        #: False while the pipe is at RCVHWM; see also ``_stalled``.
        self.reading = True
        #: How much the next read takes (RECV_SIZE, less while reads cost more than READ_BUDGET).
        self._read_size = RECV_SIZE
        #: A handshake read is queued behind the turn's established peers (see _defer_handshake).
        self._handshake_read_due = False
        #: True while our output to this peer does not drain (we stop reading meanwhile).
        self._stalled = False
        self.closed = False
        self.started = False
        self.lingering = False
        self._timer: Optional[Timer] = None
        self._timer_at: Optional[float] = None
        #: For the send-side batching heuristic (see SocketCore.pipe_outbound).
        self.last_direct_flush = 0.0
        self.wait_epoch = -1
        self.flush_scheduled = False
        self._writing = False
        self._flush_again = False
        self.error: Optional[BaseException] = None
        #: True once a HANDSHAKE_FAILED_* event was reported for this stream.
        self._failure_reported = False
        self._mask = 0

    def start(self) -> None:
        """Begin I/O: watch the socket, send our greeting, arm the handshake timer."""
        if self.closed or self.started:
            return
        self.started = True
        self._update_interest()
        self.flush()
        if not self.closed:
            self._arm_timer()

    # -- reading -------------------------------------------------------------------------------
    def on_readable(self) -> None:
        if self.closed:
            return
        if self.pipe is None and self._defer_handshake():
            return
        conn = self.conn
        view = conn.receive_buffer()
        try:
            if view is not None:
                # the rest of a large frame: straight into the decoder's (reused) chunk
                n = self.sock.recv_into(view)
            else:
                # recv_into one reusable buffer: sock.recv(256 KiB) would allocate (and map) a fresh
                # 256 KiB object per call, measured at ~30 us more than the read itself.  The decoder
                # takes a view of it and makes the one copy (joined to any partial frame it holds)
                rbuf = self.reactor.recv_buffer
                n = self.sock.recv_into(rbuf, self._read_size)
                data = rbuf[:n]
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self.close(exc)
            return
        finally:
            if view is not None:
                view.release()
        started = time.monotonic()
        cpu = _thread_time() if n >= READ_MIN else 0.0  # (a small read is cheap: no clock for it)
        try:
            if view is not None:
                events = conn.buffer_received(n, started)
            else:
                events = conn.receive_data(data, started)
        except RemoteProtocolError as exc:
            # what completed before the bad bytes is the peer's and is delivered (issue 9 row 11)
            self._dispatch(exc.events)
            self._protocol_failure(exc)
            return
        if events and not self._dispatch(events):
            return
        if self.closed:
            return
        pipe = self.pipe
        if pipe is not None and not pipe.can_deliver():
            self.reading = False
            self._update_interest()
        if conn.has_data_to_send() or (pipe is not None and pipe.outbound and not self._wbuf):
            self.flush()
        if self._wbuf_size + conn.pending_output() > OUTPUT_STALL and not self._stalled and not self.closed:
            # our replies (PONGs, handshake commands...) pile up because the peer does not read: stop
            # reading it until the kernel takes our output again (libzmq's engine does the same)
            self._stalled = True
            self._update_interest()
        if view is None and n >= READ_MIN:
            self._pace(n, _thread_time() - cpu, READ_BUDGET if events else DATA_READ_BUDGET)
        self._arm_timer()

    def _defer_handshake(self) -> bool:
        """True to skip this read for now (issue 9 row 9: a READY of 1 MiB of tiny properties takes ~0.1 s
        to parse, and forty of them completing in one turn stalled every established peer for seconds).

        A peer still in its handshake reads after the turn's established peers (in a deferred call, run
        once the ready handlers are done); not in a turn that woke an application (it then goes on at
        once), but never two turns in a row; and only until the turn's handshake reads have taken
        HANDSHAKE_TURN_BUDGET (the first one always runs).  So a good peer waits for at most one costly
        handshake event, and handshakes still progress; the selector reports a deferred stream again
        next turn (it is level-triggered)."""
        reactor = self.reactor
        if not self._handshake_read_due:
            self._handshake_read_due = True
            reactor.call_soon(self._handshake_read)
            return True
        self._handshake_read_due = False
        rations = reactor.handshakes
        if rations is None:
            rations = reactor.handshakes = _HandshakeRations()
        turn = reactor.turns
        if rations.turn != turn:
            rations.turn = turn
            rations.spent = 0.0
        elif rations.spent > HANDSHAKE_TURN_BUDGET:
            return True
        if reactor.pending_wakeups and rations.yielded != turn - 1:
            rations.yielded = turn
            return True
        return False

    def _handshake_read(self) -> None:
        """The deferred read of a handshaking peer (see _defer_handshake), timed against the turn's ration."""
        started = time.monotonic()
        self.on_readable()
        rations = self.reactor.handshakes
        if rations is not None:
            rations.spent += time.monotonic() - started

    def _pace(self, n: int, took: float, budget: float) -> None:
        """Size the next read so that decoding it takes about ``budget`` (see READ_BUDGET)."""
        size = self._read_size
        if took > budget:
            if size > READ_MIN:
                self._read_size = max(READ_MIN, int(size * budget / took))
        elif n == size and size < RECV_SIZE and took < budget / 4:
            self._read_size = min(RECV_SIZE, size << 1)

    def _dispatch(self, events: List[ProtocolEvent]) -> bool:
        """Hand the core's events to the pipe and the owner; False once the stream closed."""
        for event in events:
            kind = type(event)
            if kind is MessageReceived:
                pipe = self.pipe
                if pipe is not None:
                    pipe.deliver(event.frames)  # type: ignore[attr-defined]
            elif kind is Subscribe or kind is Cancel:
                if self.pipe is not None:
                    self.pipe.deliver_subscription(event.topic, kind is Subscribe)  # type: ignore[attr-defined]
            elif kind is Join or kind is Leave:
                if self.pipe is not None:
                    self.pipe.deliver_group(event.group, kind is Join)  # type: ignore[attr-defined]
            elif kind is HandshakeComplete:
                if not self._on_handshake(event):  # type: ignore[arg-type]
                    return False
            elif kind is AuthenticationRequested:
                self.owner.authenticate(self, event)  # type: ignore[arg-type]
            elif kind is ConnectionClosed:
                self.close(PeerClosed())
                return False
            elif kind is ErrorReceived:
                self.close(PeerSentError(event.reason))  # type: ignore[attr-defined]
                return False
            if self.closed:
                return False
        return True

    def authentication_result(
        self, status_code: bytes, status_text: bytes, user_id: bytes, metadata: Dict[str, bytes]
    ) -> None:
        """The ZAP handler answered (RFC 27): go on with the handshake, or refuse the peer."""
        if self.closed:
            return
        try:
            events = self.conn.authentication_result(status_code, status_text, user_id, metadata, time.monotonic())
        except RemoteProtocolError as exc:
            self._dispatch(exc.events)
            if exc.reason is ErrorReason.AUTHENTICATION_FAILED:
                self._failure_reported = True
                self.owner.transport_event(Event.HANDSHAKE_FAILED_AUTH, self.endpoint, int(status_code or b"0"))
                self.close(exc, flush=True)
            else:
                self._protocol_failure(exc)
            return
        if events and not self._dispatch(events):
            return
        self.flush()
        if not self.closed:
            self._arm_timer()

    def _protocol_failure(self, exc: RemoteProtocolError) -> None:
        self.close(exc, flush=True)

    def _on_handshake(self, event: HandshakeComplete) -> bool:
        pipe = self.owner.stream_ready(self, event)
        if pipe is None:
            reason = f"{self.owner.type_name} refused a {event.socket_type} peer"
            self.close(ConnectionRefusedError(reason))
            return False
        self.pipe = pipe
        pipe.zmtp_version = event.version[1]
        pipe.data = self
        self.conn.set_message_sinks(pipe.deliver, pipe.deliver_many)
        self.owner.transport_event(Event.HANDSHAKE_SUCCEEDED, self.endpoint, 0)
        options = self.owner.options
        if options.router_notify & NOTIFY_CONNECT:
            pipe.deliver([b""])
        hello = hello_message(self.owner) if options.hello_msg else b""
        if hello:
            self.conn.send_message([hello])  # ahead of whatever the pipe holds
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

        Called with the context lock held, from the reactor's leader or (for a direct write) from the
        application's thread.  With ``release_lock`` (only from top-level reactor callbacks, never from
        inside a pattern's operation) the lock is released around the send syscall itself, so the
        application can queue the next messages while the kernel copies these; ``_writing`` keeps a
        second thread from writing the same stream meanwhile (it leaves ``_flush_again`` instead).
        """
        if self.closed or not self.started:
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
                size = sum(map(len, wbuf))
                if len(wbuf) > 1:
                    # small output in one buffer (one plain send); large frames stay separate buffers
                    wbuf = [b"".join(wbuf)] if size < 65536 else _coalesce(wbuf)
                self._wbuf = wbuf
                self._wbuf_size = size
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
            self._wbuf_size -= sent
            # drop what was sent (whole buffers in one deletion: a scatter list can be long)
            done = 0
            while sent:
                n = len(wbuf[done])
                if sent >= n:
                    sent -= n
                    done += 1
                else:
                    wbuf[done] = memoryview(wbuf[done])[sent:]  # type: ignore[call-overload]
                    sent = 0
            if done:
                del wbuf[:done]
            if wbuf:
                break  # the kernel is full: wait for writability
            pipe = self.pipe
            if not conn.has_data_to_send() and (pipe is None or not pipe.outbound):
                break  # everything is out (the common case: no second look round the loop)
        if self._stalled and self._wbuf_size <= OUTPUT_STALL // 2:
            self._stalled = False
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
            if not outbound or type(outbound[0]) is list or type(outbound[0]) is EncodedMessage:
                break  # all taken, or a batch's worth is encoded
            item = outbound.popleft()
            if isinstance(item, SubscriptionChange):
                if item.subscribe:
                    conn.send_subscribe(item.topic)
                else:
                    conn.send_cancel(item.topic)
            elif isinstance(item, GroupChange):
                if item.join:
                    conn.send_join(item.group)
                else:
                    conn.send_leave(item.group)
            else:  # a tracked message, a tuple of frames, or another sequence
                conn.send_message(list(item))
        if was_full and len(outbound) < hwm and pipe.pattern is not None:
            pipe.pattern.pipe_writable(pipe)

    def has_pending_output(self) -> bool:
        """Bytes or messages still to write (what a closing socket lingers for)."""
        pipe = self.pipe
        return bool(self._wbuf) or self.conn.has_data_to_send() or (pipe is not None and bool(pipe.outbound))

    def _update_interest(self) -> None:
        """Tell the selector what we wait for."""
        if self.closed or not self.started:
            return
        pipe = self.pipe
        # WRITE while bytes wait for the kernel, and also while the pipe still holds messages that a
        # bounded flush left behind: writability brings us back to them after other streams' turns.
        pending = bool(self._wbuf) or (pipe is not None and bool(pipe.outbound) and pipe.active)
        mask = (READ if self.reading and not self._stalled else 0) | (WRITE if pending else 0)
        if mask == self._mask:
            return
        self._mask = mask
        self.reactor.set_interest(self.sock, self, mask)

    # -- time ----------------------------------------------------------------------------------
    def _arm_timer(self) -> None:
        """Make sure a timer fires by the connection's next deadline.

        A timer already armed for that time or earlier is kept: when it fires it asks the connection
        again and re-arms.  (With heartbeats every read moves the deadlines later; re-arming on each
        read would push a timer into the heap per message batch.)
        """
        deadline = self.conn.next_deadline()
        if deadline is None:
            return
        at = self._timer_at
        if at is not None and at <= deadline:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = deadline
        self._timer = self.reactor.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        if self.closed:
            return
        try:
            self.conn.handle_timer(time.monotonic())
        except RemoteProtocolError as exc:
            self._protocol_failure(exc)
            return
        if self.conn.has_data_to_send():
            self.flush()
        if not self.closed:
            self._arm_timer()

    # -- closing -------------------------------------------------------------------------------
    def close(self, error: Optional[BaseException], flush: bool = False) -> None:
        """Close the connection; ``error`` says why (None: we closed it).  Tells the owner."""
        if self.closed:
            return
        if error is not None:
            self._report(error)
            pipe = self.pipe
            if pipe is not None and self.owner.options.router_notify & NOTIFY_DISCONNECT:
                pipe.deliver([b""])
        if flush and self.started:
            # best effort: the goodbye (an ERROR command) the core queued
            try:
                out = b"".join(bytes(b) for b in self._wbuf) + b"".join(self.conn.data_to_send())
                if out:
                    self.sock.send(out)
            except OSError:
                pass
        self.closed = True
        if error is not None:
            # keep the reason, not its frames: their ``self`` would put this stream in a reference cycle
            # that only the cyclic GC frees (issue 9 row 2: RSS grew under connection churn)
            error.__traceback__ = None
        self.error = error
        self._wbuf = []
        self._wbuf_size = 0
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.reactor.forget(self.sock)
        try:
            self.sock.close()
        except OSError:
            pass
        self.conn.set_message_sinks(None)
        self.owner.stream_closed(self)

    def _report(self, error: BaseException) -> None:
        """Tell the monitor (HANDSHAKE_FAILED_*, see :mod:`.failure`) and the log why this connection
        ends; DISCONNECTED follows from the owner."""
        handshaking = self.pipe is None
        if handshaking and not self._failure_reported:
            self._failure_reported = True
            event, value = handshake_failure(error)
            if event:
                self.owner.transport_event(event, self.endpoint, value, str(error))
        if is_protocol_violation(error):
            level = logging.WARNING
        elif handshaking or isinstance(error, PeerSentError):
            level = logging.INFO
        else:
            level = logging.DEBUG if isinstance(error, PeerClosed) else logging.INFO
        if logger.isEnabledFor(level):
            peer = f" (peer {self.peer_address})" if self.peer_address else ""
            what = "handshake failed" if handshaking else "connection lost"
            logger.log(level, "%s%s: %s: %s; dropping the connection", self.endpoint, peer, what, describe(error))

class _HandshakeRations:
    """Per reactor: what this turn's handshake reads took, and the last turn they yielded in."""

    __slots__ = ("turn", "spent", "yielded")

    def __init__(self) -> None:
        self.turn = -1
        self.spent = 0.0
        self.yielded = -2


class _NoLock:
    """Stands in for the context lock when flush keeps it held."""

    def acquire(self) -> bool:
        return True

    def release(self) -> None:
        pass


_NO_LOCK = _NoLock()


def _coalesce(buffers: List[Any]) -> List[Any]:
    """Join runs of small buffers; large ones (a frame body of SCATTER_BODY bytes or more, queued on
    its own by the encoder) stay as they are (no copy)."""
    out: List[Any] = []
    run: List[Any] = []
    for b in buffers:
        if len(b) < SCATTER_BODY:
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
    """A bound tcp or ipc socket accepting peers.  Binding happens in the constructor (the caller needs
    the error at once); watching starts with :meth:`start`."""

    def __init__(self, owner: Owner, transport: str, address: str) -> None:
        self.owner = owner
        self.reactor = owner.reactor
        self.transport = transport
        self.closed = False
        self.ipc_file: Optional[str] = None
        self._backoff = 0.0
        self._timer: Optional[Timer] = None
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
            # libzmq closes the socket it could not bind and reports it before BIND_FAILED (with no
            # endpoint yet: tcp_listener_t::set_local_address)
            fd = sock.fileno()
            sock.close()
            owner.transport_event(Event.CLOSED, "" if transport == "tcp" else f"ipc://{address}", fd)
            raise
        sock.setblocking(False)
        self.sock = sock
        self.fd = sock.fileno()
        if transport == "tcp":
            self.last_endpoint = format_tcp(sock.getsockname(), sock.family)
        else:
            bound = sock.getsockname()
            if isinstance(bound, bytes):
                bound = bound.decode("utf-8", "surrogateescape")
            self.last_endpoint = format_ipc(bound or sockaddr)
            if not sockaddr.startswith("\0"):
                self.ipc_file = sockaddr

    def start(self) -> None:
        if not self.closed:
            self.reactor.set_interest(self.sock, self, READ)
            self.owner.transport_event(Event.LISTENING, self.last_endpoint, self.fd)

    def on_readable(self) -> None:
        for _ in range(64):
            try:
                conn, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self.owner.transport_event(Event.ACCEPT_FAILED, self.last_endpoint, exc.errno or 0)
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    self._pause()
                    if logger.isEnabledFor(logging.WARNING):
                        logger.warning("%s: accept failed: %s; trying again in %.0f ms", self.last_endpoint,
                                       describe(exc), self._backoff * 1000)
                elif logger.isEnabledFor(logging.WARNING):
                    logger.warning("%s: accept failed: %s", self.last_endpoint, describe(exc))
                return
            self._backoff = 0.0
            if self.closed:
                conn.close()
                return
            stream: Any = (RawConnection if self.owner.raw else Stream)(self.owner, conn, self.last_endpoint, None)
            self.owner.transport_event(Event.ACCEPTED, self.last_endpoint, stream.fd)
            if self.owner.add_stream(stream):
                stream.start()
            else:
                stream.close(None)

    def _pause(self) -> None:
        """Out of file descriptors: the pending connection stays in the kernel's backlog and the
        listener stays readable, so a level-triggered loop would spin on it (libzmq burns a core
        there).  Stop watching it and look again later, backing off while the shortage lasts."""
        self._backoff = min(max(self._backoff * 2, ACCEPT_BACKOFF), ACCEPT_BACKOFF_MAX)
        self.reactor.set_interest(self.sock, self, 0)
        self._timer = self.reactor.call_later(self._backoff, self._resume)

    def _resume(self) -> None:
        self._timer = None
        if not self.closed:
            self.reactor.set_interest(self.sock, self, READ)

    def close(self) -> None:
        """Stop listening now: the address is free for a new bind as soon as this returns."""
        if self.closed:
            return
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.ipc_file:
            _unlink_stale(self.ipc_file)
        self.reactor.forget(self.sock)
        self.sock.close()
        self.owner.transport_event(Event.CLOSED, self.last_endpoint, self.fd)


def _unlink_stale(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


class Connecter(Handler):
    """Connects to a tcp/ipc endpoint, and reconnects with backoff (RECONNECT_IVL → RECONNECT_IVL_MAX).

    The connecting side's pipe outlives its connections (unless IMMEDIATE is set): messages queued on
    it while the peer is away are delivered after the next handshake, as libzmq does.

    Retries follow libzmq 4.3.5 (src/stream_connecter_base.cpp, tcp_connecter.cpp): RECONNECT_IVL <= 0
    never retries; with RECONNECT_IVL_MAX set the interval starts at RECONNECT_IVL and doubles up to the
    maximum; without it every interval is RECONNECT_IVL plus a random part below RECONNECT_IVL.  A failed
    attempt reports CLOSED (its socket) and CONNECT_RETRIED (the interval); CONNECT_TIMEOUT bounds a tcp
    connect in progress; RECONNECT_STOP gives up on a refused connection or a failed handshake.
    """

    def __init__(self, owner: Owner, transport: str, address: str, endpoint: str) -> None:
        self.owner = owner
        self.reactor = owner.reactor
        self.transport = transport
        self.address = address
        self.endpoint = endpoint
        self.closed = False
        self.sock: Optional[socket.socket] = None
        self.stream: Optional[Any] = None  # a Stream, or a RawConnection for STREAM sockets
        self.pipe: Optional[Pipe] = None  # the persistent pipe, created by the owner
        #: CONNECT_ROUTING_ID as it was when connect() was called: the id the peer gets on our side.
        self.routing_id = b""
        #: Set by the owner's close() while the pipe still holds messages: keep (re)connecting until
        #: they are written, or the linger expires.
        self.lingering = False
        #: libzmq's _current_reconnect_ivl (-1: the next retry starts over from RECONNECT_IVL).
        self._current_ivl = -1
        self._timer: Optional[Timer] = None
        self._connect_timer: Optional[Timer] = None
        self._host = ""
        self._port = 0
        if transport == "tcp":
            from ..constants import Errno
            from ..error import ZMQError
            from .endpoint import parse_port

            host, port = split_host_port(address)
            if host in ("*", ""):
                raise ZMQError(Errno.EINVAL, f"Invalid address for connect: {endpoint!r}")
            self._host, self._port = host, parse_port(port)
            if self._port == 0:
                raise ZMQError(Errno.EINVAL, f"Invalid port for connect: {endpoint!r}")
        else:
            ipc_path(address)  # ENAMETOOLONG now, as libzmq's zmq_connect

    def start(self) -> None:
        """Make the first attempt on the reactor's next turn (never inside connect())."""
        self.reactor.call_soon(self._attempt)

    def _attempt(self) -> None:
        self._timer = None
        if self.closed or self.stream is not None or self.sock is not None:
            return
        try:
            if self.transport == "tcp":
                family, sockaddr = resolve(self._host, self._port, self.owner.options.ipv6)
                sock = socket.socket(family, socket.SOCK_STREAM)
            else:
                sockaddr = ipc_path(self.address)
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        except Exception as exc:
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("%s: cannot connect: %s", self.endpoint, describe(exc))
            self._schedule_retry()
            return
        sock.setblocking(False)
        err = sock.connect_ex(sockaddr)
        if err == 0:
            self.sock = sock
            self._connected()
        elif err in (errno.EINPROGRESS, errno.EAGAIN, errno.EWOULDBLOCK):
            self.sock = sock
            self.reactor.set_interest(sock, self, WRITE)
            self.owner.transport_event(Event.CONNECT_DELAYED, self.endpoint, err)
            timeout = self.owner.options.connect_timeout
            if timeout > 0 and self.transport == "tcp":
                self._connect_timer = self.reactor.call_later(timeout / 1000.0, self._connect_timed_out)
        else:
            self._failed(sock, err)

    def on_writable(self) -> None:
        sock = self.sock
        if sock is None:
            return
        err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err == 0:
            try:
                sock.getpeername()
            except OSError as exc:
                if exc.errno == errno.ENOTCONN:
                    return  # a spurious wake-up (a reused fd): still connecting
                err = exc.errno or errno.ECONNREFUSED
        self.reactor.forget(sock)
        self.sock = None
        self._cancel_connect_timer()
        if err != 0 or self.closed:
            self._failed(sock, err or errno.ECONNABORTED)
            return
        self.sock = sock
        self._connected()

    def _failed(self, sock: socket.socket, err: int) -> None:
        """An attempt failed: close its socket (CLOSED, as libzmq reports it), then retry or give up."""
        fd = sock.fileno()
        sock.close()
        self.owner.transport_event(Event.CLOSED, self.endpoint, fd)
        if self.closed:
            return
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s: connect failed: %s", self.endpoint, describe(OSError(err, os.strerror(err))))
        stop = self.owner.options.reconnect_stop
        if err == errno.ECONNREFUSED and stop & _STOP_CONN_REFUSED:
            logger.info("%s: connection refused; not reconnecting (RECONNECT_STOP)", self.endpoint)
            self._give_up(forget=True)
            return
        self._schedule_retry()

    def _connect_timed_out(self) -> None:
        """CONNECT_TIMEOUT expired with the tcp connect still in progress (libzmq's connect timer)."""
        self._connect_timer = None
        sock = self.sock
        if sock is None or self.closed:
            return
        self.reactor.forget(sock)
        self.sock = None
        logger.info("%s: connect timed out after %d ms", self.endpoint, self.owner.options.connect_timeout)
        self._failed(sock, errno.ETIMEDOUT)

    def _cancel_connect_timer(self) -> None:
        if self._connect_timer is not None:
            self._connect_timer.cancel()
            self._connect_timer = None

    def _give_up(self, forget: bool) -> None:
        """Stop (re)connecting for good; the owner drops the endpoint's pipe (and, with ``forget``, the
        endpoint itself: a later disconnect() is ENOENT, as in libzmq)."""
        self.close()
        self.owner.connect_stopped(self, forget)

    def _connected(self) -> None:
        sock = self.sock
        assert sock is not None
        self.sock = None
        self._current_ivl = -1
        stream: Any = (RawConnection if self.owner.raw else Stream)(self.owner, sock, self.endpoint, self)
        self.stream = stream
        self.owner.transport_event(Event.CONNECTED, self.endpoint, stream.fd)
        if self.owner.add_stream(stream):
            stream.start()
        else:
            self.stream = None
            stream.close(None)

    def stream_closed(self, stream: Any) -> None:
        closed: Any = stream  # (``is`` below would narrow ``stream`` to Optional)
        if stream is self.stream:
            self.stream = None
            if self.closed:
                return
            error: Optional[BaseException] = closed.error
            if closed.pipe is None and error is not None and (
                self.owner.options.reconnect_stop & _STOP_HANDSHAKE_FAILED
            ):
                logger.info("%s: handshake failed; not reconnecting (RECONNECT_STOP)", self.endpoint)
                self._give_up(forget=False)
                return
            if self.owner.options.reconnect_ivl <= 0 and error is not None and not self.lingering:
                # libzmq's session, with no reconnect interval, drops the endpoint (term_endpoint)
                self._give_up(forget=True)
                return
            self._schedule_retry()

    def _next_ivl(self) -> int:
        """The next reconnect interval in ms (libzmq 4.3.5's get_new_reconnect_ivl)."""
        o = self.owner.options
        ivl = o.reconnect_ivl
        if o.reconnect_ivl_max > 0:
            candidate = ivl if self._current_ivl < 0 else min(self._current_ivl * 2, _INT_MAX)
            self._current_ivl = min(candidate, o.reconnect_ivl_max)
            return self._current_ivl
        if self._current_ivl < 0:
            self._current_ivl = ivl
        return min(self._current_ivl + random.randrange(ivl), _INT_MAX)

    def _schedule_retry(self) -> None:
        if self.closed or self._timer is not None:
            return
        if self.owner.options.reconnect_ivl <= 0:
            return  # libzmq 4.3.5: -1 (and 0) never reconnect
        delay_ms = self._next_ivl()
        self.owner.transport_event(Event.CONNECT_RETRIED, self.endpoint, delay_ms)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s: reconnecting in %d ms", self.endpoint, delay_ms)
        self._timer = self.reactor.call_later(delay_ms / 1000.0, self._attempt)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._cancel_connect_timer()
        sock = self.sock
        if sock is not None:
            # a connect still in progress: libzmq's connecter closes it and says so
            self.sock = None
            self.reactor.forget(sock)
            fd = sock.fileno()
            sock.close()
            self.owner.transport_event(Event.CLOSED, self.endpoint, fd)


__all__ = ["Stream", "Listener", "Connecter", "WRITE_BATCH", "OUTPUT_STALL"]
