"""``ZMQStream``: callbacks for a zmtp socket on a tornado IOLoop (pyzmq's ``zmq.eventloop.zmqstream``).

A stream registers the socket's edge-triggered ``FD`` with the IOLoop.  When it becomes readable (or
when the stream itself changed what it waits for) the stream reads ``EVENTS`` and, while they say so,
receives messages for ``on_recv`` and sends what ``send*`` queued, re-checking ``EVENTS`` after each
step: one readable edge may stand for many messages.  Callbacks may be coroutines (pyzmq >= 25).

ipykernel runs its shell, control, iopub and stdin channels on this class, each on its own IOLoop
thread; jupyter_client's threaded client too.
"""

from __future__ import annotations

import asyncio
import inspect
import pickle
import warnings
from queue import Queue
from typing import Any, Callable, List, Optional, Sequence, Tuple

from tornado.ioloop import IOLoop
from tornado.log import gen_log

from ..constants import Errno, Flag, PollEvent, SocketOption, SocketType
from ..error import ContextTerminated, ZMQError
from ..poll import Poller
from ..socket import Socket
from ..utils import jsonapi

_POLLIN = int(PollEvent.POLLIN)
_POLLOUT = int(PollEvent.POLLOUT)
_NOBLOCK = int(Flag.DONTWAIT)


class ZMQStream:
    """Register callbacks for when a socket receives, and queue sends to go out when it can.

    ``on_recv(callback)``: ``callback(msg)`` for every message (a list of frames); ``on_recv(None)``
    stops receiving.  ``send_multipart(msg)`` (and ``send``, ``send_string``, ``send_json``,
    ``send_pyobj``) queue a message, written when the socket can take it, then ``on_send``'s callback
    gets ``(msg, status)``.  ``bind``, ``connect``, ``setsockopt`` ... are the socket's own.
    """

    socket: Socket[Any]
    io_loop: IOLoop

    def __init__(self, socket: Socket[Any], io_loop: Optional[IOLoop] = None) -> None:
        from ..asyncio import Socket as AsyncSocket

        if isinstance(socket, AsyncSocket):
            warnings.warn(
                "ZMQStream only supports the base zmtp.Socket class; use zmtp.Socket(shadow=other_socket) "
                f"or ctx.socket(zmq.{SocketType(socket.get(SocketOption.TYPE)).name}, socket_class=zmq.Socket)",
                RuntimeWarning,
                stacklevel=2,
            )
            socket = Socket(shadow=socket)
        self.socket = socket
        self.io_loop = io_loop or IOLoop.current()
        self.poller = Poller()
        self._fd = socket.FD
        self._send_queue: Queue[Tuple[Any, dict[str, Any]]] = Queue()
        self._recv_callback: Optional[Callable[..., Any]] = None
        self._send_callback: Optional[Callable[..., Any]] = None
        self._close_callback: Optional[Callable[[], Any]] = None
        self._recv_copy = True
        self._flushed = False
        self._state = 0
        self.io_loop.add_handler(socket, self._handle_events, IOLoop.READ)
        self.bind = socket.bind
        self.bind_to_random_port = socket.bind_to_random_port
        self.connect = socket.connect
        self.setsockopt = socket.setsockopt
        self.getsockopt = socket.getsockopt
        self.setsockopt_string = socket.setsockopt_string
        self.getsockopt_string = socket.getsockopt_string
        self.setsockopt_unicode = socket.setsockopt_unicode
        self.getsockopt_unicode = socket.getsockopt_unicode

    # -- callbacks ------------------------------------------------------------------------------
    def on_recv(self, callback: Optional[Callable[[List[Any]], Any]], copy: bool = True) -> None:
        """Call ``callback(msg)`` for each message received (``None``: stop receiving)."""
        self._check_closed()
        assert callback is None or callable(callback)
        self._recv_callback = callback
        self._recv_copy = copy
        if callback is None:
            self._drop_io_state(_POLLIN)
        else:
            self._add_io_state(_POLLIN)

    def on_recv_stream(self, callback: Optional[Callable[[ZMQStream, List[Any]], Any]], copy: bool = True) -> None:
        """As :meth:`on_recv`, with this stream as the callback's first argument."""
        if callback is None:
            self.stop_on_recv()
        else:
            self.on_recv(lambda msg: callback(self, msg), copy=copy)

    def on_send(self, callback: Optional[Callable[[Any, Any], Any]]) -> None:
        """Call ``callback(msg, status)`` after each queued message is sent (status: the send's result,
        a MessageTracker or None, or the ZMQError that failed it)."""
        self._check_closed()
        assert callback is None or callable(callback)
        self._send_callback = callback

    def on_send_stream(self, callback: Optional[Callable[[ZMQStream, Any, Any], Any]]) -> None:
        """As :meth:`on_send`, with this stream as the callback's first argument."""
        if callback is None:
            self.stop_on_send()
        else:
            self.on_send(lambda msg, status: callback(self, msg, status))

    def stop_on_recv(self) -> None:
        """Stop receiving (and calling the recv callback)."""
        self.on_recv(None)

    def stop_on_send(self) -> None:
        """Stop calling the send callback."""
        self.on_send(None)

    def on_err(self, callback: Callable[..., Any]) -> None:
        """Deprecated in pyzmq: does nothing."""
        gen_log.warning("on_err does nothing, and will be removed")

    def stop_on_err(self) -> None:
        """Deprecated in pyzmq: does nothing."""
        gen_log.warning("on_err does nothing, and will be removed")

    def set_close_callback(self, callback: Optional[Callable[[], Any]]) -> None:
        """Call ``callback()`` when the stream is closed."""
        self._close_callback = callback

    # -- sending --------------------------------------------------------------------------------
    def send(self, msg: Any, flags: int = 0, copy: bool = True, track: bool = False,
             callback: Optional[Callable[..., Any]] = None, **kwargs: Any) -> None:
        """Queue a one-frame message."""
        self.send_multipart([msg], flags=flags, copy=copy, track=track, callback=callback, **kwargs)

    def send_multipart(self, msg: Sequence[Any], flags: int = 0, copy: bool = True, track: bool = False,
                       callback: Optional[Callable[..., Any]] = None, **kwargs: Any) -> None:
        """Queue a multipart message; it is sent when the socket can take it (``callback`` replaces the
        on_send callback)."""
        kwargs.update(flags=flags, copy=copy, track=track)
        self._send_queue.put((msg, kwargs))
        callback = callback or self._send_callback
        self.on_send(callback if callback is not None else (lambda *args: None))
        self._add_io_state(_POLLOUT)

    def send_string(self, u: str, flags: int = 0, encoding: str = "utf-8",
                    callback: Optional[Callable[..., Any]] = None, **kwargs: Any) -> None:
        """Queue a str, encoded."""
        if not isinstance(u, str):
            raise TypeError("unicode/str objects only")
        self.send(u.encode(encoding), flags=flags, callback=callback, **kwargs)

    send_unicode = send_string

    def send_json(self, obj: Any, flags: int = 0, callback: Optional[Callable[..., Any]] = None,
                  **kwargs: Any) -> None:
        """Queue ``obj`` as JSON."""
        self.send(jsonapi.dumps(obj), flags=flags, callback=callback, **kwargs)

    def send_pyobj(self, obj: Any, flags: int = 0, protocol: int = -1,
                   callback: Optional[Callable[..., Any]] = None, **kwargs: Any) -> None:
        """Queue a pickled object."""
        self.send(pickle.dumps(obj, protocol), flags, callback=callback, **kwargs)

    # -- state ----------------------------------------------------------------------------------
    def receiving(self) -> bool:
        """True while a recv callback is registered."""
        return self._recv_callback is not None

    def sending(self) -> bool:
        """True while queued messages wait to be sent."""
        return not self._send_queue.empty()

    def closed(self) -> bool:
        """True once this stream (or its socket) was closed."""
        if self.socket is None:
            return True
        if self.socket.closed:
            self.close()  # closed under us: clean up
            return True
        return False

    def flush(self, flag: int = _POLLIN | _POLLOUT, limit: Optional[int] = None) -> int:
        """Handle pending receives and/or sends now, bypassing the loop; returns how many (at most
        ``limit``).  With POLLIN, messages are received (and dropped) even without a recv callback."""
        self._check_closed()
        already_flushed = self._flushed
        self._flushed = False
        count = 0

        def wanted() -> int:
            return (flag & _POLLIN) | (_POLLOUT if self.sending() and flag & _POLLOUT else 0)

        mask = wanted()
        if not mask:
            return 0
        self.poller.register(self.socket, mask)
        events = self.poller.poll(0)
        while events and (not limit or count < limit):
            _, event = events[0]
            if event & _POLLIN:
                self._handle_recv()
                count += 1
                if self.socket is None:
                    break
            if event & _POLLOUT and self.sending():
                self._handle_send()
                count += 1
                if self.socket is None:
                    break
            mask = wanted()
            if mask:
                self.poller.register(self.socket, mask)
                events = self.poller.poll(0)
            else:
                events = []
        if count:
            self._flushed = True
            if not already_flushed:
                self.io_loop.add_callback(self._finish_flush)
        elif already_flushed:
            self._flushed = True
        self._rebuild_io_state()
        return count

    def _finish_flush(self) -> None:
        self._flushed = False

    def close(self, linger: Optional[int] = None) -> None:
        """Stop watching the socket and close it (with ``linger``)."""
        sock = self.socket
        if sock is None:
            return
        if sock.closed:
            warnings.warn(
                f"Unregistering FD {self._fd} after closing socket. This could result in unregistering "
                "handlers for the wrong socket. Please use stream.close() instead of closing the socket "
                "directly.",
                stacklevel=2,
            )
            self.io_loop.remove_handler(self._fd)
        else:
            self.io_loop.remove_handler(sock)
            sock.close(linger)
        self.socket = None  # type: ignore[assignment]
        if self._close_callback:
            self._run_callback(self._close_callback)

    # -- the loop's side ------------------------------------------------------------------------
    def _run_callback(self, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        try:
            result = callback(*args, **kwargs)
        except Exception:
            gen_log.error("Uncaught exception in ZMQStream callback", exc_info=True)
            raise
        if inspect.isawaitable(result):
            fut = asyncio.ensure_future(result)

            def log_error(f: Any) -> None:
                try:
                    f.result()
                except Exception:
                    gen_log.error("Uncaught exception in ZMQStream callback", exc_info=True)

            fut.add_done_callback(log_error)

    def _handle_events(self, fd: Any, events: int) -> None:
        """The FD was readable (or we asked to look): act on EVENTS."""
        if not self.socket:
            gen_log.warning("Got events for closed stream %s", self)
            return
        try:
            zmq_events = self.socket.get(SocketOption.EVENTS)
        except ContextTerminated:
            gen_log.warning("Got events for stream %s after terminating context", self)
            self.closed()
            return
        except ZMQError as e:
            if self.closed():
                gen_log.warning("Got events for stream %s attached to closed socket: %s", self, e)
            else:
                gen_log.error("Error getting events for %s: %s", self, e)
            return
        try:
            if zmq_events & _POLLIN and self.receiving():
                self._handle_recv()
                if not self.socket:
                    return
            if zmq_events & _POLLOUT and self.sending():
                self._handle_send()
                if not self.socket:
                    return
            self._rebuild_io_state()
        except Exception:
            gen_log.error("Uncaught exception in zmqstream callback", exc_info=True)
            raise

    def _handle_recv(self) -> None:
        if self._flushed:
            return
        try:
            msg = self.socket.recv_multipart(_NOBLOCK, copy=self._recv_copy)
        except ZMQError as e:
            if e.errno == int(Errno.EAGAIN):
                return  # the state changed since EVENTS said so
            raise
        if self._recv_callback:
            self._run_callback(self._recv_callback, msg)

    def _handle_send(self) -> None:
        if self._flushed:
            return
        if not self.sending():
            gen_log.error("Shouldn't have handled a send event")
            return
        msg, kwargs = self._send_queue.get()
        status: Any
        try:
            status = self.socket.send_multipart(msg, **kwargs)
        except ZMQError as e:
            gen_log.error("SEND Error: %s", e)
            status = e
        if self._send_callback:
            self._run_callback(self._send_callback, msg, status)

    def _check_closed(self) -> None:
        if not self.socket:
            raise OSError("Stream is closed")

    def _rebuild_io_state(self) -> None:
        if self.socket is None:
            return
        state = (_POLLIN if self.receiving() else 0) | (_POLLOUT if self.sending() else 0)
        self._state = state
        self._update_handler(state)

    def _add_io_state(self, state: int) -> None:
        self._state |= state
        self._update_handler(self._state)

    def _drop_io_state(self, state: int) -> None:
        self._state &= ~state
        self._update_handler(self._state)

    def _update_handler(self, state: int) -> None:
        """The FD is edge-triggered: if what we wait for is ready already, no edge will come; look on
        the loop's next turn instead."""
        sock = self.socket
        if sock is None:
            return
        if state & sock.get(SocketOption.EVENTS):
            self.io_loop.add_callback(lambda: self._handle_events(sock, 0))

__all__ = ["ZMQStream"]
