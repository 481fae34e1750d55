"""The sans-IO ZMTP 3.x core: bytes in, events out; messages in, bytes out.

It never touches a socket, a clock or a random source: drivers pass bytes and ``now`` in and write
out what :meth:`Connection.data_to_send` returns.  The state machine is a table in :mod:`.state`.
"""

from .commands import GROUP_MAX_LENGTH, MAX_PING_CONTEXT
from .connection import Connection, ConnectionState
from .errors import ErrorReason, LocalProtocolError, ProtocolError, RemoteProtocolError
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
from .frames import FrameDecoder, encode_frames
from .greeting import Greeting
from .mechanism import AuthRequest, Mechanism, NullMechanism
from .metadata import decode_metadata, encode_metadata
from .sockettypes import COMPATIBLE, SOCKET_TYPE_NAMES, is_compatible
from .state import Input, State

__all__ = [
    "Connection", "ConnectionState", "State", "Input", "ErrorReason", "LocalProtocolError", "ProtocolError",
    "RemoteProtocolError", "Event", "GreetingReceived", "HandshakeComplete", "AuthenticationRequested",
    "MessageReceived", "Subscribe", "Cancel", "Join", "Leave", "PingReceived", "PongReceived",
    "ErrorReceived", "ConnectionClosed", "FrameDecoder", "encode_frames", "Greeting", "Mechanism",
    "NullMechanism", "AuthRequest", "encode_metadata", "decode_metadata", "COMPATIBLE", "SOCKET_TYPE_NAMES",
    "is_compatible", "MAX_PING_CONTEXT", "GROUP_MAX_LENGTH",
]
