"""ZAP (RFC 27): asking the application's authentication handler about each peer.

A handler is any socket bound at ``inproc://zeromq.zap.01`` in the same context (pyzmq's and zmtp's
``ThreadAuthenticator`` bind a REP there).  When a connection's mechanism needs a decision (PLAIN after
HELLO, CURVE after INITIATE, NULL with a ZAP domain) the stream reports ``AuthenticationRequested``;
the :class:`ZapBroker` of its context sends the request libzmq sends (src/zap_client.cpp
``send_zap_request``) over one internal DEALER connected to the handler, matches the reply by request
id, checks it as libzmq does (``receive_and_process_zap_reply``), and hands the decision to the stream.
A malformed reply drops that connection; a handler that never answers is bounded by the handshake
interval, which keeps running meanwhile.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Tuple

from .constants import Event, SocketType
from .protocol import AuthenticationRequested, RemoteProtocolError, decode_metadata
from .transport.failure import ZapFailure
from .transport.inproc import InprocNames

if TYPE_CHECKING:
    from .core import SocketCore
    from .transport.stream import Stream

#: Where a ZAP handler binds (RFC 27 section "Protocol").
ZAP_ENDPOINT = "zeromq.zap.01"
_VERSION = b"1.0"
_STATUS_CODES = (b"200", b"300", b"400", b"500")


class ZapBroker:
    """One context's ZAP client: requests out to the handler, replies back to the right stream."""

    def __init__(self, inproc: InprocNames, make_core: Callable[[int], SocketCore]) -> None:
        self._inproc = inproc
        self._make_core = make_core
        self._dealer: Optional[SocketCore] = None
        self._handler: Optional[object] = None  # the handler socket the dealer is joined to
        self._ids = itertools.count(1)
        self._pending: Dict[bytes, Tuple[SocketCore, Stream]] = {}

    def available(self) -> bool:
        """Is a handler bound now?  (libzmq decides per connection, when the session starts.)"""
        return self._inproc.is_bound(ZAP_ENDPOINT)

    def request(self, core: SocketCore, stream: Stream, event: AuthenticationRequested) -> None:
        """Send the ZAP request for ``stream`` (lock held)."""
        dealer = self._dealer
        handler = self._inproc.binder(ZAP_ENDPOINT)
        if dealer is not None and not dealer.closed and handler is not self._handler:
            # the handler we were connected to went away and another one bound (an application that
            # stops one authenticator and starts the next): talk to the new one, as libzmq, which
            # connects afresh for every connection
            dealer.close(0)
        if dealer is None or dealer.closed:
            self._handler = handler
            dealer = self._dealer = self._make_core(SocketType.DEALER)
            dealer.options.linger = 0
            dealer.options.sndhwm = dealer.options.rcvhwm = 0
            dealer.connect(f"inproc://{ZAP_ENDPOINT}")
            dealer.signal_hooks.append(self._on_reply)
        request_id = str(next(self._ids)).encode()
        o = core.options
        frames: List[bytes] = [
            b"", _VERSION, request_id, o.zap_domain, stream.peer_address.encode(), o.routing_id,
            event.mechanism, *event.credentials,
        ]
        self._pending[request_id] = (core, stream)
        dealer.pattern.send(frames)

    def _on_reply(self) -> None:
        dealer = self._dealer
        if dealer is None:
            return
        while True:
            msg = dealer.pattern.recv()
            if msg is None:
                return
            self._reply([bytes(f) for f in msg])

    def _reply(self, msg: List[bytes]) -> None:
        request_id = msg[2] if len(msg) > 2 else b""
        entry = self._pending.pop(request_id, None)
        if entry is None:
            return  # an answer for a connection that is gone (or a stray message)
        core, stream = entry
        if stream.closed:
            return
        value, reason = _malformed(msg)
        if reason:
            stream.close(ZapFailure(value, f"malformed ZAP reply: {reason}"))
            return
        try:
            metadata = decode_metadata(msg[6], "ZAP reply") if msg[6] else {}
        except RemoteProtocolError as exc:
            stream.close(ZapFailure(int(Event.PROTOCOL_ERROR_ZAP_INVALID_METADATA), f"ZAP reply: {exc.message}"))
            return
        stream.authentication_result(msg[3], msg[4], msg[5], metadata)

    def forget(self, stream: Stream) -> None:
        """A stream closed: its pending request's answer will be ignored."""
        for key, (_, pending) in list(self._pending.items()):
            if pending is stream:
                del self._pending[key]

    def close(self) -> None:
        if self._dealer is not None and not self._dealer.closed:
            self._dealer.close(0)
        self._pending.clear()


def _malformed(msg: List[bytes]) -> Tuple[int, str]:
    """Why a ZAP reply is not one libzmq would accept, with the PROTOCOL_ERROR_ZAP_* value libzmq reports
    for it ((0, "") when it is fine)."""
    if len(msg) != 7:
        return int(Event.PROTOCOL_ERROR_ZAP_MALFORMED_REPLY), f"{len(msg)} frames, expected 7"
    if msg[0]:
        return int(Event.PROTOCOL_ERROR_ZAP_UNSPECIFIED), "no empty delimiter frame"
    if msg[1] != _VERSION:
        return int(Event.PROTOCOL_ERROR_ZAP_BAD_VERSION), f"version {msg[1]!r}, expected 1.0"
    if msg[3] not in _STATUS_CODES:
        return int(Event.PROTOCOL_ERROR_ZAP_INVALID_STATUS_CODE), f"status code {msg[3]!r}"
    return 0, ""


__all__ = ["ZapBroker", "ZAP_ENDPOINT"]
