"""Frames (RFC 23 / RFC 37 section 2.7): a flags byte, a 1- or 8-byte size, a body.

Flags: bit 0 MORE (another frame of this message follows), bit 1 LONG (8-byte size), bit 2 COMMAND.
Bits 3-7 are reserved and must be zero.  The decoder reassembles data frames into whole multipart
messages (one event per message, not per frame) and judges every size the moment the header is read,
before any body byte is buffered, so a peer cannot make us hold more than the maximum message size.

Memory follows what arrived, never what was announced: a large body (``LARGE_BODY`` or more) is kept
as the chunks that arrived and joined once, when complete, into the ``bytes`` handed over.  (A buffer of
the announced size would cost that size for a bare header: Python zero-fills it, so unlike libzmq's
malloc it is resident at once; a buffer grown as bytes arrive is re-allocated and copied as it grows,
and zero-filled room for ``recv_into`` is written twice.  Chunks and one join cost two copies, as
``recv_into`` plus the copy pyzmq's ``recv()`` makes.)  Frames are ``bytes``.

Buffering is linear: bytes that complete nothing are appended to one ``bytearray`` and are parsed again
only once enough have arrived to make progress (``_need``), so a large frame arriving in small pieces is
copied a constant number of times, never once per piece.

A bad frame never costs what came before it: every message and command completed earlier in the same
chunk is returned first, and the error is raised by the next call (:attr:`FrameDecoder.error` says it
is pending), so the result is the same however the bytes were split.
"""

from __future__ import annotations

import sys
from typing import Any, Callable, List, Optional, Tuple, Union

from .errors import ErrorReason, RemoteProtocolError

MORE = 0x01
LONG = 0x02
COMMAND = 0x04
RESERVED = 0xF8

#: Commands are small by nature; before the handshake completes no command may exceed this, whatever
#: the maximum message size (a peer must not make us buffer gigabytes while still anonymous).
HANDSHAKE_COMMAND_LIMIT = 1 << 20

#: A frame body at least this large, still incomplete, is collected as the chunks that arrive instead
#: of being re-parsed from the decoder's buffer.
LARGE_BODY = 1 << 16
#: The chunk a driver may ``recv_into`` for a large body (``FrameDecoder.body_buffer``), and how many
#: such chunks a decoder keeps for reuse.
BODY_CHUNK = 1 << 18
SPARE_CHUNKS = 4
#: A body at least this large is gathered into one growing ``bytearray`` as its chunks arrive (a copy of
#: each chunk, spread over the reads; realloc grows it in place) and handed over as that ``bytearray``:
#: joining it at the end would copy it all at once, under the driver's lock (issue 9 row 10: a 1 GiB
#: message stalled every other connection for ~0.28 s).
HUGE_BODY = 1 << 25

#: The largest frame any allocation could hold: 2**47 bytes (128 TiB) is the whole user address space
#: of a 64-bit machine with 48-bit virtual addresses (x86-64 with 4-level paging, most arm64), and
#: bytearrays stop at sys.maxsize on 32-bit builds.  A larger announced size is refused at its header,
#: as libzmq refuses it when its malloc fails (src/v2_decoder.cpp ``size_ready``: ENOMEM drops the
#: connection); below it nothing is allocated beyond what arrives, so honest large frames are never
#: refused for their size alone.  A Connection may lower it (``max_frame_size``).
MAX_FRAME_SIZE = min(1 << 47, sys.maxsize)

#: With a maximum message size, the first FREE_FRAMES frames of a message cost only their bytes against
#: it and every further frame FRAME_COST bytes more (about what a frame costs in memory beyond its
#: payload: a list slot and an object header), so a flood of empty frames cannot hold more than a small
#: multiple of the limit (libzmq checks each frame alone and holds 64 bytes per empty frame).
FREE_FRAMES = 1024
FRAME_COST = 32


def message_charge(payload: int, frames: int) -> int:
    """What a message of ``frames`` frames and ``payload`` bytes counts against the maximum size."""
    return payload + FRAME_COST * (frames - FREE_FRAMES) if frames > FREE_FRAMES else payload

#: What the decoder returns: a whole data message (list of frames, each ``bytes`` or, for a large body,
#: ``bytearray``) or a command body (``bytes``: name length, name, data); in raw mode (a mechanism that
#: seals frames) every wire frame as a ``(flags, body)`` tuple instead.
Decoded = Union[List["Frame"], bytes, Tuple[int, "Frame"]]
#: One frame as the decoder hands it over.
Frame = Union[bytes, bytearray]

# Short-frame headers for every size, prebuilt: the encoder's hot path is a table lookup.
_SHORT_LAST = [bytes((0, n)) for n in range(256)]
_SHORT_MORE = [bytes((MORE, n)) for n in range(256)]


def frame_header(size: int, flags: int) -> bytes:
    """The header for a frame of ``size`` bytes with ``flags`` (MORE and/or COMMAND)."""
    if size < 256:
        return bytes((flags, size))
    return bytes((flags | LONG,)) + size.to_bytes(8, "big")


#: A frame body of this many bytes or more is queued as its own buffer, never copied into a header+body
#: ``bytes``: a driver hands it to the kernel as it is (``sendmsg``).  Below it, copying the body to join
#: it with its header and neighbours costs less than one more buffer in the scatter list (measured: a
#: 2 KiB threshold gained nothing for 4 KiB messages).
SCATTER_BODY = 1 << 16


def encode_frames(frames: List[bytes], out: List[bytes], large: int = SCATTER_BODY) -> None:
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


class EncodedMessage(list):  # type: ignore[type-arg]
    """A data message (its frames, as a list) that also carries its wire form, encoded once.

    A publisher sending one message to many subscribers writes one of these to every subscriber's
    pipe: each connection then sends ``wire`` as it is instead of encoding the frames again.  The
    data framing is the same on ZMTP 3.1, 3.0 and 2.0, so ``wire`` fits every connection whose
    mechanism does not seal frames (NULL, PLAIN); a sealing one (CURVE) encodes the frames itself.
    """

    __slots__ = ("wire",)

    def __init__(self, frames: List[Any]) -> None:
        super().__init__(frames)
        out: List[bytes] = []
        encode_frames(frames, out)
        self.wire = out[0] if len(out) == 1 else b"".join(out)


def encode_command(body: bytes) -> bytes:
    """A command frame around ``body`` (name length, name, data)."""
    return frame_header(len(body), COMMAND) + body


class FrameDecoder:
    """Turns a byte stream into whole data messages and command bodies.

    ``max_message_size`` (ZMQ_MAXMSGSIZE, -1 = unlimited) bounds the sum of a message's frame sizes
    (plus FRAME_COST per frame beyond FREE_FRAMES); ``command_limit`` bounds a single command frame
    (the connection lowers it during the handshake); ``max_frame_size`` bounds any frame.

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
        "_body", "_body_pos", "_body_size", "_body_flags", "_spare", "_offered", "raw", "frame_limit",
        "max_frame_size", "error", "batch_sink",
    )

    def __init__(
        self,
        max_message_size: int = -1,
        command_limit: int = HANDSHAKE_COMMAND_LIMIT,
        handshaking: bool = False,
        max_frame_size: int = MAX_FRAME_SIZE,
    ) -> None:
        self._buf = bytearray()
        self._need = 2
        self._parts: List[Frame] = []
        self._size = 0
        self.max_message_size = max_message_size
        self.command_limit = command_limit
        self.handshaking = handshaking
        self.max_frame_size = max_frame_size
        #: Flag bits that must be zero: bits 3-7 on ZMTP 3.x, bits 2-7 on ZMTP 2.0 (no commands there).
        self.reserved = RESERVED
        # a large frame body in progress (see LARGE_BODY): the chunks that arrived, _body_pos bytes
        self._body: Optional[List[Union[bytes, bytearray, memoryview]]] = None
        self._body_pos = 0
        self._body_size = 0
        self._body_flags = 0
        #: chunks for body_buffer, kept for reuse (at most SPARE_CHUNKS), and the one now offered
        self._spare: List[bytearray] = []
        self._offered: Optional[bytearray] = None
        self.raw = False
        self.frame_limit = -1
        #: When set (by the connection, once established), whole data messages are handed to it in
        #: batches instead of being returned, and decoding pauses after each command.
        self.batch_sink: Optional[Callable[[List[List[Any]]], None]] = None
        #: The error found after what the last :meth:`feed` returned; the next call raises it.
        self.error: Optional[RemoteProtocolError] = None

    @property
    def paused(self) -> bool:
        """True when decoding stopped after a handshake command; call ``feed(b"")`` to go on."""
        return self._need == 0

    @property
    def buffered(self) -> int:
        """How many bytes are held waiting for the rest of a frame (for tests and limits)."""
        return len(self._buf) + self._size + self._body_pos

    @property
    def allocated(self) -> int:
        """How many bytes the buffers hold: what arrived and is not yet delivered, plus the chunks kept
        for ``body_buffer`` (at most SPARE_CHUNKS + 1 of BODY_CHUNK bytes)."""
        spare = len(self._spare) + (self._offered is not None)
        return len(self._buf) + self._size + self._body_pos + spare * BODY_CHUNK

    def hold(self, data: bytes) -> None:
        """Keep ``data`` for later without decoding any of it (the caller resumes with ``feed(b"")``)."""
        # a handshake command always completes (and pauses the decoder) before a decision is asked
        # for, so no large body can be in progress here
        assert self._body is None
        self._buf += data

    # -- large bodies ------------------------------------------------------------------------------
    def body_buffer(self) -> Optional[memoryview]:
        """Where the driver may ``recv_into`` the rest of a large body, or None (not in one).

        A chunk the decoder keeps and reuses: reading a large body into memory already in use costs
        far less than into fresh allocations (each new large block is mapped and faulted in page by
        page, which measured at several times the copy itself).  The room offered is one chunk
        (:data:`BODY_CHUNK` at most, and no more than the body still needs), so what the connection
        holds beyond what arrived is bounded by a constant.  After writing ``n`` bytes, call
        :meth:`body_received` (and release the view).
        """
        if self._body is None:
            return None
        spare = self._spare
        chunk = spare.pop() if spare else bytearray(BODY_CHUNK)
        self._offered = chunk
        return memoryview(chunk)[: min(BODY_CHUNK, self._body_size - self._body_pos)]

    def body_received(self, n: int) -> List[Decoded]:
        """``n`` bytes were written into :meth:`body_buffer`; return what that completed."""
        if self.error is not None:
            raise self.error
        chunk = self._offered
        chunks = self._body
        assert chunk is not None and chunks is not None and 0 <= n <= self._body_size - self._body_pos
        self._offered = None
        if n * 2 >= len(chunk):
            chunks.append(memoryview(chunk)[:n])  # kept in place; the chunk returns to the spares later
        else:
            # a short read (a peer trickling its bytes): keep only them and reuse the chunk at once
            self._add_piece(memoryview(chunk)[:n])
            if len(self._spare) < SPARE_CHUNKS:
                self._spare.append(chunk)
        self._body_pos += n
        if self._body_size >= HUGE_BODY:
            self._gather()
        if self._body_pos < self._body_size:
            return []
        out: List[Decoded] = []
        self._finish_body(out)
        return out

    def _add_piece(self, piece: memoryview) -> None:
        """Append a small piece to the body: into a trailing accumulator (a bytearray, grown in place)
        rather than as an object of its own, so a peer sending a body a byte at a time costs bytes,
        not an object per byte."""
        chunks = self._body
        assert chunks is not None
        tail = chunks[-1] if chunks else None
        if type(tail) is bytearray and len(tail) < BODY_CHUNK:
            tail += piece
        else:
            chunks.append(bytearray(piece))

    def _start_body(self, data: bytes, start: int, n: int, size: int, flags: int) -> None:
        """A large frame's body begins at ``data[start:n]``: keep what arrived, collect the rest."""
        self._body = [data[start:n] if start or n != len(data) else data]
        self._body_pos = n - start
        self._body_size = size
        self._body_flags = flags

    def _gather(self) -> None:
        """A huge body (see HUGE_BODY): append what arrived to the first chunk, a growing bytearray."""
        chunks: Optional[List[Any]] = self._body
        assert chunks is not None
        head = chunks[0]
        if type(head) is not bytearray:
            head = chunks[0] = bytearray(head)
        for chunk in chunks[1:]:
            head += chunk
        self._recycle(chunks[1:])
        del chunks[1:]

    def _recycle(self, chunks: List[Any]) -> None:
        """Release the views of chunks that were received in place and keep their buffers for reuse."""
        spare = self._spare
        for chunk in chunks:
            if type(chunk) is memoryview:
                base = chunk.obj
                chunk.release()
                if len(spare) < SPARE_CHUNKS:
                    spare.append(base)  # type: ignore[arg-type]

    def _finish_body(self, out: List[Decoded]) -> None:
        chunks: Optional[List[Any]] = self._body
        assert chunks is not None
        body: Frame
        if self._body_size >= HUGE_BODY:
            self._gather()
            body = chunks[0]  # handed over as the bytearray it was gathered into
        else:
            body = bytes(chunks[0]) if len(chunks) == 1 else b"".join(chunks)
        self._recycle(chunks)
        flags = self._body_flags
        self._body = None
        self._body_pos = 0
        self._need = 2
        if self.raw:
            out.append((flags & (MORE | COMMAND), body))
        elif flags & COMMAND:
            out.append(bytes(body))
            if self.handshaking:
                self._need = 0  # paused: see the class docstring
        elif flags & MORE:
            self._parts.append(body)
            self._size += len(body)
        else:
            parts = self._parts
            parts.append(body)
            self._parts = []
            self._size = 0
            if self.batch_sink is not None:
                self.batch_sink([parts])  # now: messages after it in this feed go to the sink too
            else:
                out.append(parts)

    def _feed_body(self, data: bytes, out: List[Decoded]) -> bytes:
        """Feed the large body in progress; return what follows it (b"" if nothing, or if paused)."""
        take = min(len(data), self._body_size - self._body_pos)
        if take >= LARGE_BODY:
            chunks = self._body
            assert chunks is not None
            chunks.append(data if take == len(data) else data[:take])
        else:
            self._add_piece(memoryview(data)[:take])
        self._body_pos += take
        if self._body_size >= HUGE_BODY:
            self._gather()
        if self._body_pos < self._body_size:
            return b""
        self._finish_body(out)
        rest = data[take:]
        if rest and self._need == 0:  # paused after a handshake command: keep the rest for feed(b"")
            self._buf += rest
            return b""
        return rest

    # -- the stream ----------------------------------------------------------------------------------
    def feed(self, data: Union[bytes, memoryview]) -> List[Decoded]:
        """Consume ``data``; return the messages and commands it completed, in order.

        ``data`` may be a memoryview of the driver's reusable receive buffer, valid during this call
        only: nothing of it is kept (the frames are sliced from one ``bytes`` copy made here, which is
        also the copy that joins it to a partial frame held from the last read).

        A protocol error raises :class:`RemoteProtocolError`, but only once everything completed before
        the bad frame has been returned: then :attr:`error` is set and the next call raises it.
        """
        if self.error is not None:
            raise self.error
        out: List[Decoded] = []
        try:
            if self._body is not None:
                if type(data) is not bytes:
                    data = bytes(data)  # the body keeps what it takes of it
                data = self._feed_body(data, out)
                if not data:
                    return out
            if self.raw:
                self._feed_raw(data, out)
            else:
                self._feed_frames(data, out)
        except RemoteProtocolError as exc:
            if not out:
                raise
            self.error = exc
        return out

    def _too_large(self, size: int) -> RemoteProtocolError:
        return RemoteProtocolError(
            ErrorReason.MESSAGE_TOO_LARGE,
            f"peer announced a {size}-byte frame, more than any allocation could hold "
            f"(the bound is {self.max_frame_size} bytes)",
        )

    def _join_held(self, data: Any) -> Optional[bytes]:
        """``data`` after the partial frame held from earlier reads, as one ``bytes``; None (and all of
        it held) while that still does not complete what the decoder needs.  The held bytes and the
        new ones are joined in one copy: ``buf += data; bytes(buf)`` would copy a whole 256 KiB read
        twice, and almost every read of mid-sized frames ends inside one."""
        buf = self._buf
        if buf:
            if len(buf) + len(data) < self._need:
                buf += data
                return None
            joined: bytes = bytes(buf) + data
            buf.clear()
            return joined
        if len(data) < self._need:
            buf += data
            return None
        return data if type(data) is bytes else bytes(data)

    def _feed_frames(self, data: Union[bytes, memoryview], out: List[Decoded]) -> None:
        joined = self._join_held(data)
        if joined is None:
            return
        data = joined
        buf = self._buf
        append = out.append
        parts = self._parts
        n = len(data)
        pos = 0
        maxsize = self.max_message_size
        max_frame = self.max_frame_size
        reserved = self.reserved
        handshaking = self.handshaking  # changes only between calls (a command pauses the loop)
        sink = self.batch_sink
        from_bytes = int.from_bytes
        if sink is not None:
            # Data messages go to the sink in one batch per call, not through ``out``; a command stops
            # decoding (the caller acts on it, then resumes with feed(b"")), so nothing that follows a
            # command is delivered before the command is handled.
            batch: List[List[Any]] = []
            put = batch.append
        else:
            put = append
        try:
            while True:
                if sink is not None and not parts and (maxsize < 0 or maxsize >= 255):
                    # the common frames, in a tight loop: a final data frame, short (flags 0) or long
                    # (flags LONG) and whole in ``data``; anything else goes the general way below
                    while n - pos >= 2:
                        flags = data[pos]
                        if not flags:
                            end = pos + 2 + data[pos + 1]
                            if end > n:
                                break
                            put([data[pos + 2 : end]])
                            pos = end
                        elif flags == LONG and n - pos >= 9:
                            size = from_bytes(data[pos + 1 : pos + 9], "big")
                            end = pos + 9 + size
                            if end > n or size > max_frame or (maxsize >= 0 and size > maxsize):
                                break
                            put([data[pos + 9 : end]])
                            pos = end
                        else:
                            break
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
                if flags & reserved:
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
                elif handshaking:
                    raise RemoteProtocolError(
                        ErrorReason.UNEXPECTED_COMMAND, "peer sent a data frame before completing the handshake"
                    )
                elif maxsize >= 0 and message_charge(self._size + size, len(parts) + 1) > maxsize:
                    raise RemoteProtocolError(
                        ErrorReason.MESSAGE_TOO_LARGE,
                        f"peer sent a message of at least {self._size + size} bytes in {len(parts) + 1} frames; "
                        f"the maximum message size is {maxsize} bytes (each frame beyond the "
                        f"{FREE_FRAMES}th counts {FRAME_COST} bytes)",
                    )
                elif size > max_frame:
                    raise self._too_large(size)
                end = start + size
                if end > n:
                    if size >= LARGE_BODY:
                        self._start_body(data, start, n, size, flags)
                        pos = n
                        need = 2
                    else:
                        need = end - pos
                    break
                body = data[start:end]
                pos = end
                if flags & COMMAND:
                    append(body)
                    if handshaking or sink is not None:
                        need = 0  # paused: see the class docstring
                        break
                elif flags & MORE:
                    parts.append(body)
                    self._size += size
                elif parts:
                    parts.append(body)
                    put(parts)
                    parts = self._parts = []
                    self._size = 0
                else:
                    put([body])
        except RemoteProtocolError:
            self._need = 2
            if sink is not None and batch:
                sink(batch)  # what was complete before the bad frame is delivered first
            raise
        self._need = need
        if pos < n:
            buf += memoryview(data)[pos:]
        if sink is not None and batch:
            sink(batch)

    def _feed_raw(self, data: Union[bytes, memoryview], out: List[Decoded]) -> None:
        """Raw mode: every wire frame as ``(flags, body)``; no reassembly (the caller does it)."""
        joined = self._join_held(data)
        if joined is None:
            return
        data = joined
        buf = self._buf
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
            if size > self.max_frame_size:
                raise self._too_large(size)
            end = start + size
            if end > n:
                if size >= LARGE_BODY:
                    self._start_body(data, start, n, size, flags)
                    pos = n
                    need = 2
                else:
                    need = end - pos
                break
            out.append((flags & (MORE | COMMAND), data[start:end]))
            pos = end
        self._need = need
        if pos < n:
            buf += memoryview(data)[pos:]
