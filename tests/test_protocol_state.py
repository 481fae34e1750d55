"""The state table (zmtp/protocol/state.py): its shape, a walk over every (state, input) pair on the pure
table (Hypothesis, as h2's tests/test_state_machines.py), and the same pairs driven through real
Connections, which must end where the table says or fail the way it says."""

from __future__ import annotations

from typing import Callable, Dict, List, Optional, Set, Tuple

import pytest
from helpers_protocol import command, established, greeting, message, ping, ready, zmtp2_greeting
from hypothesis import given, settings
from hypothesis import strategies as st

from zmtp.protocol import (
    Connection,
    ConnectionState,
    ErrorReason,
    LocalProtocolError,
    NullMechanism,
    ProtocolError,
    RemoteProtocolError,
)
from zmtp.protocol.state import (
    ACCEPTS_DATA,
    COARSE,
    GREETING_STATES,
    LOCAL_INPUTS,
    TRANSITIONS,
    Input,
    State,
    allows,
    next_state,
    refusal,
)

CLOSING = {Input.END_OF_STREAM, Input.PEER_ERROR, Input.PROTOCOL_ERROR, Input.TIMEOUT, Input.CLOSE}

# -- the table's shape ---------------------------------------------------------------------------------------


def test_every_state_has_a_row_and_a_coarse_state() -> None:
    assert set(TRANSITIONS) == set(State)
    assert set(COARSE) == set(State)
    assert {c for c in COARSE.values()} == set(ConnectionState)


def test_closed_is_absorbing_and_every_open_state_can_close() -> None:
    assert TRANSITIONS[State.CLOSED] == {}
    for state in State:
        if state is not State.CLOSED:
            assert {event for event in CLOSING if TRANSITIONS[state].get(event) is State.CLOSED} == CLOSING


def reachable(start: State) -> Set[State]:
    seen = {start}
    todo = [start]
    while todo:
        for target in TRANSITIONS[todo.pop()].values():
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_every_state_is_reachable_and_every_open_state_can_still_succeed() -> None:
    assert reachable(State.SIGNATURE) == set(State)
    for state in State:
        if state is not State.CLOSED:
            assert State.ESTABLISHED in reachable(state), state


def test_only_established_takes_data_and_sends() -> None:
    assert ACCEPTS_DATA == {State.ESTABLISHED}
    assert [s for s in State if allows(s, Input.SEND)] == [State.ESTABLISHED]
    assert GREETING_STATES == {
        State.SIGNATURE, State.GREETING_REST, State.ZMTP2_SOCKET_TYPE, State.ZMTP2_IDENTITY_HEADER,
        State.ZMTP2_IDENTITY,
    }


def test_a_second_ready_is_refused() -> None:
    """libzmq refuses a duplicate READY (src/null_mechanism.cpp); after the handshake it is no command we ignore."""
    assert not allows(State.ESTABLISHED, Input.READY)
    err = refusal(State.ESTABLISHED, Input.READY)
    assert isinstance(err, RemoteProtocolError) and err.reason is ErrorReason.UNEXPECTED_COMMAND


# -- every (state, input) pair on the pure table -----------------------------------------------------------------


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(list(Input)), max_size=30))
def test_walk_the_table(inputs: List[Input]) -> None:
    """Any input sequence: legal inputs move as the table says, illegal ones raise the right error."""
    state = State.SIGNATURE
    for event in inputs:
        target = TRANSITIONS[state].get(event)
        if target is not None:
            assert next_state(state, event) is target
            state = target
            continue
        with pytest.raises(ProtocolError) as info:
            next_state(state, event)
        if event in LOCAL_INPUTS:
            assert isinstance(info.value, LocalProtocolError)
            assert info.value.reason is ErrorReason.INVALID_STATE
        else:
            assert isinstance(info.value, RemoteProtocolError)
            # the connection turns a remote refusal into PROTOCOL_ERROR, which closes from any open state
            if state is not State.CLOSED:
                state = next_state(state, Input.PROTOCOL_ERROR)
                assert state is State.CLOSED


@given(st.sampled_from(list(State)), st.sampled_from(list(Input)))
def test_refusals_name_the_state(state: State, event: Input) -> None:
    if allows(state, event):
        return
    err = refusal(state, event)
    assert COARSE[state].value in str(err) or "peer sent" in str(err)


# -- the same pairs through real Connections -------------------------------------------------------------------


def _at(data: bytes, **kwargs: object) -> Callable[[], Connection]:
    def make() -> Connection:
        conn = Connection("DEALER", handshake_ivl=5.0, **kwargs)  # type: ignore[arg-type]
        if data:
            conn.receive_data(data)
        conn.data_to_send()
        return conn

    return make


def _closed() -> Connection:
    conn = Connection("DEALER")
    conn.receive_data(b"")
    return conn


def _established() -> Connection:
    return established("DEALER", "ROUTER", handshake_ivl=5.0)


RECIPES: Dict[State, Callable[[], Connection]] = {
    State.SIGNATURE: _at(b""),
    State.GREETING_REST: _at(greeting(1)[:11]),
    State.ZMTP2_SOCKET_TYPE: _at(zmtp2_greeting("ROUTER", b"id")[:11]),
    State.ZMTP2_IDENTITY_HEADER: _at(zmtp2_greeting("ROUTER", b"id")[:12]),
    State.ZMTP2_IDENTITY: _at(zmtp2_greeting("ROUTER", b"id")[:14]),
    State.HANDSHAKE: _at(greeting(1)),
    State.AUTHENTICATING: _at(greeting(1), mechanism=NullMechanism(zap=True)),
    State.ESTABLISHED: _established,
    State.CLOSED: _closed,
}


def test_recipes_reach_their_states() -> None:
    assert set(RECIPES) == set(State)
    for state, make in RECIPES.items():
        assert make().protocol_state is state


def test_frames_are_held_while_authenticating() -> None:
    for data in FRAMES.values():
        conn = RECIPES[State.AUTHENTICATING]()
        assert conn.receive_data(data) == []
        assert conn.protocol_state is State.AUTHENTICATING


def _frames_input(state: State, kind: str) -> Optional[Input]:
    """Which table input a frame of ``kind`` is in ``state`` (None: not a frame-reading state)."""
    if state in GREETING_STATES or state is State.CLOSED or state is State.AUTHENTICATING:
        return None  # greeting bytes are no frames; while authenticating frames are held, not read
    if kind == "data":
        return Input.DATA_MESSAGE
    if kind == "error":
        return Input.PEER_ERROR
    if kind == "ready":
        return Input.HANDSHAKE_DONE if state is State.HANDSHAKE else Input.READY
    if kind == "ping":
        # during the handshake a PING is a mechanism command, which NULL refuses itself (not the table)
        return Input.COMMAND if state is State.ESTABLISHED else None
    raise ValueError(kind)


FRAMES = {"data": message(b"x"), "error": command(b"ERROR", b"\x03bye"), "ready": ready("ROUTER"), "ping": ping(0)}

Drive = Callable[[Connection], object]
DRIVES: List[Tuple[str, Callable[[State], Optional[Input]], Drive]] = [
    ("eof", lambda s: Input.END_OF_STREAM, lambda c: c.receive_data(b"")),
    ("send", lambda s: Input.SEND, lambda c: c.send_message([b"x"])),
    ("subscribe", lambda s: Input.SEND, lambda c: c.send_subscribe(b"x")),
    ("close", lambda s: Input.CLOSE, lambda c: c.send_error("bye")),
    ("auth-result", lambda s: Input.AUTH_RESULT if s is not State.CLOSED else None,
     lambda c: c.authentication_result(b"200")),
    # only states with a running handshake timer; ESTABLISHED has none without heartbeats
    ("timeout", lambda s: Input.TIMEOUT if s is not State.ESTABLISHED else None, lambda c: c.handle_timer(1e9)),
] + [
    (f"frame-{kind}", (lambda k: lambda s: _frames_input(s, k))(kind), (lambda d: lambda c: c.receive_data(d))(data))
    for kind, data in FRAMES.items()
]

# only the pairs where the drive is one table input (a PING during the NULL handshake, say, is refused by
# the mechanism, and bytes during the greeting are no frames)
PAIRS = [(state, name) for state in RECIPES for name, to_input, _ in DRIVES if to_input(state) is not None]


@pytest.mark.parametrize("state, drive", PAIRS, ids=[f"{s.name}-{d}" for s, d in PAIRS])
def test_connection_follows_the_table(state: State, drive: str) -> None:
    _, to_input, act = next(d for d in DRIVES if d[0] == drive)
    event = to_input(state)
    assert event is not None
    conn = RECIPES[state]()
    target = TRANSITIONS[state].get(event)
    if state is State.CLOSED and event not in LOCAL_INPUTS:
        act(conn)  # closed is sticky: the peer's bytes and the clock are dropped
        assert conn.protocol_state is State.CLOSED
        return
    if state is State.CLOSED and event is Input.CLOSE:
        act(conn)  # closing twice is harmless
        assert conn.protocol_state is State.CLOSED
        return
    if target is not None:
        try:
            act(conn)
        except RemoteProtocolError as exc:  # a timeout is reported as an error, and closes
            assert event is Input.TIMEOUT and exc.reason is ErrorReason.HANDSHAKE_TIMEOUT
        assert conn.protocol_state is target
        return
    if event in LOCAL_INPUTS:
        with pytest.raises(LocalProtocolError) as linfo:
            act(conn)
        assert linfo.value.reason is ErrorReason.INVALID_STATE
        assert conn.protocol_state is state  # the caller's mistake changes nothing
    else:
        with pytest.raises(RemoteProtocolError):
            act(conn)
        assert conn.protocol_state is State.CLOSED


def test_second_ready_after_the_handshake_closes() -> None:
    conn = established()
    with pytest.raises(RemoteProtocolError) as info:
        conn.receive_data(ready("ROUTER"))
    assert info.value.reason is ErrorReason.UNEXPECTED_COMMAND
    assert conn.state is ConnectionState.CLOSED


def test_greeting_stages_walk_the_fine_states() -> None:
    conn = Connection("DEALER")
    seen = [conn.protocol_state]
    for b in greeting(1) + ready("ROUTER"):
        conn.receive_data(bytes((b,)))
        if conn.protocol_state is not seen[-1]:
            seen.append(conn.protocol_state)
    assert seen == [State.SIGNATURE, State.GREETING_REST, State.HANDSHAKE, State.ESTABLISHED]
    conn = Connection("DEALER")
    seen = [conn.protocol_state]
    for b in zmtp2_greeting("ROUTER", b"id"):
        conn.receive_data(bytes((b,)))
        if conn.protocol_state is not seen[-1]:
            seen.append(conn.protocol_state)
    assert seen == [
        State.SIGNATURE, State.ZMTP2_SOCKET_TYPE, State.ZMTP2_IDENTITY_HEADER, State.ZMTP2_IDENTITY,
        State.ESTABLISHED,
    ]
