"""Raw connections for STREAM sockets: plain bytes over tcp/ipc, no ZMTP (libzmq's raw engine).

A :class:`RawConnection` plays the part of :class:`~zmtp.transport.stream.Stream` for a STREAM socket:
the same owner callbacks (``add_stream``, ``stream_ready``, ``stream_closed``), the same pipe, but what
arrives is delivered as it was read, one ``[data]`` message per read, and what the pattern queues is
written as it is.  With STREAM_NOTIFY an empty message is delivered when the connection is made and
when it is lost (libzmq: ``raw_notify``); an empty message queued by the application closes the
connection once everything queued before it is written.
"""

from __future__ import annotations

import socket
from collections import deque
from typing import Any, Deque, Optional

from ..constants import Event
from ..patterns.pipe import Pipe
from ..protocol import HandshakeComplete
from ..reactor import READ, WRITE, Handler, Reactor
from .owner import Owner
from .tcp import apply_tcp_options

#: Read at most this much per turn (a raw peer's bytes are delivered as they come).
RAW_READ = 1 << 16
_NOTIFY: list = [b""]  # type: ignore[type-arg]


class RawConnection(Handler):
    """One STREAM-socket connection: bytes in, bytes out, no protocol."""

    def __init__(self, owner: Owner, sock: socket.socket, endpoint: str, connecter: Optional[Any]) -> None:
        self.owner = owner
        self.reactor: Reactor = owner.reactor
        self.sock = sock
        self.fd = sock.fileno()
        self.endpoint = endpoint
        self.connecter = connecter
        sock.setblocking(False)
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            apply_tcp_options(sock, owner.options)
        try:
            peer = sock.getpeername()
            self.peer_address = str(peer[0]) if isinstance(peer, tuple) else ""
        except OSError:
            self.peer_address = ""
        self.pipe: Optional[Pipe] = None
        self._wbuf: Deque[Any] = deque()
        self._close_after_write = False
        self.reading = True
        self.closed = False
        self.started = False
        self.lingering = False
        self.error: Optional[BaseException] = None
        self.flush_scheduled = False
        self.wait_epoch = -1
        self.last_direct_flush = 0.0
        self._mask = 0

    def start(self) -> None:
        """The connection is usable at once: give it a pipe, notify, watch it."""
        if self.closed or self.started:
            return
        self.started = True
        pipe = self.owner.stream_ready(self, HandshakeComplete("", b"", (0, 0), {}))
        if pipe is None:
            self.close(ConnectionRefusedError("the STREAM socket refused the connection"))
            return
        self.pipe = pipe
        pipe.data = self
        if self.owner.options.stream_notify:
            pipe.deliver(list(_NOTIFY))
        self.owner.transport_event(Event.HANDSHAKE_SUCCEEDED, self.endpoint, 0)
        self._update_interest()
        if pipe.outbound:
            self.flush()

    # -- reading -------------------------------------------------------------------------------
    def on_readable(self) -> None:
        if self.closed:
            return
        try:
            data = self.sock.recv(RAW_READ)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self.close(exc)
            return
        if not data:
            self.close(ConnectionResetError("peer closed the connection"))
            return
        pipe = self.pipe
        if pipe is not None:
            pipe.deliver([data])
            if not pipe.can_deliver():
                self.reading = False
                self._update_interest()

    def resume_reading(self) -> None:
        if not self.closed and not self.reading:
            self.reading = True
            self._update_interest()

    # -- writing -------------------------------------------------------------------------------
    def on_writable(self) -> None:
        self.flush()

    def flush(self, release_lock: bool = False) -> None:
        if self.closed or not self.started:
            return
        pipe = self.pipe
        wbuf = self._wbuf
        if pipe is not None:
            outbound = pipe.outbound
            hwm = pipe.sndhwm
            was_full = hwm > 0 and len(outbound) >= hwm
            while outbound:
                item = outbound.popleft()
                data = item[0] if isinstance(item, list) and item else b""
                if not data:
                    self._close_after_write = True  # [id, b""]: close once what came before is out
                    outbound.clear()
                    break
                wbuf.append(data)
            if was_full and len(outbound) < hwm and pipe.pattern is not None:
                pipe.pattern.pipe_writable(pipe)
        while wbuf:
            head = wbuf[0]
            try:
                sent = self.sock.send(head)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                self.close(exc)
                return
            if sent >= len(head):
                wbuf.popleft()
            else:
                wbuf[0] = memoryview(head)[sent:]
                break
        if not wbuf and self._close_after_write:
            self.close(None)
            return
        self._update_interest()
        if self.lingering and not wbuf and (pipe is None or not pipe.outbound):
            self.close(None)

    def has_pending_output(self) -> bool:
        pipe = self.pipe
        return bool(self._wbuf) or (pipe is not None and bool(pipe.outbound))

    def _update_interest(self) -> None:
        if self.closed or not self.started:
            return
        mask = (READ if self.reading else 0) | (WRITE if self._wbuf else 0)
        if mask != self._mask:
            self._mask = mask
            self.reactor.set_interest(self.sock, self, mask)

    # -- closing -------------------------------------------------------------------------------
    def close(self, error: Optional[BaseException], flush: bool = False) -> None:
        if self.closed:
            return
        self.closed = True
        if error is not None:
            error.__traceback__ = None  # its frames would hold this connection in a cycle (see Stream.close)
        self.error = error
        self._wbuf.clear()
        self.reactor.forget(self.sock)
        try:
            self.sock.close()
        except OSError:
            pass
        pipe = self.pipe
        if pipe is not None and self.owner.options.stream_notify and not self.owner.closed:
            pipe.deliver(list(_NOTIFY))  # the disconnect notification (libzmq: a final empty message)
        self.owner.stream_closed(self)


__all__ = ["RawConnection"]
