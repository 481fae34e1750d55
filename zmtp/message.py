"""``Frame`` (alias ``Message``) and ``MessageTracker``: pyzmq's message objects.

A received :class:`Frame` (``recv(copy=False)``) wraps the buffer the frame was received into, without
copying it: ``frame.buffer`` is a view of it, ``frame.bytes`` makes (and caches) the one copy.  A frame
also answers ``get("Peer-Address")``, ``get("Socket-Type")``, ``get("User-Id")`` ... from the metadata
of the connection it arrived on (``zmq_msg_gets``).

A :class:`MessageTracker` says when zmtp no longer holds the buffers of a message sent with
``copy=False, track=True``: once the message was written to the kernel, delivered in-process, or
dropped.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, Mapping, Optional, Set, Union

from .constants import Errno, MessageOption
from .error import NotDone, ZMQError

_MORE = int(MessageOption.MORE)
_bytes = bytes


class MessageTracker:
    """Tracks whether zmtp is done with one or more messages (pyzmq's ``zmq.MessageTracker``)."""

    events: Set[threading.Event]
    peers: Set[MessageTracker]

    def __init__(self, *towatch: Union[MessageTracker, threading.Event, Frame]) -> None:
        self.events = set()
        self.peers = set()
        for obj in towatch:
            if isinstance(obj, threading.Event):
                self.events.add(obj)
            elif isinstance(obj, MessageTracker):
                self.peers.add(obj)
            elif isinstance(obj, Frame):
                if not obj.tracker:
                    raise ValueError("Not a tracked message")
                self.peers.add(obj.tracker)
            else:
                raise TypeError(f"Require Events or Message Frames, not {type(obj)}")

    @property
    def done(self) -> bool:
        """True once zmtp no longer holds any of the tracked messages' buffers."""
        return all(evt.is_set() for evt in self.events) and all(peer.done for peer in self.peers)

    def wait(self, timeout: float = -1) -> None:
        """Wait until :attr:`done`, at most ``timeout`` seconds (negative: forever); else NotDone."""
        deadline = None if timeout is False or timeout < 0 else time.monotonic() + timeout
        for evt in self.events:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining < 0:
                raise NotDone()
            if not evt.wait(remaining):
                raise NotDone()
        for peer in self.peers:
            remaining = -1 if deadline is None else deadline - time.monotonic()
            if deadline is not None and remaining < 0:
                raise NotDone()
            peer.wait(remaining)


#: A tracker that is already done (pyzmq's ``zmq.backend.cython.message._DONE`` equivalent).
_DONE_EVENT = threading.Event()
_DONE_EVENT.set()


def byte_view(view: memoryview) -> memoryview:
    """``view`` as a flat view of bytes (a frame is the buffer's bytes: ``len`` of a 2-D float array's
    memoryview is its first axis), without a copy when the buffer is C-contiguous."""
    if view.c_contiguous:
        return view.cast("B")
    return memoryview(view.tobytes())


#: Before Python 3.12 (PEP 688) a Python class can hand out its buffer (``memoryview(frame)``,
#: ``numpy.frombuffer(frame)``, ``zlib.decompress(frame)``, as with pyzmq's Cython Frame) only by being a
#: ``bytes``: there a Frame is a bytes holding a copy of the data (``buffer`` still views the original).
_BUFFER_BASE: Any = object if sys.version_info >= (3, 12) else _bytes


class Frame(_BUFFER_BASE):  # type: ignore[misc]
    """One message frame (pyzmq's ``zmq.Frame``; ``zmq.Message`` is the same class)."""

    if sys.version_info >= (3, 12):
        __slots__ = ("_data", "_bytes", "more", "tracker", "tracker_event", "routing_id", "group", "_metadata")
    else:
        def __new__(cls, data: Any = b"", *args: Any, **kwargs: Any) -> Frame:
            if isinstance(data, Frame):
                data = data.buffer
            if data is None or isinstance(data, str):
                data = b""  # (__init__ says what is wrong with a str)
            try:
                return _bytes.__new__(cls, memoryview(data))
            except TypeError:
                return _bytes.__new__(cls)

    def __init__(
        self,
        data: Any = b"",
        track: bool = False,
        copy: Optional[bool] = None,
        copy_threshold: Optional[int] = None,
        *,
        more: bool = False,
        metadata: Optional[Mapping[str, bytes]] = None,
    ) -> None:
        if data is None:
            data = b""
        if isinstance(data, str):
            raise TypeError("Str objects not allowed. Only: bytes, buffer interfaces.")
        if isinstance(data, Frame):
            data = data.buffer
        if type(data) is not bytes:
            try:
                view = memoryview(data)
            except TypeError:
                raise TypeError(f"Expected bytes or a buffer, got {type(data).__name__}") from None
            if view.ndim != 1 or view.itemsize != 1:
                data = view = byte_view(view)
            if copy:
                data = view.tobytes()
        self._data: Any = data
        self._bytes: Optional[bytes] = data if type(data) is bytes else None
        self.more = more
        self.tracker_event: Optional[threading.Event] = None
        self.tracker: Optional[MessageTracker] = None
        if track:
            self.tracker_event = threading.Event()
            self.tracker = MessageTracker(self.tracker_event)
        #: SERVER/PEER routing id of a received message, or the one to send to (draft sockets).
        self.routing_id: Optional[int] = None
        #: RADIO/DISH group of a received message, or the one to send to (draft sockets).
        self.group: Optional[str] = None
        self._metadata: Optional[Mapping[str, bytes]] = metadata

    @property
    def bytes(self) -> _bytes:
        """The frame's content as ``bytes`` (copied once, then cached)."""
        b = self._bytes
        if b is None:
            b = self._bytes = _bytes(self._data)
        return b

    @property
    def buffer(self) -> memoryview:
        """A view of the frame's buffer, without a copy."""
        return memoryview(self._data)

    def __bytes__(self) -> _bytes:
        return self.bytes

    def __len__(self) -> int:
        return len(self._data)

    def __buffer__(self, flags: int) -> memoryview:
        return memoryview(self._data)

    def __eq__(self, other: object) -> bool:
        # value equality (pyzmq compares identity): handy in tests, harmless otherwise
        if isinstance(other, Frame):
            return self.bytes == other.bytes
        if isinstance(other, (bytes, bytearray, memoryview)):
            return self.bytes == bytes(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.bytes)

    def __copy__(self) -> Frame:
        return self.fast_copy()

    def fast_copy(self) -> Frame:
        """A new Frame over the same buffer."""
        new = Frame(self._data, metadata=self._metadata)
        new.more = self.more
        new.routing_id = self.routing_id
        new.group = self.group
        return new

    def get(self, option: Union[int, str]) -> Any:
        """``MORE`` (an int option), or a metadata property by name: ``"Socket-Type"``,
        ``"Peer-Address"``, ``"User-Id"``, ``"Routing-Id"`` or anything the peer sent in READY
        (zmq_msg_gets; names are case-insensitive, values are returned as str)."""
        if isinstance(option, str):
            meta = self._metadata
            value = None if meta is None else meta.get(option.lower())
            if value is None:
                raise ZMQError(Errno.EINVAL, f"Invalid argument: no property {option!r}")
            return value.decode("utf-8", "surrogateescape")
        if option == _MORE:
            return int(self.more)
        if option == 3:  # SHARED
            return 0
        raise ZMQError(Errno.EINVAL)

    def __getitem__(self, key: Union[int, str]) -> Any:
        """``frame["User-Id"]`` is ``frame.get("User-Id")`` (pyzmq's mapping form)."""
        if key == "routing_id":
            return self.routing_id
        if key == "group":
            return self.group
        return self.get(key)

    def set(self, option: int, value: Any) -> None:
        """Frame options are read-only here except routing id and group (set as attributes)."""
        raise ZMQError(Errno.EINVAL)

    def __repr__(self) -> str:
        data = self.bytes
        return f"<zmtp.Frame({data[:32]!r}{'...' if len(data) > 32 else ''})>"


Message = Frame

__all__ = ["Frame", "Message", "MessageTracker", "byte_view"]
