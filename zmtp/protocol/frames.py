"""Frames (RFC 23 / RFC 37 section 3.3): a flags byte, a 1- or 8-byte size, a body.

Flags: bit 0 MORE (another frame of this message follows), bit 1 LONG (8-byte size), bit 2 COMMAND.
Bits 3-7 are reserved and must be zero.  The decoder reassembles data frames into whole multipart
messages (one event per message, not per frame) and judges every size the moment the header is read,
before any body byte is buffered, so a peer cannot make us hold more than the maximum message size.

Buffering is linear: bytes that complete nothing are appended to one ``bytearray`` and are parsed again
only once enough have arrived to make progress (``_need``), so a large frame arriving in small pieces is
copied a constant number of times, never once per piece.
"""

from __future__ import annotations

from typing import List, Optional, Tuple, Union

from .errors import ErrorReason, RemoteProtocolError

MORE = 0x01
LONG = 0x02
COMMAND = 0x04
RESERVED = 0xF8

#: Commands are small by nature; before the handshake completes no command may exceed this, whatever
#: the maximum message size (a peer must not make us buffer gigabytes while still anonymous).
HANDSHAKE_COMMAND_LIMIT = 1 << 20

#: A data frame body at least this large, still incomplete, is received into its own buffer of exactly
#: its size (``FrameDecoder.body_buffer``) so a driver can ``recv_into`` it without intermediate copies.
LARGE_BODY = 1 << 16
#: Bodies up to this size are allocated as soon as their header is read; a larger one only once a
#: sixteenth of it has arrived, so announcing a huge frame never costs us more than 16 times what the
#: peer really sent (libzmq allocates the announced size at once).
PREALLOC_EAGER = 1 << 20
#: Beyond this the body is always buffered as it arrives.
PREALLOC_MAX = 1 << 28

#: What the decoder returns: a whole data message (list of frames) or a command body (name + data); in
#: raw mode (a mechanism that seals frames) every wire frame as a ``(flags, body)`` tuple instead.
Decoded = Union[List[bytes], bytes, Tuple[int, bytes]]

# Short-frame headers for every size, prebuilt: the encoder's hot path is a table lookup.
_SHORT_LAST = [bytes((0, n)) for n in range(256)]
_SHORT_MORE = [bytes((MORE, n)) for n in range(256)]


def frame_header(size: int, flags: int) -> bytes:
    """The header for a frame of ``size`` bytes with ``flags`` (MORE and/or COMMAND)."""
    if size < 256:
        return bytes((flags, size))
    return bytes((flags | LONG,)) + size.to_bytes(8, "big")


def encode_frames(frames: List[bytes], out: List[bytes], large: int = 1 << 16) -> None:
    """Append the wire form of a data message to ``out``.

    Small frames are appended as header+body in one ``bytes`` so the driver joins few objects; a
    frame of ``large`` bytes or more is appended as its own buffer (header separately), so a driver
    can hand it to ``sendmsg`` without copying it.
    """
    last = len(frames) - 1
    for i, frame in enumerate(frames):
        n = len(frame)
        if n < 256:
            out.append((_SHORT_MORE if i < last else _SHORT_LAST)[n] + frame)
        elif n < large:
            out.append(bytes((LONG | MORE if i < last else LONG,)) + n.to_bytes(8, "big") + frame)
        else:
            out.append(bytes((LONG | MORE if i < last else LONG,)) + n.to_bytes(8, "big"))
            out.append(frame)


def encode_command(body: bytes) -> bytes:
    """A command frame around ``body`` (name length, name, data)."""
    return frame_header(len(body), COMMAND) + body


class FrameDecoder:
    """Turns a byte stream into whole data messages and command bodies.

    ``max_message_size`` (ZMQ_MAXMSGSIZE, -1 = unlimited) bounds the sum of a message's frame sizes;
    ``command_limit`` bounds a single command frame (the connection lowers it during the handshake).

    While ``handshaking`` is true (the connection clears it when the handshake completes) a data frame
    is refused at its header, so an anonymous peer cannot make us buffer a huge "message" either, and
    decoding pauses after each command: the caller acts on it (READY may end the handshake and let data
    in) and then resumes with ``feed(b"")`` while :attr:`paused` is true.

    With ``raw`` set (the connection sets it when the mechanism seals frames, see mechanism.py) every
    wire frame is returned on its own as ``(flags, body)`` (MORE and COMMAND kept, LONG dropped), bounded
    by ``frame_limit`` (-1: none) at its header; reassembly then happens on the plaintext.
    """

    __slots__ = (
        "_buf", "_need", "_parts", "_size", "max_message_size", "command_limit", "handshaking", "reserved",
        "_body", "_body_pos", "_body_flags", "raw", "frame_limit",
    )

    def __init__(
        self,
        max_message_size: int = -1,
        command_limit: int = HANDSHAKE_COMMAND_LIMIT,
        handshaking: bool = False,
    ) -> None:
        self._buf = bytearray()
        self._need = 2
        self._parts: List[bytes] = []
        self._size = 0
        self.max_message_size = max_message_size
        self.command_limit = command_limit
        self.handshaking = handshaking
        #: Flag bits that must be zero: bits 3-7 on ZMTP 3.x, bits 2-7 on ZMTP 2.0 (no commands there).
        self.reserved = RESERVED
        # a large data frame body being received in place (see LARGE_BODY)
        self._body: Optional[bytearray] = None
        self._body_pos = 0
        self._body_flags = 0
        self.raw = False
        self.frame_limit = -1

    @property
    def paused(self) -> bool:
        """True when decoding stopped after a handshake command; call ``feed(b"")`` to go on."""
        return self._need == 0

    @property
    def buffered(self) -> int:
        """How many bytes are held waiting for the rest of a frame (for tests and limits)."""
        return len(self._buf) + self._size + self._body_pos

    def hold(self, data: bytes) -> None:
        """Keep ``data`` for later without decoding any of it (the caller resumes with ``feed(b"")``)."""
        if data:
            if self._body is not None:
                raise AssertionError("hold() is only for the handshake, which has no large bodies")
            self._buf += data

    def body_buffer(self) -> Optional[memoryview]:
        """Where the rest of a large frame body goes, for ``sock.recv_into``; None when not in one.

        After writing ``n`` bytes there, call :meth:`body_received`.
        """
        body = self._body
        if body is None:
            return None
        return memoryview(body)[self._body_pos :]

    def body_received(self, n: int) -> List[Decoded]:
        """``n`` bytes were written into :meth:`body_buffer`; return what that completed."""
        body = self._body
        assert body is not None
        self._body_pos += n
        if self._body_pos < len(body):
            return []
        out: List[Decoded] = []
        self._finish_body(out)
        return out

    def _finish_body(self, out: List[Decoded]) -> None:
        body = self._body
        assert body is not None
        frame = bytes(body)
        self._body = None
        self._body_pos = 0
        self._need = 2
        if self.raw:
            out.append((self._body_flags & (MORE | COMMAND), frame))
        elif self._body_flags & MORE:
            self._parts.append(frame)
            self._size += len(frame)
        else:
            parts = self._parts
            parts.append(frame)
            out.append(parts)
            self._parts = []
            self._size = 0

    def _feed_body(self, data: bytes) -> List[Decoded]:
        body = self._body
        assert body is not None
        pos = self._body_pos
        take = min(len(data), len(body) - pos)
        body[pos : pos + take] = memoryview(data)[:take]
        self._body_pos = pos + take
        if self._body_pos < len(body):
            return []
        out: List[Decoded] = []
        self._finish_body(out)
        if take < len(data):
            out.extend(self.feed(data[take:]))
        return out

    def _start_body(self, data: bytes, pos: int, start: int, n: int, size: int, flags: int) -> int:
        """A frame (header at ``pos``, body at ``start``) is incomplete in ``data[:n]``: receive a large
        body in place and return 0, or return how many bytes from ``pos`` to wait for."""
        got = n - start
        if not LARGE_BODY <= size <= PREALLOC_MAX or (flags & COMMAND and not self.raw):
            return start - pos + size
        if size > PREALLOC_EAGER and got * 16 < size:
            return start - pos + size // 16 + 1  # look again once a sixteenth is here
        # receive the rest in place: no buffering, no re-parsing, recv_into-able
        big = bytearray(size)
        big[:got] = memoryview(data)[start:n]
        self._body = big
        self._body_pos = got
        self._body_flags = flags
        return 0

    def feed(self, data: bytes) -> List[Decoded]:
        """Consume ``data``; return the messages and commands it completed, in order."""
        if self._body is not None:
            return self._feed_body(data)
        if self.raw:
            return self._feed_raw(data)
        buf = self._buf
        if buf:
            buf += data
            if len(buf) < self._need:
                return []
            data = bytes(buf)
            buf.clear()
        elif len(data) < self._need:
            buf += data
            return []
        elif type(data) is not bytes:
            data = bytes(data)
        out: List[Decoded] = []
        parts = self._parts
        n = len(data)
        pos = 0
        maxsize = self.max_message_size
        while True:
            avail = n - pos
            if avail < 2:
                need = 2
                break
            flags = data[pos]
            if flags & LONG:
                if avail < 9:
                    need = 9
                    break
                size = int.from_bytes(data[pos + 1 : pos + 9], "big")
                start = pos + 9
            else:
                size = data[pos + 1]
                start = pos + 2
            if flags & self.reserved:
                raise RemoteProtocolError(
                    ErrorReason.BAD_FRAME, f"peer sent a frame with reserved flag bits set (flags {flags:#04x})"
                )
            if flags & COMMAND:
                if parts:
                    raise RemoteProtocolError(
                        ErrorReason.BAD_FRAME, "peer sent a command frame in the middle of a multipart message"
                    )
                if size > self.command_limit:
                    raise RemoteProtocolError(
                        ErrorReason.MESSAGE_TOO_LARGE,
                        f"peer sent a {size}-byte command; the limit is {self.command_limit} bytes",
                    )
            elif self.handshaking:
                raise RemoteProtocolError(
                    ErrorReason.UNEXPECTED_COMMAND, "peer sent a data frame before completing the handshake"
                )
            elif maxsize >= 0 and self._size + size > maxsize:
                raise RemoteProtocolError(
                    ErrorReason.MESSAGE_TOO_LARGE,
                    f"peer sent a message of at least {self._size + size} bytes; "
                    f"the maximum message size is {maxsize} bytes",
                )
            end = start + size
            if end > n:
                need = self._start_body(data, pos, start, n, size, flags)
                if not need:
                    pos = n
                    need = 2
                break
            body = data[start:end]
            pos = end
            if flags & COMMAND:
                out.append(body)
                if self.handshaking:
                    need = 0  # paused: see the class docstring
                    break
            elif flags & MORE:
                parts.append(body)
                self._size += size
            elif parts:
                parts.append(body)
                out.append(parts)
                parts = self._parts = []
                self._size = 0
            else:
                out.append([body])
        self._need = need
        if pos < n:
            buf += memoryview(data)[pos:]
        return out

    def _feed_raw(self, data: bytes) -> List[Decoded]:
        """Raw mode: every wire frame as ``(flags, body)``; no reassembly (the caller does it)."""
        buf = self._buf
        if buf:
            buf += data
            if len(buf) < self._need:
                return []
            data = bytes(buf)
            buf.clear()
        elif len(data) < self._need:
            buf += data
            return []
        elif type(data) is not bytes:
            data = bytes(data)
        out: List[Decoded] = []
        n = len(data)
        pos = 0
        limit = self.frame_limit
        while True:
            avail = n - pos
            if avail < 2:
                need = 2
                break
            flags = data[pos]
            if flags & LONG:
                if avail < 9:
                    need = 9
                    break
                size = int.from_bytes(data[pos + 1 : pos + 9], "big")
                start = pos + 9
            else:
                size = data[pos + 1]
                start = pos + 2
            if flags & self.reserved:
                raise RemoteProtocolError(
                    ErrorReason.BAD_FRAME, f"peer sent a frame with reserved flag bits set (flags {flags:#04x})"
                )
            if 0 <= limit < size:
                raise RemoteProtocolError(
                    ErrorReason.MESSAGE_TOO_LARGE,
                    f"peer sent a {size}-byte sealed frame; the maximum message size allows {limit} bytes",
                )
            end = start + size
            if end > n:
                need = self._start_body(data, pos, start, n, size, flags)
                if not need:
                    pos = n
                    need = 2
                break
            out.append((flags & (MORE | COMMAND), data[start:end]))
            pos = end
        self._need = need
        if pos < n:
            buf += memoryview(data)[pos:]
        return out
