"""The ZMTP connection: one object owning all the state of one ZMTP 3.x stream.

The states, the inputs each accepts and the transitions are tables in :mod:`.state` (a missing entry is
the protocol error); this module parses what arrives, acts on it, and asks the table where to go.
Drivers see the coarse state (:class:`ConnectionState`)::

    GREETING --peer greeting ok--> HANDSHAKE --mechanism complete--> ESTABLISHED
        \\______________________________\\___________________________\\__> CLOSED

A driver feeds it bytes with :meth:`Connection.receive_data` (``b""`` means the peer closed) and gets
events back; it sends with :meth:`send_message`, :meth:`send_subscribe`, :meth:`send_cancel` and
writes out what :meth:`data_to_send` returns.  Time is an argument: every input takes ``now`` (any
monotonic clock, in seconds), :meth:`next_deadline` says when the driver must call :meth:`handle_timer`.
Nothing here reads the clock, touches a socket or draws random numbers.

Errors: a :class:`RemoteProtocolError` from ``receive_data``/``handle_timer`` means the peer broke the
protocol or timed out; the connection is then CLOSED for good and any goodbye (an ERROR command) is
already queued, so the driver flushes and closes.  :class:`LocalProtocolError` means the caller erred
and changes nothing.
"""

from __future__ import annotations

from typing import Any, Callable, Deque, Dict, List, Mapping, Optional, Union

from . import commands as cmd
from .errors import ErrorReason, LocalProtocolError, RemoteProtocolError
from .events import (
    AuthenticationRequested,
    Cancel,
    ConnectionClosed,
    ErrorReceived,
    Event,
    GreetingReceived,
    HandshakeComplete,
    Join,
    Leave,
    MessageReceived,
    PingReceived,
    PongReceived,
    Subscribe,
)
from .frames import (
    _SHORT_LAST,
    COMMAND,
    FRAME_COST,
    FREE_FRAMES,
    HANDSHAKE_COMMAND_LIMIT,
    LARGE_BODY,
    MAX_FRAME_SIZE,
    MORE,
    EncodedMessage,
    FrameDecoder,
    encode_command,
    encode_frames,
    frame_header,
    message_charge,
)
from .greeting import (
    GREETING_SIZE,
    PARTIAL_GREETING_SIZE,
    ZMTP2_IDENTITY_HEADER_SIZE,
    ZMTP2_SOCKET_TYPE_SIZE,
    ZMTP2_SOCKET_TYPES,
    Greeting,
    check_greeting_prefix,
    mechanism_mismatch,
    negotiated_minor,
    parse_greeting,
)
from .mechanism import ZAP_STATUS_CODES, Mechanism, NullMechanism, PeerErrorCommand
from .metadata import IDENTITY, SOCKET_TYPE, encode_metadata
from .sockettypes import SOCKET_TYPE_NAMES, is_compatible
from .state import ACCEPTS_DATA, COARSE, GREETING_STATES, ConnectionState, Input, State, next_state, refusal

#: How many bytes each fixed-size greeting stage takes (ZMTP2_IDENTITY's size is in its header).
_STAGE_SIZES = {
    State.SIGNATURE: PARTIAL_GREETING_SIZE,
    State.GREETING_REST: GREETING_SIZE - PARTIAL_GREETING_SIZE,
    State.ZMTP2_SOCKET_TYPE: ZMTP2_SOCKET_TYPE_SIZE,
    State.ZMTP2_IDENTITY_HEADER: ZMTP2_IDENTITY_HEADER_SIZE,
}

#: Socket types that send an Identity property in READY (RFC 37 section 3.6; libzmq sends it for
#: REQ, DEALER and ROUTER, the types whose peers may route by it).
_SENDS_IDENTITY = frozenset({"REQ", "DEALER", "ROUTER"})
#: Socket types that take 3.0-style ``\x01``/``\x00`` data messages as subscriptions (libzmq's
#: xpub_t::xread_activated does so on every protocol version).
_PUBLISHERS = frozenset({"PUB", "XPUB"})
#: Failures that are the clock's verdict rather than something the peer sent.
_TIMEOUTS = frozenset({ErrorReason.HANDSHAKE_TIMEOUT, ErrorReason.HEARTBEAT_TIMEOUT})


class Connection:
    """The sans-IO core of one ZMTP 3.x connection.

    Parameters: ``socket_type`` (name or libzmq number), ``identity`` (sent for REQ/DEALER/ROUTER),
    ``mechanism`` (NULL by default), ``minor_version`` (1 = advertise ZMTP 3.1, 0 = 3.0),
    ``max_message_size`` (bytes, -1 = unlimited; each frame beyond a message's 1024th also counts 32
    bytes, see frames.py), ``max_frame_size`` (a frame announced larger is refused at its header: by
    default the largest any allocation could hold, frames.MAX_FRAME_SIZE; a driver may pass the
    machine's memory, as libzmq's failing malloc effectively does), ``zmtp2_fallback`` (serve ZMTP 2.0
    peers, NULL without ZAP only), ``metadata`` (application properties for READY), and times in
    seconds: ``now`` (the clock at creation), ``handshake_ivl`` (0 = no limit), ``heartbeat_ivl`` (0 =
    no PINGs), ``heartbeat_ttl`` (what we ask the peer to allow us), ``heartbeat_timeout`` (how long we
    wait for traffic after a PING; None = ``heartbeat_ivl``).

    Security mechanisms (mechanism.py) may pause the handshake for a ZAP decision
    (:class:`AuthenticationRequested`, answered with :meth:`authentication_result`) and may seal every
    frame after it; neither costs anything on a NULL connection.
    """

    def __init__(
        self,
        socket_type: Union[str, int],
        *,
        identity: bytes = b"",
        mechanism: Optional[Mechanism] = None,
        minor_version: int = 1,
        max_message_size: int = -1,
        handshake_ivl: float = 30.0,
        heartbeat_ivl: float = 0.0,
        heartbeat_ttl: float = 0.0,
        heartbeat_timeout: Optional[float] = None,
        metadata: Optional[Mapping[str, bytes]] = None,
        now: float = 0.0,
        zmtp2_fallback: bool = True,
        max_frame_size: int = MAX_FRAME_SIZE,
    ) -> None:
        if isinstance(socket_type, int):
            if socket_type not in SOCKET_TYPE_NAMES:
                raise LocalProtocolError(ErrorReason.INVALID_ARGUMENT, f"unknown socket type {socket_type}")
            socket_type = SOCKET_TYPE_NAMES[socket_type]
        if minor_version not in (0, 1):
            raise LocalProtocolError(ErrorReason.INVALID_ARGUMENT, "minor_version must be 0 (3.0) or 1 (3.1)")
        if len(identity) > 255:
            raise LocalProtocolError(ErrorReason.INVALID_ARGUMENT, "identity is at most 255 bytes")
        self.socket_type = socket_type.upper()
        self.identity = identity
        self.mechanism: Mechanism = mechanism if mechanism is not None else NullMechanism()
        self.greeting = Greeting(3, minor_version, self.mechanism.name, self.mechanism.as_server)
        #: The fine state (see state.py); ``state`` gives the coarse one.
        self._state = State.SIGNATURE
        #: Negotiated minor version (valid from HANDSHAKE on).
        self.minor_version = minor_version
        self.peer_greeting: Optional[Greeting] = None
        self.peer_socket_type = ""
        self.peer_identity = b""
        self.peer_metadata: Dict[str, bytes] = {}
        #: The ZAP handler's user id for the peer (b"" when no ZAP handler was asked).
        self.user_id = b""
        self._zap_properties: Dict[str, bytes] = {}
        #: True once the handshake is over and the mechanism seals frames (mechanism.py, step 6).
        self._sealed = False
        # a multipart message being reassembled from unsealed frames (sealed links only)
        self._plain_parts: List[bytes] = []
        self._plain_size = 0
        #: Where whole data messages go once set (skips building MessageReceived events); see events.py.
        self.message_sink: Optional[Callable[[List[bytes]], None]] = None
        self.close_reason: Optional[Exception] = None

        props: Dict[str, bytes] = {"Socket-Type": self.socket_type.encode("ascii")}
        if self.socket_type in _SENDS_IDENTITY:
            props["Identity"] = identity
        if metadata:
            for name, value in metadata.items():
                if name.lower() in (SOCKET_TYPE, IDENTITY):
                    raise LocalProtocolError(ErrorReason.INVALID_ARGUMENT, f"metadata may not set {name}")
                props[name] = value
        self._metadata = encode_metadata(props)

        #: The bytes of the current greeting stage, and the first stage once complete.
        self._greeting_buf = bytearray()
        self._signature = b""
        self._stage_need = _STAGE_SIZES[State.SIGNATURE]
        self._zmtp2_type = 0
        self._decoder = FrameDecoder(
            max_message_size=max_message_size,
            command_limit=min(HANDSHAKE_COMMAND_LIMIT, max_message_size)
            if max_message_size >= 0
            else HANDSHAKE_COMMAND_LIMIT,
            handshaking=True,
            max_frame_size=max_frame_size,
        )
        self._max_message_size = max_message_size
        # With the ZMTP 2.0 fallback we send our greeting as libzmq does, in stages: signature and major
        # version now, the rest once the peer's version byte says which protocol follows (RFC 23
        # "Backwards Interoperability"; libzmq's zmtp_engine_t::handshake).  Both sides send their
        # first stage unprompted, so this never waits on a peer that waits for us.  Without the fallback
        # (or with a security mechanism, which ZMTP 2.0 cannot carry) all 64 bytes go at once.  The
        # peer's greeting is read in the same stages either way (see _receive_greeting).
        encoded = self.greeting.encode()
        self._staged = zmtp2_fallback and self.mechanism.zmtp2_compatible
        self._greeting_rest = encoded[PARTIAL_GREETING_SIZE:] if self._staged else b""
        #: True once the peer turned out to speak ZMTP 2.0 (RFC 15) and we fell back to it.
        self.zmtp2 = False
        self._out: List[bytes] = [encoded[:PARTIAL_GREETING_SIZE] if self._staged else encoded]
        #: Where in _out the PONG not yet taken by the driver is (-1: none): a newer PING replaces it.
        self._pong_at = -1
        self._is_publisher = self.socket_type in _PUBLISHERS
        # only a RADIO reads JOIN/LEAVE (libzmq's radio_session_t); other types ignore them like any
        # command they do not know
        self._is_radio = self.socket_type == "RADIO"

        # deadlines, all in the caller's clock
        self._handshake_deadline: Optional[float] = now + handshake_ivl if handshake_ivl > 0 else None
        self._heartbeat_ivl = heartbeat_ivl
        self._heartbeat_ttl = heartbeat_ttl
        self._heartbeat_timeout = heartbeat_ivl if heartbeat_timeout is None else heartbeat_timeout
        self._next_ping: Optional[float] = None
        self._pong_deadline: Optional[float] = None  # set after a PING until traffic arrives
        self._peer_ttl = 0.0  # the TTL the peer asked for in its PINGs
        self._ttl_deadline: Optional[float] = None

    # -- state ---------------------------------------------------------------------------------------
    @property
    def state(self) -> ConnectionState:
        """The coarse state a driver acts on: GREETING, HANDSHAKE, ESTABLISHED or CLOSED."""
        return COARSE[self._state]

    @property
    def protocol_state(self) -> State:
        """The fine state (which greeting stage, handshake or authentication step; see state.py)."""
        return self._state

    def _move(self, event: Input) -> None:
        """Take the transition the table gives for ``event``; raise its refusal when there is none."""
        self._state = next_state(self._state, event)

    # -- input -----------------------------------------------------------------------------------
    def receive_data(self, data: Union[bytes, memoryview], now: float = 0.0) -> List[Event]:
        """Consume bytes from the peer; ``b""`` means end of stream.  Returns the events completed.

        ``data`` may be a memoryview that is valid during the call only (a driver's reusable receive
        buffer): nothing keeps a reference to it, which saves the driver a copy of every read.

        Raises :class:`RemoteProtocolError` if the peer broke the protocol (the connection is then
        CLOSED; flush :meth:`data_to_send` and close the transport).  The error's ``events`` are those
        completed before the fault in this call (messages that arrived whole before a bad frame):
        dispatch them first, so the outcome does not depend on how the bytes were split.
        """
        if self._state is State.CLOSED:
            return []
        if not data:
            self._move(Input.END_OF_STREAM)
            return [ConnectionClosed()]
        events: List[Event] = []
        try:
            self._receive(data, now, events)
        except RemoteProtocolError as exc:
            self._failed(exc, events)
            raise
        return events

    def _failed(self, exc: RemoteProtocolError, events: List[Event]) -> None:
        """An input method failed: keep what completed before the fault on the error, and close."""
        exc.events = events
        self._fail(exc)

    def _receive(self, data: Union[bytes, memoryview], now: float, events: List[Event]) -> None:
        if self._state is not State.ESTABLISHED:
            if isinstance(data, memoryview):
                data = bytes(data)  # the greeting and the handshake keep pieces of their input
            if self._state in GREETING_STATES:
                data = self._receive_greeting(data, events, now)
                if not data:
                    return
            if self._state is State.AUTHENTICATING:
                self._hold(data)
                return
        decoded = self._decoder.feed(data)
        if decoded or self._decoder.error is not None:
            self._process(decoded, events, now)

    def set_message_sinks(
        self,
        each: Optional[Callable[[List[bytes]], None]],
        batch: Optional[Callable[[List[List[bytes]]], None]] = None,
    ) -> None:
        """Where whole data messages go instead of :class:`MessageReceived` events (the driver's fast
        path, once the handshake is complete): ``each(frames)`` per message, and ``batch(messages)``
        for the runs of messages decoded from one chunk, which skips the per-message work here
        altogether.  ``batch`` is used only where no message needs a look first (not on a publisher,
        which reads ZMTP 3.0 subscriptions from data messages, nor on a sealed link).
        """
        self.message_sink = each
        fast = batch is not None and not self._is_publisher and not self._sealed
        self._decoder.batch_sink = batch if fast and self._state is State.ESTABLISHED else None

    def receive_buffer(self) -> Optional[memoryview]:
        """Where the driver may ``recv_into`` the rest of a large incoming frame, or None.

        Reading a large body into the decoder's reused chunks instead of the driver's own buffer saves a
        copy into fresh memory per read (see ``FrameDecoder.body_buffer``).  Report the byte count with
        :meth:`buffer_received` (0 means the peer closed) and release the view.
        """
        if self._state is not State.ESTABLISHED:
            return None
        return self._decoder.body_buffer()

    def buffer_received(self, n: int, now: float = 0.0) -> List[Event]:
        """``n`` bytes were written into :meth:`receive_buffer`; returns and raises as
        :meth:`receive_data`."""
        if self._state is State.CLOSED:
            return []
        if n == 0:
            return self.receive_data(b"", now)
        events: List[Event] = []
        try:
            decoded = self._decoder.body_received(n)
            if decoded:
                self._process(decoded, events, now)
        except RemoteProtocolError as exc:
            self._failed(exc, events)
            raise
        return events

    def _process(self, decoded: List[Any], events: List[Event], now: float) -> None:
        decoder = self._decoder
        # Any traffic proves the peer alive (libzmq: stream_engine_base_t::decode_and_push).
        self._pong_deadline = None
        # ... and disarms the peer's TTL until its next PING re-arms it (libzmq: the TTL timer is set by
        # PING and cancelled by any traffic, stream_engine_base_t::decode_and_push).
        self._ttl_deadline = None
        while True:
            sink = self.message_sink
            data_ok = self._state in ACCEPTS_DATA
            for item in decoded:
                if type(item) is list:
                    if not data_ok:
                        raise refusal(self._state, Input.DATA_MESSAGE)
                    if self._is_publisher:
                        first = item[0]
                        if first and first[0] <= 1:  # a 3.0 subscription (a bytes topic, even from a bytearray)
                            topic = bytes(first[1:])
                            events.append(Subscribe(topic) if first[0] else Cancel(topic))
                            continue
                    if sink is not None:
                        sink(item)
                    else:
                        events.append(MessageReceived(item))
                elif type(item) is tuple:
                    self._on_sealed_frame(item[0], item[1], events, now)
                    if self._state is State.CLOSED:
                        return
                    sink = self.message_sink
                else:
                    self._on_command(item, events, now)
                    if self._state is State.CLOSED:
                        return  # the peer sent ERROR: whatever follows is not ours to deliver
                    sink = self.message_sink
                    data_ok = self._state in ACCEPTS_DATA
            if decoder.error is not None:  # a bad frame after what was just delivered
                raise decoder.error
            # During the handshake the decoder pauses after each command (frames.FrameDecoder); while
            # an authentication decision is pending it stays paused, holding what follows.
            if not decoder.paused or self._state is State.AUTHENTICATING:
                return
            decoded = decoder.feed(b"")

    def _hold(self, data: bytes) -> None:
        """Keep the peer's bytes undecoded while a ZAP decision is pending.

        A peer that plays by the rules sends at most one handshake command and then waits for our
        answer (HELLO waits for WELCOME, INITIATE for READY, NULL's READY for ours), so anything beyond
        one maximal handshake command (plus its header) is refused rather than buffered.
        """
        self._decoder.hold(data)
        if self._decoder.buffered > self._decoder.command_limit + 9:
            raise RemoteProtocolError(
                ErrorReason.UNEXPECTED_COMMAND,
                "peer sent more than one handshake command while its authentication was pending",
            )

    def _deliver(self, parts: List[bytes], events: List[Event]) -> None:
        """Hand one whole data message over (the sealed path; the NULL path inlines this)."""
        if self._is_publisher:
            first = parts[0]
            if first and first[0] <= 1:
                topic = bytes(first[1:])
                events.append(Subscribe(topic) if first[0] else Cancel(topic))
                return
        sink = self.message_sink
        if sink is not None:
            sink(parts)
        else:
            events.append(MessageReceived(parts))

    def _on_sealed_frame(self, wire_flags: int, wire_body: bytes, events: List[Event], now: float) -> None:
        """One wire frame of a sealed link: open it, then reassemble or dispatch the plaintext."""
        flags, body = self.mechanism.decode_frame(wire_flags, wire_body)
        if flags & COMMAND:
            if self._plain_parts:
                raise RemoteProtocolError(
                    ErrorReason.BAD_FRAME, "peer sent a command frame in the middle of a multipart message"
                )
            self._on_command(bytes(body), events, now)
            return
        size = self._plain_size + len(body)
        limit = self._max_message_size
        frames = len(self._plain_parts) + 1
        if limit >= 0 and message_charge(size, frames) > limit:
            raise RemoteProtocolError(
                ErrorReason.MESSAGE_TOO_LARGE,
                f"peer sent a message of at least {size} bytes in {frames} frames; the maximum message size "
                f"is {limit} bytes (each frame beyond the {FREE_FRAMES}th counts {FRAME_COST} bytes)",
            )
        self._plain_parts.append(body)
        if flags & MORE:
            self._plain_size = size
            return
        parts = self._plain_parts
        self._plain_parts = []
        self._plain_size = 0
        self._deliver(parts, events)

    def _receive_greeting(self, data: bytes, events: List[Event], now: float) -> bytes:
        """Take greeting bytes stage by stage (see state.py); return what follows the greeting."""
        buf = self._greeting_buf
        while self._state in GREETING_STATES:
            take = self._stage_need - len(buf)
            if take > 0 and data:
                buf += data[:take]
                data = data[take:]
            if self._state is State.SIGNATURE:
                # judged byte by byte: a ZMTP 1.0 peer gets its error before we wait for bytes it never sends
                check_greeting_prefix(buf, allow_zmtp2=self._staged)
            if len(buf) < self._stage_need:
                return b""
            stage = bytes(buf)
            buf.clear()
            self._on_greeting_stage(stage, events, now)
        return data

    def _on_greeting_stage(self, stage: bytes, events: List[Event], now: float) -> None:
        """Act on one complete greeting stage and move to the next."""
        state = self._state
        if state is State.SIGNATURE:
            self._signature = stage
            if stage[-1] >= 3:  # the peer's major version: 3.x (or later, which speaks 3.x to us)
                self._move(Input.SIGNATURE_3X)
                if self._greeting_rest:
                    self._out.append(self._greeting_rest)
            else:  # check_greeting_prefix let only ZMTP 2.0 through, and only with the fallback
                self._move(Input.SIGNATURE_ZMTP2)
                self._start_zmtp2()
        elif state is State.GREETING_REST:
            events.append(self._on_greeting(parse_greeting(self._signature + stage)))
            self._after_mechanism(events, now)
            return
        elif state is State.ZMTP2_SOCKET_TYPE:
            self._zmtp2_type = stage[0]
            self._move(Input.ZMTP2_SOCKET_TYPE)
        elif state is State.ZMTP2_IDENTITY_HEADER:
            if stage[0] != 0:
                raise RemoteProtocolError(
                    ErrorReason.BAD_GREETING,
                    f"ZMTP 2.0 peer's identity frame has flags {stage[0]:#04x}; expected a short final frame",
                )
            self._move(Input.ZMTP2_IDENTITY_HEADER)
            self._stage_need = stage[1]  # the identity's length
            return
        elif state is State.ZMTP2_IDENTITY:
            self._on_zmtp2_greeting(stage, events, now)
            return
        self._stage_need = _STAGE_SIZES[self._state]

    def _start_zmtp2(self) -> None:
        """The peer speaks ZMTP 2.0 (RFC 15): send our socket type and identity in its framing."""
        self.zmtp2 = True
        self.minor_version = 0
        self._decoder.reserved = 0xFC
        type_octet = ZMTP2_SOCKET_TYPES.get(self.socket_type)
        if type_octet is None:
            raise RemoteProtocolError(
                ErrorReason.UNSUPPORTED_VERSION, f"peer speaks ZMTP 2.0, which has no {self.socket_type} socket"
            )
        self._out.append(bytes((type_octet, 0, len(self.identity))) + self.identity)

    def _on_zmtp2_greeting(self, identity: bytes, events: List[Event], now: float) -> None:
        number = self._zmtp2_type
        peer_type = SOCKET_TYPE_NAMES.get(number, "")
        if not peer_type or not is_compatible(self.socket_type, peer_type):
            raise RemoteProtocolError(
                ErrorReason.INCOMPATIBLE_SOCKET_TYPE,
                f"ZMTP 2.0 peer is socket type {peer_type or number}, which a {self.socket_type} socket "
                "cannot talk to",
            )
        self.peer_greeting = Greeting(2, 0, b"NULL", False)
        events.append(GreetingReceived((2, 0), b"NULL", False))
        self.peer_socket_type = peer_type
        self.peer_identity = identity
        self.peer_metadata = {SOCKET_TYPE: peer_type.encode(), IDENTITY: identity}
        self._move(Input.ZMTP2_IDENTITY)
        self._handshake_deadline = None
        self._heartbeat_ivl = 0.0  # ZMTP 2.0 has no commands, so no PING
        self._decoder.handshaking = False
        self._decoder.command_limit = 0
        events.append(HandshakeComplete(peer_type, identity, (2, 0), dict(self.peer_metadata)))

    def _on_greeting(self, peer: Greeting) -> Event:
        self.peer_greeting = peer
        mismatch = mechanism_mismatch(self.greeting, peer)
        if mismatch is not None:
            raise mismatch
        self.minor_version = negotiated_minor(self.greeting, peer)
        self._move(Input.GREETING)
        for body in self.mechanism.start(self._metadata):
            self._out.append(encode_command(body))
        return GreetingReceived((peer.major, peer.minor), peer.mechanism, peer.as_server)

    def _after_mechanism(self, events: List[Event], now: float) -> None:
        """The mechanism has acted (start, a command, a ZAP decision): pause, complete, or go on."""
        mech = self.mechanism
        request = mech.auth_request
        if request is not None:
            self._move(Input.AUTH_REQUESTED)
            events.append(AuthenticationRequested(request.mechanism, list(request.credentials)))
        elif mech.complete:
            self._on_handshake_complete(events, now)

    def _on_command(self, body: bytes, events: List[Event], now: float) -> None:
        name, data = cmd.split_command(body)
        if self._state is State.HANDSHAKE:
            try:
                replies = self.mechanism.receive_command(name, data)
            except PeerErrorCommand as exc:
                self._move(Input.PEER_ERROR)
                events.append(ErrorReceived(exc.reason))
                self.close_reason = RemoteProtocolError(ErrorReason.PEER_ERROR, f"peer sent ERROR: {exc.reason}")
                return
            for reply in replies:
                self._out.append(encode_command(reply))
            if self.mechanism.auth_request is None and not self.mechanism.complete:
                self._move(Input.HANDSHAKE_COMMAND)
            self._after_mechanism(events, now)
            return
        if name == cmd.ERROR or name == cmd.ERROR_MISSPELLED:
            self._move(Input.PEER_ERROR)
            reason = cmd.decode_error(data)
            events.append(ErrorReceived(reason))
            self.close_reason = RemoteProtocolError(ErrorReason.PEER_ERROR, f"peer sent ERROR: {reason}")
            return
        self._move(Input.READY if name == cmd.READY else Input.COMMAND)
        if name == cmd.PING:
            ttl, context = cmd.decode_ping(data)
            self._send_pong(context)
            self._peer_ttl = ttl / 10.0
            self._ttl_deadline = now + self._peer_ttl if ttl else None
            events.append(PingReceived(ttl / 10.0, context))
        elif name == cmd.PONG:
            events.append(PongReceived(bytes(data)))
        elif name == cmd.SUBSCRIBE:
            events.append(Subscribe(bytes(data)))
        elif name == cmd.CANCEL:
            events.append(Cancel(bytes(data)))
        elif self._is_radio and (name == cmd.JOIN or name == cmd.LEAVE):
            group = cmd.decode_group(name, data)
            events.append(Join(group) if name == cmd.JOIN else Leave(group))
        # Any other command is ignored, as libzmq does (zmtp_engine_t::process_command_message).

    def _on_handshake_complete(self, events: List[Event], now: float) -> None:
        meta = self.mechanism.peer_metadata
        raw_type = meta.get(SOCKET_TYPE)
        if raw_type is None:
            raise RemoteProtocolError(ErrorReason.BAD_METADATA, "peer's READY has no Socket-Type property")
        peer_type = raw_type.decode("ascii", "replace")
        if not is_compatible(self.socket_type, peer_type):
            raise RemoteProtocolError(
                ErrorReason.INCOMPATIBLE_SOCKET_TYPE,
                f"peer is a {peer_type} socket, which a {self.socket_type} socket cannot talk to",
            )
        identity = meta.get(IDENTITY, b"")
        if len(identity) > 255:
            raise RemoteProtocolError(ErrorReason.BAD_METADATA, "peer's Identity is longer than 255 bytes")
        if self._zap_properties:
            # libzmq (stream_engine_base_t::mechanism_ready) inserts the ZAP properties first into a map
            # that keeps the first value of a name, so they win over the peer's
            meta = {**meta, **self._zap_properties}
        self.peer_socket_type = peer_type.upper()
        self.peer_identity = identity
        self.peer_metadata = meta
        self._move(Input.HANDSHAKE_DONE)
        self._handshake_deadline = None
        decoder = self._decoder
        decoder.handshaking = False
        decoder.command_limit = self._max_message_size if self._max_message_size >= 0 else decoder.max_frame_size
        if self.mechanism.transforms_frames:
            # from here on every frame is sealed: the decoder hands over wire frames one by one, each
            # bounded by the largest plaintext plus what sealing adds (mechanism.py, step 6)
            self._sealed = True
            decoder.raw = True
            if self._max_message_size >= 0:
                decoder.frame_limit = self._max_message_size + self.mechanism.frame_overhead
        if self._heartbeat_ivl > 0:
            self._next_ping = now + self._heartbeat_ivl
        events.append(
            HandshakeComplete(self.peer_socket_type, identity, (3, self.minor_version), meta, self.user_id)
        )

    def _fail(self, exc: RemoteProtocolError, goodbye: bool = True) -> None:
        """Close for good; say why to the peer when it is already listening to commands."""
        if self._state is State.CLOSED:
            return
        if goodbye and self._state not in GREETING_STATES and not self.zmtp2:
            self._send_command(cmd.encode_error(exc.message))
        self._move(Input.TIMEOUT if exc.reason in _TIMEOUTS else Input.PROTOCOL_ERROR)
        self.close_reason = exc

    # -- authentication (ZAP, RFC 27) ---------------------------------------------------------------
    def authentication_result(
        self,
        status_code: bytes,
        status_text: bytes = b"",
        user_id: bytes = b"",
        metadata: Optional[Mapping[str, bytes]] = None,
        now: float = 0.0,
    ) -> List[Event]:
        """Deliver the ZAP handler's decision after :class:`AuthenticationRequested`.

        ``status_code`` is the reply's status (``b"200"``, ``b"300"``, ``b"400"`` or ``b"500"``; a
        driver drops the connection on a malformed reply, as libzmq's zap_client_t does),
        ``status_text`` its text, ``user_id`` and ``metadata`` (decoded, e.g. with
        :func:`~zmtp.protocol.metadata.decode_metadata`) what HandshakeComplete will carry.  Returns the
        events the held input then produces (HandshakeComplete, messages ...).  For any status but 200
        the mechanism's answer (an ERROR with the status code, nothing for 300) is queued, the
        connection closes and :class:`RemoteProtocolError` (``AUTHENTICATION_FAILED``) is raised: the
        driver flushes and closes, as after a failed ``receive_data``.  After the connection closed
        (the peer left while the handler thought) this returns no events.
        """
        if self._state is State.CLOSED:
            return []
        if status_code not in ZAP_STATUS_CODES:
            raise LocalProtocolError(
                ErrorReason.INVALID_ARGUMENT, f"ZAP status code must be 200, 300, 400 or 500, not {status_code!r}"
            )
        self._move(Input.AUTH_RESULT)
        mech = self.mechanism
        mech.auth_request = None
        events: List[Event] = []
        try:
            replies = mech.auth_result(status_code, status_text, user_id, dict(metadata or {}))
            for body in replies:
                self._out.append(encode_command(body))
            if status_code != b"200":
                text = bytes(status_text).decode("utf-8", "replace")
                exc = RemoteProtocolError(
                    ErrorReason.AUTHENTICATION_FAILED,
                    f"the ZAP handler refused the peer: {status_code.decode('ascii')} {text}".rstrip(),
                )
                self._fail(exc, goodbye=False)  # the mechanism's replies are the goodbye
                raise exc
            self.user_id = bytes(user_id)
            zap = {name.lower(): bytes(value) for name, value in (metadata or {}).items()}
            zap["user-id"] = self.user_id  # libzmq's set_user_id runs before the ZAP metadata is parsed
            self._zap_properties = zap
            self._after_mechanism(events, now)
            if self._state is State.HANDSHAKE or self._state is State.ESTABLISHED:
                decoded = self._decoder.feed(b"")  # what the peer sent meanwhile
                if decoded or self._decoder.error is not None:
                    self._process(decoded, events, now)
            return events
        except RemoteProtocolError as exc:
            self._failed(exc, events)
            raise

    # -- output ----------------------------------------------------------------------------------
    def _send_command(self, body: bytes) -> None:
        """Queue a command frame, sealed when the link seals frames."""
        if self._sealed:
            self._send_sealed(COMMAND, body)
        else:
            self._out.append(encode_command(body))

    def _send_pong(self, context: bytes) -> None:
        """Answer a PING, keeping at most one PONG unsent (row 4 of issue 9).

        A peer that floods PINGs and never reads would otherwise grow our output without bound (libzmq
        keeps one pending PONG too: zmtp_engine_t::process_heartbeat_message stores it in _pong_msg).
        An unsent PONG is replaced by the newer one, which goes last so that sealed frames stay in the
        order they were sealed (the mechanism sees a gap, never a reversal).
        """
        out = self._out
        at = self._pong_at
        if at >= 0:
            if at == len(out) - 1:
                out.pop()
            else:
                del out[at]
        self._send_command(cmd.encode_pong(context))
        self._pong_at = len(self._out) - 1

    def pending_output(self) -> int:
        """Bytes queued for the peer and not yet taken by :meth:`data_to_send`.

        A driver stops reading while this (plus what it holds itself) does not drain, so a peer that
        sends and never reads cannot make us queue replies without bound.
        """
        return sum(map(len, self._out))

    def _send_sealed(self, flags: int, body: bytes) -> None:
        """Seal one frame with the mechanism and queue the wire frame it gives (LONG added as needed)."""
        wire_flags, wire_body = self.mechanism.encode_frame(flags, body)
        header = frame_header(len(wire_body), wire_flags)
        if len(wire_body) < LARGE_BODY:
            self._out.append(header + wire_body)
        else:  # a large body stays its own buffer, for the driver's sendmsg
            self._out.append(header)
            self._out.append(wire_body)

    def _send_sealed_message(self, frames: List[bytes]) -> None:
        last = len(frames) - 1
        for i, frame in enumerate(frames):
            self._send_sealed(MORE if i < last else 0, frame)

    def _check_established(self) -> None:
        """Sending is legal only where the table has a SEND entry (raises its LocalProtocolError)."""
        if self._state is not State.ESTABLISHED:
            next_state(self._state, Input.SEND)

    def send_message(self, frames: List[bytes]) -> None:
        """Queue a whole multipart data message (at least one frame)."""
        if self._state is not State.ESTABLISHED:
            self._check_established()
        if not frames:
            raise LocalProtocolError(ErrorReason.INVALID_ARGUMENT, "a message has at least one frame")
        if self._sealed:
            self._send_sealed_message(frames)
        else:
            encode_frames(frames, self._out)

    def send_messages(self, queue: Deque[Any], budget: int) -> int:
        """Encode whole messages taken from the left of ``queue``: the driver's batch path.

        Stops when ``queue`` is empty, when its head is not a message (a list of frames), or once about
        ``budget`` bytes are queued; returns how many messages it took.  One call per write instead of
        one :meth:`send_message` per message keeps the per-message cost to a few bytecodes.
        """
        if self._state is not State.ESTABLISHED:
            self._check_established()
        if self._sealed:
            return self._send_sealed_messages(queue, budget)
        out = self._out
        append = out.append
        popleft = queue.popleft
        short = _SHORT_LAST
        taken = 0
        while queue and budget > 0:
            msg = queue[0]
            if type(msg) is not list:
                if type(msg) is not EncodedMessage:
                    break
                popleft()
                taken += 1
                wire = msg.wire  # encoded once for all the publisher's subscribers
                append(wire)
                budget -= len(wire)
                continue
            popleft()
            taken += 1
            if len(msg) == 1:
                frame = msg[0]
                size = len(frame)
                if size < 256:
                    append(short[size] + frame)
                    budget -= size + 2
                    continue
            if not msg:
                raise LocalProtocolError(ErrorReason.INVALID_ARGUMENT, "a message has at least one frame")
            encode_frames(msg, out)
            for frame in msg:
                budget -= len(frame) + 9
        return taken

    def _send_sealed_messages(self, queue: Deque[Any], budget: int) -> int:
        """send_messages for a sealed link: the same contract, one encode_frame per frame."""
        taken = 0
        while queue and budget > 0:
            msg = queue[0]
            if type(msg) is not list and type(msg) is not EncodedMessage:
                break  # (an encoded message is sealed frame by frame like any other)
            if not msg:
                raise LocalProtocolError(ErrorReason.INVALID_ARGUMENT, "a message has at least one frame")
            queue.popleft()
            taken += 1
            self._send_sealed_message(msg)
            for frame in msg:
                budget -= len(frame) + 9 + self.mechanism.frame_overhead
        return taken

    def send_subscribe(self, topic: bytes) -> None:
        """Subscribe: SUBSCRIBE on ZMTP 3.1, a ``\\x01topic`` message on 3.0 (RFC 37 section 3.4.5)."""
        self._check_established()
        if self.minor_version >= 1:
            self._send_command(cmd.command_body(cmd.SUBSCRIBE, topic))
        else:
            self.send_message([b"\x01" + topic])

    def send_cancel(self, topic: bytes) -> None:
        """Cancel: CANCEL on ZMTP 3.1, a ``\\x00topic`` message on 3.0."""
        self._check_established()
        if self.minor_version >= 1:
            self._send_command(cmd.command_body(cmd.CANCEL, topic))
        else:
            self.send_message([b"\x00" + topic])

    def send_join(self, group: bytes) -> None:
        """JOIN ``group`` (a DISH telling a RADIO, RFC 48); a command on every ZMTP 3.x version, as libzmq."""
        self._send_group_command(cmd.JOIN, group)

    def send_leave(self, group: bytes) -> None:
        """LEAVE ``group`` (a DISH telling a RADIO, RFC 48)."""
        self._send_group_command(cmd.LEAVE, group)

    def _send_group_command(self, name: bytes, group: bytes) -> None:
        self._check_established()  # (no ZMTP 2.0 link gets here: 2.0 has no RADIO or DISH to fall back to)
        self._send_command(cmd.encode_group_command(name, group))

    def send_ping(self, ttl: float = 0.0, context: bytes = b"") -> None:
        self._check_established()
        if self.zmtp2:
            raise LocalProtocolError(ErrorReason.INVALID_STATE, "ZMTP 2.0 has no PING command")
        self._send_command(cmd.encode_ping(int(ttl * 10), context))

    def send_error(self, reason: str) -> None:
        """Tell the peer why we are closing (RFC 37 section 3.4.3) and close."""
        if self._state is State.CLOSED:
            return
        if self._state not in GREETING_STATES and not self.zmtp2:
            self._send_command(cmd.encode_error(reason))
        self._move(Input.CLOSE)

    def data_to_send(self) -> List[bytes]:
        """Take everything queued for the wire, as a list of buffers (small ones already merged)."""
        out = self._out
        if not out:
            return out
        self._out = []
        self._pong_at = -1
        return out

    def has_data_to_send(self) -> bool:
        return bool(self._out)

    # -- time --------------------------------------------------------------------------------------
    def next_deadline(self) -> Optional[float]:
        """When the driver must next call :meth:`handle_timer` (None: no timer needed)."""
        if self._state is State.CLOSED:
            return None
        best = self._handshake_deadline
        for t in (self._next_ping, self._pong_deadline, self._ttl_deadline):
            if t is not None and (best is None or t < best):
                best = t
        return best

    def handle_timer(self, now: float) -> None:
        """Fire whatever is due: send a PING, or fail a handshake or heartbeat that timed out."""
        if self._state is State.CLOSED:
            return
        try:
            if self._handshake_deadline is not None and now >= self._handshake_deadline:
                raise RemoteProtocolError(
                    ErrorReason.HANDSHAKE_TIMEOUT, "peer did not complete the ZMTP handshake in time"
                )
            if self._pong_deadline is not None and now >= self._pong_deadline:
                raise RemoteProtocolError(
                    ErrorReason.HEARTBEAT_TIMEOUT, "peer sent nothing within the heartbeat timeout after PING"
                )
            if self._ttl_deadline is not None and now >= self._ttl_deadline:
                raise RemoteProtocolError(
                    ErrorReason.HEARTBEAT_TIMEOUT, "peer sent nothing within the TTL its own PING asked for"
                )
        except RemoteProtocolError as exc:
            self._fail(exc)
            raise
        if self._next_ping is not None and now >= self._next_ping:
            self._send_command(cmd.encode_ping(int(self._heartbeat_ttl * 10)))
            self._next_ping = now + self._heartbeat_ivl
            if self._pong_deadline is None and self._heartbeat_timeout > 0:
                self._pong_deadline = now + self._heartbeat_timeout


__all__ = ["Connection", "ConnectionState", "State", "COMMAND"]
