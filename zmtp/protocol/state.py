"""The connection's state machine, as tables: every state, every input, every transition, in one place.

python-hyper/h11's ``_state.py`` is the model, and its two rules hold here too: everything that decides
the state lives in this file (``connection.py`` parses bytes and acts, but asks this table where it
goes), and **a missing table entry is the protocol error**: an input the current state has no row for
is refused, with a :class:`RemoteProtocolError` when the peer caused it and a
:class:`LocalProtocolError` when the driver did.  The table does not care which side (client or server,
connecting or binding) we are: ZMTP is symmetric up to the mechanism, and the mechanism's own steps
(HELLO, WELCOME, INITIATE ...) are the mechanism's business, seen here only as ``HANDSHAKE_COMMAND``.

The states follow the wire (RFC 37 section 2.1 "Overall Behavior"; RFC 23 section 5 / RFC 37 section 5
for the ZMTP 2.0 fallback)::

    SIGNATURE --SIGNATURE_3X--> GREETING_REST --GREETING--> HANDSHAKE --HANDSHAKE_DONE--> ESTABLISHED
        |                                                  |     ^
        |                                    AUTH_REQUESTED|     |AUTH_RESULT
        |                                                  v     |
        |                                                AUTHENTICATING
        +--SIGNATURE_ZMTP2--> ZMTP2_SOCKET_TYPE --> ZMTP2_IDENTITY_HEADER --> ZMTP2_IDENTITY --> ESTABLISHED

    and from every state but CLOSED: END_OF_STREAM, PEER_ERROR, PROTOCOL_ERROR, TIMEOUT, CLOSE --> CLOSED

``SIGNATURE`` is the first greeting stage: the 10-byte signature and the major version, which both
sides send unprompted and which is enough to tell a ZMTP 3.x peer from a 2.0 one (libzmq's
``zmtp_engine_t::handshake`` stages its greeting the same way).  CLOSED is absorbing: the connection
drops whatever arrives after it (the driver is closing) and refuses local sends.

Drivers see the coarse :class:`ConnectionState` (GREETING, HANDSHAKE, ESTABLISHED, CLOSED) through
``Connection.state``; the fine :class:`State` is ``Connection.protocol_state``.
"""

from __future__ import annotations

from enum import Enum
from typing import Dict, FrozenSet, Mapping

from .errors import ErrorReason, LocalProtocolError, ProtocolError, RemoteProtocolError


class ConnectionState(Enum):
    """The coarse state a driver acts on (what ``Connection.state`` returns)."""

    GREETING = "greeting"
    HANDSHAKE = "handshake"
    ESTABLISHED = "established"
    CLOSED = "closed"


class State(Enum):
    """The fine state: which step of the greeting or handshake the connection is in."""

    #: Waiting for the peer's signature and major version (the first greeting stage).
    SIGNATURE = "signature"
    #: A ZMTP 3.x peer: waiting for the rest of its 64-byte greeting.
    GREETING_REST = "greeting-rest"
    #: A ZMTP 2.0 peer (RFC 15): waiting for its socket-type octet.
    ZMTP2_SOCKET_TYPE = "zmtp2-socket-type"
    #: ZMTP 2.0: waiting for the flags and length of its identity frame.
    ZMTP2_IDENTITY_HEADER = "zmtp2-identity-header"
    #: ZMTP 2.0: waiting for the identity frame's body.
    ZMTP2_IDENTITY = "zmtp2-identity"
    #: Greetings exchanged: the security mechanism's commands (RFC 37 section 2.5).
    HANDSHAKE = "handshake"
    #: The mechanism asked for an authentication decision (ZAP, RFC 27): input is held until the driver
    #: calls ``Connection.authentication_result``.
    AUTHENTICATING = "authenticating"
    #: Handshake complete: messages and traffic commands flow.
    ESTABLISHED = "established"
    #: Closed for good (absorbing).
    CLOSED = "closed"


class Input(Enum):
    """What can happen to a connection: something the peer sent, the clock, or a driver call."""

    # -- from the peer --------------------------------------------------------------------------
    #: Its signature and a major version of 3 or more.
    SIGNATURE_3X = "a ZMTP 3.x signature"
    #: Its signature and major version 1: ZMTP 2.0, with the fallback enabled.
    SIGNATURE_ZMTP2 = "a ZMTP 2.0 signature"
    #: The rest of a 3.x greeting, accepted (version, mechanism, as-server).
    GREETING = "its greeting"
    #: ZMTP 2.0: the socket-type octet.
    ZMTP2_SOCKET_TYPE = "its ZMTP 2.0 socket type"
    #: ZMTP 2.0: the identity frame's header.
    ZMTP2_IDENTITY_HEADER = "its ZMTP 2.0 identity frame header"
    #: ZMTP 2.0: the identity frame's body (the fallback handshake is complete).
    ZMTP2_IDENTITY = "its ZMTP 2.0 identity"
    #: A security-mechanism command that does not finish the handshake.
    HANDSHAKE_COMMAND = "a handshake command"
    #: The mechanism needs an authentication decision (it set ``auth_request``).
    AUTH_REQUESTED = "credentials to authenticate"
    #: The mechanism reports the handshake complete (READY accepted).
    HANDSHAKE_DONE = "the last handshake command"
    #: A whole data message.
    DATA_MESSAGE = "a data message"
    #: A traffic command: PING, PONG, SUBSCRIBE, CANCEL, JOIN, LEAVE, or one we ignore.
    COMMAND = "a command"
    #: READY once the handshake is over (libzmq: "duplicate READY", src/null_mechanism.cpp).
    READY = "a second READY"
    #: An ERROR command (RFC 37 section 2.7.1): the peer is closing.
    PEER_ERROR = "ERROR"
    #: The stream ended (``receive_data(b"")``).
    END_OF_STREAM = "the end of the stream"
    #: The peer broke the protocol (a RemoteProtocolError was raised).
    PROTOCOL_ERROR = "a protocol error"
    # -- from the clock -------------------------------------------------------------------------
    #: The handshake or a heartbeat timed out.
    TIMEOUT = "a timeout"
    # -- from the driver ------------------------------------------------------------------------
    #: The driver delivers the authentication decision (``authentication_result``).
    AUTH_RESULT = "deliver an authentication result"
    #: The driver sends a message, a subscription, a PING ...
    SEND = "send"
    #: The driver closes (``send_error``).
    CLOSE = "close"


#: Inputs that come from the driver: a missing entry for these is the caller's mistake.
LOCAL_INPUTS: FrozenSet[Input] = frozenset({Input.AUTH_RESULT, Input.SEND, Input.CLOSE})

#: Inputs that end the connection from any open state.
_CLOSING = {
    Input.END_OF_STREAM: State.CLOSED,
    Input.PEER_ERROR: State.CLOSED,
    Input.PROTOCOL_ERROR: State.CLOSED,
    Input.TIMEOUT: State.CLOSED,
    Input.CLOSE: State.CLOSED,
}


def _row(**moves: State) -> Dict[Input, State]:
    row = {Input[name]: target for name, target in moves.items()}
    row.update(_CLOSING)
    return row


#: The transitions: ``TRANSITIONS[state][input]`` is the next state.  No entry: a protocol error.
TRANSITIONS: Mapping[State, Mapping[Input, State]] = {
    State.SIGNATURE: _row(SIGNATURE_3X=State.GREETING_REST, SIGNATURE_ZMTP2=State.ZMTP2_SOCKET_TYPE),
    State.GREETING_REST: _row(GREETING=State.HANDSHAKE),
    State.ZMTP2_SOCKET_TYPE: _row(ZMTP2_SOCKET_TYPE=State.ZMTP2_IDENTITY_HEADER),
    State.ZMTP2_IDENTITY_HEADER: _row(ZMTP2_IDENTITY_HEADER=State.ZMTP2_IDENTITY),
    State.ZMTP2_IDENTITY: _row(ZMTP2_IDENTITY=State.ESTABLISHED),
    State.HANDSHAKE: _row(
        HANDSHAKE_COMMAND=State.HANDSHAKE,
        AUTH_REQUESTED=State.AUTHENTICATING,
        HANDSHAKE_DONE=State.ESTABLISHED,
    ),
    # Nothing from the peer is processed while a decision is pending (its bytes are held), so the only
    # inputs here are the driver's answer, the clock and the closing ones.
    State.AUTHENTICATING: _row(AUTH_RESULT=State.HANDSHAKE),
    State.ESTABLISHED: _row(DATA_MESSAGE=State.ESTABLISHED, COMMAND=State.ESTABLISHED, SEND=State.ESTABLISHED),
    State.CLOSED: {},
}

#: The coarse state of every fine state.
COARSE: Mapping[State, ConnectionState] = {
    State.SIGNATURE: ConnectionState.GREETING,
    State.GREETING_REST: ConnectionState.GREETING,
    State.ZMTP2_SOCKET_TYPE: ConnectionState.GREETING,
    State.ZMTP2_IDENTITY_HEADER: ConnectionState.GREETING,
    State.ZMTP2_IDENTITY: ConnectionState.GREETING,
    State.HANDSHAKE: ConnectionState.HANDSHAKE,
    State.AUTHENTICATING: ConnectionState.HANDSHAKE,
    State.ESTABLISHED: ConnectionState.ESTABLISHED,
    State.CLOSED: ConnectionState.CLOSED,
}

#: States in which the peer's bytes are greeting bytes, not frames.
GREETING_STATES: FrozenSet[State] = frozenset(s for s, c in COARSE.items() if c is ConnectionState.GREETING)

#: States in which data frames are accepted (derived from the table, so the decoder's handshake guard
#: and the table cannot disagree).
ACCEPTS_DATA: FrozenSet[State] = frozenset(s for s, row in TRANSITIONS.items() if Input.DATA_MESSAGE in row)

#: Why each refused remote input is refused (the reason programs see).
_REMOTE_REASONS: Mapping[Input, ErrorReason] = {
    Input.DATA_MESSAGE: ErrorReason.UNEXPECTED_COMMAND,
    Input.READY: ErrorReason.UNEXPECTED_COMMAND,
    Input.COMMAND: ErrorReason.UNEXPECTED_COMMAND,
    Input.HANDSHAKE_COMMAND: ErrorReason.UNEXPECTED_COMMAND,
}

#: How a state reads in an error sentence.
_STATE_WORDS: Mapping[State, str] = {
    State.SIGNATURE: "waiting for the peer's signature",
    State.GREETING_REST: "waiting for the rest of the peer's greeting",
    State.ZMTP2_SOCKET_TYPE: "waiting for the ZMTP 2.0 peer's socket type",
    State.ZMTP2_IDENTITY_HEADER: "waiting for the ZMTP 2.0 peer's identity",
    State.ZMTP2_IDENTITY: "waiting for the ZMTP 2.0 peer's identity",
    State.HANDSHAKE: "in the security handshake",
    State.AUTHENTICATING: "waiting for an authentication decision",
    State.ESTABLISHED: "established",
    State.CLOSED: "closed",
}


def refusal(state: State, event: Input) -> ProtocolError:
    """The error for an input the table has no entry for (whose fault it is decides the class)."""
    if event in LOCAL_INPUTS:
        return LocalProtocolError(
            ErrorReason.INVALID_STATE, f"cannot {event.value} while the connection is {COARSE[state].value}"
        )
    if event is Input.DATA_MESSAGE and COARSE[state] is ConnectionState.HANDSHAKE:
        message = "peer sent a data message before completing the handshake"
    else:
        message = f"peer sent {event.value} while the connection is {_STATE_WORDS[state]}"
    return RemoteProtocolError(_REMOTE_REASONS.get(event, ErrorReason.UNEXPECTED_COMMAND), message)


def next_state(state: State, event: Input) -> State:
    """Where ``event`` takes a connection in ``state``; raises :func:`refusal` when the table says no."""
    row = TRANSITIONS[state]
    target = row.get(event)
    if target is None:
        raise refusal(state, event)
    return target


def allows(state: State, event: Input) -> bool:
    """True when ``event`` is legal in ``state`` (for checks that must not raise)."""
    return event in TRANSITIONS[state]


__all__ = [
    "ConnectionState", "State", "Input", "TRANSITIONS", "COARSE", "GREETING_STATES", "ACCEPTS_DATA",
    "LOCAL_INPUTS", "next_state", "allows", "refusal",
]
