"""Constants: every pyzmq constant with libzmq's value, written out statically so type checkers see it.

pyzmq (libzmq 4.3.5) is the oracle for the values; the written-out module-level names of
``zmtp.constants`` are checked against its own enums (so the two can't drift apart), and what pyzmq has
at top level that zmtp deliberately lacks is an explicit list here (a new pyzmq name fails this test
until someone decides about it).
"""

from __future__ import annotations

import ast
import enum
import inspect
import sys
from pathlib import Path
from typing import Any, Dict

import pytest
import zmq

import zmtp
import zmtp.constants as C

ENUMS = ["SocketType", "SocketOption", "Event", "Errno", "ContextOption", "Flag", "PollEvent", "MessageOption",
         "SecurityMechanism", "ReconnectStop", "RouterNotify", "NormMode", "DeviceType"]
#: Top-level pyzmq names zmtp does not have, and why.
DELIBERATELY_MISSING: Dict[str, str] = {
    "backend": "pyzmq's compiled backend package",
    "sugar": "pyzmq's internal package layout",
    "get_includes": "C-extension build helper",
    "get_library_dirs": "C-extension build helper",
    "zmq_errno": "libzmq's thread-local errno; zmtp raises ZMQError with .errno instead",
    "Stopwatch": "deprecated in pyzmq (use time.monotonic)",
    "DraftFDWarning": "pyzmq's warning about its FD back-fill for thread-safe draft sockets",
    "Enum": "pyzmq leaks the enum module's names", "IntEnum": "ditto", "IntFlag": "ditto",
    "contextmanager": "pyzmq leaks an import", "os": "ditto", "sys": "ditto",
}
#: zmtp's Errno has a few system errors more than pyzmq's (ones zmtp raises, with libc's values).
EXTRA_ERRNOS = {"EINTR", "ENOMEM", "ENODEV", "ENOENT", "EMFILE", "ENAMETOOLONG", "EACCES"}


def global_name(enum_name: str, member: str) -> str:
    """pyzmq's module-level name for an enum member."""
    if enum_name == "Event":
        return member if member.startswith("PROTOCOL_ERROR_") else "EVENT_" + member
    return {"ReconnectStop": "RECONNECT_STOP_", "RouterNotify": "NOTIFY_", "NormMode": "NORM_"}.get(
        enum_name, "") + member


@pytest.mark.parametrize("enum_name", ENUMS)
def test_enum_members_equal_pyzmq(enum_name: str) -> None:
    ours = {k: int(v) for k, v in getattr(zmtp, enum_name).__members__.items()}
    theirs = {k: int(v) for k, v in getattr(zmq, enum_name).__members__.items()}
    extra = set(ours) - set(theirs)
    if enum_name == "Errno":
        assert extra == EXTRA_ERRNOS
    elif enum_name == "ContextOption":
        assert extra == {"IPV6", "BLOCKY"}  # libzmq's context options; pyzmq files them as SocketOption
        assert ours["IPV6"] == int(zmq.IPV6) and ours["BLOCKY"] == int(zmq.BLOCKY)
    else:
        assert not extra
    assert {k: ours.get(k) for k in theirs} == theirs


@pytest.mark.parametrize("enum_name", ENUMS)
def test_every_member_has_its_module_level_name(enum_name: str) -> None:
    cls = getattr(C, enum_name)
    assert enum_name in C.__all__ and enum_name in zmtp.__all__
    for member, value in cls.__members__.items():
        name = global_name(enum_name, member)
        if enum_name == "ContextOption" and member in ("IPV6", "BLOCKY"):
            assert getattr(C, name) is C.SocketOption[member]  # pyzmq's choice
            continue
        assert getattr(C, name) is value, name
        assert getattr(zmtp, name) is value, name
        assert name in C.__all__, name


def test_pyzmq_top_level_names() -> None:
    """Every public pyzmq name exists in zmtp with the same value, or is deliberately missing."""
    missing = sorted(n for n in dir(zmq) if not n.startswith("_") and not hasattr(zmtp, n)
                     and not inspect.ismodule(getattr(zmq, n)))  # (submodules appear once imported)
    assert missing == sorted(n for n in DELIBERATELY_MISSING if not inspect.ismodule(getattr(zmq, n)))
    for name in dir(zmq):
        value = getattr(zmq, name)
        if name.startswith("_") or isinstance(value, bool) or not isinstance(value, int):
            continue
        if name == "IPC_PATH_MAX_LEN" and value == 0:
            continue  # pyzmq's cffi backend (PyPy) does not know it and says 0
        assert int(getattr(zmtp, name)) == int(value), name
    if sys.platform.startswith("linux"):
        assert zmtp.IPC_PATH_MAX_LEN == 107  # sizeof(sockaddr_un.sun_path) - 1
    assert zmtp.COPY_THRESHOLD == zmq.COPY_THRESHOLD
    assert type(zmtp.pyzmq_version_info()) is tuple and all(type(n) is int for n in zmtp.pyzmq_version_info())
    assert zmtp.pyzmq_version_info() >= (17, 0, 0)  # programs gate asyncio support on >= 17
    assert zmtp.pyzmq_version() == ".".join(map(str, zmtp.pyzmq_version_info()))
    assert zmtp.DRAFT_API is zmtp.has("draft")


def test_old_names() -> None:
    assert zmtp.XREP is zmtp.SocketType.ROUTER and zmtp.XREQ is zmtp.SocketType.DEALER
    assert zmtp.IDENTITY is zmtp.ROUTING_ID and zmtp.CONNECT_RID is zmtp.CONNECT_ROUTING_ID
    assert zmtp.NOBLOCK is zmtp.DONTWAIT
    assert zmtp.SyncContext is zmtp.Context and zmtp.SyncSocket is zmtp.Socket
    assert issubclass(zmtp.InterruptedSystemCall, zmtp.ZMQError)
    assert issubclass(zmtp.InterruptedSystemCall, InterruptedError)
    assert zmtp.InterruptedSystemCall().errno == zmq.InterruptedSystemCall().errno


def test_all_is_static_and_complete() -> None:
    """``__all__`` and the module-level names are plain assignments (what mypy reads), not computed
    with ``globals()``; and every name in ``__all__`` exists."""
    for mod in (C, zmtp):
        tree = ast.parse(Path(inspect.getfile(mod)).read_text())
        calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        assert not calls & {"globals", "setattr", "exec"}
        for name in mod.__all__:
            assert hasattr(mod, name), name
        assert len(set(mod.__all__)) == len(mod.__all__)
    public = {n for n, v in vars(zmtp).items() if not n.startswith("_") and not isinstance(v, type(ast))}
    assert public - set(zmtp.__all__) <= {"annotations", "LIBZMQ_VERSION"} | {
        n for n, v in vars(zmtp).items() if inspect.ismodule(v)}


def test_event_values_parse_like_pyzmq() -> None:
    """A monitor value is turned into an Event the same way by both (protocol error values included)."""
    for value in (0x1000, 0x2000, 0x10000001, 0x11000002, 0x20000003):
        assert int(zmtp.Event(value)) == int(zmq.Event(value))
        ours: Any = zmtp.Event(value)
        assert ours.name == zmq.Event(value).name
    assert isinstance(zmtp.EVENT_ALL, enum.IntFlag)
