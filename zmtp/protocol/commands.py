"""Command bodies (RFC 37 section 3.4): a 1-byte name length, the name, command data.

This module encodes and decodes the bodies of the commands the framing layer carries: READY, ERROR,
SUBSCRIBE, CANCEL, PING, PONG, JOIN, LEAVE.  Mechanism-specific commands (HELLO, WELCOME, INITIATE, MESSAGE) are
parsed by their mechanisms with :func:`split_command`.
"""

from __future__ import annotations

from typing import Tuple

from .errors import ErrorReason, LocalProtocolError, RemoteProtocolError

READY = b"READY"
ERROR = b"ERROR"
#: libzmq 4.3's PLAIN server writes its ERROR prefix from the C literal ``"\x05ERROR"``, which C reads
#: as the hex escape ``\x05E`` (0x5E, "^") followed by "RROR": the frame body is ``^RROR`` with no
#: name-length byte, then the status code (src/plain_server.cpp, spec-notes.md).  We accept it as ERROR.
ERROR_MISSPELLED = b"^RROR"
SUBSCRIBE = b"SUBSCRIBE"
CANCEL = b"CANCEL"
PING = b"PING"
PONG = b"PONG"
#: ZMTP 3.1 RADIO/DISH group membership (RFC 37 section 3.6 "Radio-Dish", RFC 48): a DISH sends them
#: to its RADIOs.  libzmq 4.3 sends them as commands whatever the 3.x minor version
#: (dish_session_t::pull_msg builds ``\4JOIN`` + group with msg_t::command; the 3.0 encoder,
#: v2_encoder_t, keeps the COMMAND flag), and radio_session_t::push_msg reads them.
JOIN = b"JOIN"
LEAVE = b"LEAVE"

#: libzmq 4.3's ZMQ_GROUP_MAX_LENGTH (zmq.h; 15 in 4.2): a longer group in a JOIN or LEAVE makes
#: libzmq's msg_t::set_group fail, which radio_session_t::push_msg asserts on; we refuse it instead.
GROUP_MAX_LENGTH = 255

#: RFC 37 section 3.4.4: the PING context is at most 16 bytes.
MAX_PING_CONTEXT = 16


def command_body(name: bytes, data: bytes = b"") -> bytes:
    return bytes((len(name),)) + name + data


def split_command(body: bytes) -> Tuple[bytes, bytes]:
    """Split a command body into (name, data), checking the name length against the body."""
    if not body:
        raise RemoteProtocolError(ErrorReason.BAD_COMMAND, "peer sent an empty command frame")
    if body[:5] == ERROR_MISSPELLED:
        return ERROR, body[5:]
    n = body[0]
    if n == 0 or n + 1 > len(body):
        raise RemoteProtocolError(
            ErrorReason.BAD_COMMAND,
            f"peer sent a command whose name length {n} does not fit its {len(body)}-byte frame",
        )
    return body[1 : n + 1], body[n + 1 :]


def encode_error(reason: str) -> bytes:
    raw = reason.encode("utf-8", "replace")[:255]
    return command_body(ERROR, bytes((len(raw),)) + raw)


def decode_error(data: bytes) -> str:
    """The reason an ERROR command gives (RFC 37 section 3.4.3); lenient about its length byte."""
    if not data:
        return ""
    n = data[0]
    return bytes(data[1 : 1 + n]).decode("utf-8", "replace")


def encode_ping(ttl_deciseconds: int, context: bytes = b"") -> bytes:
    if not 0 <= ttl_deciseconds <= 0xFFFF:
        raise LocalProtocolError(ErrorReason.INVALID_ARGUMENT, f"PING TTL out of range: {ttl_deciseconds}")
    if len(context) > MAX_PING_CONTEXT:
        raise LocalProtocolError(ErrorReason.INVALID_ARGUMENT, "PING context is at most 16 bytes")
    return command_body(PING, ttl_deciseconds.to_bytes(2, "big") + context)


def decode_ping(data: bytes) -> Tuple[int, bytes]:
    """(TTL in deciseconds, context) of a PING."""
    if len(data) < 2:
        raise RemoteProtocolError(ErrorReason.BAD_COMMAND, "peer sent a PING shorter than its 2-byte TTL")
    # RFC 37 caps the context at 16 bytes; like libzmq (zmtp_engine_t::process_heartbeat_message) we
    # echo only the first 16 rather than drop a peer over it.
    context = bytes(data[2 : 2 + MAX_PING_CONTEXT])
    return int.from_bytes(data[:2], "big"), context


def encode_pong(context: bytes) -> bytes:
    return command_body(PONG, context)


def encode_group_command(name: bytes, group: bytes) -> bytes:
    """A JOIN or LEAVE body; the group is 0-255 bytes of 1-255 each (RFC 48 "Group")."""
    if len(group) > GROUP_MAX_LENGTH:
        raise LocalProtocolError(
            ErrorReason.INVALID_ARGUMENT, f"a group is at most {GROUP_MAX_LENGTH} bytes, not {len(group)}"
        )
    if b"\x00" in group:
        raise LocalProtocolError(ErrorReason.INVALID_ARGUMENT, "a group may not contain a zero byte (RFC 48)")
    return command_body(name, group)


def decode_group(name: bytes, data: bytes) -> bytes:
    """The group of a JOIN or LEAVE, checked against libzmq's limit."""
    if len(data) > GROUP_MAX_LENGTH:
        raise RemoteProtocolError(
            ErrorReason.BAD_COMMAND,
            f"peer sent {name.decode('ascii')} for a {len(data)}-byte group; groups are at most "
            f"{GROUP_MAX_LENGTH} bytes (ZMQ_GROUP_MAX_LENGTH)",
        )
    return bytes(data)
